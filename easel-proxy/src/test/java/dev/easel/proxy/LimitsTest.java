package dev.easel.proxy;

import static dev.easel.proxy.EdgeSupport.BOUNDARY;
import static dev.easel.proxy.EdgeSupport.MULTIPART;
import static dev.easel.proxy.EdgeSupport.await;
import static dev.easel.proxy.EdgeSupport.form;
import static dev.easel.proxy.EdgeSupport.noisePng;
import static dev.easel.proxy.EdgeSupport.rawPost;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.RecordedRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Upload limits through the real proxy ({@code general_settings.max_image_bytes / max_request_bytes /
 * max_inflight_upload_bytes}): 413 naming the part, 413 as soon as the size is known without reading the
 * rest (raw sockets count what was sent), 429 with {@code Retry-After} over the in-flight total, and the
 * in-flight bytes released when requests end.
 */
class LimitsTest {

    static final long MAX_IMAGE = 250_000;
    static final long MAX_REQUEST = 300_000;
    static final long MAX_INFLIGHT = 400_000;

    static FakeOpenAi fake;
    static ProxyServer proxy;
    static byte[] image200k;
    static byte[] image240k;
    static byte[] image270k;

    @BeforeAll
    static void start(@TempDir Path data) {
        fake = FakeOpenAi.start();
        proxy = EdgeSupport.start("model_list:\n" + EdgeSupport.openAiModel("gpt", fake.baseUrl(), "sk-up", "")
                + "general_settings:\n  max_image_bytes: " + MAX_IMAGE + "\n  max_request_bytes: " + MAX_REQUEST
                + "\n  max_inflight_upload_bytes: " + MAX_INFLIGHT + "\n", data);
        image200k = noisePng(258, 258, 1);
        image240k = noisePng(282, 282, 2);
        image270k = noisePng(300, 300, 3);
        assertThat(image200k.length).isBetween(190_000, 200_500);
        assertThat(image240k.length).isBetween(235_000, 245_000);
        assertThat(image270k.length).isBetween(260_000, 280_000);
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
    void resetFake() {
        fake.reset();
    }

    @AfterEach
    void nothingHeld() {
        await("requests to end", () -> proxy.inflight() == 0);
        await("in-flight upload bytes back to 0", () -> proxy.inflightUploadBytes() == 0);
    }

    private static byte[] edit(byte[] image) {
        return form().text("model", "gpt").text("prompt", "p").file("image", "a.png", image).bytes();
    }

    @Test
    void edit_underAllLimits_succeeds() {
        byte[] small = noisePng(150, 150, 4);
        byte[] body = form().text("model", "gpt").text("prompt", "p").file("image[]", "a.png", small)
                .file("image[]", "b.png", small).bytes();

        var r = EdgeSupport.post(proxy, MULTIPART, body);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        RecordedRequest sent = fake.takeRequest();
        assertThat(sent.parts("image[]")).hasSize(2).allSatisfy(p -> assertThat(p.bytes()).isEqualTo(small));
    }

    @Test
    void edit_imageOverPerImageLimit_is413NamingThePart() throws IOException {
        var r = rawPost(proxy, MULTIPART, edit(image270k));

        JsonNode e = r.assertError(413);
        assertThat(e.get("code").asText()).isEqualTo("request_too_large");
        assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.get("param").asText()).isEqualTo("image");
        assertThat(e.get("message").asText()).isEqualTo("'image' is larger than the limit of 250000 bytes per image");
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_maskOverPerImageLimit_is413NamingTheMask() throws IOException {
        byte[] body = form().text("model", "gpt").text("prompt", "p").file("image", "a.png", noisePng(16, 16, 5))
                .file("mask", "m.png", image270k).bytes();

        var r = rawPost(proxy, MULTIPART, body);

        JsonNode e = r.assertError(413);
        assertThat(e.get("param").asText()).isEqualTo("mask");
        assertThat(e.get("message").asText()).isEqualTo("'mask' is larger than the limit of 250000 bytes per image");
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_jsonImageOverPerImageLimit_is413() throws IOException {
        byte[] body = ("{\"model\":\"gpt\",\"prompt\":\"p\",\"images\":[{\"image_url\":\""
                + EdgeSupport.dataUrl(image270k) + "\"}]}").getBytes(StandardCharsets.UTF_8);
        // the base64 body is larger than the request limit: raise nothing but the per-image check here
        assertThat((long) body.length).isGreaterThan(MAX_REQUEST);

        var r = rawPost(proxy, "application/json", body);

        r.assertError(413);
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_jsonBodyUnderRequestLimit_isNotDoubleCounted() {
        // 200 kB image = about 267 kB of base64: under the 300 kB request limit as a body
        byte[] body = ("{\"model\":\"gpt\",\"prompt\":\"p\",\"images\":[{\"image_url\":\""
                + EdgeSupport.dataUrl(image200k) + "\"}]}").getBytes(StandardCharsets.UTF_8);
        assertThat((long) body.length).isLessThan(MAX_REQUEST);

        var r = EdgeSupport.post(proxy, "application/json", body);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(fake.takeRequest().part("image").bytes()).isEqualTo(image200k);
    }

    @Test
    void edit_declaredLengthOverLimit_is413WithoutReadingTheBody() throws IOException {
        try (var raw = new EdgeSupport.Raw(proxy)) {
            raw.head("/v1/images/edits", "Content-Type: " + MULTIPART, "Content-Length: 2000000000");
            byte[] start = edit(noisePng(40, 40, 6));
            raw.send(start, 0, Math.min(4096, start.length));

            long t0 = System.nanoTime();
            var r = raw.read(Duration.ofSeconds(5));

            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
            assertThat(raw.written).isLessThanOrEqualTo(4096);
            JsonNode e = r.assertError(413);
            assertThat(e.get("code").asText()).isEqualTo("request_too_large");
            assertThat(e.get("message").asText()).isEqualTo(
                    "request body of 2000000000 bytes is larger than the limit of 300000 bytes");
            assertThat(r.header("connection")).isEqualToIgnoringCase("close");
            assertThat(raw.closedByServer(Duration.ofSeconds(5))).as("server closed the connection").isTrue();
        }
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_chunkedBodyGrowingPastLimit_is413SoonAfterTheLimit() throws Exception {
        // many small text parts: no per-part limit applies, only the request's
        byte[] part = ("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"metadata[]\"\r\n\r\n"
                + "a".repeat(8 * 1024) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        try (var raw = new EdgeSupport.Raw(proxy, 8 * 1024)) {
            raw.head("/v1/images/edits", "Content-Type: " + MULTIPART, "Transfer-Encoding: chunked");
            byte[] first = form().text("model", "gpt").text("prompt", "p").bytes();
            raw.chunk(first, 0, first.length - ("--" + BOUNDARY + "--\r\n").length());
            AtomicLong sentWhenAnswered = new AtomicLong(-1);
            AtomicReference<Object> answer = new AtomicReference<>();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    var r = raw.read(Duration.ofSeconds(10));
                    sentWhenAnswered.set(raw.written);
                    answer.set(r);
                } catch (IOException e) {
                    answer.set(e);
                }
            });
            // send no more than the limit plus what a reader may buffer (256 KiB), then stop without ending the body:
            // a proxy that counts as it reads answers 413 from what it got; one that waits for the whole body never
            // answers and the read times out. No pacing, so how fast this machine runs does not matter.
            try {
                while (answer.get() == null && raw.written + part.length < MAX_REQUEST + 256 * 1024) {
                    raw.chunk(part, 0, part.length);
                }
            } catch (IOException closedByServer) {
                // expected once the server has answered and closed
            }
            reader.join(Duration.ofSeconds(15));

            assertThat(answer.get()).isInstanceOf(EdgeSupport.RawResponse.class);
            JsonNode e = ((EdgeSupport.RawResponse) answer.get()).assertError(413);
            assertThat(e.get("message").asText()).isEqualTo("request body is larger than the limit of 300000 bytes");
            System.out.println("chunked upload: " + sentWhenAnswered.get() + " bytes sent when the 413 arrived");
            // not before the limit (the counter lags the wire by at most the chunk being written); the upper bound is
            // the sending loop's: an answer at all means the proxy did not need more
            assertThat(sentWhenAnswered.get()).isGreaterThan(MAX_REQUEST - part.length - 64);
            assertThat(raw.closedByServer(Duration.ofSeconds(5))).as("server closed the connection").isTrue();
        }
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_chunkedImagesOverRequestLimit_is413() throws Exception {
        byte[] body = form().text("model", "gpt").text("prompt", "p").file("image[]", "a.png", image200k)
                .file("image[]", "b.png", image200k).bytes();
        try (var raw = new EdgeSupport.Raw(proxy)) {
            raw.head("/v1/images/edits", "Content-Type: " + MULTIPART, "Transfer-Encoding: chunked");
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    for (int off = 0; off < body.length; off += 16 * 1024) {
                        raw.chunk(body, off, Math.min(16 * 1024, body.length - off));
                    }
                    raw.send("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                } catch (IOException ignored) {
                    // closed by the server after its answer
                }
            });
            var r = raw.read(Duration.ofSeconds(10));
            writer.join(Duration.ofSeconds(10));

            JsonNode e = r.assertError(413);
            assertThat(e.get("message").asText()).isEqualTo("request body is larger than the limit of 300000 bytes");
        }
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_overInflightTotal_is429WithRetryAfter_thenBytesAreReleased() throws Exception {
        byte[] first = edit(image200k);
        int held = first.length - 1024;
        try (var a = new EdgeSupport.Raw(proxy)) {
            a.head("/v1/images/edits", "Content-Type: " + MULTIPART, "Content-Length: " + first.length);
            a.send(first, 0, held);
            await("the first upload to be held", () -> proxy.inflightUploadBytes() > 190_000);
            long heldByFirst = proxy.inflightUploadBytes();

            var r = rawPost(proxy, MULTIPART, edit(image240k));

            JsonNode e = r.assertError(429);
            assertThat(r.header("retry-after")).isEqualTo("1");
            assertThat(e.get("type").asText()).isEqualTo("rate_limit_error");
            assertThat(e.get("code").asText()).isEqualTo("too_many_uploads");
            assertThat(e.get("message").asText()).isEqualTo(
                    "the proxy is holding its limit of 400000 upload bytes; retry shortly");
            await("the refused upload's bytes to be released", () -> proxy.inflightUploadBytes() == heldByFirst);
            assertThat(fake.requestCount()).isZero();

            a.send(first, held, first.length - held);
            var ok = a.read(Duration.ofSeconds(10));
            assertThat(ok.status()).as(ok.body()).isEqualTo(200);
        }
        assertThat(fake.takeRequest().part("image").bytes()).isEqualTo(image200k);
        await("in-flight bytes back to 0", () -> proxy.inflightUploadBytes() == 0);
    }

    @Test
    void edit_abortedUpload_releasesItsInflightBytes() throws Exception {
        byte[] first = edit(image200k);
        try (var a = new EdgeSupport.Raw(proxy)) {
            a.head("/v1/images/edits", "Content-Type: " + MULTIPART, "Content-Length: " + first.length);
            a.send(first, 0, first.length / 2);
            await("the upload to be held", () -> proxy.inflightUploadBytes() > 50_000);
        }
        await("in-flight bytes back to 0", () -> proxy.inflightUploadBytes() == 0);
        await("the request to end", () -> proxy.inflight() == 0);
        assertThat(fake.requestCount()).isZero();
        // the budget is free again: a full-size upload goes through
        byte[] body = edit(image240k);
        var r = EdgeSupport.post(proxy, MULTIPART, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(Arrays.equals(fake.takeRequest().part("image").bytes(), image240k)).isTrue();
    }
}
