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
public sealed interface Blob permits Blob.FileBlob, Blob.BytesBlob {

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
}
