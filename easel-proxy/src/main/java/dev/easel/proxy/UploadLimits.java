package dev.easel.proxy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Upload limits: per image, per request, and upload bytes held at once across all requests. Bytes are
 * reserved as they are read and released when the request ends, so the in-flight total is exact.
 */
final class UploadLimits {

    private final long maxImageBytes;
    private final long maxRequestBytes;
    private final long maxInflightBytes;
    private final long memoryBytes;
    private final AtomicLong inflight = new AtomicLong();
    private final AtomicLong inMemory = new AtomicLong();
    private final AtomicLong peakInMemory = new AtomicLong();

    /**
     * @param memoryBytes upload bytes that may be held in memory at once across requests; parts beyond it go to
     *                    temp files
     */
    UploadLimits(long maxImageBytes, long maxRequestBytes, long maxInflightBytes, long memoryBytes) {
        this.maxImageBytes = maxImageBytes;
        this.maxRequestBytes = maxRequestBytes;
        this.maxInflightBytes = maxInflightBytes;
        this.memoryBytes = memoryBytes;
    }

    /** Upload bytes currently held in memory (not in temp files). */
    long inMemoryBytes() {
        return inMemory.get();
    }

    /** The most upload bytes held in memory at once since the start or the last {@link #resetPeak()}. */
    long peakInMemoryBytes() {
        return peakInMemory.get();
    }

    /** Starts a new peak from what is held now (tests measure one scenario at a time). */
    void resetPeak() {
        peakInMemory.set(inMemory.get());
    }

    long maxImageBytes() {
        return maxImageBytes;
    }

    long maxRequestBytes() {
        return maxRequestBytes;
    }

    /** Upload bytes currently held by requests in flight. */
    long inflightBytes() {
        return inflight.get();
    }

    /** A request's account: counts its bytes against every limit. Close it when the request ends. */
    Account open() {
        return new Account();
    }

    /** One request's upload bytes. */
    final class Account implements AutoCloseable {
        private long requestBytes;
        private long reserved;
        private long memory;

        /**
         * Counts {@code n} more bytes of the request body, as read off the wire (multipart framing and text
         * fields included), against the per-request limit.
         */
        void body(long n) {
            requestBytes += n;
            if (requestBytes > maxRequestBytes) {
                throw ProxyException.tooLarge(null, "request body is larger than the limit of " + maxRequestBytes
                        + " bytes");
            }
        }

        /**
         * Holds {@code n} more bytes of image or mask {@code param} (running size {@code partBytes}): checks
         * the per-image limit and reserves the bytes against the in-flight total.
         */
        void hold(String param, long partBytes, long n) {
            if (partBytes > maxImageBytes) {
                throw ProxyException.tooLarge(param, "'" + param + "' is larger than the limit of "
                        + maxImageBytes + " bytes per image");
            }
            long now = inflight.addAndGet(n);
            reserved += n;
            if (now > maxInflightBytes) {
                throw new ProxyException(429, "rate_limit_error", "too_many_uploads", null,
                        "the proxy is holding its limit of " + maxInflightBytes + " upload bytes; retry shortly",
                        Duration.ofSeconds(1));
            }
        }

        /**
         * Reserves {@code n} bytes of upload memory while the budget allows (false: the caller writes to a temp
         * file instead). Every byte held in memory is reserved, so the budget bounds the memory uploads take.
         */
        boolean holdMemory(long n) {
            long now = inMemory.addAndGet(n);
            if (now > memoryBytes) {
                inMemory.addAndGet(-n);
                return false;
            }
            peakInMemory.accumulateAndGet(now, Math::max);
            memory += n;
            return true;
        }

        /**
         * Counts {@code n} bytes of text fields held in memory. They cannot go to a temp file, so they are counted
         * whatever the budget says (each request's text is bounded by {@code max_text_bytes}); image parts then
         * spill earlier.
         */
        void holdText(long n) {
            long now = inMemory.addAndGet(n);
            peakInMemory.accumulateAndGet(now, Math::max);
            memory += n;
        }

        /** Gives back {@code n} bytes of upload memory (a part moved to a temp file). */
        void releaseMemory(long n) {
            inMemory.addAndGet(-n);
            memory -= n;
        }

        /** Body bytes this request has uploaded so far. */
        long requestBytes() {
            return requestBytes;
        }

        @Override
        public void close() {
            inflight.addAndGet(-reserved);
            reserved = 0;
            inMemory.addAndGet(-memory);
            memory = 0;
        }
    }
}
