package dev.easel.provider.bfl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.http.RetryAfter;
import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ContentPolicyViolationException;
import dev.easel.EaselException;
import dev.easel.InternalServerException;
import dev.easel.NotFoundException;
import dev.easel.PermissionDeniedException;
import dev.easel.RateLimitException;
import dev.easel.ServiceUnavailableException;
import dev.easel.http.HttpTransport;
import dev.easel.provider.JobRunner;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpHeaders;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Black Forest Labs' answers: the submit's {@code {id, polling_url, cost}}, a poll's {@code status}, and the one place
 * where an HTTP status and error body become an {@link EaselException} — by meaning: BFL's 403 "Not authenticated"
 * is a 401 {@code authentication_error}, 402 (no credits) OpenAI's {@code insufficient_quota}, a moderated job
 * {@code moderation_blocked}, FastAPI's 422 a 400 quoting each {@code loc} and {@code msg}.
 */
final class BflProtocol {

    static final String PROVIDER = "black_forest_labs";

    /** Largest submit or poll answer read (they are a few hundred bytes). */
    static final long MAX_ANSWER_BYTES = 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper();

    private BflProtocol() {
    }

    /**
     * An accepted submission.
     *
     * @param id         the task id
     * @param pollingUrl where to poll it
     * @param credits    what BFL charged for it ({@code cost}), when it said
     */
    record Submitted(String id, URI pollingUrl, Optional<BigDecimal> credits) {
    }

    /**
     * The submit's answer: an accepted task, whose polling URL must be on {@code https://*.bfl.ai} or on the
     * configured api_base host (the key goes with every poll, so nothing else is ever fetched).
     */
    static Submitted submitted(HttpResponse<InputStream> r, URI base, String secret) {
        JsonNode root = answer(r, secret);
        String requestId = requestId(r.headers());
        if (root == null) {
            throw garbage("a submit answer that is not a JSON object", requestId);
        }
        String id = text(root.get("id"));
        if (id == null || id.isBlank()) {
            throw garbage("a submit answer without a task id", requestId);
        }
        URI polling;
        String url = text(root.get("polling_url"));
        try {
            // BFL always sends polling_url; its documented endpoint serves a task that lacks one
            polling = url != null ? new URI(url) : new URI(strip(base.toString()) + "/v1/get_result?id="
                    + java.net.URLEncoder.encode(id, StandardCharsets.UTF_8));
        } catch (URISyntaxException e) {
            throw garbage("a polling URL that is not a URL for task " + id, requestId).forJob(id);
        }
        if (!pollable(polling, base)) {
            throw garbage("a polling URL on " + (polling.getHost() == null ? "no host" : "host '" + polling.getHost()
                    + "'") + " for task " + id + ", which is neither an https bfl.ai host nor the configured "
                    + "api_base host; it was not fetched", requestId).forJob(id);
        }
        JsonNode cost = root.get("cost");
        Optional<BigDecimal> credits = cost != null && cost.isNumber() && cost.decimalValue().signum() >= 0
                ? Optional.of(cost.decimalValue()) : Optional.empty();
        return new Submitted(id, polling, credits);
    }

    /** Whether a polling URL may be fetched with the key: https on bfl.ai, or the api_base host (its own scheme). */
    static boolean pollable(URI url, URI base) {
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        String host = url.getHost() == null ? "" : url.getHost().toLowerCase(Locale.ROOT);
        if (host.isEmpty() || url.getRawUserInfo() != null) {
            return false;
        }
        if (scheme.equals("https") && (host.equals("bfl.ai") || host.endsWith(".bfl.ai"))) {
            return true;
        }
        return base.getHost() != null && host.equals(base.getHost().toLowerCase(Locale.ROOT))
                && scheme.equals(base.getScheme() == null ? "" : base.getScheme().toLowerCase(Locale.ROOT));
    }

    /**
     * What one poll found.
     *
     * @param poll   for the job runner
     * @param prompt the prompt BFL used ({@code result.prompt} of a ready job), or null
     */
    record Polled(JobRunner.Poll poll, String prompt) {
    }

