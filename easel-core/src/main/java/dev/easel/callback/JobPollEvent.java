package dev.easel.callback;

import java.time.Instant;

/**
 * One poll of a provider job (a submit-then-poll provider such as Black Forest Labs): tracing shows each as a span
 * under its attempt's span.
 *
 * @param requestId    the request id
 * @param attempt      the attempt's number (1 for the first)
 * @param deploymentId the deployment polled
 * @param provider     its provider
 * @param jobId        the provider's job id
 * @param number       1 for the first poll
 * @param start        when the poll started
 * @param end          when it ended
 * @param outcome      {@code pending}, {@code ready}, {@code failed}, {@code abandoned}, or {@code error: <status>
 *                     <code>} for a poll that itself failed (and was tried again)
 * @param traceId      W3C trace id (32 hex)
 * @param spanId       this poll's span id (16 hex)
 * @param parentSpanId the attempt's span id
 */
public record JobPollEvent(String requestId, int attempt, String deploymentId, String provider, String jobId,
                           int number, Instant start, Instant end, String outcome, String traceId, String spanId,
                           String parentSpanId) {

    /** Whether the poll itself failed (an HTTP error or a broken connection, not a pending or failed job). */
    public boolean error() {
        return outcome.startsWith("error");
    }
}
