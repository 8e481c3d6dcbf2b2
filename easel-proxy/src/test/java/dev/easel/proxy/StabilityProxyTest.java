package dev.easel.proxy;

import static dev.easel.proxy.ProxyCalls.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.config.ConfigLoader;
import dev.easel.testkit.FakeStability;
import dev.easel.testkit.RecordedPart;
import dev.easel.testkit.RecordedRequest;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy started on a config naming {@code stability/…} deployments whose {@code api_base} is the testkit's
 * FakeStability: an OpenAI-shaped request in (multipart as curl sends it, or JSON), Stability's wire out, OpenAI's
 * shape back ({@code b64_json}, or a {@code url} the proxy serves), the cost in the header, and Stability's errors
 * as OpenAI error JSON.
 */
class StabilityProxyTest {

    static final String MASTER_KEY = "sk-master-stability-1234";
    static final String STABILITY_KEY = "sk-stability-upstream-5678";

    @TempDir
    static Path dataDir;

    static FakeStability fake;
    static ProxyServer proxy;

    @BeforeAll
    static void start() {
        fake = FakeStability.builder().apiKey(STABILITY_KEY).start();
        String yaml = """
                model_list:
                  - model_name: inpaint
                    litellm_params: {model: stability/inpaint, api_key: os.environ/STABILITY_API_KEY, api_base: "%1$s"}
                  - model_name: outpaint
                    litellm_params: {model: stability/outpaint, api_key: os.environ/STABILITY_API_KEY, api_base: "%1$s"}
                  - model_name: failing
                    litellm_params: {model: stability/inpaint, api_key: os.environ/STABILITY_API_KEY, api_base: "%1$s"}
                general_settings:
                  master_key: %2$s
                """.formatted(fake.baseUrl(), MASTER_KEY);
        proxy = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, Map.of("STABILITY_API_KEY", STABILITY_KEY),
                "stability.yaml")).listen("127.0.0.1", 0).withDataDir(dataDir), java.time.Clock.systemUTC());
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

    @Test
    void curlMultipart_inpaintWithMask_b64Json_reachesStabilityAndComesBackInOpenAisShape() throws IOException {
        byte[] png = WireImages.png(64, 64, 1);
        // curl -F model=inpaint -F prompt=… -F image=@photo.png -F mask=@mask.png -F negative_prompt=… …
        HttpResponse<byte[]> r = post(new RawMultipart().text("model", "inpaint").text("prompt", "a red door")
                .file("image", "photo.png", "image/png", png).file("mask", "mask.png", "image/png",
                        WireImages.mask(64, 64))
                .text("negative_prompt", "blurry").text("grow_mask", "3").text("response_format", "b64_json"));

        assertThat(r.statusCode()).as(() -> text(r)).isEqualTo(200);
        JsonNode data = WireFixture.json(r).path("data");
        assertThat(data.size()).isEqualTo(1);
        byte[] image = Base64.getDecoder().decode(data.get(0).path("b64_json").asText());
        assertThat(ImageIO.read(new ByteArrayInputStream(image)).getWidth()).isEqualTo(64);
        assertThat(r.headers().firstValue("x-easel-response-cost")).contains("0.05");
        assertThat(r.headers().firstValue("x-easel-model-group")).contains("inpaint");

        RecordedRequest up = fake.takeRequest();
        assertThat(up.path()).isEqualTo("/v2beta/stable-image/edit/inpaint");
        assertThat(up.header("Authorization")).contains("Bearer " + STABILITY_KEY);
        assertThat(up.header("Authorization").orElseThrow()).doesNotContain(MASTER_KEY);
        assertThat(up.fieldNames()).containsExactly("prompt", "negative_prompt", "grow_mask", "image", "mask");
        assertThat(up.part("image").bytes()).isEqualTo(png);
        BufferedImage mask = ImageIO.read(new ByteArrayInputStream(up.part("mask").bytes()));
        assertThat(mask.getType()).isEqualTo(BufferedImage.TYPE_BYTE_GRAY);
    }

    @Test
    void jsonBody_outpaint_responseFormatUrl_isServedByTheProxy() throws IOException {
        byte[] png = WireImages.png(64, 64, 2);
        HttpResponse<byte[]> r = postJson("""
                {"model": "outpaint", "prompt": "more sky", "images": [{"image_url": "%s"}],
                 "up": 32, "creativity": 0.4, "response_format": "url"}
                """.formatted("data:image/png;base64," + Base64.getEncoder().encodeToString(png)));

        assertThat(r.statusCode()).as(() -> text(r)).isEqualTo(200);
        String url = WireFixture.json(r).path("data").get(0).path("url").asText();
        assertThat(url).startsWith("http://127.0.0.1:" + proxy.port() + "/v1/images/files/");
        assertThat(r.headers().firstValue("x-easel-response-cost")).contains("0.04");

        HttpResponse<byte[]> served = send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                .GET().build());
        assertThat(served.statusCode()).isEqualTo(200);
        assertThat(served.headers().firstValue("Content-Type")).contains("image/png");
        BufferedImage grown = ImageIO.read(new ByteArrayInputStream(served.body()));
        assertThat(grown.getWidth()).isEqualTo(64);
        assertThat(grown.getHeight()).isEqualTo(96); // Stability's outpaint grew it by 'up'

        RecordedRequest up = fake.takeRequest();
        assertThat(up.path()).isEqualTo("/v2beta/stable-image/edit/outpaint");
        assertThat(up.fieldNames()).containsExactly("prompt", "up", "creativity", "image");
        RecordedPart image = up.part("image");
        assertThat(image.bytes()).isEqualTo(png);
        assertThat(image.contentType()).contains("image/png");
    }

    @Test
    void stabilityErrors_areOpenAiErrorJson() {
        // a group of its own: out of credits rests the deployment, as a rate limit does
        fake.enqueue(FakeStability.contentFiltered());
        HttpResponse<byte[]> filtered = post(inpaint("failing"));
        assertThat(filtered.statusCode()).isEqualTo(400);
        JsonNode error = WireFixture.error(filtered);
        assertThat(error.path("code").asText()).isEqualTo("moderation_blocked");
        assertThat(error.path("type").asText()).isEqualTo("image_generation_user_error");
        assertThat(filtered.headers().firstValue("x-request-id")).isPresent();

        fake.enqueue(FakeStability.paymentRequired());
        HttpResponse<byte[]> broke = post(inpaint("failing"));
        assertThat(broke.statusCode()).isEqualTo(429);
        assertThat(WireFixture.error(broke).path("code").asText()).isEqualTo("insufficient_quota");
        assertThat(text(broke)).doesNotContain(STABILITY_KEY);
    }

    @Test
    void sizeStabilityCannotHonour_is400BeforeAnyCall() {
        HttpResponse<byte[]> r = post(inpaint("inpaint").text("size", "1024x1024"));

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("code").asText()).isEqualTo("unsupported_parameter");
        assertThat(error.path("param").asText()).isEqualTo("size");
        assertThat(fake.requestCount()).isZero();
    }

    private static RawMultipart inpaint(String group) {
        return new RawMultipart().text("model", group).text("prompt", "p")
                .file("image", "i.png", "image/png", WireImages.pngWithAlpha(64, 64, 3));
    }

    private static HttpResponse<byte[]> post(RawMultipart body) {
        return send(request().header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.build())).build());
    }

    private static HttpResponse<byte[]> postJson(String json) {
        return send(request().header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    private static HttpRequest.Builder request() {
        return HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits")).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + MASTER_KEY);
    }

    private static String text(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }
}
