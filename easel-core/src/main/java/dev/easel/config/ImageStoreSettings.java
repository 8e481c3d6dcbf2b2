package dev.easel.config;

import java.net.URI;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code general_settings.image_store}: where the proxy keeps the images of {@code response_format=url} answers.
 * The default is the local store under the data directory; {@code type: s3} shares one S3-compatible bucket
 * between every replica.
 *
 * @param type    {@code type}: {@code local} (default) or {@code s3}
 * @param urlMode {@code url_mode}: {@code proxy} (default: the proxy serves the image) or {@code presigned}
 *                (a presigned GET URL of the bucket; {@code s3} only)
 * @param s3      the bucket settings, present exactly when {@code type} is {@code s3}
 */
public record ImageStoreSettings(Type type, UrlMode urlMode, Optional<S3> s3) {

    /** {@code type}. */
    public enum Type {
        /** Files under {@code <data-dir>/images}, served by the one proxy that wrote them. */
        LOCAL,
        /** Objects in an S3-compatible bucket, served by any replica (or presigned). */
        S3;

        /** The name in {@code config.yaml}. */
        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** {@code url_mode}. */
    public enum UrlMode {
        /** {@code <public_base_url>/v1/images/files/<name>}, served by whichever replica gets the request. */
        PROXY,
        /** A presigned GET URL of the object, valid for {@code image_url_ttl}. */
        PRESIGNED;

        /** The name in {@code config.yaml}. */
        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The default prefix of object keys ({@code s3_path}). */
    public static final String DEFAULT_S3_PATH = "easel-images";

    /** Checks the combination. */
    public ImageStoreSettings {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(urlMode, "urlMode");
        Objects.requireNonNull(s3, "s3");
        if (s3.isPresent() != (type == Type.S3)) {
            throw new IllegalArgumentException("s3 settings are given exactly when type is S3");
        }
        if (urlMode == UrlMode.PRESIGNED && type != Type.S3) {
            throw new IllegalArgumentException("url mode PRESIGNED needs type S3");
        }
    }

    /** The local store (the default). */
    public static ImageStoreSettings local() {
        return new ImageStoreSettings(Type.LOCAL, UrlMode.PROXY, Optional.empty());
    }

    /** An S3-compatible bucket. */
    public static ImageStoreSettings s3(S3 settings, UrlMode urlMode) {
        return new ImageStoreSettings(Type.S3, urlMode, Optional.of(settings));
    }

    /**
     * The bucket: LiteLLM's names of its {@code s3_callback_params} where they fit. {@link #toString()} never shows
     * the secret key or the session token.
     *
     * @param bucket             {@code s3_bucket_name}
     * @param region             {@code s3_region_name}; absent: the AWS default region chain, or {@code us-east-1}
     *                           with an endpoint override
     * @param endpoint           {@code s3_endpoint_url}: an S3-compatible service (MinIO, R2, GCS) instead of AWS
     * @param accessKeyId        {@code s3_aws_access_key_id}; absent (with the secret): the AWS default
     *                           credential chain
     * @param secretAccessKey    {@code s3_aws_secret_access_key}
     * @param sessionToken       {@code s3_aws_session_token}: with temporary static keys
     * @param prefix             {@code s3_path}: the key prefix, without leading or trailing {@code /} (may be empty)
     * @param virtualHostedStyle {@code s3_use_virtual_hosted_style}: {@code bucket.host/key} rather than
     *                           {@code host/bucket/key}
     */
    public record S3(String bucket, Optional<String> region, Optional<URI> endpoint, Optional<String> accessKeyId,
                     Optional<String> secretAccessKey, Optional<String> sessionToken, String prefix,
                     boolean virtualHostedStyle) {

        /** Checks that nothing is null and that static keys come in pairs. */
        public S3 {
            Objects.requireNonNull(bucket, "bucket");
            Objects.requireNonNull(region, "region");
            Objects.requireNonNull(endpoint, "endpoint");
            Objects.requireNonNull(accessKeyId, "accessKeyId");
            Objects.requireNonNull(secretAccessKey, "secretAccessKey");
            Objects.requireNonNull(sessionToken, "sessionToken");
            Objects.requireNonNull(prefix, "prefix");
            if (accessKeyId.isPresent() != secretAccessKey.isPresent()) {
                throw new IllegalArgumentException("accessKeyId and secretAccessKey go together");
            }
            if (sessionToken.isPresent() && accessKeyId.isEmpty()) {
                throw new IllegalArgumentException("sessionToken needs accessKeyId and secretAccessKey");
            }
        }

        @Override
        public String toString() {
            return "S3[bucket=" + bucket + ", region=" + region + ", endpoint=" + endpoint + ", accessKeyId="
                    + accessKeyId + ", secretAccessKey=" + Copies.mask(secretAccessKey) + ", sessionToken="
                    + Copies.mask(sessionToken) + ", prefix=" + prefix + ", virtualHostedStyle=" + virtualHostedStyle
                    + "]";
        }
    }
}
