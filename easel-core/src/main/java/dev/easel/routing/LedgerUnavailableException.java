package dev.easel.routing;

import dev.easel.ServiceUnavailableException;

/**
 * A shared ledger cannot be reached (its store is down or does not answer in time), so it cannot decide. Whoever
 * asked turns it into its own answer: the proxy refuses a budgeted request with 503 rather than spend unchecked.
 */
public class LedgerUnavailableException extends ServiceUnavailableException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception (503, {@code api_error}, code {@code ledger_unavailable}); {@code cause} is kept for logs. */
    public LedgerUnavailableException(String message, Throwable cause) {
        super(message, 503, "api_error", "ledger_unavailable", null, null, null, cause);
    }
}
