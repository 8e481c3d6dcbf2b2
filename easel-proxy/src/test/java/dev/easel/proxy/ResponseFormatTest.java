package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.ManualClock;
import dev.easel.testkit.RecordedRequest;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Response normalisation: {@code response_format=url} from a model that only returns base64 gets URLs
 * served by the proxy; {@code b64_json} from a provider that returns URLs gets base64.
 */
class ResponseFormatTest {

    private static final Pattern FILE_NAME = Pattern.compile("[0-9a-f]{32}\\.png");

    @TempDir
    static Path dataDir;
    @TempDir
    Path otherDataDir;

    static WireFixture wire;

    @BeforeAll
    static void start() {
        // the fake's image URLs are on loopback: let the proxy fetch them
        wire = WireFixture.start(dataDir, "", o -> o.withPrivateImageUrls(true));
    }

    @AfterAll
    static void stop() {
        if (wire != null) {
            wire.close();
        }
    }

    @BeforeEach
    void reset() {
        wire.fake.reset();
        wire.fake.respondWithUrls(false);
    }

    @Test
    void urlFormat_onGptModel_servesUpstreamBytesFromProxyUrl() {
        byte[] upstreamImage = WireImages.noisePng(24, 24, 1);
        wire.fake.enqueue(FakeResponse.json(200, """
                {"created": 1760000000, "data": [{"b64_json": "%s"}], "output_format": "png",
                 "usage": {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30}}
                """.formatted(Base64.getEncoder().encodeToString(upstreamImage))));

        HttpResponse<byte[]> r = wire.postMultipart(edit("gpt-image-1").text("response_format", "url"));

        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
        JsonNode data = WireFixture.json(r).path("data");
        assertThat(data.size()).isEqualTo(1);
        assertThat(data.get(0).has("b64_json")).isFalse();
        String url = data.get(0).path("url").asText();
        String prefix = "http://127.0.0.1:" + wire.proxy.port() + "/v1/images/files/";
        assertThat(url).startsWith(prefix);
        assertThat(url.substring(prefix.length())).matches(FILE_NAME);

        HttpResponse<byte[]> image = getWithoutKey(URI.create(url));
        assertThat(image.statusCode()).isEqualTo(200);
        assertThat(image.headers().firstValue("Content-Type")).contains("image/png");
        assertThat(image.body()).isEqualTo(upstreamImage);

        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.fieldNames()).doesNotContain("response_format");
    }

    @Test
    void urlFormat_withDefaultFakeAnswer_urlsServeTheSameBytesAsB64() {
        // what the fake answers as base64 (the proxy passes b64_json through unchanged) ...
        HttpResponse<byte[]> b64 = wire.postMultipart(edit("gpt-image-1"));
        assertThat(b64.statusCode()).isEqualTo(200);
        byte[] fakeImage = Base64.getDecoder().decode(WireFixture.json(b64).path("data").get(0).path("b64_json")
                .asText());

        // ... is what the URLs serve
        HttpResponse<byte[]> r = wire.postMultipart(edit("gpt-image-1").text("n", "2").text("response_format", "url"));

        assertThat(r.statusCode()).isEqualTo(200);
        List<String> urls = new ArrayList<>();
        WireFixture.json(r).path("data").forEach(d -> urls.add(d.path("url").asText()));
        assertThat(urls).hasSize(2).doesNotHaveDuplicates();
        for (String url : urls) {
            HttpResponse<byte[]> image = getWithoutKey(URI.create(url));
            assertThat(image.statusCode()).isEqualTo(200);
            assertThat(image.body()).isEqualTo(fakeImage);
            WireImages.decodePng(image.body());
        }
        wire.fake.takeRequest();
        assertThat(wire.fake.takeRequest().fieldNames()).doesNotContain("response_format");
    }

    @Test
    void urlFormat_throughOpenAiJava_urlServesImage() {
        com.openai.client.OpenAIClient client = com.openai.client.okhttp.OpenAIOkHttpClient.builder()
                .baseUrl(wire.proxy.baseUri() + "/v1").apiKey(WireFixture.MASTER_KEY).maxRetries(0).build();
        try {
            var response = client.images().edit(com.openai.models.images.ImageEditParams.builder()
                    .image(WireImages.png(32, 32, 5)).prompt("p").model("gpt-image-1")
                    .responseFormat(com.openai.models.images.ImageEditParams.ResponseFormat.URL).build());

            String url = response.data().orElseThrow().getFirst().url().orElseThrow();
            assertThat(url).startsWith("http://127.0.0.1:" + wire.proxy.port() + "/v1/images/files/");
            HttpResponse<byte[]> image = getWithoutKey(URI.create(url));
            assertThat(image.statusCode()).isEqualTo(200);
            WireImages.decodePng(image.body());
        } finally {
            client.close();
        }
        assertThat(wire.fake.takeRequest().fieldNames()).doesNotContain("response_format");
    }

    @Test
    void urlFormat_jpegOutput_servedAsJpeg() {
        HttpResponse<byte[]> r = wire.postMultipart(edit("gpt-image-1").text("output_format", "jpeg")
                .text("response_format", "url"));

        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
        String url = WireFixture.json(r).path("data").get(0).path("url").asText();
        assertThat(url).matches(".*/v1/images/files/[0-9a-f]{32}\\.jpg");
        HttpResponse<byte[]> image = getWithoutKey(URI.create(url));
        assertThat(image.statusCode()).isEqualTo(200);
        assertThat(image.headers().firstValue("Content-Type")).contains("image/jpeg");
        assertThat(image.body()[0] & 0xFF).isEqualTo(0xFF);
        assertThat(image.body()[1] & 0xFF).isEqualTo(0xD8);
    }

    @Test
    void unknownImageName_is404Json() {
        for (String name : List.of("0123456789abcdef0123456789abcdef.png", "nope.png", "..%2F..%2Fconfig.yaml",
                "0123456789ABCDEF0123456789ABCDEF.png")) {
            HttpResponse<byte[]> r = getWithoutKey(wire.uri("/v1/images/files/" + name));

            assertThat(r.statusCode()).as(name).isEqualTo(404);
            JsonNode error = WireFixture.error(r);
            assertThat(error.path("code").asText()).isEqualTo("image_not_found");
            assertThat(error.path("message").asText()).isEqualTo("image not found or expired");
        }
    }

    @Test
    void expiredImage_is404Json() throws Exception {
        ManualClock clock = new ManualClock(java.time.Instant.now());
        try (WireFixture shortLived = WireFixture.start(otherDataDir, "image_url_ttl: 1h", o -> o, clock)) {
            HttpResponse<byte[]> r = shortLived.postMultipart(edit("gpt-image-1").text("response_format", "url"));
            assertThat(r.statusCode()).isEqualTo(200);
            String url = WireFixture.json(r).path("data").get(0).path("url").asText();
            assertThat(otherDataDir.resolve("images").resolve(url.substring(url.lastIndexOf('/') + 1))).exists();

            clock.advance(Duration.ofHours(1).minusSeconds(1));
            assertThat(getWithoutKey(URI.create(url)).statusCode()).as("a second before the TTL").isEqualTo(200);
            clock.advance(Duration.ofSeconds(1));
            HttpResponse<byte[]> image = getWithoutKey(URI.create(url));
            assertThat(image.statusCode()).isEqualTo(404);
            assertThat(WireFixture.error(image).path("code").asText()).isEqualTo("image_not_found");
        }
    }

    @Test
    void publicBaseUrl_setsHostOfImageUrls() {
        try (WireFixture pub = WireFixture.start(otherDataDir, "public_base_url: https://images.example.com/easel/",
                o -> o)) {
            HttpResponse<byte[]> r = pub.postMultipart(edit("gpt-image-1").text("response_format", "url"));

            assertThat(r.statusCode()).isEqualTo(200);
            String url = WireFixture.json(r).path("data").get(0).path("url").asText();
            String prefix = "https://images.example.com/easel/v1/images/files/";
            assertThat(url).startsWith(prefix);
            String name = url.substring(prefix.length());
            assertThat(name).matches(FILE_NAME);
            // behind that public host the proxy serves the same name
            HttpResponse<byte[]> image = getWithoutKey(pub.uri("/v1/images/files/" + name));
            assertThat(image.statusCode()).isEqualTo(200);
            WireImages.decodePng(image.body());
        }
    }

    @Test
    void b64Format_fromProviderReturningUrls_fetchesAndReturnsBase64() {
        wire.fake.respondWithUrls(true);

        HttpResponse<byte[]> r = wire.postMultipart(edit("gpt-image-1").text("response_format", "b64_json"));

        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
        JsonNode d = WireFixture.json(r).path("data").get(0);
        assertThat(d.has("url")).isFalse();
        byte[] got = Base64.getDecoder().decode(d.path("b64_json").asText());
        WireImages.decodePng(got);

        RecordedRequest edit = wire.fake.takeRequest();
        assertThat(edit.fieldNames()).doesNotContain("response_format");
        RecordedRequest fetch = wire.fake.takeRequest();
        assertThat(fetch.method()).isEqualTo("GET");
        assertThat(fetch.path()).matches("/files/[0-9a-f]{32}\\.png");
        // the bytes the fake serves at that URL are the bytes the client got
        HttpResponse<byte[]> direct = getWithoutKey(URI.create(wire.fake.azureBaseUrl() + fetch.path()));
        assertThat(direct.statusCode()).isEqualTo(200);
        assertThat(got).isEqualTo(direct.body());
    }

    @Test
    void dallE2_b64Format_isForwardedUpstream() {
        HttpResponse<byte[]> r = wire.postMultipart(new RawMultipart().text("model", "dall-e-2").text("prompt", "p")
                .file("image", "i.png", "image/png", WireImages.pngWithAlpha(32, 32, 3))
                .text("response_format", "b64_json").text("size", "256x256"));

        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
        WireImages.decodePng(Base64.getDecoder().decode(WireFixture.json(r).path("data").get(0).path("b64_json")
                .asText()));
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.textField("response_format")).contains("b64_json");
        assertThat(wire.fake.requestCount()).isEqualTo(1); // nothing fetched
    }

    private static RawMultipart edit(String model) {
        byte[] png = WireImages.png(32, 32, 3);
        return new RawMultipart().text("model", model).text("prompt", "p").file("image", "i.png", "image/png", png);
    }

    private static HttpResponse<byte[]> getWithoutKey(URI uri) {
        return wire.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build());
    }
}
