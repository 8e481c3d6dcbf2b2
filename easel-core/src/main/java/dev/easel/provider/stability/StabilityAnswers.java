package dev.easel.provider.stability;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.http.RetryAfter;
import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ContentPolicyViolationException;
import dev.easel.EaselException;
import dev.easel.ImageData;
import dev.easel.ImageResponse;
import dev.easel.InternalServerException;
import dev.easel.NotFoundException;
import dev.easel.PermissionDeniedException;
import dev.easel.RateLimitException;
import dev.easel.ServiceUnavailableException;
import dev.easel.http.HttpTransport;
import dev.easel.internal.JsonBytes;
import java.io.IOException;
import java.net.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Stability's answers, read in one place: a 200's {@code {"image","finish_reason","seed"}} (a
 * {@code CONTENT_FILTERED} finish is a refusal, not an image), and every error {@code {"id","name","errors"}}
 * mapped by meaning to an {@link EaselException} (docs/providers/stability.md, "Errors").
 */
final class StabilityAnswers {

    /** Base64 images are megabytes: Jackson's default cap on one string (20 M characters) is not Easel's limit. */
    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
            .build();
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** An error line naming its field, as Stability writes them: {@code "search_prompt: is required"}. */
    private static final Pattern FIELD = Pattern.compile("([a-z_]+): .*", Pattern.DOTALL);

    private StabilityAnswers() {
    }

    /**
     * The image of a 200 answer. A {@code CONTENT_FILTERED} finish (Stability blurs the image and does not bill it)
     * is a 400 {@code moderation_blocked}, as OpenAI's safety refusals are; an answer without an image, or not
     * JSON, is a 502 {@code bad_upstream_response}.
     */
    static ImageResponse image(byte[] body, String model, String outputFormat, long created, String requestId) {
        JsonBytes.Ascii image = null;
        String finish = null;
        try (JsonParser p = JSON.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw garbage("not a JSON object", requestId);
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                if (field.equals("image") && t == JsonToken.VALUE_STRING) {
                    image = JsonBytes.base64Value(p, body).orElseThrow(() -> garbage("'image' is not base64",
                            requestId));
                } else if (field.equals("finish_reason") && t == JsonToken.VALUE_STRING) {
                    finish = p.getText();
                } else {
                    p.skipChildren();
                }
            }
        } catch (JsonProcessingException e) {
            throw garbage("invalid JSON", requestId);
        } catch (IOException e) {
            throw HttpTransport.mapFailure(e, StabilityProvider.NAME, true);
        }
        if ("CONTENT_FILTERED".equals(finish)) {
            throw new ContentPolicyViolationException("Stability's content moderation filtered the result of '"
                    + model + "' (finish_reason CONTENT_FILTERED); it was not returned, nor billed.", 400,
                    "image_generation_user_error", "moderation_blocked", null, StabilityProvider.NAME, requestId,
                    null);
        }
        if (finish != null && !finish.equals("SUCCESS")) {
            throw garbage("finish_reason '" + finish + "'", requestId);
        }
        if (image == null || image.length() == 0) {
            throw garbage("no 'image'", requestId);
        }
        return ImageResponse.builder().provider(StabilityProvider.NAME).model(model).requestId(requestId)
                .created(created).outputFormat(outputFormat)
                .addData(ImageData.ofBase64Ascii(image.bytes(), image.offset(), image.length(), null, null))
                .build();
    }

    /**
     * An error answer as the exception that says what to do: a bad key 401; out of credits 429
     * {@code insufficient_quota} (not retried: waiting does not buy credits); a moderation refusal 400
     * {@code moderation_blocked}; a body over 10 MiB 400 naming its size; an invalid request (400, 422) 400; too
     * many requests 429 with {@code Retry-After} when given; 503 and other 5xx as server errors. Messages are
     * Stability's, minus the key.
     *
     * @param requestBytes the size of the request body, for the 413 message
     */
    static EaselException error(int status, byte[] body, HttpHeaders headers, String secret, long requestBytes) {
        String name = null;
        String id = null;
        List<String> errors = new ArrayList<>();
        try {
            JsonNode root = MAPPER.readTree(body);
            if (root != null && root.isObject()) {
                name = root.path("name").isTextual() ? root.get("name").asText() : null;
                id = root.path("id").isTextual() ? root.get("id").asText() : null;
                root.path("errors").forEach(e -> errors.add(e.asText()));
            }
        } catch (IOException e) {
            // not JSON: the message below shows what came
        }
        String what = errors.isEmpty() ? snippet(body) : String.join("; ", errors);
        String message = redact("stability returned HTTP " + status + (name == null ? "" : " " + name)
                + (what.isEmpty() ? "" : ": " + what), secret);
        String param = errors.size() == 1 ? field(errors.get(0)) : null;
        String provider = StabilityProvider.NAME;
        return switch (status) {
            case 400, 422 -> new BadRequestException(message, 400, "invalid_request_error", name, param, provider, id,
                    null);
            case 401 -> new AuthenticationException(message, 401, "authentication_error", "invalid_api_key", null,
                    provider, id, null);
            case 402 -> new RateLimitException(message, "insufficient_quota", "insufficient_quota", null, provider, id,
                    null, null);
            case 403 -> "content_moderation".equals(name)
                    ? new ContentPolicyViolationException(message, 400, "image_generation_user_error",
                    "moderation_blocked", null, provider, id, null)
                    : new PermissionDeniedException(message, 403, "permission_error", name, null, provider, id, null);
            case 404 -> new NotFoundException(message, 404, "invalid_request_error", name, null, provider, id, null);
            case 413 -> new BadRequestException(String.format("Stability refused the request as larger than 10 MiB: "
                    + "it was %,d bytes; send a smaller image.", requestBytes), 400, "invalid_request_error",
                    "request_too_large", "image", provider, id, null);
            case 429 -> new RateLimitException(message, "rate_limit_error", name, null, provider, id,
                    RetryAfter.of(headers).orElse(null), null);
            case 503 -> new ServiceUnavailableException(message, 503, "api_error", name, null, provider, id, null);
            default -> status >= 500 || status == 408
                    ? new InternalServerException(message, status, "api_error", name, null, provider, id, null)
                    : new BadRequestException(message, status, "invalid_request_error", name, param, provider, id,
                    null);
        };
    }

    private static String field(String error) {
        Matcher m = FIELD.matcher(error);
        return m.matches() ? m.group(1) : null;
    }

    private static String snippet(byte[] body) {
        return new String(body, 0, Math.min(body.length, 200), StandardCharsets.UTF_8).strip();
    }

    private static String redact(String message, String secret) {
        return secret == null || secret.length() < 4 ? message : message.replace(secret, "****");
    }

    private static InternalServerException garbage(String what, String requestId) {
        return new InternalServerException("stability returned an unreadable response (" + what + ")", 502,
                "api_error", "bad_upstream_response", null, StabilityProvider.NAME, requestId, null);
    }
}
