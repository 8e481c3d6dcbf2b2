package dev.easel;

import java.time.Duration;
import java.util.Optional;

/** HTTP 429: rate limit or quota reached. Retry later, after {@link #retryAfter()} when given. */
public class RateLimitException extends EaselException {
    private static final long serialVersionUID = 1L;

    private final Duration retryAfter;

    /** Creates the exception; {@code retryAfter} may be null when the provider did not say. */
    public RateLimitException(String message, String type, String code, String param, String provider,
                              String requestId, Duration retryAfter, Throwable cause) {
        super(message, 429, type == null ? "rate_limit_error" : type, code, param, provider, requestId, cause);
        this.retryAfter = retryAfter;
    }

    /** How long the provider asked to wait ({@code Retry-After} / {@code retry-after-ms}). */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    /** Retryable unless the quota is exhausted ({@code insufficient_quota}), which waiting does not fix. */
    @Override
    public boolean retryable() {
        return !"insufficient_quota".equals(code().orElse(""));
    }
}
