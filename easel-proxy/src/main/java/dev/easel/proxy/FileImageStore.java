package dev.easel.proxy;

import dev.easel.ImageStore;
import dev.easel.image.ImageFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Images the proxy serves as URLs (for clients that asked {@code response_format=url} from models that
 * only return base64). Names carry 128 random bits; files expire after the TTL (OpenAI's URLs last 60
 * minutes). {@link #store} returns a {@code easel-image:} reference that the proxy turns into an absolute
 * URL of {@code GET /v1/images/files/{name}} when it writes the response.
 */
final class FileImageStore implements ImageStore {

    static final String SCHEME = "easel-image:";
    static final Pattern NAME = Pattern.compile("[0-9a-f]{32}\\.(png|jpg|webp)");

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final Duration ttl;
    private final Clock clock;

    FileImageStore(Path dir, Duration ttl, Clock clock) {
        this.dir = dir;
        this.ttl = ttl;
        this.clock = clock;
    }

    @Override
    public String store(byte[] image, ImageFormat format) {
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        String name = HexFormat.of().formatHex(id) + "." + format.extension();
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".tmp-", ".part");
            try {
                Files.write(tmp, image);
                // the expiry time is the file's modification time: no index to keep in sync
                Files.setLastModifiedTime(tmp, FileTime.from(clock.instant().plus(ttl)));
                Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not store image", e);
        }
        return SCHEME + name;
    }

    /** The file for a served name, if it exists and has not expired. */
    Optional<Path> find(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            return Optional.empty();
        }
        Path f = dir.resolve(name);
        try {
            if (Files.isRegularFile(f) && Files.getLastModifiedTime(f).toInstant().isAfter(clock.instant())) {
                return Optional.of(f);
            }
        } catch (IOException ignored) {
            // gone between the two calls
        }
        return Optional.empty();
    }

    /** Deletes expired images; returns how many. */
    int purgeExpired() {
        try {
            return purge();
        } catch (RuntimeException e) {
            // a scheduled task that throws is never run again: keep purging next time
            return 0;
        }
    }

    private int purge() {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        Instant now = clock.instant();
        int n = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                try {
                    Instant expiry = Files.getLastModifiedTime(f).toInstant();
                    boolean served = NAME.matcher(f.getFileName().toString()).matches();
                    // unfinished temp files carry their creation time: give them an hour
                    if (served ? expiry.isBefore(now) : expiry.plus(Duration.ofHours(1)).isBefore(now)) {
                        Files.deleteIfExists(f);
                        n++;
                    }
                } catch (IOException ignored) {
                    // next round
                }
            }
        } catch (IOException ignored) {
            // directory vanished
        }
        return n;
    }

    static String contentType(String name) {
        if (name.endsWith(".png")) {
            return "image/png";
        }
        if (name.endsWith(".jpg")) {
            return "image/jpeg";
        }
        return "image/webp";
    }
}
