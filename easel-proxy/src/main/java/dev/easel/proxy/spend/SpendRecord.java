package dev.easel.proxy.spend;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/**
 * One spend-log row: what one proxied request cost, who asked for it and how it went. Times are kept to the
 * microsecond (what PostgreSQL stores). Nullable components are marked; counts are 0 when unknown.
 *
 * @param requestId         Easel's request id (the response's {@code x-request-id}); unique, the row's key
 * @param startTime         when the request arrived
 * @param endTime           when the answer was complete
 * @param modelGroup        the model name the client asked for
 * @param deploymentId      the deployment that answered (last one tried)
 * @param provider          provider name ({@code openai}, {@code azure}, …)
 * @param model             the provider's model
 * @param apiBase           upstream base URL without credentials; nullable
 * @param endUser           end-user id; nullable
 * @param keyHash           SHA-256 hex of the caller's key; nullable
 * @param status            {@code success} or {@code failure}
 * @param httpStatus        HTTP status sent to the client
 * @param errorType         OpenAI error type on failure; nullable
 * @param errorCode         error code on failure; nullable
 * @param spend             cost in USD; nullable when unpriced
 * @param promptTokens      input tokens
 * @param completionTokens  output tokens
 * @param totalTokens       input + output tokens
 * @param inputTextTokens   text part of the input tokens
 * @param inputImageTokens  image part of the input tokens
 * @param outputImageTokens image part of the output tokens
 * @param outputTextTokens  text part of the output tokens
 * @param imagesIn          images sent (mask not counted)
 * @param imagesOut         images returned
 * @param bytesIn           request body bytes
 * @param bytesOut          response body bytes
 * @param latencyMs         total time in the proxy
 * @param upstreamMs        time spent waiting for providers
 * @param attempts          upstream calls made (retries and fallbacks included)
 * @param fallbackUsed      whether a fallback model group answered
 * @param clientRequestId   the caller's own request id, a correlation field (not unique); nullable
 * @param keyAlias          the virtual key's alias (or {@code sk-...} display name); nullable
 * @param teamId            the virtual key's team; nullable
 * @param userId            the virtual key's user; nullable
 */
