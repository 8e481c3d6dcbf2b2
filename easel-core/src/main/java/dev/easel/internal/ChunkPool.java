package dev.easel.internal;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Reused {@value ByteChunks#MAX_CHUNK}-byte arrays for answers read by a request whose end is known: the proxy opens
 * an {@link Arena} around one request (on the thread that runs it); the chunks {@link ByteChunks} takes on that
 * thread meanwhile go back to the pool when the arena closes, after the answer was written to the client. Without
 * an arena (the SDK, whose caller keeps the response; a fan-out's other threads) chunks are plain new arrays.
 *
 * <p>Why: a proxied 1 MB image is 1.4 MB of answer per edit; fresh arrays are zeroed by the JVM when allocated and
 * copied by the collector while they are in flight (docs/benchmarks.md, issue 17). The pool holds at most 1/16 of
 * the heap; beyond it chunks are allocated and left to the collector as before.
 *
 * <p>A chunk handed out may hold an earlier answer's bytes beyond what was read into it: {@link ByteChunks} only
 * ever exposes the bytes it read. Internal API: public only so that other Easel modules can use it.
 */
public final class ChunkPool {

    private static final ThreadLocal<Arena> CURRENT = new ThreadLocal<>();
    private static final ConcurrentLinkedQueue<byte[]> FREE = new ConcurrentLinkedQueue<>();
    private static final AtomicInteger FREE_COUNT = new AtomicInteger();
    private static final java.util.concurrent.atomic.LongAdder REUSED = new java.util.concurrent.atomic.LongAdder();
    private static final int MAX_FREE = (int) Math.min(4096, Runtime.getRuntime().maxMemory() / 16
            / ByteChunks.MAX_CHUNK);

    private ChunkPool() {
    }

    /**
     * Opens an arena on this thread (closed by the same thread, in a {@code finally} or try-with-resources); inside
     * an open one, a no-op arena: the outer one gives the chunks back.
     */
    public static Arena open() {
        if (CURRENT.get() != null) {
            return Arena.NESTED;
        }
        Arena a = new Arena();
        CURRENT.set(a);
        return a;
    }

    /** A chunk of {@value ByteChunks#MAX_CHUNK} bytes: from the pool inside an arena, else new. */
    static byte[] take() {
        Arena a = CURRENT.get();
        if (a == null) {
            return new byte[ByteChunks.MAX_CHUNK];
        }
        byte[] b = FREE.poll();
        if (b != null) {
            FREE_COUNT.decrementAndGet();
            REUSED.increment();
        } else {
            b = new byte[ByteChunks.MAX_CHUNK];
        }
        a.add(b);
        return b;
    }

    /** How many chunks were handed out again since the start (for tests). */
    public static long reused() {
        return REUSED.sum();
    }

    /** How many chunks the pool holds now (for tests). */
    public static int free() {
        return FREE_COUNT.get();
    }

    private static void giveBack(byte[] b) {
        if (FREE_COUNT.incrementAndGet() <= MAX_FREE) {
            FREE.offer(b);
        } else {
            FREE_COUNT.decrementAndGet(); // full: left to the collector
        }
    }

    /**
     * The chunks taken by one request. Close it only once nothing refers to them any more: the answer written to
     * the client (or abandoned) and no response object of that request kept anywhere.
     */
    public static final class Arena implements AutoCloseable {
        static final Arena NESTED = new Arena();

        private byte[][] taken = new byte[32][];
        private int count;

        private Arena() {
        }

        private void add(byte[] b) {
            if (count == taken.length) {
                taken = java.util.Arrays.copyOf(taken, count * 2);
            }
            taken[count++] = b;
        }

        @Override
        public void close() {
            if (this == NESTED) {
                return;
            }
            if (CURRENT.get() == this) {
                CURRENT.remove();
            }
            for (int i = 0; i < count; i++) {
                giveBack(taken[i]);
                taken[i] = null;
            }
            count = 0;
        }
    }
}
