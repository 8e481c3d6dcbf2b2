package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.easel.BadRequestException;
import dev.easel.Easel;
import dev.easel.ImageData;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import dev.easel.NotFoundException;
import dev.easel.config.ConfigLoader;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.RecordedRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Easel SDK pointed at a gateway (here: a real Easel proxy in front of the fake OpenAI): the gateway's
 * image URLs come back as they are, the gateway's own group names pass through unchecked, and names the
 * catalogue knows are still checked locally before anything is sent.
 */
class EaselSdkBehindGatewayTest {

    private static final String MASTER_KEY = "sk-gateway-master-4321";
    private static final String UPSTREAM_KEY = "sk-gateway-upstream-8765";

    @TempDir
    static Path dataDir;
    @TempDir
    Path dir;

    static FakeOpenAi fake;
    static ProxyServer gateway;

    private Path image;

    @BeforeAll
    static void start() {
        fake = FakeOpenAi.builder().apiKey(UPSTREAM_KEY).start();
        String yaml = """
                model_list:
                  - model_name: edit
                    litellm_params: {model: openai/gpt-image-1, api_key: %1$s, api_base: "%2$s"}
                  - model_name: gpt-image-1
                    litellm_params: {model: openai/gpt-image-1, api_key: %1$s, api_base: "%2$s"}
                  - model_name: my-fancy-model
                    litellm_params: {model: openai/fancy-upstream-model, api_key: %1$s, api_base: "%2$s"}
                general_settings:
                  master_key: %3$s
                """.formatted(UPSTREAM_KEY, fake.baseUrl(), MASTER_KEY);
        gateway = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, Map.of(), "gateway.yaml"))
                .listen("127.0.0.1", 0).withDataDir(dataDir));
    }

    @AfterAll
    static void stop() {
        try {
            if (gateway != null) {
                gateway.close();
            }
        } finally {
            if (fake != null) {
                fake.close();
            }
        }
    }

    @BeforeEach
    void reset() throws Exception {
        fake.reset();
        fake.respondWithUrls(false);
        image = dir.resolve("in.png");
        Files.write(image, WireImages.png(32, 32, 7));
    }

    private Easel sdk() {
        return Easel.builder().apiBase(gateway.baseUri() + "/v1").apiKey(MASTER_KEY).maxRetries(0)
                .imageDirectory(dir.resolve("local-images")).build();
    }

    private ImageEditRequest.Builder edit(String model) {
        return ImageEditRequest.builder().model(model).image(image).prompt("add a red hat");
    }

    private String gatewayImagePrefix() {
        return "http://127.0.0.1:" + gateway.port() + "/v1/images/files/";
    }

    @Test
    void urlFormat_knownModelThroughGateway_returnsTheGatewaysUrls() throws Exception {
        ImageResponse r = sdk().imageEdit(edit("gpt-image-1").n(2).responseFormat("url").build());

        assertThat(r.data()).hasSize(2);
        for (ImageData d : r.data()) {
            assertThat(d.url()).hasValueSatisfying(u -> assertThat(u).startsWith(gatewayImagePrefix()));
            assertThat(d.hasBase64()).isFalse();
        }
        // nothing was stored on the SDK's side
        assertThat(dir.resolve("local-images")).doesNotExist();
        // the gateway's URL serves the image the upstream made
        byte[] served = get(r.data().get(0).url().orElseThrow());
        assertThat(WireImages.decodePng(served).getWidth()).isPositive();
        // the gateway (not the SDK) decided how to honour response_format
        assertThat(fake.takeRequest().fieldNames()).doesNotContain("response_format");
    }

    @Test
    void urlFormat_gatewayGroupName_returnsTheGatewaysUrls() {
        ImageResponse r = sdk().imageEdit(edit("edit").responseFormat("url").build());

        assertThat(r.data()).singleElement().satisfies(d ->
                assertThat(d.url()).hasValueSatisfying(u -> assertThat(u).startsWith(gatewayImagePrefix())));
        assertThat(dir.resolve("local-images")).doesNotExist();
    }

    @Test
    void urlFormat_gatewayAnswersWithUpstreamUrls_urlsKeptAsTheyAre() {
        fake.respondWithUrls(true);

        ImageResponse r = sdk().imageEdit(edit("my-fancy-model").responseFormat("url").build());

        // the upstream's own URL, relayed by the gateway and kept by the SDK
        assertThat(r.data()).singleElement().satisfies(d ->
                assertThat(d.url()).hasValueSatisfying(u -> assertThat(u).startsWith(fake.baseUrl()
                        .replaceFirst("/v1$", "") + "/files/")));
        assertThat(dir.resolve("local-images")).doesNotExist();
    }

    @Test
    void edit_unknownGroupNameWithSizeTheCatalogueWouldRefuse_passesToTheGateway() {
        // 512x512 is not a gpt-image-1 size; 'my-fancy-model' is unknown to the catalogue, so the SDK does not
        // judge it: the gateway (whose upstream model takes any size) serves it
        ImageResponse r = sdk().imageEdit(edit("my-fancy-model").size("512x512").n(3).build());

        assertThat(r.data()).hasSize(3);
        RecordedRequest up = fake.takeRequest();
        assertThat(up.textField("model")).contains("fancy-upstream-model");
        assertThat(up.textField("size")).contains("512x512");
    }

    @Test
    void edit_unknownGroupNameTheGatewayRefuses_getsTheGatewaysError() {
        NotFoundException e = catchThrowableOfType(NotFoundException.class,
                () -> sdk().imageEdit(edit("no-such-group").build()));

        assertThat(e.getMessage()).contains("model 'no-such-group' is not served here");
        assertThat(e.status()).hasValue(404);
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_knownModelWithInvalidSize_isRefusedLocally() {
        BadRequestException e = catchThrowableOfType(BadRequestException.class,
                () -> sdk().imageEdit(edit("gpt-image-1").size("512x512").build()));

        assertThat(e.getMessage()).isEqualTo("Invalid size '512x512'. Supported sizes are 1024x1024, 1024x1536, "
                + "1536x1024, and auto.");
        assertThat(e.param()).contains("size");
        // refused by the SDK itself: no provider answered, and nothing reached the gateway's upstream
        assertThat(e.provider()).isEmpty();
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_knownModelThroughGateway_keepsLifecycleWarnings() {
        ImageResponse r = sdk().imageEdit(edit("gpt-image-1").build());

        assertThat(r.warnings()).anySatisfy(w -> assertThat(w).startsWith("model 'gpt-image-1' was shut down on"));
    }

    @Test
    void cost_gatewayGroupName_isTheCostTheGatewayCharged() {
        // gpt-image-1 behind the group 'edit': 100 text tokens at $5/M + 1000 image output tokens at $40/M
        fake.enqueue(dev.easel.testkit.FakeResponse.json(200, """
                {"created": 1, "data": [{"b64_json": "%s"}], "output_format": "png",
                 "usage": {"input_tokens": 100, "input_tokens_details": {"text_tokens": 100, "image_tokens": 0},
                           "output_tokens": 1000, "total_tokens": 1100}}
                """.formatted(java.util.Base64.getEncoder().encodeToString(WireImages.png(8, 8, 1)))));

        ImageResponse r = sdk().imageEdit(edit("edit").build());

        assertThat(r.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.0405"));
    }

    private static byte[] get(String url) throws Exception {
        HttpResponse<byte[]> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Bearer " + MASTER_KEY).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }
}
