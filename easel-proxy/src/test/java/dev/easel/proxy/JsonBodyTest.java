package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.easel.testkit.RecordedPart;
import dev.easel.testkit.RecordedRequest;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JSON form of an edit ({@code Content-Type: application/json}, {@code images: [{image_url}]}): data
 * URLs become proper multipart parts upstream; http(s) URLs only when allowed, fetched with the SSRF guard.
 */
class JsonBodyTest {

    @TempDir
    static Path dataDir;
    @TempDir
    Path otherDataDir;

    static WireFixture wire;
    ImageServer images;

    @BeforeAll
    static void start() {
        wire = WireFixture.start(dataDir);
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
    }

    @AfterEach
    void stopImages() {
        if (images != null) {
            images.close();
        }
    }

    @Test
    void dataUrls_imageAndMask_upstreamGetsMultipartParts() {
        byte[] png = WireImages.png(48, 48, 1);
        byte[] mask = WireImages.mask(48, 48);

        HttpResponse<byte[]> r = wire.postJson("""
                {"model": "gpt-image-1", "prompt": "json edit", "n": 2, "quality": "low",
                 "images": [{"image_url": "%s"}], "mask": {"image_url": "%s"}}
                """.formatted(dataUrl("image/png", png), dataUrl("image/png", mask)));

        assertThat(r.statusCode()).as(() -> text(r)).isEqualTo(200);
        assertThat(WireFixture.json(r).path("data").size()).isEqualTo(2);
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.isMultipart()).isTrue();
        assertThat(up.fieldNames()).containsExactly("model", "prompt", "n", "quality", "image", "mask");
        assertThat(up.textField("prompt")).contains("json edit");
        assertThat(up.textField("n")).contains("2");
        RecordedPart image = up.part("image");
        assertThat(image.filename()).contains("image.png");
        assertThat(image.contentType()).contains("image/png");
        assertThat(image.bytes()).isEqualTo(png);
        RecordedPart maskPart = up.part("mask");
        assertThat(maskPart.filename()).contains("mask.png");
        assertThat(maskPart.contentType()).contains("image/png");
        assertThat(maskPart.bytes()).isEqualTo(mask);
    }

    @Test
    void dataUrls_severalImages_upstreamGetsImageArrayInOrder() {
        byte[] a = WireImages.png(32, 32, 2);
        byte[] b = WireImages.webp(32, 32);
        byte[] c = WireImages.png(32, 32, 3);

        HttpResponse<byte[]> r = wire.postJson("""
                {"prompt": "p", "model": "gpt-image-1", "images": [
                  {"image_url": "%s"}, {"image_url": {"url": "%s"}}, {"image_url": "%s"}]}
                """.formatted(dataUrl("image/png", a), dataUrl("image/webp", b),
                // the label of a data: URL does not matter: the bytes decide
                dataUrl("application/octet-stream", c)));

        assertThat(r.statusCode()).as(() -> text(r)).isEqualTo(200);
        List<RecordedPart> parts = wire.fake.takeRequest().parts("image[]");
        assertThat(parts).extracting(p -> p.filename().orElseThrow())
                .containsExactly("image.png", "image_1.webp", "image_2.png");
        assertThat(parts).extracting(p -> p.contentType().orElseThrow())
                .containsExactly("image/png", "image/webp", "image/png");
        assertThat(parts.get(0).bytes()).isEqualTo(a);
        assertThat(parts.get(1).bytes()).isEqualTo(b);
        assertThat(parts.get(2).bytes()).isEqualTo(c);
    }

    @Test
    void dataUrl_withLineBreaksInBase64_decoded() {
        byte[] png = WireImages.png(40, 40, 4);
        String mime = "data:image/png;base64," + Base64.getMimeEncoder().encodeToString(png).replace("\r\n", "\\r\\n");

        HttpResponse<byte[]> r = wire.postJson("""
                {"prompt": "p", "model": "gpt-image-1", "images": [{"image_url": "%s"}]}""".formatted(mime));

        assertThat(r.statusCode()).as(() -> text(r)).isEqualTo(200);
        assertThat(wire.fake.takeRequest().part("image").bytes()).isEqualTo(png);
    }

    @Test
    void largeDataUrl_acrossDecoderBatches_decodedExactly() {
        byte[] png = WireImages.noisePng(256, 256, 7); // ~200 KB, ~260 KB of base64: several decode batches

        HttpResponse<byte[]> r = wire.postJson("""
                {"prompt": "p", "model": "gpt-image-1", "images": [{"image_url": "%s"}]}""".formatted(
                dataUrl("image/png", png)));

        assertThat(png.length).isGreaterThan(150_000);
        assertThat(r.statusCode()).as(() -> text(r)).isEqualTo(200);
        assertThat(wire.fake.takeRequest().part("image").bytes()).isEqualTo(png);
    }

    @Test
    void singularImageFieldAsBareString_accepted() {
        byte[] png = WireImages.png(32, 32, 8);

        HttpResponse<byte[]> r = wire.postJson("""
                {"prompt": "p", "model": "gpt-image-1", "image": "%s"}""".formatted(dataUrl("image/png", png)));

        assertThat(r.statusCode()).as(() -> text(r)).isEqualTo(200);
        assertThat(wire.fake.takeRequest().part("image").bytes()).isEqualTo(png);
    }

    @Test
    void streamTrue_answersWithServerSentEvents() {
        wire.fake.streamEventDelay(java.time.Duration.ZERO);
        byte[] png = WireImages.png(32, 32, 9);

        HttpResponse<byte[]> r = wire.postJson("""
                {"prompt": "p", "model": "gpt-image-1", "stream": true, "partial_images": 1,
                 "images": [{"image_url": "%s"}]}""".formatted(dataUrl("image/png", png)));

        assertThat(r.statusCode()).as(() -> text(r)).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t ->
                assertThat(t).startsWith("text/event-stream"));
        String events = text(r);
        assertThat(events.indexOf("event: image_edit.partial_image")).isNotNegative()
                .isLessThan(events.indexOf("event: image_edit.completed"));
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.textField("stream")).contains("true");
        assertThat(up.textField("partial_images")).contains("1");
    }

    @Test
    void httpImageUrl_whenUrlsNotAllowed_is400ImageUrlNotAllowed() {
        HttpResponse<byte[]> r = wire.postJson("""
                {"prompt": "p", "model": "gpt-image-1", "images": [{"image_url": "https://example.com/a.png"}]}""");

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("code").asText()).isEqualTo("image_url_not_allowed");
        assertThat(error.path("param").asText()).isEqualTo("images[0]");
        assertThat(error.path("message").asText()).isEqualTo("'images[0]' must be a data: URL; fetching http(s) "
                + "image URLs is off (general_settings.allow_image_urls)");
        assertThat(wire.fake.requestCount()).isZero();
    }

    @Test
    void httpImageUrl_whenAllowed_isFetchedAndSentUpstream() {
        byte[] png = WireImages.png(56, 56, 5);
        byte[] mask = WireImages.mask(56, 56);
        images = ImageServer.start(png, mask);
        try (WireFixture urls = WireFixture.start(otherDataDir, "allow_image_urls: true",
                o -> o.withPrivateImageUrls(true))) {
            HttpResponse<byte[]> r = urls.postJson("""
                    {"prompt": "p", "model": "gpt-image-1", "images": [{"image_url": "%s"}],
                     "mask": {"image_url": "%s"}}""".formatted(images.url(0), images.url(1)));

            assertThat(r.statusCode()).as(() -> text(r)).isEqualTo(200);
            RecordedRequest up = urls.fake.takeRequest();
            assertThat(up.part("image").bytes()).isEqualTo(png);
            assertThat(up.part("image").contentType()).contains("image/png");
            assertThat(up.part("mask").bytes()).isEqualTo(mask);
            assertThat(images.served).containsExactly("/0.png", "/1.png");
        }
    }

    @Test
    void loopbackImageUrl_withoutPrivateUrls_is400ImageUrlForbidden() {
        images = ImageServer.start(WireImages.png(32, 32, 6));
        try (WireFixture urls = WireFixture.start(otherDataDir, "allow_image_urls: true",
                o -> o.withPrivateImageUrls(false))) {
            HttpResponse<byte[]> r = urls.postJson("""
                    {"prompt": "p", "model": "gpt-image-1", "images": [{"image_url": "%s"}]}""".formatted(images.url(0)));

            assertThat(r.statusCode()).isEqualTo(400);
            JsonNode error = WireFixture.error(r);
            assertThat(error.path("code").asText()).isEqualTo("image_url_forbidden");
            assertThat(error.path("param").asText()).isEqualTo("images[0]");
            assertThat(images.served).isEmpty();
            assertThat(urls.fake.requestCount()).isZero();
        }
    }

    @Test
    void fileId_is400() {
        HttpResponse<byte[]> r = wire.postJson("""
                {"prompt": "p", "model": "gpt-image-1", "images": [{"file_id": "file-abc123"}]}""");

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("code").asText()).isEqualTo("unsupported_parameter");
        assertThat(error.path("param").asText()).isEqualTo("images[0].file_id");
        assertThat(wire.fake.requestCount()).isZero();
    }

    @Test
    void invalidJson_is400InvalidJson() {
        HttpResponse<byte[]> r = wire.postJson("{\"prompt\": \"p\", \"images\": [");

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("code").asText()).isEqualTo("invalid_json");
        assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.path("message").asText()).startsWith("invalid JSON body: ");
        assertThat(wire.fake.requestCount()).isZero();
    }

    @Test
    void jsonArrayBody_is400() {
        HttpResponse<byte[]> r = wire.postJson("[1, 2]");

        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(WireFixture.error(r).path("message").asText()).isEqualTo("the request body must be a JSON object");
    }

    @Test
    void dataUrlWithoutBase64_is400InvalidImageUrl() {
        HttpResponse<byte[]> r = wire.postJson("""
                {"prompt": "p", "model": "gpt-image-1", "images": [{"image_url": "data:image/png,abc"}]}""");

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("code").asText()).isEqualTo("invalid_image_url");
        assertThat(error.path("param").asText()).isEqualTo("images[0]");
    }

    @Test
    void dataUrlWithBrokenBase64_is400InvalidImageUrl() {
        HttpResponse<byte[]> r = wire.postJson("""
                {"prompt": "p", "model": "gpt-image-1", "images": [{"image_url": "data:image/png;base64,@@@@"}]}""");

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("code").asText()).isEqualTo("invalid_image_url");
        assertThat(error.path("message").asText()).isEqualTo("'images[0]' has invalid base64 data");
    }

    private static String dataUrl(String type, byte[] bytes) {
        return "data:" + type + ";base64," + Base64.getEncoder().encodeToString(bytes);
    }

    private static String text(HttpResponse<byte[]> r) {
        return new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Serves {@code /0.png}, {@code /1.png}, … on loopback and records the paths asked for. */
    static final class ImageServer implements AutoCloseable {
        final HttpServer server;
        final List<String> served = new CopyOnWriteArrayList<>();

        private ImageServer(HttpServer server) {
            this.server = server;
        }

        static ImageServer start(byte[]... images) {
            try {
                HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
                ImageServer is = new ImageServer(s);
                s.createContext("/", ex -> {
                    is.served.add(ex.getRequestURI().getPath());
                    String name = ex.getRequestURI().getPath().substring(1).replace(".png", "");
                    int i = name.matches("\\d+") ? Integer.parseInt(name) : -1;
                    if (i < 0 || i >= images.length) {
                        ex.sendResponseHeaders(404, -1);
                    } else {
                        ex.getResponseHeaders().set("Content-Type", "image/png");
                        ex.sendResponseHeaders(200, images[i].length);
                        try (OutputStream out = ex.getResponseBody()) {
                            out.write(images[i]);
                        }
                    }
                    ex.close();
                });
                s.start();
                return is;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        String url(int i) {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/" + i + ".png";
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
