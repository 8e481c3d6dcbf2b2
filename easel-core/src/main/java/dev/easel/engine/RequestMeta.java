package dev.easel.engine;

import dev.easel.Easel;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;

/**
 * Who asked and when, for logs, spend records and traces.
 *
 * @param requestId   request id
 * @param receivedAt  when the request arrived (latency is measured from here)
 * @param endUser     end-user id, or null
 * @param keyHash     SHA-256 (hex) of the caller's key, or null
 * @param source      {@code sdk} or {@code proxy}
 * @param traceparent W3C {@code traceparent} of the caller, or null
 * @param clientRequestId the caller's own request id ({@code x-request-id} / {@code x-client-request-id}), or
 *                    null: a correlation field only — {@code requestId} is always Easel's own, unique per request
 * @param keyAlias    the gateway's virtual key's alias, or null
 * @param teamId      the virtual key's team, or null
 * @param userId      the virtual key's user (who owns the key; not the end user), or null
 */
public record RequestMeta(String requestId, Instant receivedAt, String endUser, String keyHash, String source,
                          String traceparent, String clientRequestId, String keyAlias, String teamId,
                          String userId) {

    /** Meta without a virtual key's alias, team or user. */
    public RequestMeta(String requestId, Instant receivedAt, String endUser, String keyHash, String source,
                       String traceparent, String clientRequestId) {
        this(requestId, receivedAt, endUser, keyHash, source, traceparent, clientRequestId, null, null, null);
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    /** Meta without a client request id. */
    public RequestMeta(String requestId, Instant receivedAt, String endUser, String keyHash, String source,
                       String traceparent) {
        this(requestId, receivedAt, endUser, keyHash, source, traceparent, null);
    }

    /** Meta for an SDK call: a fresh request id, now. */
    public static RequestMeta sdk(Instant now, String endUser) {
        return new RequestMeta(newRequestId(), now, endUser, null, "sdk", null);
    }

    /** {@code req_} and 24 random hex digits. */
    public static String newRequestId() {
        byte[] b = new byte[12];
        RANDOM.nextBytes(b);
        return "req_" + HexFormat.of().formatHex(b);
    }
}
