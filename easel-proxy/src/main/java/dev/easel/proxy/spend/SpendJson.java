package dev.easel.proxy.spend;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.time.Instant;

/**
 * JSON of spend rows, as the HTTP answers and the journal write it. Field names follow LiteLLM's spend logs
 * where one exists; money is written as a plain JSON number with every digit (never through a double).
 */
final class SpendJson {

    static final JsonFactory FACTORY = JsonFactory.builder().enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
            .build();
    static final ObjectMapper MAPPER = new ObjectMapper(FACTORY)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

    private SpendJson() {
    }

    /** One journal line / one element of {@code /spend/logs}. */
    static String toJson(SpendRecord r) {
        StringWriter w = new StringWriter(512);
        try (JsonGenerator g = FACTORY.createGenerator(w)) {
            write(g, r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }

    static void write(JsonGenerator g, SpendRecord r) throws IOException {
        g.writeStartObject();
        g.writeStringField("request_id", r.requestId());
        g.writeStringField("client_request_id", r.clientRequestId());
        g.writeStringField("startTime", r.startTime().toString());
        g.writeStringField("endTime", r.endTime().toString());
        g.writeStringField("model", r.model());
        g.writeStringField("model_group", r.modelGroup());
        g.writeStringField("model_id", r.deploymentId());
        g.writeStringField("custom_llm_provider", r.provider());
        g.writeStringField("api_base", r.apiBase());
        g.writeStringField("end_user", r.endUser());
        g.writeStringField("api_key", r.keyHash());
        g.writeStringField("key_alias", r.keyAlias());
        g.writeStringField("team_id", r.teamId());
        g.writeStringField("user_id", r.userId());
        g.writeStringField("status", r.status());
        g.writeNumberField("http_status", r.httpStatus());
        g.writeStringField("error_type", r.errorType());
        g.writeStringField("error_code", r.errorCode());
        if (r.spend() == null) {
            g.writeNullField("spend");
        } else {
            g.writeNumberField("spend", r.spend());
        }
        g.writeNumberField("total_tokens", r.totalTokens());
        g.writeNumberField("prompt_tokens", r.promptTokens());
        g.writeNumberField("completion_tokens", r.completionTokens());
        g.writeNumberField("input_text_tokens", r.inputTextTokens());
        g.writeNumberField("input_image_tokens", r.inputImageTokens());
        g.writeNumberField("output_image_tokens", r.outputImageTokens());
        g.writeNumberField("output_text_tokens", r.outputTextTokens());
        g.writeNumberField("images_in", r.imagesIn());
        g.writeNumberField("images_out", r.imagesOut());
        g.writeNumberField("bytes_in", r.bytesIn());
        g.writeNumberField("bytes_out", r.bytesOut());
        g.writeNumberField("latency_ms", r.latencyMs());
        g.writeNumberField("upstream_ms", r.upstreamMs());
        g.writeNumberField("attempts", r.attempts());
        g.writeBooleanField("fallback_used", r.fallbackUsed());
        g.writeEndObject();
    }

    /** Parses what {@link #toJson} wrote. */
    static SpendRecord parse(String line) throws IOException {
        JsonNode n = MAPPER.readTree(line);
        if (n == null || !n.isObject()) {
            throw new IOException("not a JSON object");
        }
        JsonNode spend = n.get("spend");
        return SpendRecord.builder()
                .requestId(text(n, "request_id"))
                .clientRequestId(text(n, "client_request_id"))
                .startTime(Instant.parse(text(n, "startTime")))
                .endTime(Instant.parse(text(n, "endTime")))
                .model(text(n, "model"))
                .modelGroup(text(n, "model_group"))
                .deploymentId(text(n, "model_id"))
                .provider(text(n, "custom_llm_provider"))
                .apiBase(text(n, "api_base"))
                .endUser(text(n, "end_user"))
                .keyHash(text(n, "api_key"))
                .keyAlias(text(n, "key_alias"))
                .teamId(text(n, "team_id"))
                .userId(text(n, "user_id"))
                .status(text(n, "status"))
                .httpStatus(n.path("http_status").asInt())
                .errorType(text(n, "error_type"))
                .errorCode(text(n, "error_code"))
                .spend(spend == null || spend.isNull() ? null : decimal(spend))
                .totalTokens(n.path("total_tokens").asLong())
                .promptTokens(n.path("prompt_tokens").asLong())
                .completionTokens(n.path("completion_tokens").asLong())
                .inputTextTokens(n.path("input_text_tokens").asLong())
                .inputImageTokens(n.path("input_image_tokens").asLong())
                .outputImageTokens(n.path("output_image_tokens").asLong())
                .outputTextTokens(n.path("output_text_tokens").asLong())
                .imagesIn(n.path("images_in").asInt())
                .imagesOut(n.path("images_out").asInt())
                .bytesIn(n.path("bytes_in").asLong())
                .bytesOut(n.path("bytes_out").asLong())
                .latencyMs(n.path("latency_ms").asLong())
                .upstreamMs(n.path("upstream_ms").asLong())
                .attempts(n.path("attempts").asInt())
                .fallbackUsed(n.path("fallback_used").asBoolean())
                .build();
    }

    private static BigDecimal decimal(JsonNode n) throws IOException {
        if (!n.isNumber()) {
            throw new IOException("spend is not a number");
        }
        return n.decimalValue();
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
