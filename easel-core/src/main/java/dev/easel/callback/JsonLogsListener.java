package dev.easel.callback;

import dev.easel.config.ConfigException;
import dev.easel.config.EaselConfig;
import dev.easel.config.LitellmSettings;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code json_logs}: the access log. One JSON line ({@link RecordJson}) per finished edit, success or failure,
 * to standard output or to a file rotated by size ({@code easel-requests.log}, then {@code .1} … {@code .K}).
 * Each line is written whole and flushed; thread-safe.
 *
 * <pre>{@code
 * Easel easel = Easel.builder().listener(JsonLogsListener.file(Path.of("logs/easel-requests.log"))).build();
 * }</pre>
 */
public final class JsonLogsListener implements EaselListener, AutoCloseable {

    /** The listener's name in config and metrics. */
    public static final String NAME = "json_logs";
    /** File name used when {@code EASEL_JSON_LOGS_FILE} names a directory. */
    public static final String DEFAULT_FILE_NAME = "easel-requests.log";
    /** Default rotation size: 100 MiB. */
    public static final long DEFAULT_MAX_BYTES = 100L << 20;
    /** Default number of rotated files kept. */
    public static final int DEFAULT_KEEP_FILES = 5;

    private static final Logger LOG = LoggerFactory.getLogger(JsonLogsListener.class);

    private final Path file;
    private final long maxBytes;
    private final int keepFiles;
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private OutputStream out;
    private long size;
    private volatile String lastError;
    private boolean closed;

    private JsonLogsListener(Path file, long maxBytes, int keepFiles) {
        this.file = file;
        this.maxBytes = maxBytes;
        this.keepFiles = keepFiles;
    }

    /** Lines to standard output ({@code System.out} as it is when each line is written). */
    public static JsonLogsListener stdout() {
        return new JsonLogsListener(null, 0, 0);
    }

    /** Lines to {@code file}, rotated at {@value #DEFAULT_MAX_BYTES} bytes keeping {@value #DEFAULT_KEEP_FILES} old files. */
    public static JsonLogsListener file(Path file) {
        return file(file, DEFAULT_MAX_BYTES, DEFAULT_KEEP_FILES);
    }

    /**
     * Lines to {@code file} (parent directories are created). Before a line would take the file past
     * {@code maxBytes}, it becomes {@code file.1} (older ones move to {@code .2} … {@code .keepFiles}, the
     * oldest is deleted); {@code keepFiles} 0 keeps no old file.
     */
    public static JsonLogsListener file(Path file, long maxBytes, int keepFiles) {
        Objects.requireNonNull(file, "file");
        if (maxBytes < 1) {
            throw new IllegalArgumentException("maxBytes must be at least 1 (was " + maxBytes + ")");
        }
        if (keepFiles < 0) {
            throw new IllegalArgumentException("keepFiles must be at least 0 (was " + keepFiles + ")");
        }
        return new JsonLogsListener(file.toAbsolutePath(), maxBytes, keepFiles);
    }

    /**
     * The listener a config asks for, if any: on when {@code litellm_settings.json_logs} is true or
     * {@code json_logs} is in {@code callbacks}, {@code success_callback} or {@code failure_callback}.
     * Standard output unless {@code EASEL_JSON_LOGS_FILE} names a file (or a directory, for
     * {@value #DEFAULT_FILE_NAME} in it); {@code EASEL_JSON_LOGS_MAX_MB} and
     * {@code EASEL_JSON_LOGS_KEEP} set the rotation.
     *
     * @throws ConfigException when a rotation variable is not a number in range
     */
    public static Optional<JsonLogsListener> fromConfig(EaselConfig config, Map<String, String> env) {
        LitellmSettings s = config.litellmSettings();
        boolean on = s.jsonLogs() || s.callbacks().contains(NAME) || s.successCallback().contains(NAME)
                || s.failureCallback().contains(NAME);
        if (!on) {
            return Optional.empty();
        }
        String path = env.get("EASEL_JSON_LOGS_FILE");
        if (path == null || path.isBlank()) {
            return Optional.of(stdout());
        }
        long mb = number(env, "EASEL_JSON_LOGS_MAX_MB", DEFAULT_MAX_BYTES >> 20, 1, 1L << 20);
        long keep = number(env, "EASEL_JSON_LOGS_KEEP", DEFAULT_KEEP_FILES, 0, 1000);
        Path target = Path.of(path.trim());
        if (Files.isDirectory(target)) {
            target = target.resolve(DEFAULT_FILE_NAME);
        }
        return Optional.of(file(target, mb << 20, (int) keep));
    }

