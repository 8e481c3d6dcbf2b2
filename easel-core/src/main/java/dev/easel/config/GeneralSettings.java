package dev.easel.config;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * {@code general_settings}: the proxy server's own settings. {@link #toString()} never shows the master key
 * or the database URL (it may hold a password).
 *
 * @param masterKey              {@code master_key}: Bearer key allowed to do everything
 * @param databaseUrl            {@code database_url}: PostgreSQL for spend logs and keys (else embedded SQLite)
 * @param publicBaseUrl          {@code public_base_url}: base of image URLs handed to clients
 * @param allowImageUrls         {@code allow_image_urls}: accept images given as http(s) URLs; default false
 * @param allowClientSideCredentials {@code allow_client_side_credentials} (LiteLLM's): let a request carry its own
 *                               {@code api_key} / {@code api_base} / {@code base_url} / {@code api_version}; default
 *                               false (such fields are refused with a 400)
 * @param webhookUrl             {@code webhook_url}: where request records are POSTed
 * @param otelExporterEndpoint   {@code otel_exporter_endpoint}: OTLP endpoint for traces
 * @param endUserBudgets         {@code end_user_budgets}: per end-user budget settings, as written
 * @param maxRequestBytes        {@code max_request_bytes}: largest request body
 * @param maxImageBytes          {@code max_image_bytes}: largest single image or mask
 * @param maxInflightUploadBytes {@code max_inflight_upload_bytes}: upload bytes held at once across requests
 * @param uploadMemoryBytes      {@code upload_memory_bytes}: of those, how many may be held in memory (the rest
 *                               go to temp files); {@link #AUTO_UPLOAD_MEMORY} for an eighth of the JVM's heap
 * @param imageUrlTtl            {@code image_url_ttl}: how long a served image URL stays valid
 * @param gracePeriod            {@code grace_period}: how long shutdown waits for requests in flight
 * @param requestLimits          the keys that bound one request's parts, fields, JSON and timing ({@link RequestLimits})
 * @param globalMaxParallelRequests {@code global_max_parallel_requests}: edits in flight across the whole proxy
 * @param maxParallelRequests    {@code max_parallel_requests}: edits in flight per presented API key
 * @param maxParallelWaiters     {@code max_parallel_waiters}: requests that may wait for one of those slots
 *                               (per limit); default 100
 * @param maxParallelWait        {@code max_parallel_wait}: the longest such wait; default 30 s
 * @param imageStore             {@code image_store}: where images of {@code url} answers are kept (local by default)
 */
public record GeneralSettings(Optional<String> masterKey, Optional<String> databaseUrl, Optional<URI> publicBaseUrl,
                              boolean allowImageUrls, boolean allowClientSideCredentials, Optional<URI> webhookUrl,
                              Optional<URI> otelExporterEndpoint,
                              Map<String, Object> endUserBudgets, long maxRequestBytes, long maxImageBytes,
                              long maxInflightUploadBytes, long uploadMemoryBytes, Duration imageUrlTtl,
                              Duration gracePeriod, RequestLimits requestLimits, OptionalInt globalMaxParallelRequests,
                              OptionalInt maxParallelRequests, int maxParallelWaiters, Duration maxParallelWait,
                              ImageStoreSettings imageStore) {

    /** Default {@code max_request_bytes}: 1 GiB, room for 16 images of 50 MB, a mask and the fields. */
    public static final long DEFAULT_MAX_REQUEST_BYTES = 1L << 30;
    /** Default {@code max_image_bytes}: 50 MiB. */
    public static final long DEFAULT_MAX_IMAGE_BYTES = 50L << 20;
    /** Default {@code max_inflight_upload_bytes}: 4 GiB. */
    public static final long DEFAULT_MAX_INFLIGHT_UPLOAD_BYTES = 4L << 30;
    /** Default {@code upload_memory_bytes}: resolved to an eighth of the JVM's maximum heap. */
    public static final long AUTO_UPLOAD_MEMORY = -1;
    /** Default {@code image_url_ttl}: one hour, like OpenAI's image URLs. */
    public static final Duration DEFAULT_IMAGE_URL_TTL = Duration.ofHours(1);
    /** Default {@code grace_period}. */
    public static final Duration DEFAULT_GRACE_PERIOD = Duration.ofSeconds(30);
    /** Default {@code max_parallel_waiters}. */
    public static final int DEFAULT_MAX_PARALLEL_WAITERS = 100;
    /** Default {@code max_parallel_wait}. */
    public static final Duration DEFAULT_MAX_PARALLEL_WAIT = Duration.ofSeconds(30);

    /** Checks that nothing is null and copies the collections (unmodifiable, order kept). */
    public GeneralSettings {
        Objects.requireNonNull(masterKey, "masterKey");
        Objects.requireNonNull(databaseUrl, "databaseUrl");
        Objects.requireNonNull(publicBaseUrl, "publicBaseUrl");
        Objects.requireNonNull(webhookUrl, "webhookUrl");
        Objects.requireNonNull(otelExporterEndpoint, "otelExporterEndpoint");
        endUserBudgets = Copies.orderedMap(endUserBudgets);
        Objects.requireNonNull(imageUrlTtl, "imageUrlTtl");
        Objects.requireNonNull(gracePeriod, "gracePeriod");
        Objects.requireNonNull(requestLimits, "requestLimits");
        Objects.requireNonNull(globalMaxParallelRequests, "globalMaxParallelRequests");
        Objects.requireNonNull(maxParallelRequests, "maxParallelRequests");
        Objects.requireNonNull(maxParallelWait, "maxParallelWait");
        Objects.requireNonNull(imageStore, "imageStore");
        if (uploadMemoryBytes < 0 && uploadMemoryBytes != AUTO_UPLOAD_MEMORY) {
            throw new IllegalArgumentException("uploadMemoryBytes must be >= 0 (or AUTO_UPLOAD_MEMORY)");
        }
    }

    /** {@code upload_memory_bytes} with the default resolved against this JVM's heap. */
    public long resolvedUploadMemoryBytes() {
        return uploadMemoryBytes == AUTO_UPLOAD_MEMORY ? Runtime.getRuntime().maxMemory() / 8 : uploadMemoryBytes;
    }

    /** The settings used when the file has no {@code general_settings}. */
    public static GeneralSettings defaults() {
        return new GeneralSettings(Optional.empty(), Optional.empty(), Optional.empty(), false, false, Optional.empty(),
                Optional.empty(), Map.of(), DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_IMAGE_BYTES,
                DEFAULT_MAX_INFLIGHT_UPLOAD_BYTES, AUTO_UPLOAD_MEMORY, DEFAULT_IMAGE_URL_TTL, DEFAULT_GRACE_PERIOD,
                RequestLimits.defaults(), OptionalInt.empty(), OptionalInt.empty(), DEFAULT_MAX_PARALLEL_WAITERS,
                DEFAULT_MAX_PARALLEL_WAIT, ImageStoreSettings.local());
    }

    @Override
    public String toString() {
        return "GeneralSettings[masterKey=" + Copies.mask(masterKey) + ", databaseUrl=" + Copies.mask(databaseUrl)
                + ", publicBaseUrl=" + publicBaseUrl + ", allowImageUrls=" + allowImageUrls
                + ", allowClientSideCredentials=" + allowClientSideCredentials + ", webhookUrl="
                + webhookUrl + ", otelExporterEndpoint=" + otelExporterEndpoint + ", endUserBudgets="
                + Copies.maskedMap(endUserBudgets) + ", maxRequestBytes=" + maxRequestBytes + ", maxImageBytes="
                + maxImageBytes + ", maxInflightUploadBytes=" + maxInflightUploadBytes + ", uploadMemoryBytes="
                + uploadMemoryBytes + ", imageUrlTtl="
                + imageUrlTtl + ", gracePeriod=" + gracePeriod + ", requestLimits=" + requestLimits
                + ", globalMaxParallelRequests=" + globalMaxParallelRequests + ", maxParallelRequests="
                + maxParallelRequests + ", maxParallelWaiters=" + maxParallelWaiters + ", maxParallelWait="
                + maxParallelWait + ", imageStore=" + imageStore + "]";
    }
}
