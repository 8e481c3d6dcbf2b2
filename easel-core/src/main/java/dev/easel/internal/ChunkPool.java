package dev.easel.internal;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Reused byte arrays, in five sizes from {@value #MIN_SIZE} to {@value #MAX_SIZE} bytes (powers of two), for the
 * proxy's request bodies and answers:
 * <ul>
 *   <li>answers ({@value ByteChunks#MAX_CHUNK}-byte chunks read by {@link ByteChunks}) inside an {@link Arena} the
 *       proxy opens around one request on the thread that runs it; they go back when the arena closes, after the
 *       answer was written to the client. Without an arena (the SDK, whose caller keeps the response; a fan-out's
 *       other threads) chunks are plain new arrays;</li>
 *   <li>uploads: a {@link ChunkLease} takes its chunks with {@link #takeSized} and gives them back only once nobody
 *       reads them any more, the upstream HTTP client included.</li>
 * </ul>
 *
 * <p>Why: a proxied 1 MB image is 1.4 MB of answer per edit and a 4 MB upload 4 MB of spool; fresh arrays are zeroed
 * by the JVM when allocated and copied by the collector while they are in flight (docs/benchmarks.md, issue 17). The
 * pool holds at most 1/16 of the heap (and 256 MiB); beyond it arrays are left to the collector as before.
 *
 * <p>An array handed out may hold an earlier request's bytes: {@link ByteChunks} and the upload spool only ever
 * expose the bytes they wrote into it. Internal API: public only so that other Easel modules can use it.
 */
public final class ChunkPool {

    /** The smallest pooled size. */
    public static final int MIN_SIZE = 16 * 1024;
    /** The largest pooled size (below G1's humongous-object size for the launcher's heap). */
    public static final int MAX_SIZE = 256 * 1024;

    private static final ThreadLocal<Arena> CURRENT = new ThreadLocal<>();
    private static final int CLASSES = Integer.numberOfTrailingZeros(MAX_SIZE / MIN_SIZE) + 1;
    @SuppressWarnings("unchecked")
    private static final ConcurrentLinkedQueue<byte[]>[] FREE = new ConcurrentLinkedQueue[CLASSES];
    private static final AtomicLong FREE_BYTES = new AtomicLong();
    private static final AtomicInteger FREE_COUNT = new AtomicInteger();
    private static final LongAdder REUSED = new LongAdder();
    private static final LongAdder[] REUSED_BY_SIZE = new LongAdder[CLASSES];
    private static final long MAX_FREE_BYTES = Math.min(256L << 20, Runtime.getRuntime().maxMemory() / 16);

    static {
        for (int i = 0; i < CLASSES; i++) {
            FREE[i] = new ConcurrentLinkedQueue<>();
            REUSED_BY_SIZE[i] = new LongAdder();
        }
    }

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
        byte[] b = takeSized(ByteChunks.MAX_CHUNK);
        a.add(b);
        return b;
    }

    /**
     * An array of {@code size} bytes (a power of two from {@value #MIN_SIZE} to {@value #MAX_SIZE}), from the pool when
     * it holds one; the caller decides when it may go back ({@link #giveBack}).
     */
    public static byte[] takeSized(int size) {
        int c = sizeClass(size);
        byte[] b = FREE[c].poll();
        if (b == null) {
            return new byte[size];
        }
        FREE_BYTES.addAndGet(-size);
        FREE_COUNT.decrementAndGet();
        REUSED.increment();
        REUSED_BY_SIZE[c].increment();
        return b;
    }

    /** Whether arrays of {@code size} bytes are pooled. */
    public static boolean pooledSize(int size) {
        return size >= MIN_SIZE && size <= MAX_SIZE && Integer.bitCount(size) == 1;
    }

    private static int sizeClass(int size) {
        if (!pooledSize(size)) {
            throw new IllegalArgumentException("not a pooled size: " + size);
        }
        return Integer.numberOfTrailingZeros(size / MIN_SIZE);
    }

    /** How many arrays were handed out again since the start (for tests). */
    public static long reused() {
        return REUSED.sum();
    }

    /** How many arrays of {@code size} bytes were handed out again since the start (for tests). */
    public static long reused(int size) {
        return REUSED_BY_SIZE[sizeClass(size)].sum();
    }

    /** How many arrays the pool holds now (for tests). */
    public static int free() {
        return FREE_COUNT.get();
    }

    /**
     * Puts an array taken with {@link #takeSized} (or {@link #take}) back, once nothing reads or writes it any more;
     * when the pool is full it is left to the collector.
     */
    static void giveBack(byte[] b) {
        int c = sizeClass(b.length);
        if (FREE_BYTES.addAndGet(b.length) <= MAX_FREE_BYTES) {
            FREE_COUNT.incrementAndGet();
            FREE[c].offer(b);
        } else {
            FREE_BYTES.addAndGet(-b.length); // full: left to the collector
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
