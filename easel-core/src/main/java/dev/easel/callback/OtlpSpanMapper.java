package dev.easel.callback;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns one {@link EditLogRecord} into its spans: the request span (SERVER) and one span per attempt
 * (CLIENT), with the GenAI semantic-convention attributes and Easel's own. Never the prompt unless asked for,
 * never keys, never image bytes.
 */
final class OtlpSpanMapper {

    /** {@code gen_ai.operation.name}: none of the convention's values describes an image edit. */
    static final String OPERATION = "image_edit";

    /** Longest string attribute value; longer ones are cut (error messages, prompts). */
    static final int MAX_STRING = 4096;

    private static final Pattern TRACE_ID = Pattern.compile("[0-9a-f]{32}");
    private static final Pattern SPAN_ID = Pattern.compile("[0-9a-f]{16}");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Request parameters recorded as {@code easel.request.<name>}; integers among them as ints. */
    private static final List<String> STRING_PARAMS = List.of("size", "quality", "background", "output_format",
            "input_fidelity", "moderation", "response_format");
    private static final List<String> INT_PARAMS = List.of("output_compression", "partial_images");

    private final boolean includePrompts;
    private final Map<String, String> deploymentModels;

    /**
     * @param includePrompts   record the prompt (as {@code gen_ai.input.messages}) when the record has one
     * @param deploymentModels provider model per deployment id, for attempts other than the last
     */
    OtlpSpanMapper(boolean includePrompts, Map<String, String> deploymentModels) {
        this.includePrompts = includePrompts;
        this.deploymentModels = Map.copyOf(deploymentModels);
    }

    /** The spans of {@code r}: request span first, then its attempts in order; empty when its ids are invalid. */
    List<OtlpSpan> spans(EditLogRecord r) {
        if (!validTrace(r.traceId()) || !validSpan(r.spanId())) {
            return List.of();
        }
        List<OtlpSpan> out = new ArrayList<>(1 + r.attempts().size());
        out.add(requestSpan(r));
        for (AttemptEvent a : r.attempts()) {
            if (validTrace(a.traceId()) && validSpan(a.spanId())) {
                out.add(attemptSpan(r, a));
            }
        }
        return out;
    }

    private OtlpSpan requestSpan(EditLogRecord r) {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("gen_ai.operation.name", OPERATION);
        String provider = providerName(r.provider());
        put(a, "gen_ai.provider.name", provider);
        put(a, "gen_ai.system", provider);
        put(a, "gen_ai.request.model", r.model());
        a.put("gen_ai.output.type", "image");
        Long n = integer(r.params().get("n"));
        put(a, "gen_ai.request.choice.count", n);
        if (r.success()) {
            put(a, "gen_ai.response.model", r.providerModel());
        }
        if (r.usage() != null) {
            a.put("gen_ai.usage.input_tokens", r.usage().inputTokens());
            a.put("gen_ai.usage.output_tokens", r.usage().outputTokens());
        }
        if (r.success()) {
            put(a, "easel.cost_usd", r.cost());
        } else {
            put(a, "error.type", r.errorType());
            put(a, "easel.error.code", r.errorCode());
        }
        a.put("http.response.status_code", (long) r.httpStatus());
        a.put("easel.request_id", r.requestId());
        put(a, "easel.client_request_id", r.clientRequestId());
        a.put("easel.source", r.source());
        put(a, "easel.model_group", r.modelGroup());
        put(a, "easel.deployment", r.deploymentId());
        put(a, "easel.end_user", r.endUser());
        a.put("easel.stream", r.stream());
        a.put("easel.attempts", (long) r.attempts().size());
        a.put("easel.retries", (long) r.retries());
        a.put("easel.fallbacks", (long) r.fallbacks());
        a.put("easel.images_in", (long) r.imagesIn().size());
        a.put("easel.images_out", (long) r.imagesOut());
        a.put("easel.bytes_in", r.bytesIn());
        a.put("easel.bytes_out", r.bytesOut());
        for (String p : STRING_PARAMS) {
            put(a, "easel.request." + p, foreign(r.params().get(p)));
        }
        for (String p : INT_PARAMS) {
            put(a, "easel.request." + p, integer(r.params().get(p)));
        }
        put(a, "easel.output.size", r.outputSize());
        put(a, "easel.output.format", r.outputFormat());
        a.put("easel.latency.upstream_ms", r.upstreamMs());
        a.put("easel.latency.overhead_ms", r.overheadMs());
        if (includePrompts && r.prompt() != null) {
            a.put("gen_ai.input.messages", inputMessages(r.prompt()));
        }
        String name = r.model() == null || r.model().isBlank() ? OPERATION : OPERATION + " " + r.model();
        return new OtlpSpan(r.traceId(), r.spanId(), validSpan(r.parentSpanId()) ? r.parentSpanId() : null, name,
                OtlpSpan.SERVER, r.startTime(), later(r.startTime(), r.endTime()), a, r.success(),
                r.success() ? null : foreign(r.errorMessage() != null ? r.errorMessage() : r.errorType()));
    }

