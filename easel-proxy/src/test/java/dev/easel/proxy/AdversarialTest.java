package dev.easel.proxy;

import static dev.easel.proxy.EdgeSupport.BOUNDARY;
import static dev.easel.proxy.EdgeSupport.MULTIPART;
import static dev.easel.proxy.EdgeSupport.await;
import static dev.easel.proxy.EdgeSupport.uploads;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.testkit.FakeOpenAi;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bombs of issue 12 sent to a real proxy: a multipart body of 100,000 tiny image parts, the same as 100,000
 * JSON data URLs, 100,000 unknown text fields, 300,000 {@code x[]} parts, a huge JSON body to
 * {@code /end_user/new}, a stalled upload, a trickling upload and a client that disconnects mid-body. Each must
 * end in a clear 4xx quickly, hold no more upload memory than the budget plus a fixed margin, leave the proxy
 * serving normal edits in parallel, and leave nothing in the spool directory.
 */
class AdversarialTest {

    static final String KEY = "sk-adversarial-4321";
    static final long MEMORY_BUDGET = 8L << 20;
    /** Text fields are held in memory whatever the budget says: at most max_text_bytes per request. */
    static final long MARGIN = 4L << 20;

    static FakeOpenAi fake;
    static ProxyServer proxy;
    static Path data;
    static byte[] png;

