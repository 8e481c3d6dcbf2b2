package dev.easel;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * Root of every exception Easel throws. Unchecked; subtypes say what the caller should do.
 *
 * <p>Each exception carries what OpenAI's error JSON carries ({@code type}, {@code code}, {@code param})
 * plus the HTTP status, the provider that answered and the upstream request id, when known. Messages
 * never contain API keys.
 */
public class EaselException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String type;
    private final String code;
    private final String param;
    private final String provider;
    private final String requestId;
    private volatile java.util.List<String> attempts = java.util.List.of();

    private volatile String jobId;

    /** Creates an exception from its parts; {@code status} 0 means "no HTTP status". */
    public EaselException(String message, int status, String type, String code, String param,
                          String provider, String requestId, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
        this.provider = provider;
        this.requestId = requestId;
    }

    /** Creates an exception with only a message and a type. */
    public EaselException(String message, String type) {
        this(message, 0, type, null, null, null, null, null);
    }

    /** HTTP status of the failure (as the proxy would answer it), if there is one. */
    public OptionalInt status() {
        return status == 0 ? OptionalInt.empty() : OptionalInt.of(status);
    }

    /** The HTTP status a gateway answers for this failure: time-outs 504, connection failures 502. */
    public int httpStatus() {
        if (this instanceof TimeoutException) {
            return 504;
        }
        if (this instanceof ConnectionException) {
            return 502;
        }
        return status == 0 ? 500 : status;
    }

    /** OpenAI error {@code type}, e.g. {@code invalid_request_error}. */
    public String type() {
        return type == null ? "api_error" : type;
    }

    /** OpenAI error {@code code}, e.g. {@code unsupported_file_mimetype}. */
    public Optional<String> code() {
        return Optional.ofNullable(code);
    }

    /** The request parameter the error is about, e.g. {@code image[1]}. */
    public Optional<String> param() {
        return Optional.ofNullable(param);
    }

    /** Provider that produced the error ({@code openai}, {@code azure}, …), if it came from upstream. */
    public Optional<String> provider() {
        return Optional.ofNullable(provider);
    }

    /** Upstream request id ({@code x-request-id}), if any. */
    public Optional<String> requestId() {
        return Optional.ofNullable(requestId);
    }

    /**
     * What the router tried before giving up (deployment and why each failed); empty for a single attempt.
     */
    public java.util.List<String> attempts() {
        return attempts;
    }

    /** Records what was tried; set by the router when it gives up. */
    public void recordAttempts(java.util.List<String> tried) {
        this.attempts = java.util.List.copyOf(tried);
    }

    /** The failure's message, followed by what was tried when there was more than one attempt. */
    @Override
    public String getMessage() {
        String m = super.getMessage();
        java.util.List<String> a = attempts;
        return a.isEmpty() ? m : m + " [tried: " + String.join("; ", a) + "]";
    }

    /**
     * The provider job this failure belongs to, when the provider had accepted the edit as a job (it may be working
     * on it and billing for it): such a failure is never retried or sent to another deployment of the group, since
     * that would submit, and pay for, the edit again.
     */
    public java.util.Optional<String> jobId() {
        return java.util.Optional.ofNullable(jobId);
    }

    /** Marks this failure as one of accepted job {@code id} (see {@link #jobId()}); returns this exception. */
    public EaselException forJob(String id) {
        this.jobId = java.util.Objects.requireNonNull(id, "id");
        return this;
    }

    /** Whether sending the same request again (later, or elsewhere) may succeed. */
    public boolean retryable() {
        return false;
    }
}
