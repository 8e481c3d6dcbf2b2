package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.images.ImageEditParams;
import com.openai.models.images.ImagesResponse;
import dev.easel.config.ConfigLoader;
import dev.easel.testkit.FakeBfl;
import dev.easel.testkit.FakeGemini;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.FakeStability;
import dev.easel.testkit.RecordedRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The config of the provider issue, as a user writes it (keys from {@code os.environ/…}), served by the proxy in front
 * of the strict fakes of Black Forest Labs, Gemini, Stability and OpenAI: one OpenAI-shaped request reaches each
 * provider in its own wire format and comes back in OpenAI's shape, through OpenAI's official Java client and through
 * curl, as {@code b64_json} and as a {@code url} served by the proxy; the router balances {@code edit} across BFL and
 * Gemini and falls back to {@code gpt-image-2} when BFL answers 429 or 5xx.
 */
class ProvidersE2eTest {

    private static final String MASTER_KEY = "sk-master-providers-1234";
    private static final String BFL_KEY = "bfl-key-0123456789";
    private static final String GEMINI_KEY = "AIzaGeminiKey0123456789";
    private static final String STABILITY_KEY = "sk-stability-0123456789";
    private static final String OPENAI_KEY = "sk-openai-0123456789";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dataDir;
    @TempDir
    Path files;

    static FakeBfl bfl;
    static FakeGemini gemini;
    static FakeStability stability;
    static FakeOpenAi openai;
    static ProxyServer proxy;
    static OpenAIClient client;
    static HttpClient http;

