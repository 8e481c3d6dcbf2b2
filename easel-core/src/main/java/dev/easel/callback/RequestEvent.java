package dev.easel.callback;

import java.time.Instant;
import java.util.Map;

/**
 * An edit arrived.
 *
 * @param requestId  the request id
 * @param time       when it arrived
 * @param model      the model name asked for
 * @param endUser    end-user id, or null
 * @param source     {@code sdk} or {@code proxy}
 * @param traceparent W3C trace context of the caller, or null
 * @param params     request parameters by wire name (no prompt, no images)
 * @param traceId    W3C trace id (the caller's, or new)
 * @param spanId     the request's span id
 * @param parentSpanId the caller's span id, or null
 */
public record RequestEvent(String requestId, Instant time, String model, String endUser, String source,
                           String traceparent, Map<String, String> params, String traceId, String spanId,
                           String parentSpanId) {
    public RequestEvent {
        params = Map.copyOf(params);
    }
}
