package dev.easel;

/** HTTP 404: unknown model, deployment or route. */
public class NotFoundException extends EaselException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception; {@code status} is the HTTP status (0 if none). */
    public NotFoundException(String message, int status, String type, String code, String param,
              String provider, String requestId, Throwable cause) {
        super(message, status, type, code, param, provider, requestId, cause);
    }

    /** Creates the exception with status 404 and type {@code invalid_request_error}. */
    public NotFoundException(String message, String code, String param) {
        this(message, 404, "invalid_request_error", code, param, null, null, null);
    }

}
