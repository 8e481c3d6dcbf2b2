package dev.easel.proxy;

import dev.easel.internal.Blob;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One request's uploaded parts: small parts stay in memory, larger ones go to temp files. Every file is
 * deleted by {@link #close()}, which the request path calls whatever the outcome.
 */
final class Spool implements AutoCloseable {

    /** Parts up to this size stay in memory. */
    static final int MEMORY_THRESHOLD = 64 * 1024;

    private final Path dir;
    private final UploadLimits.Account account;
    private final List<Path> files = new ArrayList<>();
    private final List<Writer> writers = new ArrayList<>();

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

    /** Writes one part, in memory first, to a temp file once it passes the threshold. */
    final class Writer extends OutputStream {
        private final String param;
        private ByteArrayOutputStream memory = new ByteArrayOutputStream();
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
            if (file == null && size > MEMORY_THRESHOLD) {
                try {
                    file = Files.createTempFile(dir, "upload-", ".part");
                } catch (java.nio.file.NoSuchFileException e) {
                    Files.createDirectories(dir); // removed while running: recreate (not on every part: it throws)
                    file = Files.createTempFile(dir, "upload-", ".part");
                }
                files.add(file);
                out = Files.newOutputStream(file);
                memory.writeTo(out);
                memory = null;
            }
            if (file != null) {
                out.write(b, off, len);
            } else {
                memory.write(b, off, len);
            }
        }

        /** The part's bytes (closes the file). */
        Blob finish() throws IOException {
            if (file != null) {
                out.close();
                return Blob.ofFile(file);
            }
            return Blob.ofBytes(memory.toByteArray());
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
    }
}