    /**
     * One poll's answer. {@code Pending} and statuses BFL may add later are pending; {@code Ready} gives
     * {@code result.sample}; moderation, {@code Error}/{@code Failed} and {@code Task not found} end the job.
     * A failed poll (5xx, 429, garbage) is thrown as a retryable error: the runner polls again.
     */
    static Polled poll(HttpResponse<InputStream> r, String id, String secret) {
        JsonNode root = answer(r, secret);
        String requestId = requestId(r.headers());
        if (root == null) {
            throw garbage("a poll answer that is not a JSON object for job " + id, requestId);
        }
        String status = text(root.get("status"));
        if (status == null) {
            throw garbage("a poll answer without a status for job " + id, requestId);
        }
        if (status.equals("Ready")) {
            String sample = text(root.path("result").get("sample"));
            String prompt = text(root.path("result").get("prompt"));
            try {
                return sample == null
                        ? new Polled(JobRunner.Poll.failed(garbage("a Ready job " + id + " without result.sample",
                        requestId)), null)
                        : new Polled(new JobRunner.Poll.Ready(List.of(new URI(sample)), List.of()), prompt);
            } catch (URISyntaxException e) {
                return new Polled(JobRunner.Poll.failed(garbage("a result.sample that is not a URL for job " + id,
                        requestId)), null);
            }
        }
        return new Polled(switch (status) {
            case "Request Moderated", "Content Moderated" -> JobRunner.Poll.failed(new ContentPolicyViolationException(
                    "Your request was rejected by Black Forest Labs' safety system (" + status + reasons(root)
                            + ") for job " + id + ".", 400, "image_generation_user_error", "moderation_blocked", null,
                    PROVIDER, requestId, null));
            case "Error", "Failed" -> JobRunner.Poll.failed(new InternalServerException(PROVIDER + " job " + id
                    + " ended with status '" + status + "'" + details(root) + "; nothing was returned", 500,
                    "api_error", "job_failed", null, PROVIDER, requestId, null));
            case "Task not found" -> JobRunner.Poll.failed(new InternalServerException(PROVIDER + " no longer knows "
                    + "job " + id + " (its polling URL answers 'Task not found')", 502, "api_error", "job_not_found",
                    null, PROVIDER, requestId, null));
            default -> new JobRunner.Poll.Pending(RetryAfter.of(r.headers()));
        }, null);
    }

    /** A 2xx answer's JSON object (null when it is not one); any other status is thrown as its mapped error. */
    private static JsonNode answer(HttpResponse<InputStream> r, String secret) {
        byte[] body = HttpTransport.readBody(r, MAX_ANSWER_BYTES, PROVIDER);
        if (r.statusCode() / 100 != 2) {
            throw error(r.statusCode(), body, r.headers(), secret);
        }
        return parse(body);
    }

    /** The moderation reasons BFL gives ({@code details["Moderation Reasons"]}), as {@code ": a, b"}. */
    private static String reasons(JsonNode root) {
        JsonNode list = root.path("details").path("Moderation Reasons");
        List<String> out = new ArrayList<>();
        if (list.isArray()) {
            list.forEach(n -> {
                if (n.isTextual()) {
                    out.add(n.asText());
                }
            });
        }
        return out.isEmpty() ? "" : ": " + String.join(", ", out);
    }

    private static String details(JsonNode root) {
        JsonNode d = root.path("details");
        String error = text(d.get("error"));
        return error != null ? " (" + error + ")" : d.isObject() && !d.isEmpty() ? " (" + d + ")" : "";
    }

