package dev.easel.proxy;

import static dev.easel.proxy.ProxyCalls.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.config.ConfigLoader;
import dev.easel.testkit.FakeGemini;
import dev.easel.testkit.RecordedRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy in front of the testkit's FakeGemini, configured as a LiteLLM user would
 * ({@code gemini/…}, {@code api_key: os.environ/GEMINI_API_KEY}): OpenAI-shaped requests in (multipart as curl sends
 * it, JSON with data URLs), Gemini's wire out, OpenAI's shape back with base64 or a URL the proxy serves, usage and
 * cost; a refusal and a quota error come back as OpenAI error JSON.
 */
class GeminiProxyTest {

    static final String MASTER_KEY = "sk-master-gemini-4242";
    static final String GEMINI_KEY = "gm-upstream-key-31337";

    @TempDir
    static Path dataDir;
    static FakeGemini fake;
    static ProxyServer proxy;

    @BeforeAll
    static void start() {
        fake = FakeGemini.builder().apiKey(GEMINI_KEY).start();
        String yaml = """
                model_list:
                  - model_name: banana
                    litellm_params: {model: gemini/gemini-3.1-flash-image, api_key: os.environ/GEMINI_API_KEY, \
                api_base: "%1$s"}
                  - model_name: banana-pro
                    litellm_params: {model: gemini/gemini-3-pro-image, api_key: os.environ/GEMINI_API_KEY, \
                api_base: "%1$s"}
                router_settings: {num_retries: 0}
                general_settings:
                  master_key: %2$s
                """.formatted(fake.baseUrl(), MASTER_KEY);
        proxy = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, Map.of("GEMINI_API_KEY", GEMINI_KEY),
                "gemini.yaml")).listen("127.0.0.1", 0).withDataDir(dataDir));
    }

    @AfterAll
    static void stop() {
        try {
            if (proxy != null) {
                proxy.close();
            }
        } finally {
            fake.close();
        }
    }

    @BeforeEach
    void reset() {
        fake.reset();
    }

    static HttpResponse<byte[]> edit(String contentType, byte[] body) {
        return send(HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits"))
                .header("Authorization", "Bearer " + MASTER_KEY).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    static HttpResponse<byte[]> curlEdit(String model, String... fields) {
        RawMultipart body = new RawMultipart().text("model", model).text("prompt", "add a red hat")
                .file("image", "cat.png", "image/png", WireImages.png(32, 32, 1));
        for (int i = 0; i < fields.length; i += 2) {
            body.text(fields[i], fields[i + 1]);
        }
        return edit(RawMultipart.contentType(), body.build());
    }

    static String dimensions(byte[] png) {
        var image = WireImages.decodePng(png);
        return image.getWidth() + "x" + image.getHeight();
    }

    @Test
    void multipartAsCurlSendsIt_b64Json_withUsageAndCost() {
        byte[] cat = WireImages.png(32, 32, 1);

        HttpResponse<byte[]> r = curlEdit("banana", "response_format", "b64_json");

        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
        JsonNode body = WireFixture.json(r);
        byte[] image = Base64.getDecoder().decode(body.path("data").path(0).path("b64_json").asText());
        assertThat(dimensions(image)).isEqualTo("1024x1024");
        // 4 + 560 input tokens (text, image), 7 + 1120 output (text, image): docs/providers/gemini.md
        JsonNode usage = body.path("usage");
        assertThat(usage.path("input_tokens").asLong()).isEqualTo(564);
        assertThat(usage.path("input_tokens_details").path("image_tokens").asLong()).isEqualTo(560);
        assertThat(usage.path("output_tokens_details").path("image_tokens").asLong()).isEqualTo(1120);
        assertThat(usage.path("output_tokens_details").path("text_tokens").asLong()).isEqualTo(7);
        assertThat(r.headers().firstValue("x-easel-response-cost")).contains("0.067503");
        assertThat(r.headers().firstValue("x-easel-deployment")).contains("gemini/gemini-3.1-flash-image");

        RecordedRequest up = fake.takeRequest();
        assertThat(up.path()).isEqualTo("/v1beta/models/gemini-3.1-flash-image:generateContent");
        assertThat(up.header("x-goog-api-key")).contains(GEMINI_KEY);
        assertThat(up.headers().toString()).doesNotContain(MASTER_KEY);
        JsonNode parts = readTree(up.body()).path("contents").path(0).path("parts");
        assertThat(Base64.getDecoder().decode(parts.path(0).path("inlineData").path("data").asText())).isEqualTo(cat);
        assertThat(parts.path(1).path("text").asText()).isEqualTo("add a red hat");
    }

    @Test
    void jsonBody_urlFormat_servesTheImageFromTheProxy_sizeMappedToRatioAndTier() {
        byte[] cat = WireImages.png(48, 32, 2);
        String json = """
                {"model": "banana-pro", "prompt": "add a red hat", "size": "1536x1024", "response_format": "url",
                 "images": [{"image_url": "data:image/png;base64,%s"}]}""".formatted(
                Base64.getEncoder().encodeToString(cat));

        HttpResponse<byte[]> r = edit("application/json", json.getBytes(java.nio.charset.StandardCharsets.UTF_8));

        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
        JsonNode data = WireFixture.json(r).path("data");
        assertThat(data.size()).isEqualTo(1);
        assertThat(data.get(0).has("b64_json")).isFalse();
        String url = data.get(0).path("url").asText();
        assertThat(url).startsWith("http://127.0.0.1:" + proxy.port() + "/v1/images/files/");
        HttpResponse<byte[]> served = send(HttpRequest.newBuilder(URI.create(url)).GET());
        assertThat(served.statusCode()).isEqualTo(200);
        assertThat(served.headers().firstValue("Content-Type")).contains("image/png");
        assertThat(dimensions(served.body())).as("3:2 at 2K").isEqualTo("2528x1696");
        // gemini-3-pro-image bills 2K like 1K: 1120 image tokens at $120/1M, plus text in/out and the input image
        assertThat(r.headers().firstValue("x-easel-response-cost")).contains("0.135612");

        JsonNode sent = readTree(fake.takeRequest().body());
        assertThat(sent.path("generationConfig").path("imageConfig").toString())
                .isEqualTo("{\"aspectRatio\":\"3:2\",\"imageSize\":\"2K\"}");
        assertThat(Base64.getDecoder().decode(sent.path("contents").path(0).path("parts").path(0).path("inlineData")
                .path("data").asText())).isEqualTo(cat);
        assertThat(sent.toString()).doesNotContain("response_format");
    }

    @Test
    void safetyStop_isOpenAisModerationBlockedErrorJson() {
        fake.enqueue(FakeGemini.finishReason("IMAGE_SAFETY"));

        HttpResponse<byte[]> r = curlEdit("banana");

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("message").asText()).isEqualTo("gemini refused the edit: the edit was stopped by "
                + "Google's safety filters (finishReason IMAGE_SAFETY).");
        assertThat(error.path("type").asText()).isEqualTo("image_generation_user_error");
        assertThat(error.path("code").asText()).isEqualTo("moderation_blocked");
        assertThat(error.path("param").isNull()).isTrue();
    }

    @Test
    void quotaExhausted_isA429ErrorJson() {
        fake.enqueue(FakeGemini.rateLimited(7));

        HttpResponse<byte[]> r = curlEdit("banana");

        assertThat(r.statusCode()).isEqualTo(429);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("type").asText()).isEqualTo("rate_limit_error");
        assertThat(error.path("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(error.path("message").asText()).startsWith("You exceeded your current quota");
    }

    @Test
    void parameterTheModelLacks_is400NamingIt_nothingSent() {
        HttpResponse<byte[]> r = curlEdit("banana", "quality", "high");

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("code").asText()).isEqualTo("unsupported_parameter");
        assertThat(error.path("param").asText()).isEqualTo("quality");
        assertThat(error.path("message").asText())
                .isEqualTo("The model 'gemini-3.1-flash-image' does not support the 'quality' parameter.");
        assertThat(fake.requestCount()).isZero();
    }

    static JsonNode readTree(byte[] json) {
        try {
            return WireFixture.JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
