package dev.easel.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A body held as a few arrays of at most {@value #MAX_CHUNK} bytes instead of one: a provider's answer of
 * megabytes in one array is a "humongous" object for G1 (larger than half a heap region, 1 MB regions by
 * default), allocated outside the young generation and the trigger of most collections under load
 * (docs/benchmarks.md, issue 17). Chunks of {@value #MAX_CHUNK} bytes are ordinary young objects. A chunk is never
 * written again once read, so slices of it can be handed out as they are; a body {@linkplain #reading being read}
 * only grows at its end.
 *
 * <p>Internal API: public only so that other Easel modules can use it.
 */
public final class ByteChunks {

    /** Largest chunk: far below half of G1's smallest region (1 MB), so never humongous; scanned while in cache. */
    public static final int MAX_CHUNK = 64 * 1024;

    private byte[][] chunks;
    private int[] lengths;
    private long[] starts;
    private int count;
    private long length;
    // while reading: where the rest comes from (null once it has ended), and how much of it was announced
    private InputStream in;
    private long remaining;

    private ByteChunks(int capacity) {
        this.chunks = new byte[Math.max(1, capacity)][];
        this.lengths = new int[chunks.length];
        this.starts = new long[chunks.length];
    }

    /** One array as one chunk (not copied: do not change it afterwards). */
    public static ByteChunks of(byte[] bytes) {
        return of(List.of(Objects.requireNonNull(bytes, "bytes")));
    }

    /** Arrays as chunks, in order (not copied: do not change them afterwards). */
    public static ByteChunks of(List<byte[]> parts) {
        ByteChunks c = new ByteChunks(parts.size());
        parts.forEach(p -> c.add(p, p.length));
        return c;
    }

    /**
     * A body to be read from {@code in} as it is used: {@link #pull()} reads the next chunk (a parser pulls them as
     * it goes, so each chunk is scanned while it is still in the CPU's cache, and while the rest arrives). Read it
     * from one thread until {@link #pull()} returns false; then it no longer changes.
     */
    public static ByteChunks reading(InputStream in, long contentLength) {
        ByteChunks c = new ByteChunks(contentLength > 0 ? (int) Math.min(1024, contentLength / MAX_CHUNK + 1) : 8);
        c.in = Objects.requireNonNull(in, "in");
        c.remaining = contentLength;
        return c;
    }

    /** Reads the next chunk of a body being {@linkplain #reading read}; false at its end (and for a whole body). */
    public boolean pull() throws IOException {
        if (in == null) {
            return false;
        }
        byte[] chunk;
        int size;
        int n;
        if (remaining == 0) { // all that was announced: one byte tells whether the body goes on
            int next = in.read();
            if (next < 0) {
                in = null;
                return false;
            }
            remaining = -1;
            size = MAX_CHUNK;
            chunk = ChunkPool.take();
            chunk[0] = (byte) next;
            n = 1 + in.readNBytes(chunk, 1, size - 1);
        } else {
            size = remaining > 0 ? (int) Math.min(MAX_CHUNK, remaining) : MAX_CHUNK;
            chunk = ChunkPool.take(); // MAX_CHUNK bytes, the first size of them read
            n = in.readNBytes(chunk, 0, size);
        }
        if (n > 0) {
            add(chunk, n);
        }
        if (n < size) {
            in = null; // the end
            return n > 0;
        }
        if (remaining > 0) {
            remaining -= n;
        }
        return true;
    }

    private void add(byte[] chunk, int n) {
        if (count == chunks.length) {
            int grown = count * 2;
            chunks = java.util.Arrays.copyOf(chunks, grown);
            lengths = java.util.Arrays.copyOf(lengths, grown);
            starts = java.util.Arrays.copyOf(starts, grown);
        }
        chunks[count] = chunk;
        lengths[count] = n;
        starts[count] = length;
        count++;
        length += n;
    }

    /** How many bytes. */
    public long length() {
        return length;
    }

    /** How many chunks. */
    public int count() {
        return count;
    }

    /** Chunk {@code i}'s array (read it, never write it); its first {@link #chunkLength} bytes are the data. */
    public byte[] chunk(int i) {
        return chunks[i];
    }

    /** How many bytes of chunk {@code i} are data. */
    public int chunkLength(int i) {
        return lengths[i];
    }

    /** Where chunk {@code i} starts in the whole. */
    public long chunkStart(int i) {
        return starts[i];
    }

    /** Bytes {@code [from, to)} as one new array. */
    public byte[] copy(long from, long to) {
        Objects.checkFromToIndex(from, to, length);
        if (to - from > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a range of " + (to - from) + " bytes does not fit one array");
        }
        byte[] out = new byte[(int) (to - from)];
        int w = 0;
        for (ByteBuffer s : slices(from, to)) {
            int n = s.remaining();
            System.arraycopy(s.array(), s.arrayOffset() + s.position(), out, w, n);
            w += n;
        }
        return out;
    }

    /**
     * Bytes {@code [from, to)} as slices of the chunks, in order, no copy (heap buffers over the chunks'
     * arrays: do not write through them).
     */
    public List<ByteBuffer> slices(long from, long to) {
        Objects.checkFromToIndex(from, to, length);
        List<ByteBuffer> out = new ArrayList<>(2);
        if (from == to) {
            return out;
        }
        int i = chunkAt(from);
        long at = from;
        while (at < to) {
            int off = (int) (at - starts[i]);
            int n = (int) Math.min(lengths[i] - off, to - at);
            out.add(ByteBuffer.wrap(chunks[i], off, n).slice());
            at += n;
            i++;
        }
        return out;
    }

    /** Writes bytes {@code [from, to)} to {@code out}, one write per chunk they span. */
    public void writeTo(OutputStream out, long from, long to) throws IOException {
        for (ByteBuffer s : slices(from, to)) {
            out.write(s.array(), s.arrayOffset() + s.position(), s.remaining());
        }
    }

    /** The chunk holding byte {@code at} ({@code 0 <= at < length}). */
    int chunkAt(long at) {
        int lo = 0;
        int hi = count - 1;
        while (lo < hi) { // the last chunk whose start is <= at
            int mid = (lo + hi + 1) >>> 1;
            if (starts[mid] <= at) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }
}
