package dev.easel.proxy;

import dev.easel.internal.Blob;
import dev.easel.internal.ChunkLease;
import dev.easel.internal.ChunkPool;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One request's uploaded parts, held in memory while the proxy's upload memory budget
 * ({@code upload_memory_bytes}) allows and in temp files beyond it. Every file is deleted and every byte of the
 * budget given back by {@link #close()}, which the request path calls whatever the outcome.
 *
 * <p>Memory is a list of chunks (the first one sized to the part's first bytes, at most 16 KiB, then 16 KiB doubling
 * to 256 KiB, below G1's humongous-object size; after a smaller first chunk the next is 16 KiB), so a part is never
 * copied to grow and never held as one huge array; the upstream request sends the chunks as they are. Every chunk's
 * whole capacity is reserved from the budget before it is allocated, the first one too: when the budget is used up, even a small part goes to disk, so
 * memory stays within the budget whatever the number of parts.
 *
 * <p>Chunks of 16 KiB and more come from the {@link ChunkPool} through this request's {@link ChunkLease}: they go back
 * when the spool is closed and the upstream HTTP client has released every buffer of them (or never, when a reader
 * that cannot tell poisons the lease). Chunks moved to a temp file by a spill go back at once: nothing has seen them.
 */
final class Spool implements AutoCloseable {

    /** The largest first chunk; a smaller first write gets a chunk of its own size (rounded up to 256 bytes). */
    private static final int FIRST_CHUNK = ChunkPool.MIN_SIZE;
    private static final int MIN_CHUNK = 256;
    private static final int MAX_CHUNK = ChunkPool.MAX_SIZE;

    private final Path dir;
    private final UploadLimits.Account account;
    private final List<Path> files = new ArrayList<>();
    private final List<Writer> writers = new ArrayList<>();
    private final ChunkLease lease = new ChunkLease();

    Spool(Path dir, UploadLimits.Account account) {
        this.dir = dir;
        this.account = account;
    }

    /** A writer for one image or mask part (checked against the per-image and in-flight limits). */
    Writer writer(String param) {
        Writer w = new Writer(param);
        writers.add(w);
        return w;
    }

    /** Writes one part: into memory chunks while the budget allows, then to a temp file. */
    final class Writer extends OutputStream {
        private final String param;
        private final List<byte[]> chunks = new ArrayList<>();
        private int fill; // bytes used in the last chunk
        private long memory; // budget held by the chunks
        private Path file;
        private OutputStream out;
        private long size;

        Writer(String param) {
            this.param = param;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            size += len;
            account.hold(param, size, len);
            while (file == null && len > 0) {
                byte[] last = chunks.isEmpty() ? null : chunks.get(chunks.size() - 1);
                if (last == null || fill == last.length) {
                    // after a small first chunk, 16 KiB: every later size is then one the pool holds
                    int next = last == null ? firstChunk(len)
                            : last.length < FIRST_CHUNK ? FIRST_CHUNK : Math.min(MAX_CHUNK, last.length * 2);
                    if (!account.holdMemory(next)) {
                        spill();
                        break;
                    }
                    memory += next;
                    last = ChunkPool.pooledSize(next) ? lease.take(next) : new byte[next];
                    chunks.add(last);
                    fill = 0;
                }
                int n = Math.min(len, last.length - fill);
                System.arraycopy(b, off, last, fill, n);
                fill += n;
                off += n;
                len -= n;
            }
            if (file != null && len > 0) {
                out.write(b, off, len);
            }
        }

        /** A tiny part (the common case of a part bomb) must not take a 16 KiB chunk for a few bytes. */
        private static int firstChunk(int len) {
            int want = Math.min(len, FIRST_CHUNK);
            return Math.max(MIN_CHUNK, (want + MIN_CHUNK - 1) / MIN_CHUNK * MIN_CHUNK);
        }

        /** Moves what is in memory to a new temp file, which takes every further byte. */
        private void spill() throws IOException {
            try {
                file = Files.createTempFile(dir, "upload-", ".part");
            } catch (java.nio.file.NoSuchFileException e) {
                Files.createDirectories(dir); // removed while running: recreate (not on every part: it throws)
                file = Files.createTempFile(dir, "upload-", ".part");
            }
            files.add(file);
            out = Files.newOutputStream(file);
            for (int i = 0; i < chunks.size(); i++) {
                out.write(chunks.get(i), 0, i == chunks.size() - 1 ? fill : chunks.get(i).length);
            }
            lease.recycle(chunks);
            chunks.clear();
            account.releaseMemory(memory);
            memory = 0;
        }

        /** The part's bytes (closes the file). */
        Blob finish() throws IOException {
            if (file != null) {
                out.close();
                return Blob.ofFile(file);
            }
            if (chunks.isEmpty()) {
                return Blob.ofBytes(new byte[0]);
            }
            if (chunks.size() == 1 && fill == chunks.get(0).length && !ChunkPool.pooledSize(fill)) {
                return Blob.ofBytes(chunks.get(0)); // small, not pooled: nobody else will ever write it
            }
            return Blob.ofChunks(List.copyOf(chunks), fill, lease);
        }

        /** Bytes written. */
        long size() {
            return size;
        }

        @Override
        public void close() throws IOException {
            if (out != null) {
                out.close();
            }
        }
    }

    /** Temp files currently held (tests). */
    List<Path> files() {
        return List.copyOf(files);
    }

    @Override
    public void close() {
        for (Writer w : writers) {
            try {
                w.close();
            } catch (IOException ignored) {
                // the file is deleted next
            }
        }
        writers.clear();
        for (Path f : files) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                f.toFile().deleteOnExit();
            }
        }
        files.clear();
        account.close();
        lease.close(); // the chunks go back now, or once the upstream client has released the last of them
    }

    /** This request's pooled chunks (tests). */
    ChunkLease lease() {
        return lease;
    }
}
