package dev.easel.callback;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.Usage;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RecordJsonTest {

    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    static final Instant T0 = Instant.parse("2026-11-24T12:00:00.125Z");
    static final String TRACE = "0af7651916cd43dd8448eb211c80319c";

    static AttemptEvent attempt(int n, String group, boolean fallback, String outcome, int status, String type) {
        return new AttemptEvent("req-1", n, group, group + "-0", "openai", fallback, T0.plusMillis(10L * n),
                T0.plusMillis(10L * n + 7), outcome, status, type, type == null ? null : "rate_limit_exceeded", TRACE,
                "00f067aa0ba902b" + n, "b7ad6b7169203331");
    }

    static EditLogRecord record(String prompt, BigDecimal cost) {
        return new EditLogRecord("req-1", T0, T0.plusMillis(1500), "proxy", "gpt-image-1", "gpt-image-1-backup",
                "gpt-image-1-backup-0", "openai", "gpt-image-1", "user-7", "ab".repeat(32), "success", 200, null,
                null, null, cost, new Usage(250, 4160, 4410, 56, 194, 4160, 0, true),
                List.of(new EditLogRecord.ImageMeta("png", 1024, 1024, 120_000),
                        new EditLogRecord.ImageMeta("jpeg", 512, 768, 40_000)),
                new EditLogRecord.ImageMeta("png", 1024, 1024, 3_000), 2, 2_000_000, "png", "1024x1024",
                Map.of("size", "1024x1024", "quality", "high", "n", "2"), false,
                List.of(attempt(1, "gpt-image-1", false, "429 rate_limit_exceeded", 429, "rate_limit_error"),
                        attempt(2, "gpt-image-1-backup", true, "ok", 200, null)),
                0, 1, 1500, 1200, 300, prompt, TRACE, "b7ad6b7169203331", null);
    }

    @Test
    void toJson_fullRecord_hasEveryDocumentedFieldInSnakeCase() throws Exception {
        String line = RecordJson.toJson(record("Add a red hat", new BigDecimal("0.16")));
        JsonNode j = JSON.readTree(line);

        assertThat(line).doesNotContain("\n");
        assertThat(j.get("request_id").asText()).isEqualTo("req-1");
        assertThat(j.get("start_time").asText()).isEqualTo("2026-11-24T12:00:00.125Z");
        assertThat(j.get("end_time").asText()).isEqualTo("2026-11-24T12:00:01.625Z");
        assertThat(j.get("source").asText()).isEqualTo("proxy");
        assertThat(j.get("model").asText()).isEqualTo("gpt-image-1");
        assertThat(j.get("model_group").asText()).isEqualTo("gpt-image-1-backup");
        assertThat(j.get("deployment").asText()).isEqualTo("gpt-image-1-backup-0");
        assertThat(j.get("provider").asText()).isEqualTo("openai");
        assertThat(j.get("provider_model").asText()).isEqualTo("gpt-image-1");
        assertThat(j.get("end_user").asText()).isEqualTo("user-7");
        assertThat(j.get("key_hash").asText()).isEqualTo("ab".repeat(32));
        assertThat(j.get("status").asText()).isEqualTo("success");
        assertThat(j.get("http_status").asInt()).isEqualTo(200);
        assertThat(j.get("error").isNull()).isTrue();
        assertThat(j.get("cost").decimalValue()).isEqualByComparingTo("0.16");
        assertThat(j.get("usage").get("input_tokens").asLong()).isEqualTo(250);
        assertThat(j.get("usage").get("output_tokens").asLong()).isEqualTo(4160);
        assertThat(j.get("usage").get("total_tokens").asLong()).isEqualTo(4410);
        assertThat(j.get("usage").get("input_text_tokens").asLong()).isEqualTo(56);
        assertThat(j.get("usage").get("input_image_tokens").asLong()).isEqualTo(194);
        assertThat(j.get("usage").get("output_image_tokens").asLong()).isEqualTo(4160);
        assertThat(j.get("usage").get("output_text_tokens").asLong()).isZero();
        assertThat(j.get("images_in")).hasSize(2);
        assertThat(j.get("images_in").get(1).toString())
                .isEqualTo("{\"format\":\"jpeg\",\"width\":512,\"height\":768,\"bytes\":40000}");
        assertThat(j.get("mask").toString())
                .isEqualTo("{\"format\":\"png\",\"width\":1024,\"height\":1024,\"bytes\":3000}");
        assertThat(j.get("images_out").asInt()).isEqualTo(2);
        assertThat(j.get("bytes_in").asLong()).isEqualTo(163_000);
        assertThat(j.get("bytes_out").asLong()).isEqualTo(2_000_000);
        assertThat(j.get("output_format").asText()).isEqualTo("png");
        assertThat(j.get("output_size").asText()).isEqualTo("1024x1024");
        assertThat(j.get("params").toString()).isEqualTo("{\"n\":\"2\",\"quality\":\"high\",\"size\":\"1024x1024\"}");
        assertThat(j.get("stream").asBoolean()).isFalse();
        assertThat(j.get("attempts")).hasSize(2);
        JsonNode first = j.get("attempts").get(0);
        assertThat(first.get("number").asInt()).isEqualTo(1);
        assertThat(first.get("model_group").asText()).isEqualTo("gpt-image-1");
        assertThat(first.get("deployment").asText()).isEqualTo("gpt-image-1-0");
        assertThat(first.get("provider").asText()).isEqualTo("openai");
        assertThat(first.get("fallback").asBoolean()).isFalse();
        assertThat(first.get("outcome").asText()).isEqualTo("429 rate_limit_exceeded");
        assertThat(first.get("http_status").asInt()).isEqualTo(429);
        assertThat(first.get("error_type").asText()).isEqualTo("rate_limit_error");
        assertThat(first.get("error_code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(first.get("start_time").asText()).isEqualTo("2026-11-24T12:00:00.135Z");
        assertThat(first.get("duration_ms").asLong()).isEqualTo(7);
        assertThat(first.get("span_id").asText()).isEqualTo("00f067aa0ba902b1");
        assertThat(j.get("attempts").get(1).get("fallback").asBoolean()).isTrue();
        assertThat(j.get("attempts").get(1).get("error_type").isNull()).isTrue();
        assertThat(j.get("retries").asInt()).isZero();
        assertThat(j.get("fallbacks").asInt()).isEqualTo(1);
        assertThat(j.get("latency_ms").asLong()).isEqualTo(1500);
        assertThat(j.get("upstream_ms").asLong()).isEqualTo(1200);
        assertThat(j.get("overhead_ms").asLong()).isEqualTo(300);
        assertThat(j.get("prompt").asText()).isEqualTo("Add a red hat");
        assertThat(j.get("trace_id").asText()).isEqualTo(TRACE);
        assertThat(j.get("span_id").asText()).isEqualTo("b7ad6b7169203331");
        assertThat(j.get("parent_span_id").isNull()).isTrue();
    }

    @Test
    void toJson_fieldOrder_isStable() throws Exception {
        List<String> names = new ArrayList<>();
        JSON.readTree(RecordJson.toJson(record("p", BigDecimal.ONE))).fieldNames().forEachRemaining(names::add);
        assertThat(names).containsExactly("request_id", "client_request_id", "start_time", "end_time", "source",
                "model", "model_group", "deployment", "provider", "provider_model", "end_user", "key_hash", "key_alias",
                "team_id", "user_id", "status", "http_status",
                "error", "cost", "usage", "images_in", "mask", "images_out", "bytes_in", "bytes_out",
                "output_format", "output_size", "params", "stream", "attempts", "retries", "fallbacks",
                "latency_ms", "upstream_ms", "overhead_ms", "warnings", "prompt", "trace_id", "span_id",
                "parent_span_id");
    }

    @Test
    void toJson_cost_keepsFullBigDecimalPrecisionWithoutExponent() throws Exception {
        BigDecimal tiny = new BigDecimal("0.00000012345678901234567890123");
        String line = RecordJson.toJson(record("p", tiny));

        assertThat(line).contains("\"cost\":0.00000012345678901234567890123,");
        assertThat(JSON.readTree(line).get("cost").decimalValue()).isEqualTo(tiny);
    }

    @Test
    void toJson_redactedPrompt_leavesTheFieldOut() throws Exception {
        JsonNode j = JSON.readTree(RecordJson.toJson(record(null, null)));
        assertThat(j.has("prompt")).isFalse();
        assertThat(j.get("cost").isNull()).isTrue();
    }

    @Test
    void toJson_promptWithNewlinesAndQuotes_staysOneLine() throws Exception {
        String prompt = "line one\nline \"two\"\r\n\ttab \u2028 é";
        String line = RecordJson.toJson(record(prompt, null));
        assertThat(line).doesNotContain("\n").doesNotContain("\r");
        assertThat(JSON.readTree(line).get("prompt").asText()).isEqualTo(prompt);
    }

    @Test
    void toJson_failure_hasErrorObjectAndScrubsKeysFromTheMessage() throws Exception {
        EditLogRecord ok = record("p", null);
        EditLogRecord failed = new EditLogRecord("req-2", T0, T0.plusMillis(5), "sdk", "gpt-image-1", null, null,
                null, null, null, null, "failure", 401, "authentication_error", "invalid_api_key",
                "Incorrect API key provided: sk-proj-abcdefghijklmnop1234. Authorization: Bearer abcdefgh12345678",
                null, null, List.of(new EditLogRecord.ImageMeta(null, 0, 0, 77)), null, 0, 0, null, null, Map.of(),
                false, List.of(), 0, 0, 5, 0, 5, "p", TRACE, "b7ad6b7169203331", "00f067aa0ba902b7");
        JsonNode j = JSON.readTree(RecordJson.toJson(failed));

        assertThat(j.get("status").asText()).isEqualTo("failure");
        assertThat(j.get("http_status").asInt()).isEqualTo(401);
        assertThat(j.get("error").get("type").asText()).isEqualTo("authentication_error");
        assertThat(j.get("error").get("code").asText()).isEqualTo("invalid_api_key");
        assertThat(j.get("error").get("message").asText())
                .isEqualTo("Incorrect API key provided: sk-***. Authorization: Bearer ***");
        assertThat(j.get("usage").isNull()).isTrue();
        assertThat(j.get("model_group").isNull()).isTrue();
        assertThat(j.get("images_in").get(0).toString())
                .isEqualTo("{\"format\":null,\"width\":null,\"height\":null,\"bytes\":77}");
        assertThat(j.get("mask").isNull()).isTrue();
        assertThat(j.get("attempts")).isEmpty();
        assertThat(j.get("parent_span_id").asText()).isEqualTo("00f067aa0ba902b7");
        assertThat(ok.success()).isTrue();
    }

    @Test
    void toJson_secretLookingParams_areMasked() throws Exception {
        EditLogRecord r = record("p", null);
        EditLogRecord withSecrets = new EditLogRecord(r.requestId(), r.startTime(), r.endTime(), r.source(),
                r.model(), r.modelGroup(), r.deploymentId(), r.provider(), r.providerModel(), r.endUser(),
                r.keyHash(), r.status(), r.httpStatus(), null, null, null, null, null, r.imagesIn(), null, 1, 1,
                null, null, Map.of("api_key", "hunter2-not-prefixed", "size", "auto", "note", "sk-abcdefghijklmnopq"),
                false, List.of(), 0, 0, 1, 1, 0, null, TRACE, "b7ad6b7169203331", null);
        String line = RecordJson.toJson(withSecrets);

        assertThat(JSON.readTree(line).get("params").toString())
                .isEqualTo("{\"api_key\":\"***\",\"note\":\"sk-***\",\"size\":\"auto\"}");
        assertThat(line).doesNotContain("hunter2").doesNotContain("abcdefghijklmnopq");
    }

    @Test
    void redactSecrets_longBase64Run_isReplaced() {
        byte[] bytes = new byte[300];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i * 7);
        }
        String b64 = Base64.getEncoder().encodeToString(bytes);
        assertThat(RecordJson.redactSecrets("upstream said: data:image/png;base64," + b64 + " (bad)"))
                .isEqualTo("upstream said: data:image/png;base64,[base64 omitted] (bad)");
        assertThat(RecordJson.redactSecrets("size 1536x1024 is not supported for dall-e-2"))
                .isEqualTo("size 1536x1024 is not supported for dall-e-2");
        assertThat(RecordJson.redactSecrets(null)).isNull();
    }

    @Test
    void toJson_events_carryTheirKind() throws Exception {
        JsonNode req = JSON.readTree(RecordJson.toJson(new RequestEvent("req-1", T0, "gpt-image-1", null, "sdk",
                null, Map.of("n", "1"), TRACE, "b7ad6b7169203331", null)));
        assertThat(req.get("event").asText()).isEqualTo("request");
        assertThat(req.get("time").asText()).isEqualTo("2026-11-24T12:00:00.125Z");
        assertThat(req.get("params").get("n").asText()).isEqualTo("1");

        JsonNode att = JSON.readTree(RecordJson.toJson(attempt(1, "g", false, "ok", 200, null)));
        assertThat(att.get("event").asText()).isEqualTo("attempt");
        assertThat(att.get("request_id").asText()).isEqualTo("req-1");
        assertThat(att.get("duration_ms").asLong()).isEqualTo(7);
        assertThat(att.get("parent_span_id").asText()).isEqualTo("b7ad6b7169203331");
    }
}
