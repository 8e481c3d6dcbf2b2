package dev.easel.callback;

import java.time.Instant;

/**
 * One provider attempt.
 *
 * @param requestId    the request id
 * @param number       1 for the first attempt
 * @param modelGroup   the group tried
 * @param deploymentId the deployment tried
 * @param provider     its provider
 * @param fallback     whether the group is a fallback
 * @param start        when the attempt started
 * @param end          when it ended
 * @param outcome      {@code ok}, or a short failure description ({@code 503 ServiceUnavailable (…)})
 * @param httpStatus   the failure's status, or 200
 * @param errorType    the failure's type, or null
 * @param errorCode    the failure's code, or null
 * @param traceId      W3C trace id (32 hex)
 * @param spanId       this attempt's span id (16 hex), also sent upstream in {@code traceparent}
 * @param parentSpanId the request's span id
 */
public record AttemptEvent(String requestId, int number, String modelGroup, String deploymentId, String provider,
                           boolean fallback, Instant start, Instant end, String outcome, int httpStatus,
                           String errorType, String errorCode, String traceId, String spanId, String parentSpanId) {

    /** Whether the attempt succeeded. */
    public boolean ok() {
        return errorType == null;
    }
}
