package dev.easel;

/** HTTP 5xx from the provider, or an answer that could not be understood; may succeed later. */
public class InternalServerException extends EaselException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception; {@code status} is the HTTP status (0 if none). */
    public InternalServerException(String message, int status, String type, String code, String param,
              String provider, String requestId, Throwable cause) {
        super(message, status, type, code, param, provider, requestId, cause);
    }

    /** Creates the exception with status 500 and type {@code api_error}. */
    public InternalServerException(String message, String code, String param) {
        this(message, 500, "api_error", code, param, null, null, null);
    }

    @Override
    public boolean retryable() {
        return true;
    }
}
