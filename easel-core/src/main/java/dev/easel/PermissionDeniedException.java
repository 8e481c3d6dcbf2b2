package dev.easel;

/** HTTP 403: the credentials may not do this (e.g. organisation not verified for the model). */
public class PermissionDeniedException extends EaselException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception; {@code status} is the HTTP status (0 if none). */
    public PermissionDeniedException(String message, int status, String type, String code, String param,
              String provider, String requestId, Throwable cause) {
        super(message, status, type, code, param, provider, requestId, cause);
    }

    /** Creates the exception with status 403 and type {@code permission_error}. */
    public PermissionDeniedException(String message, String code, String param) {
        this(message, 403, "permission_error", code, param, null, null, null);
    }

}