    @BeforeAll
    static void start() {
        bfl = FakeBfl.builder().apiKey(BFL_KEY).start();
        gemini = FakeGemini.builder().apiKey(GEMINI_KEY).start();
        stability = FakeStability.builder().apiKey(STABILITY_KEY).start();
        openai = FakeOpenAi.builder().apiKey(OPENAI_KEY).start();
        // The issue's config, with each api_base pointed at its fake; the other groups name one provider each, so a
        // test knows which provider answers, and each failure test has deployments of its own (a 429 rests one).
        String yaml = """
                model_list:
                  - model_name: edit
                    litellm_params: {model: black_forest_labs/flux-kontext-pro, api_key: os.environ/BFL_API_KEY, api_base: "%1$s"}
                  - model_name: edit
                    litellm_params: {model: gemini/gemini-3.1-flash-image, api_key: os.environ/GEMINI_API_KEY, api_base: "%2$s"}
                  - model_name: inpaint
                    litellm_params: {model: stability/inpaint, api_key: os.environ/STABILITY_API_KEY, api_base: "%3$s"}
                  - model_name: gpt-image-2
                    litellm_params: {model: openai/gpt-image-2, api_key: os.environ/OPENAI_API_KEY, api_base: "%4$s"}
                  - model_name: flux
                    litellm_params: {model: black_forest_labs/flux-kontext-pro, api_key: os.environ/BFL_API_KEY, api_base: "%1$s"}
                  - model_name: banana
                    litellm_params: {model: gemini/gemini-3.1-flash-image, api_key: os.environ/GEMINI_API_KEY, api_base: "%2$s"}
                  - model_name: flux-busy
                    litellm_params: {model: black_forest_labs/flux-kontext-pro, api_key: os.environ/BFL_API_KEY, api_base: "%1$s"}
                  - model_name: flux-down
                    litellm_params: {model: black_forest_labs/flux-kontext-pro, api_key: os.environ/BFL_API_KEY, api_base: "%1$s"}
                  - model_name: edit-failing
                    litellm_params: {model: black_forest_labs/flux-kontext-pro, api_key: os.environ/BFL_API_KEY, api_base: "%1$s"}
                  - model_name: edit-failing
                    litellm_params: {model: gemini/gemini-3.1-flash-image, api_key: os.environ/GEMINI_API_KEY, api_base: "%2$s"}
                router_settings:
                  num_retries: 0
                  fallbacks: [{"edit": ["gpt-image-2"]}, {"flux-busy": ["gpt-image-2"]}, {"flux-down": ["gpt-image-2"]},
                              {"edit-failing": ["gpt-image-2"]}]
                general_settings:
                  master_key: %5$s
                """.formatted(bfl.baseUrl(), gemini.baseUrl(), stability.baseUrl(), openai.baseUrl(), MASTER_KEY);
        Map<String, String> env = Map.of("BFL_API_KEY", BFL_KEY, "GEMINI_API_KEY", GEMINI_KEY,
                "STABILITY_API_KEY", STABILITY_KEY, "OPENAI_API_KEY", OPENAI_KEY);
        proxy = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, env, "providers.yaml"))
                .listen("127.0.0.1", 0).withDataDir(dataDir));
        client = OpenAIOkHttpClient.builder().baseUrl(proxy.baseUri() + "/v1").apiKey(MASTER_KEY).maxRetries(0)
                .timeout(Duration.ofSeconds(60)).build();
        http = HttpClient.newHttpClient();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        for (AutoCloseable c : new AutoCloseable[] {bfl, gemini, stability, openai}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception ignored) {
                // the others still close
            }
        }
    }

    @BeforeEach
    void reset() {
        bfl.reset();
        gemini.reset();
        stability.reset();
        openai.reset();
    }

    @Test
    void issueConfig_startsAndListsEveryGroup() throws Exception {
        HttpResponse<String> models = http.send(HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/models"))
                .header("Authorization", "Bearer " + MASTER_KEY).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(models.statusCode()).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        JSON.readTree(models.body()).path("data").forEach(m -> ids.add(m.path("id").asText()));
        assertThat(ids).contains("edit", "inpaint", "gpt-image-2");
        assertThat(proxy.warnings()).noneMatch(w -> w.contains("not served"));
    }

    /** The provider each single-provider group reaches, and what its fake saw of the request. */
    private static RecordedRequest upstreamOf(String group) {
        return switch (group) {
            case "flux" -> {
                assertThat(bfl.submissions("flux-kontext-pro")).isEqualTo(1);
                RecordedRequest submit = bfl.requests().get(0);
                assertThat(submit.header("x-key")).contains(BFL_KEY);
                yield submit;
            }
            case "banana" -> {
                assertThat(gemini.requestCount()).isEqualTo(1);
                RecordedRequest r = gemini.lastRequest();
                assertThat(r.path()).isEqualTo("/v1beta/models/gemini-3.1-flash-image:generateContent");
                assertThat(r.header("x-goog-api-key")).contains(GEMINI_KEY);
                yield r;
            }
            case "inpaint" -> {
                assertThat(stability.requestCount()).isEqualTo(1);
                RecordedRequest r = stability.lastRequest();
                assertThat(r.path()).isEqualTo("/v2beta/stable-image/edit/inpaint");
                assertThat(r.header("Authorization")).contains("Bearer " + STABILITY_KEY);
                yield r;
            }
            default -> throw new IllegalArgumentException(group);
        };
    }

    @ParameterizedTest(name = "{0} as {1}")
    @CsvSource({"flux, b64_json", "flux, url", "banana, b64_json", "banana, url", "inpaint, b64_json",
            "inpaint, url"})
    void officialJavaClient_editsThroughEachProvider_inOpenAisShape(String group, String format) throws Exception {
        byte[] png = WireImages.pngWithAlpha(256, 256, 7);
        Path image = Files.write(files.resolve("photo.png"), png);

        ImagesResponse response = client.images().edit(ImageEditParams.builder().model(group).image(image)
                .prompt("add a red hat").responseFormat(ImageEditParams.ResponseFormat.of(format)).build());

        assertThat(response.data()).hasValueSatisfying(d -> assertThat(d).hasSize(1));
        var data = response.data().orElseThrow().get(0);
        byte[] got;
        if (format.equals("url")) {
            assertThat(data.b64Json()).isEmpty();
            String url = data.url().orElseThrow();
            assertThat(url).startsWith(proxy.baseUri() + "/v1/images/files/");
            HttpResponse<byte[]> download = http.send(HttpRequest.newBuilder(URI.create(url)).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(download.statusCode()).isEqualTo(200);
            got = download.body();
        } else {
            assertThat(data.url()).isEmpty();
            got = Base64.getDecoder().decode(data.b64Json().orElseThrow());
        }
        assertIsImage(got);
        RecordedRequest up = upstreamOf(group);
        String body = up.isMultipart() ? up.textField("prompt").orElse("") : up.bodyText();
        assertThat(body).contains("add a red hat");
        assertThat(up.header("Authorization").orElse("")).doesNotContain(MASTER_KEY);
    }

    @Test
    void curl_multipartToEachProvider_answersOpenAiJsonWithCost() throws Exception {
        assumeTrue(onPath("curl"), "curl is not installed");
        Path image = Files.write(files.resolve("cat.png"), WireImages.pngWithAlpha(256, 256, 3));
        for (String group : List.of("flux", "banana", "inpaint")) {
            reset();
            Path headers = files.resolve(group + ".headers");
            Process curl = new ProcessBuilder("curl", "-sS", "--max-time", "60", "-D", headers.toString(),
                    proxy.baseUri() + "/v1/images/edits", "-H", "Authorization: Bearer " + MASTER_KEY,
                    "-F", "model=" + group, "-F", "image=@" + image, "-F", "prompt=add a red hat")
                    .redirectErrorStream(true).start();
            String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(curl.waitFor(90, TimeUnit.SECONDS)).isTrue();
            assertThat(curl.exitValue()).as(out).isZero();

            JsonNode answer = JSON.readTree(out);
            assertThat(answer.path("data").size()).as(out).isEqualTo(1);
            assertIsImage(Base64.getDecoder().decode(answer.path("data").get(0).path("b64_json").asText()));
            String head = Files.readString(headers).toLowerCase(java.util.Locale.ROOT);
            assertThat(head).startsWith("http/1.1 200").contains("x-easel-response-cost: ")
                    .contains("x-easel-model-group: " + group);
            upstreamOf(group);
        }
    }

    @Test
    void edit_isBalancedAcrossBflAndGemini() {
        byte[] png = WireImages.pngWithAlpha(128, 128, 5);
        // simple-shuffle picks each of the two at random: 16 edits all on one side happen 2 in 65,536 runs
        for (int i = 0; i < 16; i++) {
            HttpResponse<byte[]> r = post("edit", png);
            assertThat(r.statusCode()).as(() -> new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
        }

        int toBfl = bfl.submissions("flux-kontext-pro");
        int toGemini = gemini.requestCount();
        assertThat(toBfl + toGemini).isEqualTo(16);
        assertThat(toBfl).isPositive();
        assertThat(toGemini).isPositive();
        assertThat(openai.requestCount()).isZero();
    }

    @ParameterizedTest(name = "BFL answers {1}")
    @CsvSource({"flux-busy, 429", "flux-down, 500"})
    void bflBusyOrDown_fallsBackToGptImage2(String group, int status) {
        bfl.enqueue(status == 429 ? FakeBfl.tooManyActiveTasks() : FakeResponse.serverError());

        HttpResponse<byte[]> r = post(group, WireImages.pngWithAlpha(128, 128, 9));

        assertThat(r.statusCode()).as(() -> new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
        assertThat(r.headers().firstValue("x-easel-model-group")).contains("gpt-image-2");
        assertThat(r.headers().firstValue("x-easel-attempted-fallbacks")).contains("1");
        assertThat(bfl.requestCount()).as("one submit, refused").isEqualTo(1);
        assertThat(bfl.requests().get(0).path()).isEqualTo("/v1/flux-kontext-pro");
        assertThat(openai.requestCount()).isEqualTo(1);
        assertThat(openai.lastRequest().textField("model")).contains("gpt-image-2");
    }

    @Test
    void editGroup_failing_fallsBackToGptImage2() {
        // whichever of the two the router picks fails
        bfl.enqueue(FakeBfl.tooManyActiveTasks());
        gemini.enqueue(FakeGemini.unavailable());

        HttpResponse<byte[]> r = post("edit-failing", WireImages.pngWithAlpha(128, 128, 11));

        assertThat(r.statusCode()).as(() -> new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
        assertThat(r.headers().firstValue("x-easel-model-group")).contains("gpt-image-2");
        // num_retries 0: the deployment the router picked failed, and the group fell back at once
        assertThat(bfl.requestCount() + gemini.requestCount()).isEqualTo(1);
        assertThat(openai.requestCount()).isEqualTo(1);
    }

    private static HttpResponse<byte[]> post(String group, byte[] png) {
        RawMultipart body = new RawMultipart().text("model", group).text("prompt", "add a red hat")
                .file("image", "in.png", "image/png", png);
        return ProxyCalls.send(HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits"))
                .timeout(Duration.ofSeconds(90)).header("Authorization", "Bearer " + MASTER_KEY)
                .header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.build())).build());
    }

    /** PNG, JPEG or WebP magic: an image, not an error page. */
    private static void assertIsImage(byte[] bytes) {
        assertThat(bytes.length).isGreaterThan(8);
        boolean png = (bytes[0] & 0xff) == 0x89 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G';
        boolean jpeg = (bytes[0] & 0xff) == 0xff && (bytes[1] & 0xff) == 0xd8;
        boolean webp = bytes[0] == 'R' && bytes[1] == 'I' && bytes[8] == 'W';
        assertThat(png || jpeg || webp).as("image magic").isTrue();
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }
}
