package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.config.ConfigLoader;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A request served by a model the catalogue lists as shut down (gpt-image-1: 2026-10-23) reaches proxy clients
 * with {@code Deprecation} (RFC 9745) and {@code Sunset} (RFC 8594) headers and the catalogue's warning, streamed
 * or not, and the warning goes into the standard log record ({@code json_logs}). A model without lifecycle dates
 * gets none of them.
 */
class DeprecationHeadersTest {

    static final String KEY = "sk-master-deprecation-31";
    static final String WARNING = "model 'gpt-image-1' was shut down on 2026-10-23 (replacement: "
            + "'gpt-image-2.5-sunburst'); sending the request unchanged";

    @TempDir
    static Path dir;
    static Path logFile;
    static ProxyServer proxy;
    static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newBuilder()
            .version(java.net.http.HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() {
        logFile = dir.resolve("logs/requests.log");
        String yaml = """
                model_list:
                  - model_name: old
                    litellm_params: {model: mock/gpt-image-1}
                  - model_name: current
                    litellm_params: {model: mock/gpt-image-2}
                litellm_settings:
                  callbacks: [json_logs]
                general_settings:
                  master_key: %s
                environment_variables:
                  EASEL_JSON_LOGS_FILE: "%s"
                """.formatted(KEY, logFile);
        proxy = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, Map.of(), "deprecation.yaml"))
                .listen("127.0.0.1", 0).withDataDir(dir.resolve("data")));
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
    }

    private static HttpResponse<String> edit(String model, boolean stream, String requestId) {
        RawMultipart body = new RawMultipart().text("model", model).text("prompt", "a hat")
                .file("image", "cat.png", "image/png", WireImages.png(32, 32, 2));
        if (stream) {
            body.text("stream", "true");
        }
        try {
            return HTTP.send(HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits"))
                    .timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + KEY)
                    .header("x-request-id", requestId)
                    .header("Content-Type", RawMultipart.contentType())
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body.build())).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void edit_shutDownModel_carriesDeprecationSunsetAndWarningHeaders() {
        HttpResponse<String> r = edit("old", false, "req-deprecated-1");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        // the catalogue gives only the shutdown date: the model is deprecated by then at the latest
        assertThat(r.headers().allValues("Deprecation")).containsExactly("@1792713600");
        assertThat(r.headers().allValues("Sunset")).containsExactly("Fri, 23 Oct 2026 00:00:00 GMT");
        assertThat(r.headers().allValues("x-easel-warning")).containsExactly(WARNING);
    }

    @Test
    void editStream_shutDownModel_carriesTheHeadersBeforeTheEvents() {
        HttpResponse<String> r = edit("old", true, "req-deprecated-2");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t ->
                assertThat(t).startsWith("text/event-stream"));
        assertThat(r.headers().allValues("Deprecation")).containsExactly("@1792713600");
        assertThat(r.headers().allValues("Sunset")).containsExactly("Fri, 23 Oct 2026 00:00:00 GMT");
        assertThat(r.headers().allValues("x-easel-warning")).containsExactly(WARNING);
        assertThat(r.body()).contains("event: image_edit.completed");
    }

    @Test
    void edit_modelWithoutLifecycleDates_hasNoDeprecationHeaders() {
        HttpResponse<String> r = edit("current", false, "req-current-1");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Deprecation")).isEmpty();
        assertThat(r.headers().firstValue("Sunset")).isEmpty();
        assertThat(r.headers().firstValue("x-easel-warning")).isEmpty();
    }

    @Test
    void edit_shutDownModel_warningIsInTheLogRecord() throws IOException {
        assertThat(edit("old", false, "req-deprecated-log").statusCode()).isEqualTo(200);
        assertThat(edit("current", false, "req-current-log").statusCode()).isEqualTo(200);
        assertThat(edit("old", true, "req-deprecated-stream-log").statusCode()).isEqualTo(200);

        JsonNode old = awaitRecord("req-deprecated-log");
        JsonNode current = awaitRecord("req-current-log");
        JsonNode streamed = awaitRecord("req-deprecated-stream-log");
        assertThat(streamed.path("stream").asBoolean()).isTrue();
        assertThat(streamed.path("warnings").toString()).isEqualTo(WireFixture.JSON.writeValueAsString(
                List.of(WARNING)));
        assertThat(old.path("warnings").isArray()).as("%s", old).isTrue();
        assertThat(old.path("warnings").get(0).asText()).isEqualTo(WARNING);
        assertThat(old.path("warnings").size()).isEqualTo(1);
        assertThat(current.path("warnings").isArray()).as("%s", current).isTrue();
        assertThat(current.path("warnings").size()).isZero();
    }

    /** The log line of {@code requestId}, waiting (with a deadline) for the listener to write it. */
    private static JsonNode awaitRecord(String requestId) throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(logFile)) {
                List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
                for (String line : lines) {
                    JsonNode n = WireFixture.JSON.readTree(line);
                    if (requestId.equals(n.path("client_request_id").asText())) { // the id the test sent
                        return n;
                    }
                }
            }
            java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
        }
        throw new AssertionError("no log record for " + requestId + " within 15 s");
    }
}
