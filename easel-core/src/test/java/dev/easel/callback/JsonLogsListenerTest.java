package dev.easel.callback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.BadRequestException;
import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import dev.easel.config.ConfigException;
import dev.easel.config.ConfigLoader;
import dev.easel.config.EaselConfig;
import dev.easel.image.TestImages;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonLogsListenerTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final byte[] PNG = TestImages.png(64, 48, false);

    @TempDir
    Path dir;

    static List<String> lines(Path file) {
        try {
            return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new AssertionError("not one JSON object: " + line, e);
        }
    }

    static ImageEditRequest.Builder edit(String model) {
        return ImageEditRequest.builder().model(model).image(PNG).prompt("paint the sky orange");
    }

    @Test
    void edit_mockModel_writesOneParseableLinePerRequest() {
        Path file = dir.resolve("logs/easel-requests.log");
        JsonLogsListener logs = JsonLogsListener.file(file);
        Easel easel = Easel.builder().listener(logs).build();

        ImageResponse ok = easel.imageEdit(edit("mock/edit").n(2).size("1024x1024").user("alice").build());
        assertThatThrownBy(() -> easel.imageEdit(edit("nosuch/model").build()))
                .isInstanceOf(BadRequestException.class);
        WebhookReceiver.await("two lines", () -> lines(file).size() >= 2);
        easel.listeners().drain(Duration.ofSeconds(5));

        List<String> lines = lines(file);
        assertThat(lines).hasSize(2);
        assertThat(logs.written()).isEqualTo(2);
        JsonNode s = parse(lines.get(0));
        assertThat(s.get("status").asText()).isEqualTo("success");
        assertThat(s.get("http_status").asInt()).isEqualTo(200);
        assertThat(s.get("source").asText()).isEqualTo("sdk");
        assertThat(s.get("model").asText()).isEqualTo("mock/edit");
        assertThat(s.get("provider").asText()).isEqualTo("mock");
        assertThat(s.get("end_user").asText()).isEqualTo("alice");
        assertThat(s.get("images_in")).hasSize(1);
        assertThat(s.get("images_in").get(0).get("format").asText()).isEqualTo("png");
        assertThat(s.get("images_in").get(0).get("width").asInt()).isEqualTo(64);
        assertThat(s.get("images_in").get(0).get("height").asInt()).isEqualTo(48);
        assertThat(s.get("images_in").get(0).get("bytes").asLong()).isEqualTo(PNG.length);
        assertThat(s.get("bytes_in").asLong()).isEqualTo(PNG.length);
        assertThat(s.get("images_out").asInt()).isEqualTo(2).isEqualTo(ok.data().size());
        assertThat(s.get("bytes_out").asLong()).isPositive();
        assertThat(s.get("params").get("n").asText()).isEqualTo("2");
        assertThat(s.get("params").get("size").asText()).isEqualTo("1024x1024");
        assertThat(s.get("attempts")).hasSize(1);
        assertThat(s.get("attempts").get(0).get("outcome").asText()).isEqualTo("ok");
        assertThat(s.get("prompt").asText()).isEqualTo("paint the sky orange");
        assertThat(s.get("trace_id").asText()).matches("[0-9a-f]{32}");
        assertThat(s.get("span_id").asText()).matches("[0-9a-f]{16}");
        assertThat(s.get("latency_ms").asLong()).isGreaterThanOrEqualTo(s.get("upstream_ms").asLong());

        JsonNode f = parse(lines.get(1));
        assertThat(f.get("status").asText()).isEqualTo("failure");
        assertThat(f.get("http_status").asInt()).isEqualTo(400);
        assertThat(f.get("error").get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(f.get("error").get("message").asText()).contains("nosuch");
        assertThat(f.get("cost").isNull()).isTrue();
        assertThat(f.get("request_id").asText()).isNotEqualTo(s.get("request_id").asText());
        logs.close();
    }

    @Test
    void edit_throughFakeOpenAi_logsUsageCostAttemptsAndUpstreamErrors() throws Exception {
        Path file = dir.resolve("easel-requests.log");
        try (FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-test-logs-0001").start();
             JsonLogsListener logs = JsonLogsListener.file(file)) {
            Easel easel = Easel.builder().apiKey("sk-test-logs-0001").apiBase(fake.baseUrl()).listener(logs).build();

            ImageResponse r = easel.imageEdit(edit("gpt-image-1").quality("low").build());
            fake.enqueue(FakeResponse.error(400, "invalid_request_error", "invalid_value", "image",
                    "Invalid image file or mode for image 1"));
            assertThatThrownBy(() -> easel.imageEdit(edit("gpt-image-1").build()))
                    .isInstanceOf(BadRequestException.class);
            WebhookReceiver.await("two lines", () -> lines(file).size() >= 2);

            List<String> lines = lines(file);
            assertThat(lines).hasSize(2);
            JsonNode s = parse(lines.get(0));
            assertThat(s.get("provider").asText()).isEqualTo("openai");
            assertThat(s.get("provider_model").asText()).isEqualTo("gpt-image-1");
            assertThat(s.get("usage").get("total_tokens").asLong()).isEqualTo(r.usage().orElseThrow().totalTokens());
            assertThat(s.get("cost").decimalValue()).isEqualByComparingTo(r.cost().orElseThrow());
            assertThat(s.get("cost").decimalValue()).isGreaterThan(BigDecimal.ZERO);
            assertThat(s.get("params").get("quality").asText()).isEqualTo("low");
            assertThat(s.get("attempts").get(0).get("provider").asText()).isEqualTo("openai");
            assertThat(s.get("attempts").get(0).get("http_status").asInt()).isEqualTo(200);

            JsonNode f = parse(lines.get(1));
            assertThat(f.get("status").asText()).isEqualTo("failure");
            assertThat(f.get("http_status").asInt()).isEqualTo(400);
            assertThat(f.get("error").get("code").asText()).isEqualTo("invalid_value");
            assertThat(f.get("error").get("message").asText()).contains("Invalid image file or mode for image 1");
            assertThat(f.get("attempts")).hasSize(1);
            assertThat(f.get("attempts").get(0).get("http_status").asInt()).isEqualTo(400);
            assertThat(String.join("\n", lines)).doesNotContain("sk-test-logs-0001");
        }
    }

    @Test
    void edit_redactPrompts_leavesThePromptOut() {
        Path file = dir.resolve("easel-requests.log");
        try (JsonLogsListener logs = JsonLogsListener.file(file)) {
            Easel easel = Easel.builder().listener(logs).redactPrompts(true).build();
            easel.imageEdit(edit("mock/edit").prompt("my secret plan").build());
            WebhookReceiver.await("one line", () -> lines(file).size() >= 1);

            String line = lines(file).getFirst();
            assertThat(parse(line).has("prompt")).isFalse();
            assertThat(parse(line).get("status").asText()).isEqualTo("success");
            assertThat(line).doesNotContain("my secret plan");
        }
    }

    @Test
    void write_pastMaxBytes_rotatesKeepingTheNewestFiles() {
        Path file = dir.resolve("easel-requests.log");
        EditLogRecord sample = RecordJsonTest.record("p", null);
        int lineBytes = (RecordJson.toJson(withId(sample, "req-00")) + "\n").getBytes(StandardCharsets.UTF_8).length;
        List<String> ids = new ArrayList<>();
        try (JsonLogsListener logs = JsonLogsListener.file(file, lineBytes * 3L, 2)) {
            for (int i = 0; i < 10; i++) {
                String id = "req-%02d".formatted(i);
                ids.add(id);
                logs.onSuccess(withId(sample, id));
            }
            assertThat(logs.written()).isEqualTo(10);
            assertThat(logs.health().up()).isTrue();
        }

        // 10 lines, 3 per file: .2 holds 3-5, .1 holds 6-8, the live file holds 9; 0-2 were deleted
        assertThat(dir.resolve("easel-requests.log.3")).doesNotExist();
        assertThat(idsIn(dir.resolve("easel-requests.log.2"))).containsExactly("req-03", "req-04", "req-05");
        assertThat(idsIn(dir.resolve("easel-requests.log.1"))).containsExactly("req-06", "req-07", "req-08");
        assertThat(idsIn(file)).containsExactly("req-09");
        for (String f : List.of("easel-requests.log", "easel-requests.log.1", "easel-requests.log.2")) {
            assertThat(dir.resolve(f).toFile().length()).isLessThanOrEqualTo(lineBytes * 3L);
        }
    }

    @Test
    void write_existingFile_appendsAndCountsItsSizeTowardsRotation() throws Exception {
        Path file = dir.resolve("easel-requests.log");
        EditLogRecord sample = RecordJsonTest.record("p", null);
        int lineBytes = (RecordJson.toJson(withId(sample, "a")) + "\n").getBytes(StandardCharsets.UTF_8).length;
        Files.writeString(file, "x".repeat(lineBytes - 1) + "\n");
        try (JsonLogsListener logs = JsonLogsListener.file(file, lineBytes * 2L, 1)) {
            logs.onSuccess(withId(sample, "a"));
            logs.onFailure(withId(sample, "b"));
        }
        assertThat(lines(dir.resolve("easel-requests.log.1"))).hasSize(2).first().asString().startsWith("xxx");
        assertThat(idsIn(file)).containsExactly("b");
    }

    @Test
    void write_manyThreads_neverInterleavesLines() throws Exception {
        Path file = dir.resolve("easel-requests.log");
        EditLogRecord sample = RecordJsonTest.record("p".repeat(5000), null);
        try (JsonLogsListener logs = JsonLogsListener.file(file, 1L << 30, 1)) {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            for (int i = 0; i < 400; i++) {
                String id = "r" + i;
                pool.execute(() -> logs.onSuccess(withId(sample, id)));
            }
            pool.shutdown();
            assertThat(pool.awaitTermination(20, TimeUnit.SECONDS)).isTrue();
        }
        List<String> lines = lines(file);
        assertThat(lines).hasSize(400);
        assertThat(lines.stream().map(l -> parse(l).get("request_id").asText()).distinct().count()).isEqualTo(400);
    }

    @Test
    void write_unwritablePath_reportsDownAndNeverThrows() throws Exception {
        Path blocker = dir.resolve("not-a-dir");
        Files.writeString(blocker, "a file where a directory should be");
        try (JsonLogsListener logs = JsonLogsListener.file(blocker.resolve("easel-requests.log"))) {
            logs.onSuccess(RecordJsonTest.record("p", null));

            assertThat(logs.failures()).isEqualTo(1);
            assertThat(logs.health().up()).isFalse();
            assertThat(logs.health().detail()).startsWith("cannot write " + blocker.resolve("easel-requests.log"));
        }
    }

    @Test
    void stdout_writesOneLinePerRecordToSystemOut() {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            JsonLogsListener logs = JsonLogsListener.stdout();
            logs.onSuccess(withId(RecordJsonTest.record("p", null), "out-1"));
            logs.onFailure(withId(RecordJsonTest.record("p", null), "out-2"));
        } finally {
            System.setOut(original);
        }
        List<String> lines = captured.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(2);
        assertThat(parse(lines.get(1)).get("request_id").asText()).isEqualTo("out-2");
    }

    @Test
    void fromConfig_jsonLogsOnOrListed_choosesStdoutOrTheFileFromTheEnvironment() {
        EaselConfig off = ConfigLoader.parse("model_list: []\n", Map.of(), "t.yaml");
        EaselConfig flag = ConfigLoader.parse("litellm_settings: {json_logs: true}\n", Map.of(), "t.yaml");
        EaselConfig listed = ConfigLoader.parse("litellm_settings: {success_callback: [json_logs]}\n", Map.of(),
                "t.yaml");

        assertThat(JsonLogsListener.fromConfig(off, Map.of())).isEmpty();
        assertThat(JsonLogsListener.fromConfig(flag, Map.of()).orElseThrow().file()).isEmpty();
        assertThat(JsonLogsListener.fromConfig(listed, Map.of("EASEL_JSON_LOGS_FILE", dir.toString()))
                .orElseThrow().file()).contains(dir.resolve("easel-requests.log").toAbsolutePath());
        assertThat(JsonLogsListener.fromConfig(flag, Map.of("EASEL_JSON_LOGS_FILE", dir.resolve("a.log").toString(),
                "EASEL_JSON_LOGS_MAX_MB", "7", "EASEL_JSON_LOGS_KEEP", "0")).orElseThrow().toString())
                .endsWith("a.log, maxBytes=7340032, keepFiles=0]");
        assertThatThrownBy(() -> JsonLogsListener.fromConfig(flag, Map.of("EASEL_JSON_LOGS_FILE", "x.log",
                "EASEL_JSON_LOGS_MAX_MB", "lots")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("EASEL_JSON_LOGS_MAX_MB must be a whole number between 1 and 1048576 (was 'lots')");
        assertThatThrownBy(() -> JsonLogsListener.file(dir.resolve("x"), 0, 1))
                .hasMessage("maxBytes must be at least 1 (was 0)");
    }

    static EditLogRecord withId(EditLogRecord r, String id) {
        return new EditLogRecord(id, r.startTime(), r.endTime(), r.source(), r.model(), r.modelGroup(),
                r.deploymentId(), r.provider(), r.providerModel(), r.endUser(), r.keyHash(), r.status(),
                r.httpStatus(), r.errorType(), r.errorCode(), r.errorMessage(), r.cost(), r.usage(), r.imagesIn(),
                r.mask(), r.imagesOut(), r.bytesOut(), r.outputFormat(), r.outputSize(), r.params(), r.stream(),
                r.attempts(), r.retries(), r.fallbacks(), r.latencyMs(), r.upstreamMs(), r.overheadMs(), r.prompt(),
                r.traceId(), r.spanId(), r.parentSpanId());
    }

    static List<String> idsIn(Path file) {
        return lines(file).stream().map(l -> parse(l).get("request_id").asText()).toList();
    }
}