public record SpendRecord(String requestId, Instant startTime, Instant endTime, String modelGroup,
                          String deploymentId, String provider, String model, String apiBase, String endUser,
                          String keyHash, String status, int httpStatus, String errorType, String errorCode,
                          BigDecimal spend, long promptTokens, long completionTokens, long totalTokens,
                          long inputTextTokens, long inputImageTokens, long outputImageTokens, long outputTextTokens,
                          int imagesIn, int imagesOut, long bytesIn, long bytesOut, long latencyMs, long upstreamMs,
                          int attempts, boolean fallbackUsed, String clientRequestId, String keyAlias,
                          String teamId, String userId) {

    /** {@link #status()} of a request that was answered with images. */
    public static final String SUCCESS = "success";
    /** {@link #status()} of a request that ended in an error. */
    public static final String FAILURE = "failure";

    /** Checks the required fields and truncates times to microseconds. */
    public SpendRecord {
        Objects.requireNonNull(requestId, "requestId");
        if (requestId.isBlank()) {
            throw new IllegalArgumentException("requestId must not be blank");
        }
        startTime = Objects.requireNonNull(startTime, "startTime").truncatedTo(ChronoUnit.MICROS);
        endTime = Objects.requireNonNull(endTime, "endTime").truncatedTo(ChronoUnit.MICROS);
        modelGroup = Objects.requireNonNullElse(modelGroup, "");
        deploymentId = Objects.requireNonNullElse(deploymentId, "");
        provider = Objects.requireNonNullElse(provider, "");
        model = Objects.requireNonNullElse(model, "");
        Objects.requireNonNull(status, "status");
        if (!status.equals(SUCCESS) && !status.equals(FAILURE)) {
            throw new IllegalArgumentException("status must be 'success' or 'failure' (was '" + status + "')");
        }
    }

    /** A record without key attribution (alias, team, user). */
    public SpendRecord(String requestId, Instant startTime, Instant endTime, String modelGroup,
                       String deploymentId, String provider, String model, String apiBase, String endUser,
                       String keyHash, String status, int httpStatus, String errorType, String errorCode,
                       BigDecimal spend, long promptTokens, long completionTokens, long totalTokens,
                       long inputTextTokens, long inputImageTokens, long outputImageTokens, long outputTextTokens,
                       int imagesIn, int imagesOut, long bytesIn, long bytesOut, long latencyMs, long upstreamMs,
                       int attempts, boolean fallbackUsed, String clientRequestId) {
        this(requestId, startTime, endTime, modelGroup, deploymentId, provider, model, apiBase, endUser, keyHash,
                status, httpStatus, errorType, errorCode, spend, promptTokens, completionTokens, totalTokens,
                inputTextTokens, inputImageTokens, outputImageTokens, outputTextTokens, imagesIn, imagesOut, bytesIn,
                bytesOut, latencyMs, upstreamMs, attempts, fallbackUsed, clientRequestId, null, null, null);
    }

    /** A builder; {@code requestId}, {@code startTime}, {@code endTime} and {@code status} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this record's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.requestId = requestId;
        b.startTime = startTime;
        b.endTime = endTime;
        b.modelGroup = modelGroup;
        b.deploymentId = deploymentId;
        b.provider = provider;
        b.model = model;
        b.apiBase = apiBase;
        b.endUser = endUser;
        b.keyHash = keyHash;
        b.status = status;
        b.httpStatus = httpStatus;
        b.errorType = errorType;
        b.errorCode = errorCode;
        b.spend = spend;
        b.promptTokens = promptTokens;
        b.completionTokens = completionTokens;
        b.totalTokens = totalTokens;
        b.inputTextTokens = inputTextTokens;
        b.inputImageTokens = inputImageTokens;
        b.outputImageTokens = outputImageTokens;
        b.outputTextTokens = outputTextTokens;
        b.imagesIn = imagesIn;
        b.imagesOut = imagesOut;
        b.bytesIn = bytesIn;
        b.bytesOut = bytesOut;
        b.latencyMs = latencyMs;
        b.upstreamMs = upstreamMs;
        b.attempts = attempts;
        b.fallbackUsed = fallbackUsed;
        b.clientRequestId = clientRequestId;
        b.keyAlias = keyAlias;
        b.teamId = teamId;
        b.userId = userId;
        return b;
    }

    /** Builds a {@link SpendRecord}; the setters are named like the record's components. */
    public static final class Builder {
        private String requestId;
        private String clientRequestId;
        private Instant startTime;
        private Instant endTime;
        private String modelGroup;
        private String deploymentId;
        private String provider;
        private String model;
        private String apiBase;
        private String endUser;
        private String keyHash;
        private String status = SUCCESS;
        private int httpStatus = 200;
        private String errorType;
        private String errorCode;
        private BigDecimal spend;
        private long promptTokens;
        private long completionTokens;
        private long totalTokens;
        private long inputTextTokens;
        private long inputImageTokens;
        private long outputImageTokens;
        private long outputTextTokens;
        private int imagesIn;
        private int imagesOut;
        private long bytesIn;
        private long bytesOut;
        private long latencyMs;
        private long upstreamMs;
        private int attempts = 1;
        private boolean fallbackUsed;
        private String keyAlias;
        private String teamId;
        private String userId;

        private Builder() {
        }

        /** Request id. */
        public Builder requestId(String v) { requestId = v; return this; }
        /** Arrival time. */
        public Builder startTime(Instant v) { startTime = v; return this; }
        /** Completion time. */
        public Builder endTime(Instant v) { endTime = v; return this; }
        /** Model group (the name the client sent). */
        public Builder modelGroup(String v) { modelGroup = v; return this; }
        /** Deployment id. */
        public Builder deploymentId(String v) { deploymentId = v; return this; }
        /** Provider name. */
        public Builder provider(String v) { provider = v; return this; }
        /** Provider model. */
        public Builder model(String v) { model = v; return this; }
        /** Upstream base URL (no credentials); nullable. */
        public Builder apiBase(String v) { apiBase = v; return this; }
        /** End-user id; nullable. */
        public Builder endUser(String v) { endUser = v; return this; }
        /** SHA-256 hex of the caller's key; nullable. */
        public Builder keyHash(String v) { keyHash = v; return this; }
        /** {@code success} (default) or {@code failure}. */
        public Builder status(String v) { status = v; return this; }
        /** HTTP status sent (default 200). */
        public Builder httpStatus(int v) { httpStatus = v; return this; }
        /** Error type; nullable. */
        public Builder errorType(String v) { errorType = v; return this; }
        /** Error code; nullable. */
        public Builder errorCode(String v) { errorCode = v; return this; }
        /** Cost in USD; nullable when unpriced. */
        public Builder spend(BigDecimal v) { spend = v; return this; }
        /** Input tokens. */
        public Builder promptTokens(long v) { promptTokens = v; return this; }
        /** Output tokens. */
        public Builder completionTokens(long v) { completionTokens = v; return this; }
        /** Total tokens. */
        public Builder totalTokens(long v) { totalTokens = v; return this; }
        /** Text input tokens. */
        public Builder inputTextTokens(long v) { inputTextTokens = v; return this; }
        /** Image input tokens. */
        public Builder inputImageTokens(long v) { inputImageTokens = v; return this; }
        /** Image output tokens. */
        public Builder outputImageTokens(long v) { outputImageTokens = v; return this; }
        /** Text output tokens. */
        public Builder outputTextTokens(long v) { outputTextTokens = v; return this; }
        /** Images sent. */
        public Builder imagesIn(int v) { imagesIn = v; return this; }
        /** Images returned. */
        public Builder imagesOut(int v) { imagesOut = v; return this; }
        /** Request bytes. */
        public Builder bytesIn(long v) { bytesIn = v; return this; }
        /** Response bytes. */
        public Builder bytesOut(long v) { bytesOut = v; return this; }
        /** Total latency in ms. */
        public Builder latencyMs(long v) { latencyMs = v; return this; }
        /** Upstream time in ms. */
        public Builder upstreamMs(long v) { upstreamMs = v; return this; }
        /** Upstream attempts (default 1). */
        public Builder attempts(int v) { attempts = v; return this; }
        /** Whether a fallback answered. */
        public Builder fallbackUsed(boolean v) { fallbackUsed = v; return this; }
        /** The caller's own request id (nullable). */
        public Builder clientRequestId(String v) { clientRequestId = v; return this; }
        /** The virtual key's alias (nullable). */
        public Builder keyAlias(String v) { keyAlias = v; return this; }
        /** The virtual key's team (nullable). */
        public Builder teamId(String v) { teamId = v; return this; }
        /** The virtual key's user (nullable). */
        public Builder userId(String v) { userId = v; return this; }

        /** The record. */
        public SpendRecord build() {
            return new SpendRecord(requestId, startTime, endTime, modelGroup, deploymentId, provider, model, apiBase,
                    endUser, keyHash, status, httpStatus, errorType, errorCode, spend, promptTokens, completionTokens,
                    totalTokens, inputTextTokens, inputImageTokens, outputImageTokens, outputTextTokens, imagesIn,
                    imagesOut, bytesIn, bytesOut, latencyMs, upstreamMs, attempts, fallbackUsed, clientRequestId, keyAlias,
                    teamId, userId);
        }
    }
}
