package dev.easel.proxy;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.EaselException;
import dev.easel.RateLimitException;
import java.io.IOException;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Optional;

/**
 * The one place that turns any failure into OpenAI's error JSON
 * {@code {"error":{"message","type","param","code"}}} and an HTTP status. Upstream errors keep the
 * provider's status, message, type, code and param; transport failures become 502, time-outs 504.
 */
final class ErrorResponses {

    /**
     * Jackson's default 20,000,000-character limit on one string is below a large image's base64 (a 50 MB
     * image is 67 M characters); sizes are bounded by Easel's own limits instead.
     */
    static final ObjectMapper JSON = new ObjectMapper(com.fasterxml.jackson.core.JsonFactory.builder()
            .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                    .maxStringLength(Integer.MAX_VALUE).build())
            .build());

    private ErrorResponses() {
    }

    /** What to send for a failure. */
    record Reply(int status, String body, Optional<Duration> retryAfter) {
    }

    static Reply of(Throwable t, String requestId) {
        if (t instanceof EaselException e) {
            int status = e.httpStatus();
            Optional<Duration> retry = Optional.empty();
            if (e instanceof RateLimitException r) {
                retry = r.retryAfter();
            } else if (e instanceof ProxyException p) {
                retry = p.retryAfter();
            }
            return new Reply(status, body(e.getMessage(), e.type(), e.param().orElse(null), e.code().orElse(null)),
                    retry);
        }
        return new Reply(500, body("internal error in the proxy (request id " + requestId + ")", "api_error", null,
                "internal_error"), Optional.empty());
    }

    static String body(String message, String type, String param, String code) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = JSON.getFactory().createGenerator(w)) {
            g.writeStartObject();
            g.writeObjectFieldStart("error");
            g.writeStringField("message", message == null ? "error" : message);
            g.writeStringField("type", type);
            g.writeStringField("param", param);
            g.writeStringField("code", code);
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return w.toString();
    }
}
