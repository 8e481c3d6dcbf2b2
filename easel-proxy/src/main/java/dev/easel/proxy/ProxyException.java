package dev.easel.proxy;

import dev.easel.EaselException;
import java.time.Duration;
import java.util.Optional;

/** A failure the proxy itself detects (limits, malformed bodies, auth), with its HTTP status. */
final class ProxyException extends EaselException {
    private static final long serialVersionUID = 1L;

    private final Duration retryAfter;

    ProxyException(int status, String type, String code, String param, String message) {
        this(status, type, code, param, message, null);
    }

    ProxyException(int status, String type, String code, String param, String message, Duration retryAfter) {
        this(status, type, code, param, message, retryAfter, null);
    }

    private ProxyException(int status, String type, String code, String param, String message, Duration retryAfter,
                           Throwable cause) {
        super(message, status, type, code, param, null, null, cause);
        this.retryAfter = retryAfter;
    }

    /** A failure caused by {@code cause} (kept for the logs, never shown to the client). */
    static ProxyException caused(int status, String type, String code, String message, Throwable cause) {
        return new ProxyException(status, type, code, null, message, null, cause);
    }

    Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    static ProxyException badRequest(String code, String param, String message) {
        return new ProxyException(400, "invalid_request_error", code, param, message);
    }

    static ProxyException tooLarge(String param, String message) {
        return new ProxyException(413, "invalid_request_error", "request_too_large", param, message);
    }
}
