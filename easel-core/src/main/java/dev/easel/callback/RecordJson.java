package dev.easel.callback;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.easel.Usage;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The standard record (and the request / attempt events) as one compact JSON object with snake_case names,
 * the shape documented in {@code docs/logging.md} and shared by {@code json_logs} and {@code webhook}.
 *
 * <pre>{@code
 * String line = RecordJson.toJson(record);   // {"request_id":"…","start_time":"2026-…Z",…}
 * }</pre>
 *
 * <p>It writes no image bytes and no keys (the record holds neither); as a second line of defence, error
 * messages and attempt outcomes pass through {@link #redactSecrets(String)}. A redacted prompt is left out.
 */
public final class RecordJson {

    private static final JsonFactory FACTORY = JsonFactory.builder().build();

    /** {@code sk-…} style keys (OpenAI, Anthropic, LiteLLM virtual keys) and bearer tokens. */
    private static final Pattern KEYS = Pattern.compile(
            "(?i)\\b(?:sk|rk|pk)-[A-Za-z0-9_\\-]{8,}|(?i)\\bbearer\\s+[A-Za-z0-9._~+/=\\-]{8,}");
    /** A long run of the base64 alphabet: image data, never meant for a log. */
    private static final Pattern BASE64 = Pattern.compile("[A-Za-z0-9+/_\\-]{120,}={0,2}");

    /** Parameter names whose values are never written (a client may forward anything in extra fields). */
    private static final java.util.List<String> SECRET_NAMES = java.util.List.of("key", "secret", "token",
            "authorization", "password", "credential");

    private RecordJson() {
    }

    /** The record as one line of JSON (no line breaks inside). */
    public static String toJson(EditLogRecord record) {
        return render(g -> write(record, g));
    }

    /** A request event as one line of JSON, with {@code "event":"request"}. */
    public static String toJson(RequestEvent event) {
        return render(g -> {
            g.writeStartObject();
            g.writeStringField("event", "request");
            g.writeStringField("request_id", event.requestId());
            time(g, "time", event.time());
            string(g, "model", event.model());
            string(g, "end_user", event.endUser());
            string(g, "source", event.source());
            params(g, event.params());
            string(g, "trace_id", event.traceId());
            string(g, "span_id", event.spanId());
            string(g, "parent_span_id", event.parentSpanId());
            g.writeEndObject();
        });
    }

    /** An attempt event as one line of JSON, with {@code "event":"attempt"} and the request id. */
    public static String toJson(AttemptEvent event) {
        return render(g -> {
            g.writeStartObject();
            g.writeStringField("event", "attempt");
            g.writeStringField("request_id", event.requestId());
            attemptFields(g, event);
            string(g, "trace_id", event.traceId());
            string(g, "parent_span_id", event.parentSpanId());
            g.writeEndObject();
        });
    }

    /**
     * Masks what looks like an API key ({@code sk-…}, {@code Bearer …}) and replaces long base64 runs, for
     * text that came from elsewhere (an upstream error message). Returns null for null.
     */
    public static String redactSecrets(String text) {
        if (text == null) {
            return null;
        }
        String out = KEYS.matcher(text).replaceAll(m -> {
            String s = m.group();
            String kept = s.regionMatches(true, 0, "bearer", 0, 6) ? s.substring(0, 6) + " " : s.substring(0, 3);
            return java.util.regex.Matcher.quoteReplacement(kept + "***");
        });
        return BASE64.matcher(out).replaceAll("[base64 omitted]");
    }

    /** Writes the record as one JSON object to {@code g} (for embedding in a larger document). */
    static void write(EditLogRecord r, JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeStringField("request_id", r.requestId());
        string(g, "client_request_id", r.clientRequestId());
        time(g, "start_time", r.startTime());
        time(g, "end_time", r.endTime());
        string(g, "source", r.source());
        string(g, "model", r.model());
        string(g, "model_group", r.modelGroup());
        string(g, "deployment", r.deploymentId());
        string(g, "provider", r.provider());
        string(g, "provider_model", r.providerModel());
        string(g, "end_user", r.endUser());
        string(g, "key_hash", r.keyHash());
        string(g, "key_alias", r.keyAlias());
        string(g, "team_id", r.teamId());
        string(g, "user_id", r.userId());
        string(g, "status", r.status());
        g.writeNumberField("http_status", r.httpStatus());
        if (r.errorType() == null && r.errorCode() == null && r.errorMessage() == null) {
            g.writeNullField("error");
        } else {
            g.writeObjectFieldStart("error");
            string(g, "type", r.errorType());
            string(g, "code", r.errorCode());
            string(g, "message", redactSecrets(r.errorMessage()));
            g.writeEndObject();
        }
        if (r.cost() == null) {
            g.writeNullField("cost");
        } else {
            g.writeFieldName("cost");
            g.writeNumber(r.cost().toPlainString()); // full precision, never 1.2E-7
        }
        usage(g, r.usage());
        g.writeArrayFieldStart("images_in");
        for (EditLogRecord.ImageMeta m : r.imagesIn()) {
            image(g, m);
        }
        g.writeEndArray();
        g.writeFieldName("mask");
        if (r.mask() == null) {
            g.writeNull();
        } else {
            image(g, r.mask());
        }
        g.writeNumberField("images_out", r.imagesOut());
        g.writeNumberField("bytes_in", r.bytesIn());
        g.writeNumberField("bytes_out", r.bytesOut());
        string(g, "output_format", r.outputFormat());
        string(g, "output_size", r.outputSize());
        params(g, r.params());
        g.writeBooleanField("stream", r.stream());
        g.writeArrayFieldStart("attempts");
        for (AttemptEvent a : r.attempts()) {
            g.writeStartObject();
            attemptFields(g, a);
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeNumberField("retries", r.retries());
        g.writeNumberField("fallbacks", r.fallbacks());
        g.writeNumberField("latency_ms", r.latencyMs());
        g.writeNumberField("upstream_ms", r.upstreamMs());
        g.writeNumberField("overhead_ms", r.overheadMs());
        g.writeArrayFieldStart("warnings");
        for (String w : r.warnings()) {
            g.writeString(w);
        }
        g.writeEndArray();
        if (r.prompt() != null) {
            g.writeStringField("prompt", r.prompt());
        }
        string(g, "trace_id", r.traceId());
        string(g, "span_id", r.spanId());
        string(g, "parent_span_id", r.parentSpanId());
        g.writeEndObject();
    }

    /** A generator over {@code out} that leaves {@code out} open. */
    static JsonGenerator generator(Writer out) throws IOException {
        JsonGenerator g = FACTORY.createGenerator(out);
        g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        return g;
    }

    private static void attemptFields(JsonGenerator g, AttemptEvent a) throws IOException {
        g.writeNumberField("number", a.number());
        string(g, "model_group", a.modelGroup());
        string(g, "deployment", a.deploymentId());
        string(g, "provider", a.provider());
        g.writeBooleanField("fallback", a.fallback());
        string(g, "outcome", redactSecrets(a.outcome()));
        g.writeNumberField("http_status", a.httpStatus());
        string(g, "error_type", a.errorType());
        string(g, "error_code", a.errorCode());
        time(g, "start_time", a.start());
        if (a.start() != null && a.end() != null) {
            g.writeNumberField("duration_ms", Math.max(0, Duration.between(a.start(), a.end()).toMillis()));
        } else {
            g.writeNullField("duration_ms");
        }
        string(g, "span_id", a.spanId());
    }

    private static void usage(JsonGenerator g, Usage u) throws IOException {
        if (u == null) {
            g.writeNullField("usage");
            return;
        }
        g.writeObjectFieldStart("usage");
        g.writeNumberField("input_tokens", u.inputTokens());
        g.writeNumberField("output_tokens", u.outputTokens());
        g.writeNumberField("total_tokens", u.totalTokens());
        g.writeNumberField("input_text_tokens", u.inputTextTokens());
        g.writeNumberField("input_image_tokens", u.inputImageTokens());
        g.writeNumberField("output_image_tokens", u.outputImageTokens());
        g.writeNumberField("output_text_tokens", u.outputTextTokens());
        g.writeEndObject();
    }

    private static void image(JsonGenerator g, EditLogRecord.ImageMeta m) throws IOException {
        g.writeStartObject();
        string(g, "format", m.format());
        if (m.width() > 0 && m.height() > 0) {
            g.writeNumberField("width", m.width());
            g.writeNumberField("height", m.height());
        } else {
            g.writeNullField("width");
            g.writeNullField("height");
        }
        g.writeNumberField("bytes", m.bytes());
        g.writeEndObject();
    }

    private static void params(JsonGenerator g, Map<String, String> params) throws IOException {
        g.writeObjectFieldStart("params");
        // sorted: Map.copyOf has no order, and stable lines are easier to diff and grep
        for (Map.Entry<String, String> e : new TreeMap<>(params).entrySet()) {
            String name = e.getKey().toLowerCase(java.util.Locale.ROOT);
            boolean secret = SECRET_NAMES.stream().anyMatch(name::contains);
            g.writeStringField(e.getKey(), secret ? "***" : redactSecrets(e.getValue()));
        }
        g.writeEndObject();
    }

    private static void string(JsonGenerator g, String name, String value) throws IOException {
        if (value == null) {
            g.writeNullField(name);
        } else {
            g.writeStringField(name, value);
        }
    }

    private static void time(JsonGenerator g, String name, Instant t) throws IOException {
        string(g, name, t == null ? null : t.toString());
    }

    private interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    private static String render(Body body) {
        StringWriter out = new StringWriter(512);
        try (JsonGenerator g = generator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write JSON to memory", e); // a StringWriter does not fail
        }
        return out.toString();
    }
}