    private static long number(Map<String, String> env, String name, long fallback, long min, long max) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new ConfigException(name + " must be a whole number between " + min + " and " + max + " (was '"
                + v + "')");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void onSuccess(EditLogRecord record) {
        write(record);
    }

    @Override
    public void onFailure(EditLogRecord record) {
        write(record);
    }

    /** Where lines go: the file, or empty for standard output. */
    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    /** Lines written so far. */
    public long written() {
        return written.get();
    }

    /** Lines that could not be written (disk full, permissions). */
    public long failures() {
        return failures.get();
    }

    @Override
    public Health health() {
        String e = lastError;
        return e == null ? Health.UP : Health.down(e);
    }

    /** A budget alert is one line too, LiteLLM's webhook event object. */
    @Override
    public void onBudgetAlert(BudgetAlertEvent event) {
        writeLine(event.toJson());
    }

    private void write(EditLogRecord record) {
        writeLine(RecordJson.toJson(record));
    }

    private void writeLine(String json) {
        byte[] line = (json + "\n").getBytes(StandardCharsets.UTF_8);
        if (file == null) {
            PrintStream ps = System.out;
            synchronized (this) {
                ps.write(line, 0, line.length);
                ps.flush();
            }
            written.incrementAndGet();
            return;
        }
        synchronized (this) {
            if (closed) {
                failures.incrementAndGet();
                return;
            }
            try {
                if (out == null) {
                    open();
                }
                if (size > 0 && size + line.length > maxBytes) {
                    rotate();
                }
                out.write(line);
                out.flush();
                size += line.length;
                written.incrementAndGet();
                lastError = null;
            } catch (IOException e) {
                failures.incrementAndGet();
                String error = "cannot write " + file + ": " + e;
                if (!error.equals(lastError)) {
                    LOG.warn("json_logs: {}", error);
                }
                lastError = error;
                closeQuietly();
            }
        }
    }

    private void open() throws IOException {
        Path parent = file.getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE);
        size = Files.size(file);
    }

    private void rotate() throws IOException {
        closeQuietly();
        if (keepFiles == 0) {
            Files.deleteIfExists(file);
        } else {
            Files.deleteIfExists(rotated(keepFiles));
            for (int i = keepFiles - 1; i >= 1; i--) {
                Path from = rotated(i);
                if (Files.exists(from)) {
                    Files.move(from, rotated(i + 1), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Files.move(file, rotated(1), StandardCopyOption.REPLACE_EXISTING);
        }
        open();
    }

    private Path rotated(int n) {
        return file.resolveSibling(file.getFileName() + "." + n);
    }

    private void closeQuietly() {
        if (out != null) {
            try {
                out.close();
            } catch (IOException ignored) {
                // the next write reopens or reports
            }
            out = null;
        }
    }

    /** Closes the file (lines written later are counted as failures). Standard output is left open. */
    @Override
    public synchronized void close() {
        closed = true;
        closeQuietly();
    }

    @Override
    public String toString() {
        return "JsonLogsListener[" + (file == null ? "stdout" : file + ", maxBytes=" + maxBytes + ", keepFiles="
                + keepFiles) + "]";
    }
}
