package dev.easel.callback;

import dev.easel.Usage;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The standard record of one edit, the same for every integration (documented field by field in
 * {@code docs/logging.md}). It never holds image bytes, API keys or Authorization headers; the prompt is
 * null when {@code redact_prompts} is on.
 *
 * @param requestId     request id
 * @param startTime     when the request arrived
 * @param endTime       when it ended
 * @param source        {@code sdk} or {@code proxy}
 * @param model         the model name the caller asked for
 * @param modelGroup    the group that answered (or was last tried), or null
 * @param deploymentId  the deployment that answered (or was last tried), or null
 * @param provider      its provider, or null
 * @param providerModel the model (or Azure deployment) the provider was called with, or null
 * @param endUser       end-user id, or null
 * @param keyHash       SHA-256 of the caller's key (hex), or null
 * @param status        {@code success} or {@code failure}
 * @param httpStatus    the HTTP status the proxy answered (or would have)
 * @param errorType     OpenAI error type, or null
 * @param errorCode     OpenAI error code, or null
 * @param errorMessage  error message (never with secrets), or null
 * @param cost          cost in USD, or null when unknown (unpriced model, failure)
 * @param usage         token usage, or null
 * @param imagesIn      the input images (format, dimensions, bytes), in order
 * @param mask          the mask, or null
 * @param imagesOut     images returned
 * @param bytesOut      bytes of the images returned
 * @param outputFormat  output format, or null
 * @param outputSize    resolved output size, or null
 * @param params        request parameters by wire name (size, quality, n, …; no prompt, no images)
 * @param stream        whether the edit was streamed
 * @param attempts      every attempt (retries and fallbacks included)
 * @param retries       attempts beyond the first within groups
 * @param fallbacks     groups tried after the one asked for
 * @param latencyMs     total time
 * @param upstreamMs    time waiting for providers (all attempts)
 * @param overheadMs    latency minus upstream: the gateway's own time
 * @param prompt        the prompt, or null when redacted
 * @param traceId       W3C trace id of the request
 * @param spanId        the request's span id
 * @param parentSpanId  the caller's span id (from its {@code traceparent}), or null
 * @param warnings      what the caller was warned about (the catalogue's deprecation or shutdown notice, dropped
 *                      or adapted parameters, an unknown model), in order; empty when none
 * @param clientRequestId the caller's own request id (a correlation field; {@code requestId} is Easel's), or null
 * @param keyAlias      the gateway's virtual key's alias, or null
 * @param teamId        the virtual key's team, or null
 * @param userId        the virtual key's user, or null
 */
public record EditLogRecord(String requestId, Instant startTime, Instant endTime, String source, String model,
                            String modelGroup, String deploymentId, String provider, String providerModel,
                            String endUser, String keyHash, String status, int httpStatus, String errorType,
                            String errorCode, String errorMessage, BigDecimal cost, Usage usage,
                            List<ImageMeta> imagesIn, ImageMeta mask, int imagesOut, long bytesOut,
                            String outputFormat, String outputSize, Map<String, String> params, boolean stream,
                            List<AttemptEvent> attempts, int retries, int fallbacks, long latencyMs, long upstreamMs,
                            long overheadMs, String prompt, String traceId, String spanId, String parentSpanId,
                            List<String> warnings, String clientRequestId, String keyAlias, String teamId,
                            String userId) {

    /** Copies the collections. */
    public EditLogRecord {
        imagesIn = List.copyOf(imagesIn);
        params = Map.copyOf(params);
        attempts = List.copyOf(attempts);
        warnings = List.copyOf(warnings);
    }

    /** A record without a virtual key's alias, team or user. */
    public EditLogRecord(String requestId, Instant startTime, Instant endTime, String source, String model,
                         String modelGroup, String deploymentId, String provider, String providerModel,
                         String endUser, String keyHash, String status, int httpStatus, String errorType,
                         String errorCode, String errorMessage, BigDecimal cost, Usage usage,
                         List<ImageMeta> imagesIn, ImageMeta mask, int imagesOut, long bytesOut,
                         String outputFormat, String outputSize, Map<String, String> params, boolean stream,
                         List<AttemptEvent> attempts, int retries, int fallbacks, long latencyMs, long upstreamMs,
                         long overheadMs, String prompt, String traceId, String spanId, String parentSpanId,
                         List<String> warnings, String clientRequestId) {
        this(requestId, startTime, endTime, source, model, modelGroup, deploymentId, provider, providerModel, endUser,
                keyHash, status, httpStatus, errorType, errorCode, errorMessage, cost, usage, imagesIn, mask,
                imagesOut, bytesOut, outputFormat, outputSize, params, stream, attempts, retries, fallbacks, latencyMs,
                upstreamMs, overheadMs, prompt, traceId, spanId, parentSpanId, warnings, clientRequestId, null, null,
                null);
    }

    /** A record without warnings or client request id. */
    public EditLogRecord(String requestId, Instant startTime, Instant endTime, String source, String model,
                         String modelGroup, String deploymentId, String provider, String providerModel,
                         String endUser, String keyHash, String status, int httpStatus, String errorType,
                         String errorCode, String errorMessage, BigDecimal cost, Usage usage,
                         List<ImageMeta> imagesIn, ImageMeta mask, int imagesOut, long bytesOut,
                         String outputFormat, String outputSize, Map<String, String> params, boolean stream,
                         List<AttemptEvent> attempts, int retries, int fallbacks, long latencyMs, long upstreamMs,
                         long overheadMs, String prompt, String traceId, String spanId, String parentSpanId) {
        this(requestId, startTime, endTime, source, model, modelGroup, deploymentId, provider, providerModel, endUser,
                keyHash, status, httpStatus, errorType, errorCode, errorMessage, cost, usage, imagesIn, mask,
                imagesOut, bytesOut, outputFormat, outputSize, params, stream, attempts, retries, fallbacks, latencyMs,
                upstreamMs, overheadMs, prompt, traceId, spanId, parentSpanId, List.of(), null);
    }

    /** Whether the edit succeeded. */
    public boolean success() {
        return "success".equals(status);
    }

    /** Bytes of the input images and mask. */
    public long bytesIn() {
        long n = mask == null ? 0 : mask.bytes();
        for (ImageMeta m : imagesIn) {
            n += m.bytes();
        }
        return n;
    }

    /** The cost, if known. */
    public Optional<BigDecimal> costUsd() {
        return Optional.ofNullable(cost);
    }

    /** One input image, described without its bytes. */
    public record ImageMeta(String format, int width, int height, long bytes) {
    }
}
