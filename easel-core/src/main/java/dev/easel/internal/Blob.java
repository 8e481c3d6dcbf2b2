package dev.easel.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * Replayable bytes: a file or an in-memory array. Every read opens a fresh stream, so a request body
 * built from blobs can be sent again (retries, fallbacks) without buffering it.
 *
 * <p>Internal API: public only so that other Easel modules can use it.
 */
public sealed interface Blob permits Blob.FileBlob, Blob.BytesBlob, Blob.ChunksBlob {

    /** Size in bytes. */
    long size();

    /** A new stream over all bytes. */
    InputStream open() throws IOException;

    /** The backing file, when there is one (lets HTTP bodies stream straight from disk). */
    Optional<Path> path();

    /** Up to {@code n} first bytes. */
    default byte[] head(int n) {
        try (InputStream in = open()) {
            return in.readNBytes(n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Up to {@code n} last bytes. */
    byte[] tail(int n);

    /** All bytes in memory; use only where the size is already known to be bounded. */
    default byte[] readAll() {
        try (InputStream in = open()) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A blob over a file that must exist for as long as the blob is used. */
    static Blob ofFile(Path path) {
        try {
            return new FileBlob(path, Files.size(path));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A blob over an array (not copied: do not change it afterwards). */
    static Blob ofBytes(byte[] bytes) {
        return new BytesBlob(bytes);
    }

    /**
     * A blob over chunks of memory: every chunk full except the last, which holds {@code lastLength} bytes
     * (not copied: do not change them afterwards).
     */
    static Blob ofChunks(java.util.List<byte[]> chunks, int lastLength) {
        return new ChunksBlob(chunks, lastLength, null);
    }

    /**
     * A blob over pooled chunks of memory held by {@code lease} (see {@link ChunkLease}: whatever reads them after the
     * owner's own calls, a request body sent by an HTTP client above all, must be tracked by the lease or poison it).
     */
    static Blob ofChunks(java.util.List<byte[]> chunks, int lastLength, ChunkLease lease) {
        return new ChunksBlob(chunks, lastLength, java.util.Objects.requireNonNull(lease, "lease"));
    }

    /** File-backed blob. */
    record FileBlob(Path file, long size) implements Blob {
        public FileBlob {
            Objects.requireNonNull(file, "file");
        }

        @Override
        public InputStream open() throws IOException {
            return Files.newInputStream(file);
        }

        @Override
        public Optional<Path> path() {
            return Optional.of(file);
        }

        @Override
        public byte[] tail(int n) {
            try (var ch = Files.newByteChannel(file)) {
                long start = Math.max(0, size - n);
                ch.position(start);
                var buf = java.nio.ByteBuffer.allocate((int) (size - start));
                while (buf.hasRemaining() && ch.read(buf) >= 0) {
                    // keep reading
                }
                return Arrays.copyOf(buf.array(), buf.position());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** Array-backed blob. */
    record BytesBlob(byte[] bytes) implements Blob {
        public BytesBlob {
            Objects.requireNonNull(bytes, "bytes");
        }

        @Override
        public long size() {
            return bytes.length;
        }

        @Override
        public InputStream open() {
            return new java.io.ByteArrayInputStream(bytes);
        }

        @Override
        public Optional<Path> path() {
            return Optional.empty();
        }

        @Override
        public byte[] head(int n) {
            return Arrays.copyOf(bytes, Math.min(n, bytes.length));
        }

        @Override
        public byte[] tail(int n) {
            return Arrays.copyOfRange(bytes, Math.max(0, bytes.length - n), bytes.length);
        }

        @Override
        public byte[] readAll() {
            return bytes;
        }
    }

    /** Blob over memory chunks (see {@link #ofChunks}); {@code lease} is null when they are not pooled. */
    record ChunksBlob(java.util.List<byte[]> chunks, int lastLength, ChunkLease lease) implements Blob {
        public ChunksBlob {
            chunks = java.util.List.copyOf(chunks);
            if (chunks.isEmpty() || lastLength < 0 || lastLength > chunks.get(chunks.size() - 1).length) {
                throw new IllegalArgumentException("chunks need a last chunk holding lastLength bytes");
            }
        }

        /** Bytes used in chunk {@code i}. */
        public int length(int i) {
            return i == chunks.size() - 1 ? lastLength : chunks.get(i).length;
        }

        @Override
        public long size() {
            long n = 0;
            for (int i = 0; i < chunks.size(); i++) {
                n += length(i);
            }
            return n;
        }

        @Override
        public InputStream open() {
            java.util.List<InputStream> parts = new java.util.ArrayList<>(chunks.size());
            for (int i = 0; i < chunks.size(); i++) {
                parts.add(new java.io.ByteArrayInputStream(chunks.get(i), 0, length(i)));
            }
            return new java.io.SequenceInputStream(java.util.Collections.enumeration(parts));
        }

        @Override
        public Optional<Path> path() {
            return Optional.empty();
        }

        @Override
        public byte[] tail(int n) {
            long size = size();
            int want = (int) Math.min(n, size);
            byte[] out = new byte[want];
            long skip = size - want;
            int pos = 0;
            for (int i = 0; i < chunks.size() && pos < want; i++) {
                int len = length(i);
                if (skip >= len) {
                    skip -= len;
                    continue;
                }
                int from = (int) skip;
                int k = Math.min(len - from, want - pos);
                System.arraycopy(chunks.get(i), from, out, pos, k);
                pos += k;
                skip = 0;
            }
            return out;
        }
    }
}
