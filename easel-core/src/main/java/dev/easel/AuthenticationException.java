package dev.easel;

/** HTTP 401: missing or wrong credentials. */
public class AuthenticationException extends EaselException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception; {@code status} is the HTTP status (0 if none). */
    public AuthenticationException(String message, int status, String type, String code, String param,
              String provider, String requestId, Throwable cause) {
        super(message, status, type, code, param, provider, requestId, cause);
    }

    /** Creates the exception with status 401 and type {@code authentication_error}. */
    public AuthenticationException(String message, String code, String param) {
        this(message, 401, "authentication_error", code, param, null, null, null);
    }

}