    private OtlpSpan attemptSpan(EditLogRecord r, AttemptEvent e) {
        String model = e.deploymentId() != null && e.deploymentId().equals(r.deploymentId()) && r.providerModel() != null
                ? r.providerModel() : modelOf(e.deploymentId());
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("gen_ai.operation.name", OPERATION);
        String provider = providerName(e.provider());
        put(a, "gen_ai.provider.name", provider);
        put(a, "gen_ai.system", provider);
        put(a, "gen_ai.request.model", model);
        if (e.ok()) {
            put(a, "gen_ai.response.model", model);
        } else {
            put(a, "error.type", e.errorType());
            put(a, "easel.error.code", e.errorCode());
        }
        a.put("http.response.status_code", (long) e.httpStatus());
        a.put("easel.request_id", e.requestId());
        put(a, "easel.model_group", e.modelGroup());
        put(a, "easel.deployment", e.deploymentId());
        a.put("easel.attempt", (long) e.number());
        a.put("easel.fallback", e.fallback());
        String name = OPERATION + " " + (model != null ? model : e.modelGroup());
        String parent = validSpan(e.parentSpanId()) ? e.parentSpanId() : r.spanId();
        return new OtlpSpan(e.traceId(), e.spanId(), parent, name, OtlpSpan.CLIENT, e.start(),
                later(e.start(), e.end()), a, e.ok(), e.ok() ? null : foreign(e.outcome()));
    }

    /** A job poll's span (a child of its attempt's span), or null when its ids are invalid. */
    OtlpSpan pollSpan(JobPollEvent e) {
        if (!validTrace(e.traceId()) || !validSpan(e.spanId()) || !validSpan(e.parentSpanId())) {
            return null;
        }
        Map<String, Object> a = new LinkedHashMap<>();
        String provider = providerName(e.provider());
        put(a, "gen_ai.provider.name", provider);
        a.put("easel.request_id", e.requestId());
        put(a, "easel.deployment", e.deploymentId());
        a.put("easel.attempt", (long) e.attempt());
        put(a, "easel.job.id", foreign(e.jobId()));
        a.put("easel.job.poll", (long) e.number());
        a.put("easel.job.outcome", e.outcome());
        return new OtlpSpan(e.traceId(), e.spanId(), e.parentSpanId(), "poll " + (provider == null ? "job" : provider),
                OtlpSpan.CLIENT, e.start(), later(e.start(), e.end()), a, !e.error(),
                e.error() ? foreign(e.outcome()) : null);
    }

    /** The provider model of a deployment: by its id, or by the base of a default id ({@code base-<hash>}). */
    private String modelOf(String deploymentId) {
        if (deploymentId == null) {
            return null;
        }
        String exact = deploymentModels.get(deploymentId);
        if (exact != null) {
            return exact;
        }
        String best = null;
        String model = null;
        for (Map.Entry<String, String> e : deploymentModels.entrySet()) {
            if (deploymentId.startsWith(e.getKey() + "-") && (best == null || e.getKey().length() > best.length())) {
                best = e.getKey();
                model = e.getValue();
            }
        }
        return model;
    }

    /**
     * The convention's {@code gen_ai.provider.name} for an Easel provider name ({@code azure} is
     * {@code azure.ai.openai}); names the convention does not list pass through unchanged.
     */
    static String providerName(String provider) {
        if (provider == null) {
            return null;
        }
        return switch (provider) {
            case "azure" -> "azure.ai.openai";
            case "gemini" -> "gcp.gemini";
            case "vertex_ai" -> "gcp.vertex_ai";
            case "bedrock" -> "aws.bedrock";
            case "xai" -> "x_ai";
            case "mistral" -> "mistral_ai";
            default -> provider;
        };
    }

    /** The prompt as the convention's input messages: one user message with one text part. */
    private static String inputMessages(String prompt) {
        ArrayNode messages = JSON.createArrayNode();
        var m = messages.addObject();
        m.put("role", "user");
        var part = m.putArray("parts").addObject();
        part.put("type", "text");
        part.put("content", cut(prompt));
        return messages.toString();
    }

    private static void put(Map<String, Object> a, String key, Object value) {
        if (value != null) {
            a.put(key, value);
        }
    }

    private static Long integer(String s) {
        if (s == null) {
            return null;
        }
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String cut(String s) {
        return s == null || s.length() <= MAX_STRING ? s : s.substring(0, MAX_STRING);
    }

    /**
     * Text that came from elsewhere (an upstream's error message, a request parameter): keys masked and base64
     * runs omitted, as in {@link RecordJson}, then cut.
     */
    private static String foreign(String s) {
        return cut(RecordJson.redactSecrets(s));
    }

    private static java.time.Instant later(java.time.Instant start, java.time.Instant end) {
        return end == null || end.isBefore(start) ? start : end;
    }

    private static boolean validTrace(String id) {
        return id != null && TRACE_ID.matcher(id).matches() && !id.chars().allMatch(c -> c == '0');
    }

    private static boolean validSpan(String id) {
        return id != null && SPAN_ID.matcher(id).matches() && !id.chars().allMatch(c -> c == '0');
    }
}
