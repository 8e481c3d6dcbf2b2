package dev.easel.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The pooled arrays one upload is held in (the proxy's spool), and who still reads them: they go back to the
 * {@link ChunkPool} only when the owner has closed the lease <em>and</em> every reader it was lent to has said it is
 * done — an upstream HTTP client may still be writing a request body after the request that made it has ended (an
 * aborted or timed-out call, a provider that answered before it read the whole body), and an array given back while
 * it writes would put another request's bytes on the wire.
 *
 * <p>So a reader that runs beyond the owner's own calls must either be tracked ({@link #enter} before its first read,
 * {@link #exit} after its last) or mark the lease {@link #poison poisoned}, which leaves the arrays to the collector:
 * a body subscriber that cannot tell when its client released every buffer (the JDK's {@code HttpClient}), a body
 * encoded while it is sent. Reads on the owner's thread before it closes the lease need nothing.
 *
 * <p>Internal API: public only so that other Easel modules can use it.
 */
public final class ChunkLease {

    private final List<byte[]> arrays = new ArrayList<>();
    /** The owner (until {@link #close}) plus every tracked reader; 0 = given back (or left to the collector). */
    private final AtomicInteger users = new AtomicInteger(1);
    private volatile boolean poisoned;
    private boolean closed;

    /**
     * An array of {@code size} bytes (a size the pool holds: {@link ChunkPool#pooledSize}), from the pool when it has
     * one; it may hold an earlier upload's bytes. Owner only, before {@link #close}.
     */
    public byte[] take(int size) {
        if (closed) {
            throw new IllegalStateException("the lease is closed");
        }
        byte[] b = ChunkPool.takeSized(size);
        synchronized (arrays) {
            arrays.add(b);
        }
        return b;
    }

    /**
     * Gives back at once arrays of this lease that no reader has seen (the owner copied them elsewhere, e.g. to a temp
     * file). Owner only, before {@link #close}.
     */
    public void recycle(List<byte[]> unseen) {
        synchronized (arrays) {
            for (byte[] b : unseen) {
                for (int i = arrays.size() - 1; i >= 0; i--) {
                    if (arrays.get(i) == b) {
                        arrays.remove(i);
                        if (!poisoned) {
                            ChunkPool.giveBack(b);
                        }
                        break;
                    }
                }
            }
        }
    }

    /**
     * A tracked reader starts reading; it must call {@link #exit} once it, and anything it handed the arrays to, is
     * done with them.
     *
     * @throws IllegalStateException when the arrays were given back already (a reader started after the owner and
     *     every earlier reader had finished: a bug, and the arrays may hold another upload's bytes by now)
     */
    public void enter() {
        users.getAndUpdate(n -> {
            if (n == 0) {
                throw new IllegalStateException("the upload's memory was given back before this read started");
            }
            return n + 1;
        });
    }

    /** A tracked reader is done. */
    public void exit() {
        release();
    }

    /** A reader that cannot be tracked gets the arrays: they are never given back to the pool. */
    public void poison() {
        if (users.get() == 0) {
            throw new IllegalStateException("the upload's memory was given back before this read started");
        }
        poisoned = true;
    }

    /** Whether the arrays are left to the collector (tests). */
    public boolean poisoned() {
        return poisoned;
    }

    /** Whether the arrays have been given back, or left to the collector (tests). */
    public boolean released() {
        return users.get() == 0;
    }

    /** The owner is done; the arrays go back now or when the last tracked reader exits. Idempotent. */
    public void close() {
        if (!closed) {
            closed = true;
            release();
        }
    }

    private void release() {
        int left = users.decrementAndGet();
        if (left < 0) {
            throw new IllegalStateException("more exits than enters");
        }
        if (left == 0) {
            synchronized (arrays) {
                if (!poisoned) {
                    for (byte[] b : arrays) {
                        ChunkPool.giveBack(b);
                    }
                }
                arrays.clear();
            }
        }
    }
}
