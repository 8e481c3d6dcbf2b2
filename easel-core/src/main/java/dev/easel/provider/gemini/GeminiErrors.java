package dev.easel.provider.gemini;

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
import dev.easel.UnprocessableEntityException;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Every failure of the Gemini adapter, in one place: Google's error answers
 * ({@code {"error":{"code","message","status","details"}}}) mapped by meaning, and the 200 answers that carry no
 * image (a safety stop is OpenAI's {@code moderation_blocked}, so {@code content_policy_fallbacks} work across
 * providers). Messages are Google's own, without the key.
 */
final class GeminiErrors {

    /**
     * {@code finishReason}s that mean Google's filters stopped the output (a refusal, like OpenAI's moderation):
     * safety, prohibited content, the blocklist, personal data, and recitation of protected material.
     */
    static final Set<String> SAFETY_REASONS = Set.of("SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT",
            "IMAGE_PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_RECITATION");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PROVIDER = GeminiProvider.NAME;

    /** What Google's error body says. */
    private record Body(String message, String status, List<String> reasons, Duration retryDelay,
                        boolean quotaOfZero) {
    }

    private GeminiErrors() {
    }

    /**
     * An error answer as an exception, by what it means: an invalid key is a 401 whatever status Google uses (it
     * answers 400 {@code API_KEY_INVALID}); {@code PERMISSION_DENIED} and {@code FAILED_PRECONDITION} (a region or
     * project the model is not offered to) are 403s; {@code RESOURCE_EXHAUSTED} a 429 with Google's
     * {@code RetryInfo.retryDelay} (or {@code Retry-After}); {@code UNAVAILABLE} a 503; other 5xx server errors; other
     * 4xx ({@code INVALID_ARGUMENT}) bad requests.
     *
     * @param notFoundHint what to add to a 404 (the catalogue's shutdown notice), or empty
     */
    static EaselException http(int status, byte[] raw, HttpHeaders headers, String secret, String notFoundHint) {
        Body body = body(status, raw);
        String message = redact(body.message(), secret);
        String google = body.status() == null ? "" : body.status();
        String code = google.isEmpty() ? null : google.toLowerCase(Locale.ROOT);
        if (body.reasons().contains("API_KEY_INVALID") || message.startsWith("API key not valid")
                || message.startsWith("API key expired")) {
            return new AuthenticationException(message, 401, "authentication_error", "invalid_api_key", null,
                    PROVIDER, null, null);
        }
        if (message.contains("unregistered callers")) { // no key reached Google
            return new AuthenticationException(message, 401, "authentication_error", "missing_api_key", null,
                    PROVIDER, null, null);
        }
        if (google.equals("UNAUTHENTICATED") || status == 401) {
            return new AuthenticationException(message, 401, "authentication_error", "invalid_api_key", null,
                    PROVIDER, null, null);
        }
        if (google.equals("PERMISSION_DENIED") || google.equals("FAILED_PRECONDITION") || status == 403) {
            return new PermissionDeniedException(message, 403, "permission_error", code, null, PROVIDER, null, null);
        }
        if (google.equals("NOT_FOUND") || status == 404) {
            boolean model = message.startsWith("models/");
            return new NotFoundException(message + notFoundHint, 404, "invalid_request_error",
                    model ? "model_not_found" : "not_found", model ? "model" : null, PROVIDER, null, null);
        }
        if (google.equals("RESOURCE_EXHAUSTED") || status == 429) {
            // a quota of 0 (a model the project's tier does not include) is not fixed by waiting
            return new RateLimitException(message, null, body.quotaOfZero() ? "insufficient_quota"
                    : "rate_limit_exceeded", null, PROVIDER, null,
                    Optional.ofNullable(body.retryDelay()).or(() -> RetryAfter.of(headers)).orElse(null),
                    null);
        }
        if (google.equals("UNAVAILABLE") || status == 503) {
            return new ServiceUnavailableException(message, 503, "api_error", code, null, PROVIDER, null, null);
        }
        if (status >= 500 || status == 408) {
            return new InternalServerException(message, status, "api_error", code, null, PROVIDER, null, null);
        }
        return new BadRequestException(message, status >= 400 ? status : 400, "invalid_request_error", code, null,
                PROVIDER, null, null);
    }

    /** A 200 whose prompt or output Google's filters refused: OpenAI's 400 {@code moderation_blocked}. */
    static ContentPolicyViolationException blocked(String what, String responseId) {
        return new ContentPolicyViolationException("gemini refused the edit: " + what + ".", 400,
                "image_generation_user_error", "moderation_blocked", null, PROVIDER, responseId, null);
    }

