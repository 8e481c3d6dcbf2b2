package dev.easel;

/** HTTP 503: the provider is overloaded or down for now. */
public class ServiceUnavailableException extends InternalServerException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception; {@code status} is the HTTP status (0 if none). */
    public ServiceUnavailableException(String message, int status, String type, String code, String param,
              String provider, String requestId, Throwable cause) {
        super(message, status, type, code, param, provider, requestId, cause);
    }

    /** Creates the exception with status 503 and type {@code api_error}. */
    public ServiceUnavailableException(String message, String code, String param) {
        this(message, 503, "api_error", code, param, null, null, null);
    }

    @Override
    public boolean retryable() {
        return true;
    }
}
