package dev.easel.provider;

import dev.easel.http.HttpTransport;

/**
 * The memory budget for reading upstream answers: an adapter reserves what an answer needs before it reads
 * the answer into memory, so a burst of large answers waits its turn instead of exhausting the heap.
 */
@FunctionalInterface
public interface ResponseMemory {

    /**
     * Reserves memory to read an answer of {@code contentLength} bytes (-1 when unknown); close the handle when
     * the answer has been parsed.
     */
    Handle reserve(long contentLength, String provider);

    /** A reservation; closing it gives the memory back. */
    interface Handle extends AutoCloseable {
        @Override
        void close();
    }

    /** The process-wide budget (a quarter of the heap) that every Easel client shares. */
    static ResponseMemory shared() {
        return (length, provider) -> {
            AutoCloseable h = HttpTransport.reserveResponseMemory(length, provider);
            return () -> {
                try {
                    h.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e); // the shared handle's close never throws
                }
            };
        };
    }
}