    /**
     * A 200 with no image and no safety reason: the model answered in words only ({@code NO_IMAGE}, a text reply,
     * {@code MAX_TOKENS}, {@code IMAGE_OTHER} …). A 422: the request was understood, the model did not draw it.
     */
    static UnprocessableEntityException noImage(String finishReasons, String commentary, int thoughtImages,
                                                String responseId) {
        String message = "gemini returned no image (finishReason " + finishReasons + ")"
                + (commentary.isEmpty() ? "" : "; the model said: \"" + commentary + "\"")
                + (thoughtImages == 0 ? "" : "; only " + thoughtImages + " interim thought image(s), which are "
                + "drafts, not the answer")
                + ".";
        return new UnprocessableEntityException(message, 422, "invalid_request_error", "no_image_generated", null,
                PROVIDER, responseId, null);
    }

    /** A 200 that is not a Gemini answer: 502 {@code bad_upstream_response}. */
    static InternalServerException garbage(String what, String responseId) {
        return new InternalServerException("gemini returned an unreadable response (" + what + ")", 502,
                "api_error", "bad_upstream_response", null, PROVIDER, responseId, null);
    }

    /** A request Google would refuse for its size, refused before it is sent. */
    static BadRequestException tooLarge(String model, int images, long bytes, long max) {
        return new BadRequestException("Request too large for gemini model '" + model + "': " + bytes + " bytes ("
                + mb(bytes) + ") with its " + images + (images == 1 ? " image" : " images") + " in base64, above the "
                + max + " bytes (" + mb(max) + ") Google takes inline. Send fewer or smaller images.", 400,
                "invalid_request_error", "request_too_large", "image", null, null, null);
    }

    /** A parameter the Gemini API has no field for, sent to a model the catalogue does not know. */
    static BadRequestException unsupported(String model, String param) {
        return new BadRequestException("The model '" + model + "' does not support the '" + param
                + "' parameter.", "unsupported_parameter", param);
    }

    private static Body body(int status, byte[] raw) {
        String message = null;
        String google = null;
        List<String> reasons = new ArrayList<>();
        Duration retry = null;
        boolean zero = false;
        try {
            JsonNode error = JSON.readTree(raw).path("error");
            if (error.isObject()) {
                message = error.path("message").isTextual() ? error.get("message").asText() : null;
                google = error.path("status").isTextual() ? error.get("status").asText() : null;
                for (JsonNode d : error.path("details")) {
                    String type = d.path("@type").asText("");
                    if (d.path("reason").isTextual()) {
                        reasons.add(d.get("reason").asText());
                    }
                    if (type.endsWith("google.rpc.RetryInfo")) {
                        retry = duration(d.path("retryDelay").asText("")).orElse(null);
                    }
                    for (JsonNode v : d.path("violations")) {
                        zero |= "0".equals(v.path("quotaValue").asText());
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // not JSON (Google's HTML 404 page, a proxy's text): the snippet below says what came
        }
        if (message == null || message.isBlank()) {
            String text = new String(raw, 0, Math.min(raw.length, 4096), StandardCharsets.UTF_8)
                    .replaceAll("<[^>]*>", " ").replaceAll("\\s+", " ").strip();
            message = "gemini returned HTTP " + status + (text.isEmpty() ? ""
                    : ": " + (text.length() > 200 ? text.substring(0, 200) + "…" : text));
        }
        return new Body(message, google, reasons, retry, zero);
    }

    /** Google's proto-JSON {@code Duration}: seconds with up to nine decimals and an {@code s}, e.g. {@code 7s}. */
    static Optional<Duration> duration(String s) {
        if (!s.matches("[0-9]{1,9}(\\.[0-9]{1,9})?s")) {
            return Optional.empty();
        }
        BigDecimal seconds = new BigDecimal(s.substring(0, s.length() - 1));
        return Optional.of(Duration.ofNanos(seconds.movePointRight(9).longValueExact()));
    }

    private static String redact(String message, String secret) {
        return secret == null || secret.length() < 4 ? message : message.replace(secret, "****");
    }

    private static String mb(long bytes) {
        return BigDecimal.valueOf(bytes).divide(BigDecimal.valueOf(1024L * 1024L), 1, java.math.RoundingMode.HALF_UP)
                .stripTrailingZeros().toPlainString() + " MB";
    }
}
