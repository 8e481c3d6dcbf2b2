package dev.easel;

/** The provider could not be reached, or the connection broke before a complete answer arrived. */
public class ConnectionException extends EaselException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception. */
    public ConnectionException(String message, String provider, Throwable cause) {
        super(message, 502, "api_connection_error", "connection_error", null, provider, null, cause);
    }

    @Override
    public boolean retryable() {
        return true;
    }
}
