package dev.easel;

/** The provider's safety system refused the request ({@code moderation_blocked}); do not retry unchanged. */
public class ContentPolicyViolationException extends BadRequestException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception; {@code status} is the HTTP status (0 if none). */
    public ContentPolicyViolationException(String message, int status, String type, String code, String param,
              String provider, String requestId, Throwable cause) {
        super(message, status, type, code, param, provider, requestId, cause);
    }

    /** Creates the exception with status 400 and type {@code image_generation_user_error}. */
    public ContentPolicyViolationException(String message, String code, String param) {
        this(message, 400, "image_generation_user_error", code, param, null, null, null);
    }

}
