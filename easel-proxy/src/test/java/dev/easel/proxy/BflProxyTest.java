package dev.easel.proxy;

import static dev.easel.proxy.ProxyCalls.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.ConfigLoader;
import dev.easel.testkit.FakeBfl;
import dev.easel.testkit.RecordedRequest;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy in front of FakeBfl on a config naming {@code black_forest_labs/…} deployments: a multipart edit as curl
 * sends it and a JSON edit come back in OpenAI's shape ({@code b64_json}, or a {@code url} the proxy serves), with
 * the job's charge in {@code x-easel-response-cost}; a Fill edit's alpha mask reaches BFL white-on-black; BFL's
 * errors and moderation come back as OpenAI error JSON.
 */
class BflProxyTest {

    static final String MASTER_KEY = "sk-master-bfl-4321";
    static final String BFL_KEY = "bfl-upstream-8765";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dataDir;
    static final dev.easel.testkit.ManualClock BFL_CLOCK = new dev.easel.testkit.ManualClock(
            java.time.Instant.parse("2026-12-06T10:00:00Z"));
    static FakeBfl fake;
    static ProxyServer proxy;

    @BeforeAll
    static void start() {
        fake = FakeBfl.builder().apiKey(BFL_KEY).clock(BFL_CLOCK).pendingPolls(0).start();
        String yaml = """
                model_list:
                  - model_name: edit
                    litellm_params: {model: black_forest_labs/flux-kontext-pro, api_key: %1$s, api_base: "%2$s"}
                  - model_name: inpaint
                    litellm_params: {model: black_forest_labs/flux-pro-1.0-fill, api_key: %1$s, api_base: "%2$s"}
                  - model_name: broke
                    litellm_params: {model: black_forest_labs/flux-kontext-max, api_key: %1$s, api_base: "%2$s"}
                router_settings: {num_retries: 0}
                general_settings:
                  master_key: %3$s
                """.formatted(BFL_KEY, fake.baseUrl(), MASTER_KEY);
        proxy = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, Map.of(), "bfl.yaml"))
                .listen("127.0.0.1", 0).withDataDir(dataDir));
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    @BeforeEach
    void reset() {
        fake.reset();
    }

    static HttpResponse<byte[]> post(String contentType, byte[] body) {
        return send(HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits"))
                .header("Authorization", "Bearer " + MASTER_KEY).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    static JsonNode json(HttpResponse<byte[]> r) throws Exception {
        return JSON.readTree(r.body());
    }

    static JsonNode submitted() throws Exception {
        List<RecordedRequest> posts = fake.requests().stream().filter(r -> r.method().equals("POST")).toList();
        assertThat(posts).hasSize(1);
        assertThat(posts.getFirst().header("x-key")).contains(BFL_KEY);
        assertThat(posts.getFirst().header("Authorization")).isEmpty(); // the master key stays in the proxy
        return JSON.readTree(posts.getFirst().body());
    }

    static BufferedImage decode(byte[] image) throws Exception {
        return ImageIO.read(new ByteArrayInputStream(image));
    }

    @Test
    void multipartAsCurlSendsIt_b64Json_withTheChargeInTheCostHeader() throws Exception {
        byte[] png = WireImages.png(40, 60, 1);

        HttpResponse<byte[]> r = post(RawMultipart.contentType(), new RawMultipart().text("model", "edit")
                .text("prompt", "add a red hat").file("image", "cat.png", "image/png", png)
                .text("size", "1024x1536").text("response_format", "b64_json").text("seed", "7").build());

        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
        JsonNode body = json(r);
        assertThat(body.path("data").size()).isEqualTo(1);
        BufferedImage image = decode(Base64.getDecoder().decode(body.path("data").get(0).path("b64_json").asText()));
        assertThat(image.getWidth() + "x" + image.getHeight()).isEqualTo("832x1248");
        assertThat(r.headers().firstValue("x-easel-response-cost")).contains("0.04");
        JsonNode upstream = submitted();
        assertThat(upstream.get("prompt").asText()).isEqualTo("add a red hat");
        assertThat(Base64.getDecoder().decode(upstream.get("input_image").asText())).isEqualTo(png);
        assertThat(upstream.get("aspect_ratio").asText()).isEqualTo("2:3");
        assertThat(upstream.get("seed").asInt()).isEqualTo(7);
        assertThat(fake.submissions("flux-kontext-pro")).isEqualTo(1);
    }

    @Test
    void jsonBody_url_isServedByTheProxy() throws Exception {
        byte[] png = WireImages.png(48, 48, 2);
        String request = """
                {"model": "edit", "prompt": "make it night", "response_format": "url", "output_format": "png",
                 "images": [{"image_url": "data:image/png;base64,%s"}], "prompt_upsampling": true}
                """.formatted(Base64.getEncoder().encodeToString(png));

        HttpResponse<byte[]> r = post("application/json", request.getBytes());

        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
        JsonNode data = json(r).path("data");
        assertThat(data.get(0).has("b64_json")).isFalse();
        String url = data.get(0).path("url").asText();
        assertThat(url).startsWith("http://127.0.0.1:" + proxy.port() + "/v1/images/files/");
        HttpResponse<byte[]> served = send(HttpRequest.newBuilder(URI.create(url)).GET());
        assertThat(served.statusCode()).isEqualTo(200);
        assertThat(served.headers().firstValue("Content-Type")).contains("image/png");
        assertThat(decode(served.body()).getWidth()).isEqualTo(1024); // 1 MP at the input's 1:1
        JsonNode upstream = submitted();
        assertThat(upstream.get("output_format").asText()).isEqualTo("png");
        assertThat(upstream.get("prompt_upsampling").asBoolean()).isTrue();
        assertThat(upstream.has("response_format")).isFalse();
        assertThat(r.headers().firstValue("x-easel-response-cost")).contains("0.04");
    }

    @Test
    void fill_curlMultipartWithAnAlphaMask_reachesBflWhiteOnBlack() throws Exception {
        byte[] png = WireImages.png(32, 32, 3);
        byte[] mask = WireImages.mask(32, 32);

        HttpResponse<byte[]> r = post(RawMultipart.contentType(), new RawMultipart().text("model", "inpaint")
                .text("prompt", "a window").file("image", "i.png", "image/png", png)
                .file("mask", "m.png", "image/png", mask).build());

        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
        JsonNode upstream = submitted();
        assertThat(Base64.getDecoder().decode(upstream.get("image").asText())).isEqualTo(png);
        BufferedImage converted = decode(Base64.getDecoder().decode(upstream.get("mask").asText()));
        assertThat(converted.getColorModel().hasAlpha()).isFalse();
        assertThat(converted.getWidth()).isEqualTo(32);
        assertThat(r.headers().firstValue("x-easel-response-cost")).contains("0.05");
    }

    @Test
    void noCreditsLeft_isOpenAisInsufficientQuotaErrorJson() throws Exception {
        fake.enqueue(FakeBfl.insufficientCredits());

        // its own group: a 429 rests the deployment, which must not touch the other tests
        HttpResponse<byte[]> r = post(RawMultipart.contentType(), new RawMultipart().text("model", "broke")
                .text("prompt", "p").file("image", "i.png", "image/png", WireImages.png(16, 16, 4)).build());

        assertThat(r.statusCode()).isEqualTo(429);
        JsonNode error = json(r).path("error");
        assertThat(error.path("type").asText()).isEqualTo("insufficient_quota");
        assertThat(error.path("code").asText()).isEqualTo("insufficient_quota");
        assertThat(error.path("message").asText()).contains("black_forest_labs has no credits left");
        assertThat(error.has("param")).isTrue();
    }

    @Test
    void moderatedJob_isModerationBlockedErrorJson() throws Exception {
        fake.enqueue(FakeBfl.requestModerated());

        HttpResponse<byte[]> r = post(RawMultipart.contentType(), new RawMultipart().text("model", "edit")
                .text("prompt", "p").file("image", "i.png", "image/png", WireImages.png(16, 16, 5)).build());

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = json(r).path("error");
        assertThat(error.path("type").asText()).isEqualTo("image_generation_user_error");
        assertThat(error.path("code").asText()).isEqualTo("moderation_blocked");
        assertThat(error.path("message").asText()).contains(fake.jobIds().getFirst());
    }

    @Test
    void expiredSample_is502NamingTheJob() throws Exception {
        // a sample URL signed for 10 minutes, read after 11, as the answer to the next job's poll
        JsonNode earlier = JSON.readTree(send(HttpRequest.newBuilder(URI.create(fake.baseUrl()
                + "/v1/flux-kontext-pro")).header("x-key", BFL_KEY).POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\"}"))).body());
        JsonNode ready = JSON.readTree(send(HttpRequest.newBuilder(URI.create(earlier.get("polling_url").asText()))
                .header("x-key", BFL_KEY).GET()).body());
        BFL_CLOCK.advance(Duration.ofMinutes(11));
        fake.enqueuePoll(dev.easel.testkit.FakeResponse.json(200, "{\"id\":\"x\",\"status\":\"Ready\","
                + "\"result\":{\"sample\":\"" + ready.path("result").get("sample").asText() + "\"}}"));

        HttpResponse<byte[]> r = post(RawMultipart.contentType(), new RawMultipart().text("model", "edit")
                .text("prompt", "p").file("image", "i.png", "image/png", WireImages.png(16, 16, 6)).build());

        assertThat(r.statusCode()).isEqualTo(502);
        JsonNode error = json(r).path("error");
        assertThat(error.path("code").asText()).isEqualTo("bad_upstream_response");
        assertThat(error.path("message").asText()).startsWith("black_forest_labs returned a result URL that could "
                + "not be downloaded").endsWith("for job " + fake.jobIds().get(1));
        assertThat(fake.sampleDownloads()).isZero();
    }
}
