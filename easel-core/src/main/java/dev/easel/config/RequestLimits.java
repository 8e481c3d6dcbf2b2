package dev.easel.config;

import java.time.Duration;
import java.util.Objects;

/**
 * What one request may send to the proxy, and how slowly: the {@code general_settings} keys that bound the
 * parts and fields of an edit, JSON bodies, and the time a body may take to arrive. Every limit is enforced
 * while the body is read, so a request over one is refused before its work grows.
 *
 * @param maxParts            {@code max_parts}: parts in one multipart body (images, mask and text fields)
 * @param maxImages           {@code max_images}: image parts or JSON image references in one request (the model's own
 *                            maximum is checked later by validation; this is the proxy-wide ceiling)
 * @param maxTextFields       {@code max_text_fields}: fields other than images and the mask (multipart text parts,
 *                            top-level JSON fields)
 * @param maxTextFieldBytes   {@code max_text_field_bytes}: bytes of one such field's value
 * @param maxTextBytes        {@code max_text_bytes}: bytes of all such fields of one request together
 * @param maxFieldNameBytes   {@code max_field_name_bytes}: bytes of one field name (multipart part name, JSON key)
 * @param maxPartHeaderBytes  {@code max_part_header_bytes}: bytes of one multipart part's headers
 * @param maxJsonDepth        {@code max_json_depth}: nesting depth of a JSON body
 * @param maxJsonTokens       {@code max_json_tokens}: tokens (names and values) in a JSON body
 * @param maxJsonBodyBytes    {@code max_json_body_bytes}: bytes of a JSON body that is not an upload (the management
 *                            endpoints such as {@code /end_user/new}); edits keep {@code max_request_bytes}
 * @param idleTimeout         {@code idle_timeout}: how long a connection may send nothing while the proxy waits for it
 * @param minRequestBodyRate  {@code min_request_body_rate}: bytes per second a request body must arrive at, measured
 *                            over each {@code request_body_rate_window}; 0 turns the check off
 * @param requestBodyRateWindow {@code request_body_rate_window}: the window the rate is measured over (the first one
 *                            is also the grace period before the first check)
 * @param requestBodyTimeout  {@code request_body_timeout}: the longest a whole request body may take to arrive
 */
public record RequestLimits(int maxParts, int maxImages, int maxTextFields, long maxTextFieldBytes, long maxTextBytes,
                            int maxFieldNameBytes, int maxPartHeaderBytes, int maxJsonDepth, int maxJsonTokens,
                            long maxJsonBodyBytes, Duration idleTimeout, long minRequestBodyRate,
                            Duration requestBodyRateWindow, Duration requestBodyTimeout) {

    /** Default {@code max_parts}: five times what an OpenAI SDK sends at most (16 images, a mask, ~15 fields). */
    public static final int DEFAULT_MAX_PARTS = 100;
    /** Default {@code max_images}: twice the largest {@code max_images} in the model catalogue (16). */
    public static final int DEFAULT_MAX_IMAGES = 32;
    /** Default {@code max_text_fields}: OpenAI's edit has 15 fields; room for pass-through extras. */
    public static final int DEFAULT_MAX_TEXT_FIELDS = 64;
    /** Default {@code max_text_field_bytes}: 1 MiB (a prompt is at most 32,000 characters). */
    public static final long DEFAULT_MAX_TEXT_FIELD_BYTES = 1L << 20;
    /** Default {@code max_text_bytes}: 2 MiB. */
    public static final long DEFAULT_MAX_TEXT_BYTES = 2L << 20;
    /** Default {@code max_field_name_bytes}. */
    public static final int DEFAULT_MAX_FIELD_NAME_BYTES = 256;
    /** Default {@code max_part_header_bytes}: 16 KiB. */
    public static final int DEFAULT_MAX_PART_HEADER_BYTES = 16 << 10;
    /** Default {@code max_json_depth}. */
    public static final int DEFAULT_MAX_JSON_DEPTH = 32;
    /** Default {@code max_json_tokens}. */
    public static final int DEFAULT_MAX_JSON_TOKENS = 10_000;
    /** Default {@code max_json_body_bytes}: 1 MiB. */
    public static final long DEFAULT_MAX_JSON_BODY_BYTES = 1L << 20;
    /** Default {@code idle_timeout}: Jetty's own default. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);
    /** Default {@code min_request_body_rate}: 16 KiB/s (128 kbit/s, below any mobile uplink that can upload a photo). */
    public static final long DEFAULT_MIN_REQUEST_BODY_RATE = 16L << 10;
    /** Default {@code request_body_rate_window}. */
    public static final Duration DEFAULT_REQUEST_BODY_RATE_WINDOW = Duration.ofSeconds(10);
    /** Default {@code request_body_timeout}: 5 minutes. */
    public static final Duration DEFAULT_REQUEST_BODY_TIMEOUT = Duration.ofMinutes(5);

    /** Checks every bound (counts and sizes at least 1, durations positive, the rate not negative). */
    public RequestLimits {
        positive("maxParts", maxParts);
        positive("maxImages", maxImages);
        positive("maxTextFields", maxTextFields);
        positive("maxTextFieldBytes", maxTextFieldBytes);
        positive("maxTextBytes", maxTextBytes);
        positive("maxFieldNameBytes", maxFieldNameBytes);
        positive("maxPartHeaderBytes", maxPartHeaderBytes);
        positive("maxJsonDepth", maxJsonDepth);
        positive("maxJsonTokens", maxJsonTokens);
        positive("maxJsonBodyBytes", maxJsonBodyBytes);
        positive("idleTimeout", idleTimeout);
        if (minRequestBodyRate < 0) {
            throw new IllegalArgumentException("minRequestBodyRate must not be negative (was " + minRequestBodyRate + ")");
        }
        positive("requestBodyRateWindow", requestBodyRateWindow);
        positive("requestBodyTimeout", requestBodyTimeout);
    }

    /** The defaults (the constants above). */
    public static RequestLimits defaults() {
        return new RequestLimits(DEFAULT_MAX_PARTS, DEFAULT_MAX_IMAGES, DEFAULT_MAX_TEXT_FIELDS,
                DEFAULT_MAX_TEXT_FIELD_BYTES, DEFAULT_MAX_TEXT_BYTES, DEFAULT_MAX_FIELD_NAME_BYTES,
                DEFAULT_MAX_PART_HEADER_BYTES, DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_JSON_TOKENS,
                DEFAULT_MAX_JSON_BODY_BYTES, DEFAULT_IDLE_TIMEOUT, DEFAULT_MIN_REQUEST_BODY_RATE,
                DEFAULT_REQUEST_BODY_RATE_WINDOW, DEFAULT_REQUEST_BODY_TIMEOUT);
    }

    private static void positive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive (was " + value + ")");
        }
    }

    private static void positive(String name, Duration value) {
        Objects.requireNonNull(value, name);
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(name + " must be positive (was " + value + ")");
        }
    }
}