    @BeforeAll
    static void start(@TempDir Path dir) {
        data = dir;
        fake = FakeOpenAi.start();
        proxy = EdgeSupport.start("model_list:\n" + EdgeSupport.openAiModel("gpt", fake.baseUrl(), "sk-up", "")
                + "router_settings:\n  num_retries: 0\n  disable_cooldowns: true\n"
                + "general_settings:\n"
                + "  master_key: " + KEY + "\n"
                + "  upload_memory_bytes: " + MEMORY_BUDGET + "\n"
                + "  idle_timeout: 1s\n"
                + "  min_request_body_rate: 4KiB\n"
                + "  request_body_rate_window: 500ms\n"
                + "  request_body_timeout: 2s\n", data);
        png = EdgeSupport.noisePng(64, 64, 7);
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
    void resetPeak() {
        proxy.uploadLimits().resetPeak();
    }

    @AfterEach
    void nothingHeld() {
        await("requests to end", () -> proxy.inflight() == 0);
        await("upload memory back to 0", () -> proxy.uploadLimits().inMemoryBytes() == 0);
        await("in-flight upload bytes back to 0", () -> proxy.inflightUploadBytes() == 0);
        assertThat(uploads(data)).as("spool directory").isEmpty();
        assertThat(proxy.uploadLimits().peakInMemoryBytes()).as("upload memory held at the peak")
                .isLessThanOrEqualTo(MEMORY_BUDGET + MARGIN);
    }

    // ---- bombs -------------------------------------------------------------------------------------

    @Test
    void multipartPartBomb_100kTinyImages_is413InUnderASecond_whileNormalEditsSucceed() throws Exception {
        ByteArrayOutputStream body = new ByteArrayOutputStream(11 << 20);
        body.writeBytes(head("model", null));
        body.writeBytes("gpt\r\n".getBytes(StandardCharsets.US_ASCII));
        body.writeBytes(head("prompt", null));
        body.writeBytes("p\r\n".getBytes(StandardCharsets.US_ASCII));
        byte[] part = (new String(head("image[]", "a.png"), StandardCharsets.US_ASCII) + "x\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < 100_000; i++) {
            body.writeBytes(part);
        }
        body.writeBytes(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        assertThat(body.size()).isGreaterThan(10_000_000);

        Timed r = whileEditing(() -> post("/v1/images/edits", MULTIPART, body.toByteArray()));

        JsonNode e = r.response.assertError(413, KEY);
        assertThat(e.get("code").asText()).isEqualTo("request_too_large");
        assertThat(e.get("param").asText()).isEqualTo("image");
        assertThat(e.get("message").asText())
                .isEqualTo("the request has more than 32 images (general_settings.max_images)");
        assertThat(r.elapsed).as("time to the answer").isLessThan(Duration.ofSeconds(1));
        assertThat(r.response.header("connection")).isEqualToIgnoringCase("close");
    }

    @Test
    void jsonDataUrlBomb_100kTinyImages_is413InUnderASecond_whileNormalEditsSucceed() throws Exception {
        StringBuilder json = new StringBuilder(3_000_000).append("{\"model\":\"gpt\",\"prompt\":\"p\",\"images\":[");
        for (int i = 0; i < 100_000; i++) {
            json.append(i == 0 ? "" : ",").append("{\"image_url\":\"data:image/png;base64,iVBO\"}");
        }
        byte[] body = json.append("]}").toString().getBytes(StandardCharsets.US_ASCII);

        Timed r = whileEditing(() -> post("/v1/images/edits", "application/json", body));

        JsonNode e = r.response.assertError(413, KEY);
        assertThat(e.get("code").asText()).isEqualTo("request_too_large");
        assertThat(e.get("message").asText())
                .isEqualTo("the request has more than 32 images (general_settings.max_images)");
        assertThat(r.elapsed).as("time to the answer").isLessThan(Duration.ofSeconds(1));
    }

    @Test
    void unknownTextFieldBomb_100kFields_is413Fast_andNothingGoesUpstream() throws Exception {
        ByteArrayOutputStream body = new ByteArrayOutputStream(9 << 20);
        for (int i = 0; i < 100_000; i++) {
            body.writeBytes(head("x" + i, null));
            body.writeBytes("v\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        byte[] edit = EdgeSupport.edit("gpt", png);
        body.writeBytes(edit); // model, prompt, image and the closing boundary at the end
        int before = fake.requestCount();

        Timed r = whileEditing(() -> post("/v1/images/edits", MULTIPART, body.toByteArray()));

        JsonNode e = r.response.assertError(413, KEY);
        assertThat(e.get("message").asText())
                .isEqualTo("the request has more than 64 text fields (general_settings.max_text_fields)");
        assertThat(r.elapsed).as("time to the answer").isLessThan(Duration.ofSeconds(2));
        assertThat(fake.requestCount() - before).as("upstream calls: the parallel edits only").isEqualTo(r.edits);
    }

    @Test
    void arrayFieldBomb_300kRepeats_is413Fast() throws Exception {
        ByteArrayOutputStream body = new ByteArrayOutputStream(20 << 20);
        byte[] part = (new String(head("x[]", null), StandardCharsets.US_ASCII) + "v\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < 300_000; i++) {
            body.writeBytes(part);
        }
        body.writeBytes(EdgeSupport.edit("gpt", png));

        Timed r = whileEditing(() -> post("/v1/images/edits", MULTIPART, body.toByteArray()));

        JsonNode e = r.response.assertError(413, KEY);
        assertThat(e.get("param").asText()).isEqualTo("x[]");
        assertThat(e.get("message").asText())
                .isEqualTo("the request has more than 64 text fields (general_settings.max_text_fields)");
        assertThat(r.elapsed).as("time to the answer").isLessThan(Duration.ofSeconds(2));
    }

    @Test
    void hugeJsonToEndUserNew_declaredLength_is413WithoutReadingTheBody() throws Exception {
        try (var raw = new EdgeSupport.Raw(proxy)) {
            raw.head("/end_user/new", "Authorization: Bearer " + KEY, "Content-Type: application/json",
                    "Content-Length: 274000000");
            raw.send("{\"user_id\":\"u\",\"x\":\"".getBytes(StandardCharsets.US_ASCII));

            var r = raw.read(Duration.ofSeconds(5));

            JsonNode e = r.assertError(413, KEY);
            assertThat(e.get("code").asText()).isEqualTo("request_too_large");
            assertThat(e.get("message").asText()).isEqualTo("request body of 274000000 bytes is larger than the "
                    + "limit of 1048576 bytes (general_settings.max_json_body_bytes)");
            assertThat(r.header("connection")).isEqualToIgnoringCase("close");
            assertThat(raw.closedByServer(Duration.ofSeconds(5))).as("server closed the connection").isTrue();
        }
    }

    @Test
    void hugeJsonToEndUserNew_chunked_is413SoonAfterTheLimit() throws Exception {
        try (var raw = new EdgeSupport.Raw(proxy, 16 * 1024)) {
            raw.head("/end_user/new", "Authorization: Bearer " + KEY, "Content-Type: application/json",
                    "Transfer-Encoding: chunked");
            byte[] start = "{\"user_id\":\"u\",\"x\":\"".getBytes(StandardCharsets.US_ASCII);
            raw.chunk(start, 0, start.length);
            byte[] filler = "a".repeat(16 * 1024).getBytes(StandardCharsets.US_ASCII);
            AtomicReference<Object> answer = new AtomicReference<>();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    answer.set(raw.read(Duration.ofSeconds(10)));
                } catch (IOException e) {
                    answer.set(e);
                }
            });
            long sentWhenAnswered = -1;
            try {
                // at most 8 MB: a proxy that reads everything answers only after the end of the body
                while (answer.get() == null && raw.written < 8_000_000) {
                    raw.chunk(filler, 0, filler.length);
                }
                sentWhenAnswered = raw.written;
                if (answer.get() == null) {
                    byte[] end = "\"}".getBytes(StandardCharsets.US_ASCII);
                    raw.chunk(end, 0, end.length);
                    raw.send("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                }
            } catch (IOException closedByServer) {
                sentWhenAnswered = raw.written;
            }
            reader.join(Duration.ofSeconds(15));

            assertThat(answer.get()).isInstanceOf(EdgeSupport.RawResponse.class);
            JsonNode e = ((EdgeSupport.RawResponse) answer.get()).assertError(413, KEY);
            assertThat(e.get("message").asText()).isEqualTo(
                    "request body is larger than the limit of 1048576 bytes (general_settings.max_json_body_bytes)");
            assertThat(sentWhenAnswered).as("bytes sent when the answer came").isLessThan(4_000_000);
        }
    }

    // ---- slow clients ------------------------------------------------------------------------------

    @Test
    void stalledUpload_is408RequestTimeout_andRecordedAsFailed() throws Exception {
        byte[] body = EdgeSupport.edit("gpt", png);
        try (var raw = new EdgeSupport.Raw(proxy)) {
            raw.head("/v1/images/edits", "Authorization: Bearer " + KEY, "Content-Type: " + MULTIPART,
                    "Content-Length: " + body.length, "x-request-id: adv-stalled");
            raw.send(body, 0, body.length / 2);
            long t0 = System.nanoTime();

            var r = raw.read(Duration.ofSeconds(10));

            JsonNode e = r.assertError(408, KEY);
            assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
            assertThat(e.get("code").asText()).isEqualTo("request_timeout");
            assertThat(e.get("message").asText()).isEqualTo("the request body stopped arriving: nothing for 1000 ms "
                    + "(general_settings.idle_timeout)");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
            assertThat(r.header("connection")).isEqualToIgnoringCase("close");
        }
        JsonNode row = failedRow("adv-stalled");
        assertThat(row.get("http_status").asInt()).isEqualTo(408);
        assertThat(row.get("error_code").asText()).isEqualTo("request_timeout");
    }

    @Test
    void tricklingUpload_belowTheMinimumRate_is408() throws Exception {
        byte[] body = EdgeSupport.edit("gpt", png);
        try (var raw = new EdgeSupport.Raw(proxy)) {
            raw.head("/v1/images/edits", "Authorization: Bearer " + KEY, "Content-Type: " + MULTIPART,
                    "Content-Length: " + body.length, "x-request-id: adv-trickle");
            AtomicReference<Object> answer = new AtomicReference<>();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    answer.set(raw.read(Duration.ofSeconds(10)));
                } catch (IOException e) {
                    answer.set(e);
                }
            });
            long t0 = System.nanoTime();
            try {
                // 10 bytes every 50 ms = 200 B/s, far below the 4 KiB/s minimum but never idle for a second
                for (int off = 0; off < body.length && answer.get() == null; off += 10) {
                    raw.send(body, off, Math.min(10, body.length - off));
                    reader.join(Duration.ofMillis(50));
                }
            } catch (IOException closedByServer) {
                // expected once the proxy has answered
            }
            reader.join(Duration.ofSeconds(10));

            assertThat(answer.get()).isInstanceOf(EdgeSupport.RawResponse.class);
            JsonNode e = ((EdgeSupport.RawResponse) answer.get()).assertError(408, KEY);
            assertThat(e.get("code").asText()).isEqualTo("request_timeout");
            assertThat(e.get("message").asText()).matches("the request body arrived at \\d+ bytes/s, below the "
                    + "minimum of 4096 bytes/s \\(general_settings.min_request_body_rate\\)");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
        }
        assertThat(failedRow("adv-trickle").get("http_status").asInt()).isEqualTo(408);
    }

