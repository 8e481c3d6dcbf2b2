package dev.easel.proxy;

import static dev.easel.proxy.EdgeSupport.MULTIPART;
import static dev.easel.proxy.EdgeSupport.await;
import static dev.easel.proxy.EdgeSupport.form;
import static dev.easel.proxy.EdgeSupport.noisePng;
import static dev.easel.proxy.EdgeSupport.uploads;
import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedRequest;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No temp file is left in {@code <dataDir>/uploads} when a request ends, whatever the outcome: success,
 * validation error, upstream error, client abort mid-upload, client abort while the upstream is slow, and
 * the JSON body form. The upload memory budget is one byte, so every image part is spooled to disk (each test that
 * can observes the files while the request is running).
 */
class TempFilesTest {

    static FakeOpenAi fake;
    static ProxyServer proxy;
    static Path data;
    static byte[] big1;
    static byte[] big2;

    @BeforeAll
    static void start(@TempDir Path dir) {
        data = dir;
        fake = FakeOpenAi.start();
        proxy = EdgeSupport.start("model_list:\n" + EdgeSupport.openAiModel("gpt", fake.baseUrl(), "sk-up", "")
                + "router_settings:\n  num_retries: 0\n  disable_cooldowns: true\n"
                + "general_settings:\n  upload_memory_bytes: 1\n", data);
        big1 = noisePng(200, 200, 11);
        big2 = noisePng(210, 210, 12);
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
    void clean() {
        fake.reset();
        assertThat(uploads(data)).isEmpty();
    }

    @AfterEach
    void requestsEnded() {
        fake.releaseAnswers(); // a test that failed while answers were held must not hold up the next one
        await("requests to end", () -> proxy.inflight() == 0);
        await("in-flight bytes back to 0", () -> proxy.inflightUploadBytes() == 0);
    }

    private static byte[] twoImages(String... extra) {
        EdgeSupport.Form f = form().text("model", "gpt").text("prompt", "p");
        for (int i = 0; i < extra.length; i += 2) {
            f.text(extra[i], extra[i + 1]);
        }
        return f.file("image[]", "a.png", big1).file("image[]", "b.png", big2).bytes();
    }

    private static CompletableFuture<HttpResponse<String>> postAsync(String contentType, byte[] body) {
        return EdgeSupport.HTTP.sendAsync(HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits"))
                .header("Content-Type", contentType).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void noUploadsLeft() {
        await("uploads to be deleted", () -> uploads(data).isEmpty());
    }

    @Test
    void success_spooledImagesAreDeletedAfterTheResponse() throws Exception {
        fake.holdAnswers(); // the upstream works until the files have been seen

        CompletableFuture<HttpResponse<String>> pending = postAsync(MULTIPART, twoImages());
        RecordedRequest sent = fake.takeRequest();
        assertThat(uploads(data)).as("spooled while the upstream works").hasSize(2);
        fake.releaseAnswers();
        HttpResponse<String> r = pending.get();

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(sent.parts("image[]").get(0).bytes()).isEqualTo(big1);
        assertThat(sent.parts("image[]").get(1).bytes()).isEqualTo(big2);
        noUploadsLeft();
    }

    @Test
    void validationError_leavesNoFile() {
        HttpResponse<String> r = EdgeSupport.post(proxy, MULTIPART, twoImages("size", "7x7"));

        EdgeSupport.assertError(r, 400);
        assertThat(fake.requestCount()).isZero();
        noUploadsLeft();
    }

    @Test
    void upstreamError_leavesNoFile() {
        fake.enqueue(FakeResponse.serverError());

        HttpResponse<String> r = EdgeSupport.post(proxy, MULTIPART, twoImages());

        EdgeSupport.assertError(r, 500);
        assertThat(fake.requestCount()).isEqualTo(1);
        noUploadsLeft();
    }

    @Test
    void streamedSuccess_leavesNoFile() {
        byte[] body = form().text("model", "gpt").text("prompt", "p").text("stream", "true")
                .file("image", "a.png", big1).bytes();

        HttpResponse<String> r = EdgeSupport.post(proxy, MULTIPART, body);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).contains("event: image_edit.completed");
        assertThat(fake.takeRequest().part("image").bytes()).isEqualTo(big1);
        noUploadsLeft();
    }

    @Test
    void clientAbortMidUpload_leavesNoFile() throws Exception {
        byte[] body = twoImages();
        try (var raw = new EdgeSupport.Raw(proxy)) {
            raw.head("/v1/images/edits", "Content-Type: " + MULTIPART, "Content-Length: " + body.length);
            raw.send(body, 0, body.length * 3 / 4);
            await("the first image to be spooled", () -> !uploads(data).isEmpty());
        } // closed halfway
        await("the aborted request to end", () -> proxy.inflight() == 0);
        noUploadsLeft();
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void clientAbortMidChunkedUpload_leavesNoFile() throws Exception {
        byte[] body = twoImages();
        try (var raw = new EdgeSupport.Raw(proxy)) {
            raw.head("/v1/images/edits", "Content-Type: " + MULTIPART, "Transfer-Encoding: chunked");
            raw.chunk(body, 0, body.length / 2);
            await("the first image to be spooled", () -> !uploads(data).isEmpty());
        }
        await("the aborted request to end", () -> proxy.inflight() == 0);
        noUploadsLeft();
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void clientAbortWhileUpstreamIsSlow_leavesNoFile() throws Exception {
        fake.holdAnswers(); // the upstream is still working when the client gives up
        byte[] body = twoImages();
        try (var raw = new EdgeSupport.Raw(proxy)) {
            raw.head("/v1/images/edits", "Content-Type: " + MULTIPART, "Content-Length: " + body.length);
            raw.send(body);
            RecordedRequest sent = fake.takeRequest();
            assertThat(sent.parts("image[]")).hasSize(2);
            assertThat(uploads(data)).as("spooled while the upstream works").hasSize(2);
        } // the client gives up while the upstream is still working
        fake.releaseAnswers();
        await("the abandoned request to end", () -> proxy.inflight() == 0);
        noUploadsLeft();
    }

    @Test
    void jsonBody_success_leavesNoFile() throws Exception {
        fake.holdAnswers(); // the upstream works until the files have been seen
        byte[] body = ("{\"model\":\"gpt\",\"prompt\":\"p\",\"images\":[{\"image_url\":\"" + EdgeSupport.dataUrl(big1)
                + "\"},{\"image_url\":\"" + EdgeSupport.dataUrl(big2) + "\"}]}").getBytes(StandardCharsets.UTF_8);

        CompletableFuture<HttpResponse<String>> pending = postAsync("application/json", body);
        RecordedRequest sent = fake.takeRequest();
        assertThat(uploads(data)).as("decoded images spooled while the upstream works").hasSize(2);
        fake.releaseAnswers();
        HttpResponse<String> r = pending.get();

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(sent.parts("image[]").get(0).bytes()).isEqualTo(big1);
        assertThat(sent.parts("image[]").get(1).bytes()).isEqualTo(big2);
        noUploadsLeft();
    }

    @Test
    void jsonBody_errors_leaveNoFile() {
        byte[] bad = ("{\"model\":\"gpt\",\"prompt\":\"p\",\"size\":\"7x7\",\"images\":[{\"image_url\":\""
                + EdgeSupport.dataUrl(big1) + "\"}]}").getBytes(StandardCharsets.UTF_8);
        EdgeSupport.assertError(EdgeSupport.post(proxy, "application/json", bad), 400);
        noUploadsLeft();

        fake.enqueue(FakeResponse.rateLimited(1));
        byte[] ok = ("{\"model\":\"gpt\",\"prompt\":\"p\",\"images\":[{\"image_url\":\"" + EdgeSupport.dataUrl(big1)
                + "\"}]}").getBytes(StandardCharsets.UTF_8);
        EdgeSupport.assertError(EdgeSupport.post(proxy, "application/json", ok), 429);
        assertThat(fake.requestCount()).isEqualTo(1);
        noUploadsLeft();

        byte[] truncated = ("{\"model\":\"gpt\",\"prompt\":\"p\",\"images\":[{\"image_url\":\""
                + EdgeSupport.dataUrl(big1)).getBytes(StandardCharsets.UTF_8);
        EdgeSupport.assertError(EdgeSupport.post(proxy, "application/json", truncated), 400);
        noUploadsLeft();
    }
}
