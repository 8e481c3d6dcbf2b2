package dev.easel;

/** HTTP 422: the request was understood but cannot be processed. */
public class UnprocessableEntityException extends EaselException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception; {@code status} is the HTTP status (0 if none). */
    public UnprocessableEntityException(String message, int status, String type, String code, String param,
              String provider, String requestId, Throwable cause) {
        super(message, status, type, code, param, provider, requestId, cause);
    }

    /** Creates the exception with status 422 and type {@code invalid_request_error}. */
    public UnprocessableEntityException(String message, String code, String param) {
        this(message, 422, "invalid_request_error", code, param, null, null, null);
    }

}
