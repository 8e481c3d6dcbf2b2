package dev.easel.callback;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One finished span, ready to encode as OTLP. Attribute values are {@code String}, {@code Long},
 * {@code Double} or {@code Boolean}.
 *
 * @param traceId       32 lowercase hex digits
 * @param spanId        16 lowercase hex digits
 * @param parentSpanId  16 hex digits, or null for a root span
 * @param name          span name
 * @param kind          {@link #SERVER} or {@link #CLIENT}
 * @param start         start time
 * @param end           end time
 * @param attributes    attributes in insertion order
 * @param ok            true for status OK, false for ERROR
 * @param statusMessage the error's description, or null
 */
record OtlpSpan(String traceId, String spanId, String parentSpanId, String name, int kind, Instant start,
                Instant end, Map<String, Object> attributes, boolean ok, String statusMessage) {

    /** {@code SPAN_KIND_SERVER}. */
    static final int SERVER = 2;
    /** {@code SPAN_KIND_CLIENT}. */
    static final int CLIENT = 3;
    /** {@code STATUS_CODE_OK}. */
    static final int STATUS_OK = 1;
    /** {@code STATUS_CODE_ERROR}. */
    static final int STATUS_ERROR = 2;

    OtlpSpan {
        attributes = Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
    }

    /** Nanoseconds since the epoch. */
    static long nanos(Instant t) {
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }
}
