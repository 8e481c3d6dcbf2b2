package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.easel.config.ConfigLoader;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every integration at once through the real proxy ({@code callbacks: [json_logs, otel, prometheus, webhook]},
 * configured only by the YAML and its {@code environment_variables}): an edit that retried and fell back between
 * two fake upstreams, and requests the proxy refused (401, 413, 400), seen from the OTLP collector, {@code
 * /metrics}, the webhook receiver, the JSON log file, the upstreams and {@code /health/readiness}; then both
 * receivers down and back.
 */
class ObservabilityE2eTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String MASTER_KEY = "sk-master-obs-5e1d";
    static final String PROMPT = "a red hat on the cat";
    static final int MAX_REQUEST_BYTES = 60_000;

    @TempDir
    Path dir;

    FakeOpenAi primary;
    FakeOpenAi backup;
    Receiver hook;
    OtlpReceiver collector;
    ProxyServer proxy;
    Path logFile;

    @BeforeEach
    void start() {
        primary = FakeOpenAi.builder().apiKey("sk-primary-up").start();
        backup = FakeOpenAi.builder().apiKey("sk-backup-up").start();
        hook = Receiver.start("/hook");
        collector = OtlpReceiver.start();
        logFile = dir.resolve("logs/easel-requests.log");
        proxy = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml(), Map.of(), "test.yaml"))
                .listen("127.0.0.1", 0).withDataDir(dir.resolve("data")).withPrivateImageUrls(true));
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        hook.close();
        collector.close();
        primary.close();
        backup.close();
    }

    String yaml() {
        return """
                model_list:
                  - model_name: primary
                    litellm_params: {model: openai/gpt-image-1, api_key: sk-primary-up, api_base: "%1$s"}
                    model_info: {id: prim}
                  - model_name: backup
                    litellm_params: {model: openai/gpt-image-1, api_key: sk-backup-up, api_base: "%2$s"}
                    model_info: {id: back}
                router_settings:
                  num_retries: 1
                  allowed_fails: 100
                  fallbacks: [{"primary": ["backup"]}]
                litellm_settings:
                  callbacks: [json_logs, otel, prometheus, webhook]
                general_settings:
                  master_key: %3$s
                  max_request_bytes: %4$d
                  webhook_url: "%5$s"
                  otel_exporter_endpoint: "%6$s"
                environment_variables:
                  EASEL_JSON_LOGS_FILE: "%7$s"
                  OTEL_BSP_SCHEDULE_DELAY: "50"
                  OTEL_SERVICE_NAME: easel-e2e
                  EASEL_WEBHOOK_AUTHORIZATION: "Bearer hook-token-e2e"
                """.formatted(primary.baseUrl(), backup.baseUrl(), MASTER_KEY, MAX_REQUEST_BYTES, hook.url(),
                collector.baseUrl(), logFile);
    }

    // ---- the edit that retried and fell back -----------------------------------------------------

    @Test
    void edit_retriedAndFellBack_traceMetricsWebhookAndLogAgree() throws Exception {
        primary.enqueue(FakeResponse.serverError());
        primary.enqueue(FakeResponse.serverError());
        String callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
        String callerSpan = "00f067aa0ba902b7";
        Prom before = scrape();

        HttpResponse<String> r = send(edit("primary", MASTER_KEY).header("traceparent",
                "00-" + callerTrace + "-" + callerSpan + "-01").header("x-easel-end-user-id", "user-42"));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        String id = header(r, "x-request-id");
        assertThat(header(r, "x-easel-model-group")).isEqualTo("backup");
        assertThat(header(r, "x-easel-attempted-retries")).isEqualTo("1");
        assertThat(header(r, "x-easel-attempted-fallbacks")).isEqualTo("1");
        BigDecimal cost = new BigDecimal(header(r, "x-easel-response-cost"));
        assertThat(cost).isPositive();
        assertThat(JSON.readTree(r.body()).get("data")).hasSize(1);

        // ---- the upstreams: two tries on primary, one on backup, each with its own attempt span id
        List<RecordedRequest> toPrimary = RoutingFixtures.edits(primary);
        List<RecordedRequest> toBackup = RoutingFixtures.edits(backup);
        assertThat(toPrimary).hasSize(2);
        assertThat(toBackup).hasSize(1);
        List<String> upstreamSpans = new ArrayList<>();
        for (RecordedRequest sent : List.of(toPrimary.get(0), toPrimary.get(1), toBackup.get(0))) {
            String tp = sent.header("traceparent").orElseThrow(() -> new AssertionError("no traceparent upstream"));
            Matcher m = Pattern.compile("00-([0-9a-f]{32})-([0-9a-f]{16})-01").matcher(tp);
            assertThat(m.matches()).as(tp).isTrue();
            assertThat(m.group(1)).isEqualTo(callerTrace);
            upstreamSpans.add(m.group(2));
        }
        assertThat(upstreamSpans).doesNotHaveDuplicates().doesNotContain(callerSpan);

        // ---- the trace: one SERVER span continuing the caller's, one CLIENT span per attempt under it
        await("4 spans of " + id, () -> spansOf(id).size() >= 4);
        List<OtlpReceiver.Span> spans = spansOf(id);
        assertThat(spans).hasSize(4);
        List<OtlpReceiver.Span> servers = spans.stream().filter(s -> s.kind() == 2).toList();
        assertThat(servers).hasSize(1);
        OtlpReceiver.Span req = servers.get(0);
        assertThat(req.traceId()).isEqualTo(callerTrace);
        assertThat(req.parentSpanId()).isEqualTo(callerSpan);
        assertThat(req.spanId()).matches("[0-9a-f]{16}").isNotIn(upstreamSpans).isNotEqualTo(callerSpan);
        assertThat(req.name()).isEqualTo("image_edit primary");
        assertThat(req.statusCode()).isEqualTo(1);
        assertThat(req.string("gen_ai.operation.name")).isEqualTo("image_edit");
        assertThat(req.string("gen_ai.provider.name")).isEqualTo("openai");
        assertThat(req.string("gen_ai.request.model")).isEqualTo("primary");
        assertThat(req.string("gen_ai.response.model")).isEqualTo("gpt-image-1");
        assertThat(req.integer("gen_ai.usage.input_tokens")).isPositive();
        assertThat(req.integer("gen_ai.usage.output_tokens")).isPositive();
        assertThat(req.integer("http.response.status_code")).isEqualTo(200L);
        assertThat(req.string("easel.source")).isEqualTo("proxy");
        assertThat(req.string("easel.model_group")).isEqualTo("backup");
        assertThat(req.string("easel.deployment")).isEqualTo("back");
        assertThat(req.string("easel.end_user")).isEqualTo("user-42");
        assertThat(req.integer("easel.attempts")).isEqualTo(3L);
        assertThat(req.integer("easel.retries")).isEqualTo(1L);
        assertThat(req.integer("easel.fallbacks")).isEqualTo(1L);
        assertThat(req.integer("easel.images_in")).isEqualTo(1L);
        assertThat(req.integer("easel.images_out")).isEqualTo(1L);
        assertThat(BigDecimal.valueOf(req.dbl("easel.cost_usd"))).isEqualByComparingTo(cost);
        assertThat(req.keys()).doesNotContain("gen_ai.input.messages", "error.type"); // prompts are opt-in
        assertThat(req.resource("service.name")).isEqualTo("easel-e2e");

        List<OtlpReceiver.Span> attempts = spans.stream().filter(s -> s.kind() == 3)
                .sorted(java.util.Comparator.comparing(s -> s.integer("easel.attempt"))).toList();
        assertThat(attempts).hasSize(3);
        assertThat(attempts).extracting(OtlpReceiver.Span::spanId).containsExactlyElementsOf(upstreamSpans);
        assertThat(attempts).allSatisfy(a -> {
            assertThat(a.traceId()).isEqualTo(callerTrace);
            assertThat(a.parentSpanId()).isEqualTo(req.spanId());
            assertThat(a.name()).isEqualTo("image_edit gpt-image-1");
            assertThat(a.string("gen_ai.operation.name")).isEqualTo("image_edit");
            assertThat(a.string("gen_ai.request.model")).isEqualTo("gpt-image-1");
            assertThat(a.string("easel.request_id")).isEqualTo(id);
        });
        assertThat(attempts).extracting(a -> a.integer("easel.attempt")).containsExactly(1L, 2L, 3L);
        assertThat(attempts).extracting(a -> a.string("easel.model_group")).containsExactly("primary", "primary", "backup");
        assertThat(attempts).extracting(a -> a.string("easel.deployment")).containsExactly("prim", "prim", "back");
        assertThat(attempts).extracting(a -> a.bool("easel.fallback")).containsExactly(false, false, true);
        assertThat(attempts).extracting(a -> a.integer("http.response.status_code")).containsExactly(500L, 500L, 200L);
        assertThat(attempts).extracting(a -> a.string("error.type")).containsExactly("server_error", "server_error", null);
        assertThat(attempts).extracting(OtlpReceiver.Span::statusCode).containsExactly(2, 2, 1);

        // ---- /metrics moved by exactly this one edit
        await("metrics of the edit", () -> scrape().sum("easel_requests_total") == before.sum("easel_requests_total") + 1
                && scrape().sum("easel_attempts_total") == before.sum("easel_attempts_total") + 3);
        Prom after = scrape();
        assertThat(after.delta(before, "easel_requests_total")).isEqualTo(1);
        assertThat(after.delta(before, "easel_requests_total", "model_group", "backup", "deployment", "back",
                "provider", "openai", "status", "success", "http_status", "200")).isEqualTo(1);
        assertThat(after.delta(before, "easel_attempts_total")).isEqualTo(3);
        assertThat(after.delta(before, "easel_attempts_total", "model_group", "primary", "deployment", "prim",
                "outcome", "server_error", "http_status", "500")).isEqualTo(2);
        assertThat(after.delta(before, "easel_attempts_total", "model_group", "backup", "deployment", "back",
                "outcome", "ok", "http_status", "200")).isEqualTo(1);
        assertThat(after.delta(before, "easel_retries_total")).isEqualTo(1);
        assertThat(after.delta(before, "easel_retries_total", "model_group", "primary")).isEqualTo(1);
        assertThat(after.delta(before, "easel_fallbacks_total")).isEqualTo(1);
        assertThat(after.delta(before, "easel_fallbacks_total", "model_group", "primary")).isEqualTo(1);
        assertThat(BigDecimal.valueOf(after.delta(before, "easel_cost_usd_total", "model_group", "backup")))
                .isCloseTo(cost, org.assertj.core.data.Offset.offset(new BigDecimal("1e-9")));
        assertThat(BigDecimal.valueOf(after.delta(before, "easel_cost_usd_total")))
                .isCloseTo(cost, org.assertj.core.data.Offset.offset(new BigDecimal("1e-9")));
        assertThat(after.delta(before, "easel_images_in_total")).isEqualTo(1);
        assertThat(after.delta(before, "easel_images_out_total")).isEqualTo(1);
        assertThat(after.delta(before, "easel_request_duration_seconds_count", "model_group", "backup",
                "status", "success")).isEqualTo(1);
        assertThat(after.delta(before, "easel_upstream_duration_seconds_count")).isEqualTo(1);
        assertThat(after.sum("easel_listener_up", "listener", "otel")).isEqualTo(1);
        assertThat(after.sum("easel_listener_up", "listener", "webhook")).isEqualTo(1);

        // ---- the webhook: the record, once, with the same ids as the trace and the upstream calls
        await("webhook record of " + id, () -> hook.records().stream().anyMatch(x -> id.equals(x.path("request_id").asText())));
        List<JsonNode> hooked = hook.records();
        assertThat(hooked).hasSize(1);
        JsonNode rec = hooked.get(0);
        assertThat(rec.get("status").asText()).isEqualTo("success");
        assertThat(rec.get("model").asText()).isEqualTo("primary");
        assertThat(rec.get("model_group").asText()).isEqualTo("backup");
        assertThat(rec.get("retries").asInt()).isEqualTo(1);
        assertThat(rec.get("fallbacks").asInt()).isEqualTo(1);
        assertThat(rec.get("end_user").asText()).isEqualTo("user-42");
        assertThat(rec.get("key_hash").asText()).isEqualTo(sha256(MASTER_KEY));
        assertThat(rec.get("prompt").asText()).isEqualTo(PROMPT);
        assertThat(new BigDecimal(rec.get("cost").asText())).isEqualByComparingTo(cost);
        assertThat(rec.get("trace_id").asText()).isEqualTo(callerTrace);
        assertThat(rec.get("span_id").asText()).isEqualTo(req.spanId());
        assertThat(rec.get("parent_span_id").asText()).isEqualTo(callerSpan);
        List<String> recordSpans = new ArrayList<>();
        rec.get("attempts").forEach(a -> recordSpans.add(a.get("span_id").asText()));
        assertThat(recordSpans).containsExactlyElementsOf(upstreamSpans);
        assertThat(hook.posts()).allSatisfy(p -> assertThat(p.headers().get("Authorization"))
                .isEqualTo("Bearer hook-token-e2e"));

        // ---- the access log: exactly one line, the documented fields in the documented order
        await("log line", () -> lines(logFile).size() >= 1);
        List<String> lines = lines(logFile);
        assertThat(lines).hasSize(1);
        JsonNode line = JSON.readTree(lines.get(0));
        assertDocumentedShape(line);
        assertThat(line).isEqualTo(rec);
    }

    // ---- requests refused before the pipeline ----------------------------------------------------

    @Test
    void refusedRequests_401_413_400_recordedOnceByEveryIntegration() throws Exception {
        Prom before = scrape();
        List<HttpResponse<String>> answers = new ArrayList<>();
        answers.add(send(edit("primary", "sk-wrong-guess")));                                     // 401
        answers.add(send(edit("primary", null)));                                                 // 401
        // 413: the proxy answers from the Content-Length and closes without reading the body; a client still
        // sending it may see a reset instead of the answer (1 in 10 runs on a loaded machine), so this one waits
        // for "100 Continue" before sending the body, and gets the 413 instead
        answers.add(send(base("/v1/images/edits", MASTER_KEY).expectContinue(true)
                .header("Content-Type", "multipart/form-data; boundary=" + EdgeSupport.BOUNDARY)
                .POST(HttpRequest.BodyPublishers.ofByteArray(form("primary", RoutingFixtures.noisePng(160, 160, 3))))));
        answers.add(send(base("/v1/images/edits", MASTER_KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"primary\", \"prompt\": "))));  // 400 unparsable
        answers.add(send(base("/v1/images/edits", MASTER_KEY)                                      // 400 validation
                .header("Content-Type", "multipart/form-data; boundary=" + EdgeSupport.BOUNDARY)
                .POST(HttpRequest.BodyPublishers.ofByteArray(EdgeSupport.form().text("model", "primary")
                        .text("prompt", PROMPT).text("n", "99").file("image", "a.png", RoutingFixtures.smallPng())
                        .bytes()))));
        answers.add(send(edit("primary", MASTER_KEY)));                                           // 200
        answers.add(send(base("/v1/images/edits", MASTER_KEY)                                      // 200 stream
                .header("Content-Type", "multipart/form-data; boundary=" + EdgeSupport.BOUNDARY)
                .POST(HttpRequest.BodyPublishers.ofByteArray(EdgeSupport.form().text("model", "primary")
                        .text("prompt", PROMPT).text("stream", "true").text("partial_images", "1")
                        .file("image", "a.png", RoutingFixtures.smallPng()).bytes()))));

        assertThat(answers).extracting(HttpResponse::statusCode).containsExactly(401, 401, 413, 400, 400, 200, 200);
        assertThat(answers.get(6).body()).contains("image_edit.completed");
        List<String> ids = answers.stream().map(a -> header(a, "x-request-id")).toList();
        assertThat(ids).doesNotHaveDuplicates();
        assertThat(RoutingFixtures.edits(primary)).hasSize(2);

        // webhook: every record exactly once (the receiver keeps posting order; compare as sets of ids)
        await("7 webhook records", () -> hook.records().size() >= 7);
        await("OTLP spans of the 7 requests", () -> ids.stream().allMatch(i -> !spansOf(i).isEmpty()));
        await("7 log lines", () -> lines(logFile).size() >= 7);
        // metrics: every refusal counted with its status
        await("metrics of 7 requests", () -> scrape().sum("easel_requests_total") == before.sum("easel_requests_total") + 7);
        Prom after = scrape();
        assertThat(after.delta(before, "easel_requests_total", "status", "failure", "http_status", "401")).isEqualTo(2);
        assertThat(after.delta(before, "easel_requests_total", "status", "failure", "http_status", "413")).isEqualTo(1);
        assertThat(after.delta(before, "easel_requests_total", "status", "failure", "http_status", "400")).isEqualTo(2);
        assertThat(after.delta(before, "easel_requests_total", "status", "success")).isEqualTo(2);
        assertThat(after.delta(before, "easel_attempts_total")).isEqualTo(2);
        assertThat(after.delta(before, "easel_retries_total")).isZero();

        // closing delivers whatever the listeners still hold and then nothing more can come: a duplicate record,
        // span or line would be in what the receivers have now
        proxy.close();
        List<JsonNode> records = hook.records();
        assertThat(records).extracting(x -> x.get("request_id").asText()).containsExactlyInAnyOrderElementsOf(ids);
        Map<String, JsonNode> byId = new LinkedHashMap<>();
        records.forEach(x -> byId.put(x.get("request_id").asText(), x));
        assertThat(ids.stream().map(i -> byId.get(i).get("http_status").asInt()).toList())
                .containsExactly(401, 401, 413, 400, 400, 200, 200);
        assertThat(ids.stream().map(i -> byId.get(i).get("status").asText()).toList())
                .containsExactly("failure", "failure", "failure", "failure", "failure", "success", "success");
        assertThat(ids.stream().map(i -> byId.get(i).get("stream").asBoolean()).toList())
                .containsExactly(false, false, false, false, false, false, true);
        JsonNode invalid = byId.get(ids.get(4)); // refused by validation, inside the pipeline, before any upstream
        assertThat(invalid.get("error").get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(invalid.get("params").get("n").asText()).isEqualTo("99");
        assertThat(invalid.get("attempts")).isEmpty();
        assertThat(byId.get(ids.get(0)).get("key_hash").asText()).isEqualTo(sha256("sk-wrong-guess"));
        assertThat(byId.get(ids.get(1)).get("key_hash").isNull()).isTrue();
        assertThat(byId.get(ids.get(0)).get("error").get("code").asText()).isEqualTo("invalid_api_key");
        assertThat(byId.get(ids.get(1)).get("error").get("code").asText()).isEqualTo("missing_api_key");
        assertThat(byId.get(ids.get(2)).get("error").get("code").asText()).isEqualTo("request_too_large");
        assertThat(byId.get(ids.get(3)).get("error").get("type").asText()).isEqualTo("invalid_request_error");
        for (int i = 0; i < 4; i++) { // refused before routing: no group, no attempt
            JsonNode x = byId.get(ids.get(i));
            assertThat(x.get("model_group").isNull()).as(x.toString()).isTrue();
            assertThat(x.get("attempts")).as(x.toString()).isEmpty();
        }

        // access log: one line per request, the same records
        List<String> lines = lines(logFile);
        assertThat(lines).hasSize(7);
        for (String l : lines) {
            JsonNode line = JSON.readTree(l);
            assertDocumentedShape(line);
            assertThat(line).isEqualTo(byId.get(line.get("request_id").asText()));
        }

        // traces: one SERVER span per request; only the edit that reached the upstream has an attempt span
        for (int i = 0; i < ids.size(); i++) {
            List<OtlpReceiver.Span> s = spansOf(ids.get(i));
            assertThat(s.stream().filter(x -> x.kind() == 2).count()).isEqualTo(1);
            assertThat(s.stream().filter(x -> x.kind() == 3).count()).isEqualTo(i >= 5 ? 1 : 0);
            OtlpReceiver.Span server = s.stream().filter(x -> x.kind() == 2).findFirst().orElseThrow();
            assertThat(server.integer("http.response.status_code")).isEqualTo((long) answers.get(i).statusCode());
            assertThat(server.statusCode()).isEqualTo(i >= 5 ? 1 : 2);
        }
    }

    // ---- receivers down --------------------------------------------------------------------------

    @Test
    void webhookAndCollectorDown_readinessShowsDown_editsSucceed_everyRecordArrivesOnceWhenBack() throws Exception {
        JsonNode ready = readiness();
        assertThat(ready.get("integrations").properties()).extracting(Map.Entry::getKey)
                .containsExactlyInAnyOrder("json_logs", "otel", "prometheus", "webhook");
        ready.get("integrations").forEach(i -> {
            assertThat(i.get("status").asText()).isEqualTo("up");
            assertThat(i.get("dropped").asLong()).isZero();
        });

        hook.stop();
        collector.stop();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = send(edit("backup", MASTER_KEY));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            ids.add(header(r, "x-request-id"));
        }
        await("webhook and otel down in readiness", () -> {
            JsonNode in = readiness().get("integrations");
            return in.get("webhook").get("status").asText().equals("down")
                    && in.get("otel").get("status").asText().equals("down");
        });
        HttpResponse<String> whileDown = send(base("/health/readiness", null).GET());
        assertThat(whileDown.statusCode()).isEqualTo(200); // an integration down does not make the proxy unready
        JsonNode down = JSON.readTree(whileDown.body());
        assertThat(down.get("status").asText()).isEqualTo("healthy");
        JsonNode in = down.get("integrations");
        assertThat(in.get("webhook").get("detail").asText()).startsWith("webhook " + hook.baseUrl())
                .doesNotContain("/hook").doesNotContain("hook-token-e2e");
        assertThat(in.get("otel").get("detail").asText()).startsWith("otlp export to " + collector.tracesUrl()
                + " failing: cannot reach the collector");
        assertThat(in.get("json_logs").get("status").asText()).isEqualTo("up");
        assertThat(in.get("prometheus").get("status").asText()).isEqualTo("up");
        Prom metrics = scrape();
        assertThat(metrics.sum("easel_listener_up", "listener", "webhook")).isZero();
        assertThat(metrics.sum("easel_listener_up", "listener", "otel")).isZero();
        assertThat(metrics.sum("easel_listener_up", "listener", "json_logs")).isEqualTo(1);

        // edits keep succeeding, as fast as before, while both are down
        long t0 = System.nanoTime();
        HttpResponse<String> r = send(edit("backup", MASTER_KEY));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
        ids.add(header(r, "x-request-id"));

        // back: every record arrives, once (the webhook keeps them); spans of batches the SDK gave up on during
        // the outage are gone (its exporter retries a batch a few times, then drops it), new ones arrive again
        hook.restart();
        collector.restart();
        await("webhook records after the outage", () -> hook.records().size() >= 4);
        HttpResponse<String> after = send(edit("backup", MASTER_KEY));
        assertThat(after.statusCode()).isEqualTo(200);
        String afterId = header(after, "x-request-id");
        await("spans of an edit after the outage", () -> spansOf(afterId).size() == 2);
        await("integrations up", () -> {
            JsonNode x = readiness().get("integrations");
            return x.get("webhook").get("status").asText().equals("up")
                    && x.get("otel").get("status").asText().equals("up");
        });
        assertThat(readiness().get("integrations").get("webhook").get("dropped").asLong()).isZero();
        ids.add(afterId);
        proxy.close(); // delivers what is still held; after it nothing more can come, so a duplicate would be here
        assertThat(hook.records()).extracting(x -> x.get("request_id").asText())
                .containsExactlyInAnyOrderElementsOf(ids);
        assertThat(spansOf(afterId)).hasSize(2);
        assertThat(lines(logFile)).hasSize(5);
    }

    // ---- helpers: requests -----------------------------------------------------------------------

    HttpRequest.Builder base(String path, String key) {
        HttpRequest.Builder b = HttpRequest.newBuilder(proxy.baseUri().resolve(path)).timeout(Duration.ofSeconds(20));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return b;
    }

    static byte[] form(String model, byte[] png) {
        return EdgeSupport.form().text("model", model).text("prompt", PROMPT).file("image", "a.png", png).bytes();
    }

    HttpRequest.Builder edit(String model, String key) {
        return base("/v1/images/edits", key)
                .header("Content-Type", "multipart/form-data; boundary=" + EdgeSupport.BOUNDARY)
                .POST(HttpRequest.BodyPublishers.ofByteArray(form(model, RoutingFixtures.smallPng())));
    }

    static HttpResponse<String> send(HttpRequest.Builder b) {
        try {
            return EdgeSupport.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String header(HttpResponse<?> r, String name) {
        return RoutingFixtures.header(r, name);
    }

    JsonNode readiness() {
        try {
            return JSON.readTree(send(base("/health/readiness", null).GET()).body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Prom scrape() {
        HttpResponse<String> r = send(base("/metrics", null).GET());
        assertThat(r.statusCode()).isEqualTo(200);
        return Prom.parse(r.body());
    }

    List<OtlpReceiver.Span> spansOf(String requestId) {
        return collector.spans().stream().filter(s -> requestId.equals(s.string("easel.request_id"))).toList();
    }

    static List<String> lines(Path file) {
        try {
            return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256(String s) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    static void await(String what, BooleanSupplier condition) {
        dev.easel.testkit.Await.until(what, condition);
    }

    // ---- the documented record -------------------------------------------------------------------

    /** Field names of a table in docs/logging.md, in order: the first column of rows after {@code heading}. */
    static List<String> documentedFields(String heading) {
        Path doc = Path.of("..", "docs", "logging.md");
        List<String> lines;
        try {
            lines = Files.readAllLines(doc, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + doc.toAbsolutePath(), e);
        }
        int at = lines.indexOf(heading);
        assertThat(at).as("'%s' in %s", heading, doc).isNotNegative();
        List<String> fields = new ArrayList<>();
        Pattern row = Pattern.compile("^\\| `([a-z_]+)` \\|.*");
        boolean inTable = false;
        for (int i = at + 1; i < lines.size(); i++) {
            Matcher m = row.matcher(lines.get(i));
            if (m.matches()) {
                fields.add(m.group(1));
                inTable = true;
            } else if (inTable && !lines.get(i).startsWith("|")) {
                break;
            }
        }
        return fields;
    }

    /** The documented fields in the documented order ({@code prompt} may be absent), and so for each attempt. */
    static void assertDocumentedShape(JsonNode record) {
        List<String> fields = documentedFields("## The standard record");
        List<String> attemptFields = documentedFields("Each `attempts` entry:");
        assertThat(fields).hasSizeGreaterThan(30).contains("request_id", "prompt", "trace_id");
        assertThat(attemptFields).hasSizeGreaterThan(10).contains("number", "span_id");
        List<String> names = new ArrayList<>();
        record.fieldNames().forEachRemaining(names::add);
        List<String> expected = new ArrayList<>(fields);
        if (!record.has("prompt")) {
            expected.remove("prompt");
        }
        assertThat(names).as(record.toString()).containsExactlyElementsOf(expected);
        for (JsonNode a : record.get("attempts")) {
            List<String> an = new ArrayList<>();
            a.fieldNames().forEachRemaining(an::add);
            assertThat(an).as(a.toString()).containsExactlyElementsOf(attemptFields);
        }
        assertThat(record.get("request_id").asText()).isNotBlank();
        assertThat(record.get("source").asText()).isEqualTo("proxy");
        assertThat(record.get("trace_id").asText()).matches("[0-9a-f]{32}");
        assertThat(record.get("span_id").asText()).matches("[0-9a-f]{16}");
        assertThat(record.get("latency_ms").asLong())
                .isEqualTo(record.get("upstream_ms").asLong() + record.get("overhead_ms").asLong());
    }

    // ---- receivers ---------------------------------------------------------------------------------

    /**
     * An HTTP receiver on 127.0.0.1 for the webhook: keeps every POST to its path and
     * answers 200; {@link #stop()} closes the socket (connections refused), {@link #restart()} listens again on the
     * same port.
     */
    static final class Receiver implements AutoCloseable {

        /** One POST as it arrived. */
        record Post(Map<String, String> headers, String body, JsonNode json) {
        }

        private final String path;
        private final List<Post> posts = new ArrayList<>();
        private HttpServer server;
        private ExecutorService executor;
        private int port;

        private Receiver(String path) {
            this.path = path;
        }

        static Receiver start(String path) {
            Receiver r = new Receiver(path);
            r.bind(0);
            return r;
        }

        private void bind(int p) {
            try {
                server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), p), 0);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot bind a receiver on port " + p, e);
            }
            executor = Executors.newVirtualThreadPerTaskExecutor();
            server.setExecutor(executor);
            server.createContext(path, ex -> {
                try (ex) {
                    String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                    Map<String, String> headers = new LinkedHashMap<>();
                    ex.getRequestHeaders().forEach((k, v) -> headers.put(k, String.join(",", v)));
                    JsonNode json;
                    try {
                        json = JSON.readTree(body);
                    } catch (IOException e) {
                        json = null;
                    }
                    synchronized (posts) {
                        posts.add(new Post(headers, body, json));
                    }
                    byte[] out = "{}".getBytes(StandardCharsets.UTF_8);
                    ex.getResponseHeaders().add("Content-Type", "application/json");
                    ex.sendResponseHeaders(200, out.length);
                    ex.getResponseBody().write(out);
                }
            });
            server.start();
            port = server.getAddress().getPort();
        }

        String baseUrl() {
            return "http://127.0.0.1:" + port;
        }

        String url() {
            return baseUrl() + path;
        }

        void stop() {
            server.stop(0);
            executor.shutdownNow();
        }

        void restart() {
            bind(port);
        }

        List<Post> posts() {
            synchronized (posts) {
                return List.copyOf(posts);
            }
        }

        /** Webhook: every record of every POST, in arrival order. */
        List<JsonNode> records() {
            List<JsonNode> out = new ArrayList<>();
            for (Post p : posts()) {
                if (p.json() != null) {
                    p.json().path("records").forEach(out::add);
                }
            }
            return out;
        }

        @Override
        public void close() {
            stop();
        }
    }

    /** The Prometheus text format, parsed enough for sums over label matches. */
    record Prom(List<Sample> samples) {
        record Sample(String name, Map<String, String> labels, double value) {
        }

        static Prom parse(String text) {
            List<Sample> out = new ArrayList<>();
            Pattern line = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})?\\s+(\\S+)(?:\\s+\\S+)?$");
            Pattern label = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");
            for (String l : text.split("\n")) {
                if (l.isBlank() || l.startsWith("#")) {
                    continue;
                }
                Matcher m = line.matcher(l);
                if (!m.matches()) {
                    throw new AssertionError("not a Prometheus sample: " + l);
                }
                Map<String, String> labels = new LinkedHashMap<>();
                if (m.group(2) != null) {
                    Matcher lm = label.matcher(m.group(2));
                    while (lm.find()) {
                        labels.put(lm.group(1), lm.group(2).replace("\\\"", "\"").replace("\\\\", "\\"));
                    }
                }
                out.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(3).replace("+Inf", "Infinity"))));
            }
            return new Prom(out);
        }

        /** Sum of the samples called {@code name} whose labels include the pairs (0 when none). */
        double sum(String name, String... pairs) {
            double total = 0;
            for (Sample s : samples) {
                if (!s.name().equals(name)) {
                    continue;
                }
                boolean match = true;
                for (int i = 0; i < pairs.length; i += 2) {
                    match &= pairs[i + 1].equals(s.labels().get(pairs[i]));
                }
                if (match) {
                    total += s.value();
                }
            }
            return total;
        }

        double delta(Prom before, String name, String... pairs) {
            return sum(name, pairs) - before.sum(name, pairs);
        }
    }
}
