package dev.easel.proxy;

import dev.easel.EaselException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * Ownership of a data directory: one proxy process at a time. Two proxies in one directory would share the spend
 * journal, the SQLite file, the upload spool and the image store unsafely (measured: a 0.10 USD budget ended at
 * 0.1326), so the second is refused at start. An operating-system file lock on {@code easel.lock}: it goes with the
 * process, so a crashed proxy leaves nothing to clean up. The file says who holds it, for the refusal's message.
 */
final class DataDirLock implements AutoCloseable {

    /** The lock file in the data directory. */
    static final String FILE = "easel.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private DataDirLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes {@code dir} for this process (creating it when missing).
     *
     * @throws EaselException {@code config_error} when another process (or another proxy in this one) holds it
     */
    static DataDirLock acquire(Path dir) {
        Path file = dir.resolve(FILE);
        FileChannel channel = null;
        try {
            Files.createDirectories(dir);
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // held by another proxy in this very process
            }
            if (lock == null) {
                String holder = holder(channel);
                channel.close();
                throw new EaselException("data directory " + dir + " is in use by another Easel proxy ("
                        + holder + "; lock file " + file + "): give each proxy its own data directory (--data-dir), "
                        + "or run replicas on a shared database_url", "config_error");
            }
            byte[] who = ("pid " + ProcessHandle.current().pid() + ", started " + Instant.now())
                    .getBytes(StandardCharsets.UTF_8);
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(who), 0);
            channel.force(false);
            return new DataDirLock(channel, lock);
        } catch (IOException e) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // the open failure is the one to report
                }
            }
            throw new EaselException("cannot lock data directory " + dir + ": " + e.getMessage(), "config_error");
        }
    }

    /** What the holder wrote into the lock file, or a plain phrase when it cannot be read. */
    private static String holder(FileChannel channel) {
        try {
            ByteBuffer b = ByteBuffer.allocate(200);
            int n = channel.read(b, 0);
            String text = n <= 0 ? "" : new String(b.array(), 0, n, StandardCharsets.UTF_8).strip();
            return text.isEmpty() ? "holder unknown" : text;
        } catch (IOException e) {
            return "holder unknown";
        }
    }

    /** Gives the directory back (the file stays: deleting it would race with the next owner). */
    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel below releases it as well
        } finally {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing more to give back
            }
        }
    }
}
