package dev.easel;

/** HTTP 400: the request is invalid; do not retry it unchanged. */
public class BadRequestException extends EaselException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception; {@code status} is the HTTP status (0 if none). */
    public BadRequestException(String message, int status, String type, String code, String param,
              String provider, String requestId, Throwable cause) {
        super(message, status, type, code, param, provider, requestId, cause);
    }

    /** Creates the exception with status 400 and type {@code invalid_request_error}. */
    public BadRequestException(String message, String code, String param) {
        this(message, 400, "invalid_request_error", code, param, null, null, null);
    }

}