    /**
     * Maps an error answer by meaning (the one place for it): see the class comment. The message is BFL's own text
     * ({@code detail}, a FastAPI {@code detail[]} as {@code loc: msg; …}, or the start of an opaque body), never
     * the key.
     */
    static EaselException error(int status, byte[] body, HttpHeaders headers, String secret) {
        String requestId = requestId(headers);
        JsonNode root = parse(body);
        String param = null;
        String said = null;
        JsonNode detail = root == null ? null : root.get("detail");
        if (detail != null && detail.isArray()) {
            List<String> problems = new ArrayList<>();
            for (JsonNode d : detail) {
                String loc = loc(d.path("loc"));
                problems.add((loc.isEmpty() ? "" : loc + ": ") + d.path("msg").asText("invalid"));
                if (param == null) {
                    param = field(d.path("loc"));
                }
            }
            said = String.join("; ", problems);
        } else if (detail != null && detail.isTextual()) {
            said = detail.asText();
        } else if (root != null && (root.hasNonNull("message") || root.hasNonNull("error"))) {
            said = text(root.hasNonNull("message") ? root.get("message") : root.get("error"));
        }
        if (said == null || said.isBlank()) {
            String snippet = new String(body, 0, Math.min(body.length, 200), StandardCharsets.UTF_8).strip();
            said = snippet.isEmpty() ? "no details" : snippet;
        }
        said = redact(said, secret);
        String message = PROVIDER + " answered HTTP " + status + ": " + said;
        boolean authentication = status == 401 || status == 403
                && said.toLowerCase(Locale.ROOT).contains("authenticat");
        if (authentication) {
            return new AuthenticationException(PROVIDER + " did not accept the api key (HTTP " + status + ": " + said
                    + ")", 401, "authentication_error", "invalid_api_key", null, PROVIDER, requestId, null);
        }
        return switch (status) {
            case 402 -> new RateLimitException(PROVIDER + " has no credits left for this key (HTTP 402: " + said
                    + ")", "insufficient_quota", "insufficient_quota", null, PROVIDER, requestId, null, null);
            case 403 -> new PermissionDeniedException(message, 403, "permission_error", null, null, PROVIDER,
                    requestId, null);
            case 404 -> new NotFoundException(message, 404, "invalid_request_error", "not_found", null, PROVIDER,
                    requestId, null);
            case 422 -> new BadRequestException(PROVIDER + " rejected the request: " + said, 400,
                    "invalid_request_error", "invalid_value", param, PROVIDER, requestId, null);
            case 429 -> new RateLimitException(message, null, "rate_limit_exceeded", null, PROVIDER, requestId,
                    RetryAfter.of(headers).orElse(null), null);
            case 503 -> new ServiceUnavailableException(message, 503, "api_error", null, null, PROVIDER, requestId,
                    null);
            default -> status >= 500 || status == 408
                    ? new InternalServerException(message, status, "api_error", null, null, PROVIDER, requestId, null)
                    : new BadRequestException(message, status, "invalid_request_error", null, null, PROVIDER,
                    requestId, null);
        };
    }

    /** A 200 that is not BFL's answer: 502 {@code bad_upstream_response}. */
    static InternalServerException garbage(String what, String requestId) {
        return new InternalServerException(PROVIDER + " returned " + what, 502, "api_error", "bad_upstream_response",
                null, PROVIDER, requestId, null);
    }

    /** FastAPI's {@code loc} ({@code ["body","steps"]}) as {@code body.steps}. */
    private static String loc(JsonNode loc) {
        if (!loc.isArray()) {
            return "";
        }
        List<String> parts = new ArrayList<>();
        loc.forEach(p -> parts.add(p.asText()));
        return String.join(".", parts);
    }

    /** The request field a {@code loc} names ({@code steps} of {@code ["body","steps"]}), if any. */
    private static String field(JsonNode loc) {
        return loc.isArray() && loc.size() >= 2 && "body".equals(loc.get(0).asText()) ? loc.get(1).asText() : null;
    }

    private static JsonNode parse(byte[] body) {
        try {
            JsonNode n = JSON.readTree(body);
            return n != null && n.isObject() ? n : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static String text(JsonNode n) {
        return n == null || !n.isTextual() ? null : n.asText();
    }

    private static String requestId(HttpHeaders headers) {
        return headers.firstValue("x-request-id").orElse(null);
    }

    static String strip(String base) {
        return base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    }

    static String redact(String text, String secret) {
        return secret == null || secret.length() < 4 ? text : text.replace(secret, "****");
    }
}
