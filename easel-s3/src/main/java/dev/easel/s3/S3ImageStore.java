package dev.easel.s3;

import dev.easel.EaselException;
import dev.easel.ServableImageStore;
import dev.easel.StoredImage;
import dev.easel.config.ImageStoreSettings;
import dev.easel.image.ImageFormat;
import dev.easel.internal.ImageNames;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * The images of {@code response_format=url} answers in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, GCS
 * interoperability), so that every replica of the proxy serves the URL any one of them handed out.
 *
 * <pre>{@code
 * try (S3ImageStore store = S3ImageStore.connect(settings, UrlMode.PROXY, Duration.ofHours(1), Clock.systemUTC())) {
 *     String ref = store.store(png, ImageFormat.PNG);      // "easel-image:3f…a1.png"
 *     store.open("3f…a1.png").ifPresent(image -> ...);     // any replica: its content type, length and bytes
 * }
 * }</pre>
 *
 * Each image is one object {@code <s3_path>/<128-bit random>.<ext>} with its {@code Content-Type} and its expiry in
 * the user metadata {@code easel-expires-at}; reads refuse an object past it, and {@link #deleteExpired()} (which
 * every replica may run at once) deletes them. With {@link ImageStoreSettings.UrlMode#PRESIGNED} {@link #store}
 * returns a presigned GET URL valid for the TTL instead of a reference the proxy serves. Thread-safe.
 */
public final class S3ImageStore implements ServableImageStore {

    private static final Logger LOG = LoggerFactory.getLogger(S3ImageStore.class);

    /** The user metadata key (sent as {@code x-amz-meta-easel-expires-at}) holding the expiry, an ISO-8601 instant. */
    static final String EXPIRES_AT = "easel-expires-at";

    /** How far the clocks of the replicas and of the S3 service may disagree (for the sweep's first filter). */
    private static final Duration CLOCK_SKEW = Duration.ofMinutes(5);

    private final S3Client s3;
    private final S3Presigner presigner;
    private final String bucket;
    private final String keyPrefix;
    private final String where;
    private final ImageStoreSettings.UrlMode urlMode;
    private final Duration ttl;
    private final Clock clock;
    /** Whether the last sweep failed: its failures are logged once per change, not once a minute. */
    private volatile boolean sweepFailing;

    private S3ImageStore(S3Client s3, S3Presigner presigner, ImageStoreSettings.S3 settings, String where,
                         ImageStoreSettings.UrlMode urlMode, Duration ttl, Clock clock) {
        this.s3 = s3;
        this.presigner = presigner;
        this.bucket = settings.bucket();
        this.keyPrefix = settings.prefix().isEmpty() ? "" : settings.prefix() + "/";
        this.where = where;
        this.urlMode = urlMode;
        this.ttl = ttl;
        this.clock = clock;
    }

    /**
     * Connects to the bucket and checks it with {@code HeadBucket}.
     *
     * @param settings the bucket ({@code general_settings.image_store})
     * @param urlMode  what {@link #store} returns: a reference the proxy serves, or a presigned URL
     * @param ttl      how long an image is served ({@code general_settings.image_url_ttl}); at most 7 days when
     *                 presigned
     * @param clock    the time expiries are computed and checked against
     * @throws EaselException (type {@code config_error}) when the bucket does not exist, the key is refused or the
     *                        endpoint cannot be reached; the message names the bucket and the endpoint, never a secret
     */
    public static S3ImageStore connect(ImageStoreSettings.S3 settings, ImageStoreSettings.UrlMode urlMode,
                                       Duration ttl, Clock clock) {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(urlMode, "urlMode");
        Objects.requireNonNull(clock, "clock");
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl must be positive (was " + ttl + ")");
        }
        String where = "bucket '" + settings.bucket() + "' at " + settings.endpoint().map(URI::toString)
                .orElse("AWS S3");
        Region region = region(settings, where);
        AwsCredentialsProvider credentials = credentials(settings);
        S3Configuration addressing = S3Configuration.builder()
                .pathStyleAccessEnabled(!settings.virtualHostedStyle()).build();
        SdkHttpClient http = Apache5HttpClient.builder()
                .connectionTimeout(Duration.ofSeconds(5))
                .socketTimeout(Duration.ofSeconds(30))
                .connectionAcquisitionTimeout(Duration.ofSeconds(10))
                .maxConnections(128)
                .build();
        S3Client s3 = null;
        S3Presigner presigner = null;
        try {
            var builder = S3Client.builder()
                    .httpClient(http)
                    .region(region)
                    .credentialsProvider(credentials)
                    .serviceConfiguration(addressing)
                    // the SDK's default CRC32 trailers (chunked uploads) are refused by some S3-compatible services
                    // (GCS interoperability, older MinIO); the SigV4 payload hash (HTTP) or TLS (HTTPS) covers the
                    // bytes, and checksums are still sent where an operation requires one
                    .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                    .overrideConfiguration(o -> o.apiCallTimeout(Duration.ofSeconds(60)));
            settings.endpoint().ifPresent(builder::endpointOverride);
            s3 = builder.build();
            var presign = S3Presigner.builder().region(region).credentialsProvider(credentials)
                    .serviceConfiguration(addressing);
            settings.endpoint().ifPresent(presign::endpointOverride);
            presigner = presign.build();
            S3ImageStore store = new S3ImageStore(s3, presigner, settings, where, urlMode, ttl, clock);
            store.checkBucket();
            return store;
        } catch (RuntimeException | Error e) {
            if (presigner != null) {
                presigner.close();
            }
            if (s3 != null) {
                s3.close(); // closes the HTTP client it was given too
            } else {
                http.close();
            }
            throw e;
        }
    }

    private static Region region(ImageStoreSettings.S3 settings, String where) {
        if (settings.region().isPresent()) {
            return Region.of(settings.region().get());
        }
        if (settings.endpoint().isPresent()) {
            return Region.US_EAST_1; // S3-compatible services sign with it unless told otherwise
        }
        try {
            return DefaultAwsRegionProviderChain.builder().build().getRegion();
        } catch (SdkException e) {
            throw new EaselException("general_settings.image_store: no region for " + where + ": set s3_region_name "
                    + "(or AWS_REGION)", "config_error");
        }
    }

    private static AwsCredentialsProvider credentials(ImageStoreSettings.S3 settings) {
        if (settings.accessKeyId().isEmpty()) {
            return DefaultCredentialsProvider.builder().build();
        }
        String id = settings.accessKeyId().get();
        String secret = settings.secretAccessKey().orElseThrow();
        return StaticCredentialsProvider.create(settings.sessionToken()
                .<software.amazon.awssdk.auth.credentials.AwsCredentials>map(t -> AwsSessionCredentials.create(id,
                        secret, t))
                .orElseGet(() -> AwsBasicCredentials.create(id, secret)));
    }

    /** {@code HeadBucket}: a missing bucket, a refused key or an endpoint down stops the start here. */
    private void checkBucket() {
        try {
            s3.headBucket(b -> b.bucket(bucket));
        } catch (NoSuchBucketException e) {
            throw startError("does not exist", e);
        } catch (S3Exception e) {
            String why = switch (e.statusCode()) {
                case 404 -> "does not exist";
                case 403 -> "refused the credentials (403: check s3_aws_access_key_id and s3_aws_secret_access_key, "
                        + "or the role's permissions on the bucket)";
                case 301 -> "is in another region than " + s3.serviceClientConfiguration().region()
                        + " (301: set s3_region_name to the bucket's region)";
                case 400 -> "refused the request (400: check s3_region_name and s3_endpoint_url)";
                default -> "answered " + e.statusCode() + " to HeadBucket";
            };
            throw startError(why, e);
        } catch (SdkException e) {
            throw startError("could not be reached: " + e.getMessage(), e);
        }
    }

    private EaselException startError(String why, Exception cause) {
        // the cause's message stays out of the text shown to users when it is an S3 error body; the SDK's own
        // client-side messages (connection refused, no credentials) carry no secret
        return new EaselException("general_settings.image_store: " + where + " " + why, 0, "config_error",
                null, null, null, null, cause);
    }

    @Override
    public String store(byte[] image, ImageFormat format) {
        Objects.requireNonNull(image, "image");
        String name = ImageNames.newName(format);
        Instant expiresAt = clock.instant().plus(ttl);
        try {
            s3.putObject(p -> p.bucket(bucket).key(keyPrefix + name).contentType(format.mimeType())
                            .cacheControl("private, max-age=" + ttl.toSeconds())
                            .expires(expiresAt)
                            .metadata(Map.of(EXPIRES_AT, expiresAt.toString())),
                    RequestBody.fromBytes(image));
        } catch (SdkException e) {
            throw new UncheckedIOException("could not store image in " + where + ": " + describe(e),
                    new IOException(e));
        }
        if (urlMode == ImageStoreSettings.UrlMode.PRESIGNED) {
            return presigner.presignGetObject(p -> p.signatureDuration(ttl)
                    .getObjectRequest(g -> g.bucket(bucket).key(keyPrefix + name))).url().toString();
        }
        return REFERENCE_PREFIX + name;
    }

    @Override
    public Optional<StoredImage> stat(String name) {
        Optional<ImageFormat> format = ImageNames.format(name);
        if (format.isEmpty()) {
            return Optional.empty();
        }
        HeadObjectResponse head;
        try {
            head = s3.headObject(h -> h.bucket(bucket).key(keyPrefix + name));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty(); // HEAD has no error body: S3 answers a bare 404
            }
            throw readError(name, e);
        } catch (SdkException e) {
            throw readError(name, e);
        }
        Instant expiresAt = expiry(head.metadata(), head.lastModified());
        if (!expiresAt.isAfter(clock.instant())) {
            return Optional.empty();
        }
        return Optional.of(StoredImage.described(format.get().mimeType(), head.contentLength(), expiresAt));
    }

    @Override
    public Optional<StoredImage> open(String name) {
        Optional<ImageFormat> format = ImageNames.format(name);
        if (format.isEmpty()) {
            return Optional.empty();
        }
        ResponseInputStream<GetObjectResponse> in;
        try {
            in = s3.getObject(g -> g.bucket(bucket).key(keyPrefix + name));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw readError(name, e);
        } catch (SdkException e) {
            throw readError(name, e);
        }
        GetObjectResponse r = in.response();
        Instant expiresAt = expiry(r.metadata(), r.lastModified());
        if (!expiresAt.isAfter(clock.instant())) {
            in.abort(); // not worth reading the rest of an image nobody gets
            return Optional.empty();
        }
        return Optional.of(StoredImage.of(format.get().mimeType(), r.contentLength(), expiresAt, new Body(in)));
    }

    @Override
    public int deleteExpired() {
        try {
            int n = sweep();
            if (sweepFailing) {
                sweepFailing = false;
                LOG.info("image store sweep of {} works again", where);
            }
            return n;
        } catch (RuntimeException e) {
            // a scheduled task that throws is never run again: the next sweep tries again
            if (!sweepFailing) {
                sweepFailing = true;
                LOG.warn("image store sweep of {} failed (retried each sweep): {}", where, describe(e));
            }
            return 0;
        }
    }

    private int sweep() {
        Instant now = clock.instant();
        int deleted = 0;
        var pages = s3.listObjectsV2Paginator(ListObjectsV2Request.builder().bucket(bucket).prefix(keyPrefix).build());
        for (S3Object o : pages.contents()) {
            String name = o.key().substring(keyPrefix.length());
            // only Easel's own objects, and not those in a "folder" below the prefix
            if (!ImageNames.isName(name)) {
                continue;
            }
            // the listing has no metadata: an object written less than this store's TTL ago (less a margin for the
            // clocks of the replicas and of S3, which stamps lastModified) has not expired yet, so it costs no
            // HeadObject. One a replica with a shorter TTL wrote is deleted by that replica's sweep, or later by ours.
            if (o.lastModified() != null && o.lastModified().plus(ttl).minus(CLOCK_SKEW).isAfter(now)) {
                continue;
            }
            Instant expiresAt;
            try {
                HeadObjectResponse head = s3.headObject(h -> h.bucket(bucket).key(o.key()));
                expiresAt = expiry(head.metadata(), head.lastModified());
            } catch (NoSuchKeyException e) {
                continue; // another replica's sweep got there first
            } catch (S3Exception e) {
                if (e.statusCode() == 404) {
                    continue;
                }
                throw e;
            }
            if (expiresAt.isAfter(now)) {
                continue;
            }
            // one DeleteObject per key: GCS has no multi-object delete; deleting a deleted key succeeds
            s3.deleteObject(d -> d.bucket(bucket).key(o.key()));
            deleted++;
        }
        return deleted;
    }

    /** The expiry an object carries; one without it (written by hand) lasts this store's TTL from its write. */
    private Instant expiry(Map<String, String> metadata, Instant lastModified) {
        String v = metadata.get(EXPIRES_AT);
        if (v != null) {
            try {
                return Instant.parse(v);
            } catch (DateTimeParseException e) {
                // not Easel's value: fall through
            }
        }
        return (lastModified == null ? Instant.EPOCH : lastModified).plus(ttl);
    }

    private UncheckedIOException readError(String name, SdkException e) {
        return new UncheckedIOException("could not read image " + name + " from " + where + ": " + describe(e),
                new IOException(e));
    }

    /** An S3 error as status and code (its message may echo request details); a client error as the SDK words it. */
    private static String describe(Exception e) {
        if (e instanceof S3Exception s && s.awsErrorDetails() != null) {
            return s.statusCode() + " " + Objects.requireNonNullElse(s.awsErrorDetails().errorCode(), "error");
        }
        return e.getMessage();
    }

    /** What {@link #store} returns: {@code proxy} (a reference the server serves) or {@code presigned}. */
    public ImageStoreSettings.UrlMode urlMode() {
        return urlMode;
    }

    @Override
    public void close() {
        presigner.close();
        s3.close();
    }

    @Override
    public String toString() {
        return "S3ImageStore[" + where + ", prefix=" + keyPrefix + ", urlMode=" + urlMode.wireName() + "]";
    }

    /**
     * The object's bytes. Closed before the end (a client that went away), the connection is aborted rather than
     * drained: draining would read the rest of the image from S3 for nobody.
     */
    private static final class Body extends FilterInputStream {
        private final ResponseInputStream<GetObjectResponse> object;
        private boolean ended;

        Body(ResponseInputStream<GetObjectResponse> object) {
            super(object);
            this.object = object;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            ended |= b < 0;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            ended |= n < 0;
            return n;
        }

        @Override
        public void close() throws IOException {
            if (!ended) {
                object.abort();
            }
            super.close();
        }
    }
}
