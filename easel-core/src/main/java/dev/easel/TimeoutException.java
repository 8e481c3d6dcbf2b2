package dev.easel;

/**
 * The provider did not answer in time. {@link #bodySent()} tells whether the upstream may already be
 * working on (and billing for) the edit, which matters because edits are not idempotent.
 */
public class TimeoutException extends EaselException {
    private static final long serialVersionUID = 1L;

    private final boolean bodySent;

    /** Creates the exception. */
    public TimeoutException(String message, String provider, boolean bodySent, Throwable cause) {
        super(message, 504, "timeout_error", "timeout", null, provider, null, cause);
        this.bodySent = bodySent;
    }

    /** True when the whole request had been sent before the time ran out. */
    public boolean bodySent() {
        return bodySent;
    }

    @Override
    public boolean retryable() {
        return true;
    }
}
