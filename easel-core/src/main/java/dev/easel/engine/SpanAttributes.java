package dev.easel.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.easel.callback.AttemptEvent;
import dev.easel.callback.EditLogRecord;
import dev.easel.callback.JobPollEvent;
import dev.easel.callback.RecordJson;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import java.time.Instant;
import java.util.List;

/**
 * The attributes of an edit's spans: the GenAI semantic-convention ones and Easel's own (see
 * {@code docs/tracing.md}). Never the prompt unless asked for, never keys, never image bytes.
 */
final class SpanAttributes {

    /** {@code gen_ai.operation.name}: none of the convention's values describes an image edit. */
    static final String OPERATION = "image_edit";

    /** Longest string attribute value; longer ones are cut (error messages, prompts). */
    static final int MAX_STRING = 4096;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Request parameters recorded as {@code easel.request.<name>}; integers among them as ints. */
    private static final List<String> STRING_PARAMS = List.of("size", "quality", "background", "output_format",
            "input_fidelity", "moderation", "response_format");
    private static final List<String> INT_PARAMS = List.of("output_compression", "partial_images");

    private SpanAttributes() {
    }

    /** The request span's attributes, from its final record. */
    static Attributes request(EditLogRecord r, boolean includePrompts) {
        AttributesBuilder a = Attributes.builder();
        a.put("gen_ai.operation.name", OPERATION);
        String provider = providerName(r.provider());
        put(a, "gen_ai.provider.name", provider);
        put(a, "gen_ai.system", provider);
        put(a, "gen_ai.request.model", r.model());
        a.put("gen_ai.output.type", "image");
        put(a, "gen_ai.request.choice.count", integer(r.params().get("n")));
        if (r.success()) {
            put(a, "gen_ai.response.model", r.providerModel());
        }
        if (r.usage() != null) {
            a.put("gen_ai.usage.input_tokens", r.usage().inputTokens());
            a.put("gen_ai.usage.output_tokens", r.usage().outputTokens());
        }
        if (r.success()) {
            if (r.cost() != null) {
                a.put("easel.cost_usd", r.cost().doubleValue());
            }
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
        return a.build();
    }

    /** An attempt span's attributes; {@code model} is the provider model the attempt called, or null. */
    static Attributes attempt(AttemptEvent e, String model) {
        AttributesBuilder a = Attributes.builder();
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
        return a.build();
    }

    /** An attempt span's name: the provider model, else the group tried. */
    static String attemptName(String model, String group) {
        return OPERATION + " " + (model != null ? model : group);
    }

    /** A job poll span's attributes. */
    static Attributes poll(JobPollEvent e) {
        AttributesBuilder a = Attributes.builder();
        put(a, "gen_ai.provider.name", providerName(e.provider()));
        a.put("easel.request_id", e.requestId());
        put(a, "easel.deployment", e.deploymentId());
        a.put("easel.attempt", (long) e.attempt());
        put(a, "easel.job.id", foreign(e.jobId()));
        a.put("easel.job.poll", (long) e.number());
        a.put("easel.job.outcome", e.outcome());
        return a.build();
    }

    /** A job poll span's name. */
    static String pollName(String provider) {
        String name = providerName(provider);
        return "poll " + (name == null ? "job" : name);
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

    private static void put(AttributesBuilder a, String key, String value) {
        if (value != null) {
            a.put(key, value);
        }
    }

    private static void put(AttributesBuilder a, String key, Long value) {
        if (value != null) {
            a.put(key, value.longValue());
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
     * runs omitted, as in the records, then cut.
     */
    static String foreign(String s) {
        return cut(RecordJson.redactSecrets(s));
    }

    /** {@code end}, or {@code start} when the end is missing or before it. */
    static Instant later(Instant start, Instant end) {
        return end == null || end.isBefore(start) ? start : end;
    }
}