    @Test
    void slowUpload_pastTheBodyDeadline_is408() throws Exception {
        byte[] big = EdgeSupport.noisePng(160, 160, 9); // about 77 kB
        byte[] body = EdgeSupport.edit("gpt", big);
        try (var raw = new EdgeSupport.Raw(proxy)) {
            raw.head("/v1/images/edits", "Authorization: Bearer " + KEY, "Content-Type: " + MULTIPART,
                    "Content-Length: " + body.length, "x-request-id: adv-deadline");
            AtomicReference<Object> answer = new AtomicReference<>();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    answer.set(raw.read(Duration.ofSeconds(10)));
                } catch (IOException e) {
                    answer.set(e);
                }
            });
            try {
                // 4 KiB every 200 ms = 20 KiB/s: above the minimum rate, but 77 kB takes about 4 s > the 2 s deadline
                for (int off = 0; off < body.length && answer.get() == null; off += 4096) {
                    raw.send(body, off, Math.min(4096, body.length - off));
                    reader.join(Duration.ofMillis(200));
                }
            } catch (IOException closedByServer) {
                // expected once the proxy has answered
            }
            reader.join(Duration.ofSeconds(10));

            assertThat(answer.get()).isInstanceOf(EdgeSupport.RawResponse.class);
            JsonNode e = ((EdgeSupport.RawResponse) answer.get()).assertError(408, KEY);
            assertThat(e.get("code").asText()).isEqualTo("request_timeout");
            assertThat(e.get("message").asText()).isEqualTo("the request body took longer than the limit of 2000 ms "
                    + "to arrive (general_settings.request_body_timeout)");
        }
        assertThat(failedRow("adv-deadline").get("http_status").asInt()).isEqualTo(408);
    }

    @Test
    void clientDisconnectMidBody_isRecordedAsClientClosed() throws Exception {
        byte[] body = EdgeSupport.edit("gpt", png);
        try (var raw = new EdgeSupport.Raw(proxy)) {
            raw.head("/v1/images/edits", "Authorization: Bearer " + KEY, "Content-Type: " + MULTIPART,
                    "Content-Length: " + body.length, "x-request-id: adv-gone");
            raw.send(body, 0, body.length / 2);
            await("the upload to be read", () -> proxy.inflightUploadBytes() > 0 || proxy.inflight() > 0);
        }
        JsonNode row = failedRow("adv-gone");
        assertThat(row.get("http_status").asInt()).isEqualTo(499);
        assertThat(row.get("error_code").asText()).isEqualTo("client_closed");
    }

    @Test
    void slowUpstream_longerThanTheIdleTimeout_stillSucceeds() {
        // the idle timeout is about a silent client; a request waiting for its provider is not idle
        fake.defaultLatency(Duration.ofMillis(2500));
        try {
            HttpResponse<String> r = normalEdit();

            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        } finally {
            fake.defaultLatency(Duration.ZERO);
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------

    private static byte[] head(String name, String fileName) {
        return ("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + name + "\""
                + (fileName == null ? "" : "; filename=\"" + fileName + "\"\r\nContent-Type: image/png")
                + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** A POST over a raw socket with Content-Length, written from another thread, timed to the answer. */
    private static Timed post(String path, String contentType, byte[] body) throws IOException {
        try (var raw = new EdgeSupport.Raw(proxy)) {
            long t0 = System.nanoTime();
            raw.head(path, "Authorization: Bearer " + KEY, "Content-Type: " + contentType,
                    "Content-Length: " + body.length);
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    for (int off = 0; off < body.length; off += 64 * 1024) {
                        raw.send(body, off, Math.min(64 * 1024, body.length - off));
                    }
                } catch (IOException ignored) {
                    // the proxy answered early and closed: expected for limits
                }
            });
            var r = raw.read(Duration.ofSeconds(10));
            Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
            raw.close();
            try {
                writer.join(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new Timed(r, elapsed, 0);
        }
    }

    private interface Bomb {
        Timed send() throws IOException;
    }

    /**
     * Sends the bomb once alone (timed: the answer must come fast even on a busy machine, without other load from
     * this test), then from four clients at once while four other clients send normal edits: every edit must pass
     * and every bomb get the same answer. Returns the solo bomb's answer and time.
     */
    private static Timed whileEditing(Bomb bomb) throws Exception {
        Timed solo = bomb.send();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<CompletableFuture<Timed>> bombs = new ArrayList<>();
            List<CompletableFuture<HttpResponse<String>>> edits = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                bombs.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return bomb.send();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, pool));
                edits.add(CompletableFuture.supplyAsync(AdversarialTest::normalEdit, pool));
            }
            for (var edit : edits) {
                HttpResponse<String> r = edit.get();
                assertThat(r.statusCode()).as("a normal edit beside the bombs: %s", r.body()).isEqualTo(200);
            }
            for (var b : bombs) {
                Timed t = b.get();
                assertThat(t.response.status()).isEqualTo(solo.response.status());
                assertThat(t.response.body()).isEqualTo(solo.response.body());
            }
            return new Timed(solo.response, solo.elapsed, edits.size());
        }
    }

    /** A normal edit on a connection of its own (a pooled one may have been closed by the 1 s idle timeout). */
    private static HttpResponse<String> normalEdit() {
        try (HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            return client.send(HttpRequest.newBuilder(EdgeSupport.uri(proxy, "/v1/images/edits"))
                    .timeout(Duration.ofSeconds(30)).header("Content-Type", MULTIPART)
                    .header("Authorization", "Bearer " + KEY)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(EdgeSupport.edit("gpt", png))).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /**
     * The spend-log row of a failed request, by the id the test sent as {@code x-request-id} (the row's
     * {@code client_request_id}; rows reach the store within the flush interval).
     */
    private static JsonNode failedRow(String requestId) {
        AtomicReference<JsonNode> rows = new AtomicReference<>();
        await("a failed spend row for " + requestId, () -> {
            rows.set(EdgeSupport.json(spendLogs("status=failure&client_request_id=" + requestId)));
            return rows.get().isArray() && rows.get().size() == 1;
        });
        return rows.get().get(0);
    }

    private static String spendLogs(String query) {
        try (HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            return client.send(HttpRequest.newBuilder(EdgeSupport.uri(proxy, "/spend/logs?" + query))
                    .header("Authorization", "Bearer " + KEY).timeout(Duration.ofSeconds(5)).GET().build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private record Timed(EdgeSupport.RawResponse response, Duration elapsed, int edits) {
    }
}
