package dev.easel.proxy;

import dev.easel.ServableImageStore;
import dev.easel.StoredImage;
import dev.easel.image.ImageFormat;
import dev.easel.internal.ImageNames;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Images the proxy serves as URLs (for clients that asked {@code response_format=url} from models that
 * only return base64), as files under {@code <data-dir>/images}: the default store, read only by the proxy that
 * wrote them (a fleet uses the S3 store). Names carry 128 random bits; files expire after the TTL (OpenAI's URLs
 * last 60 minutes). {@link #store} returns a {@code easel-image:} reference that the proxy turns into an absolute
 * URL of {@code GET /v1/images/files/{name}} when it writes the response.
 */
final class FileImageStore implements ServableImageStore {

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
        String name = ImageNames.newName(format);
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
            throw new UncheckedIOException("could not store image in " + dir + ": " + e.getMessage(), e);
        }
        return REFERENCE_PREFIX + name;
    }

    @Override
    public Optional<StoredImage> stat(String name) {
        return describe(name).map(a -> StoredImage.described(type(name), a.size(),
                a.lastModifiedTime().toInstant()));
    }

    @Override
    public Optional<StoredImage> open(String name) {
        Optional<BasicFileAttributes> attributes = describe(name);
        if (attributes.isEmpty()) {
            return Optional.empty();
        }
        InputStream in;
        try {
            in = Files.newInputStream(dir.resolve(name));
        } catch (NoSuchFileException e) {
            return Optional.empty(); // swept between the two calls
        } catch (IOException e) {
            throw new UncheckedIOException("could not read image " + name + " from " + dir + ": " + e.getMessage(), e);
        }
        BasicFileAttributes a = attributes.get();
        return Optional.of(StoredImage.of(type(name), a.size(), a.lastModifiedTime().toInstant(), in));
    }

    /** The file's attributes, if it has a served name, exists and has not expired. */
    private Optional<BasicFileAttributes> describe(String name) {
        if (!ImageNames.isName(name)) {
            return Optional.empty();
        }
        try {
            BasicFileAttributes a = Files.readAttributes(dir.resolve(name), BasicFileAttributes.class);
            if (a.isRegularFile() && a.lastModifiedTime().toInstant().isAfter(clock.instant())) {
                return Optional.of(a);
            }
            return Optional.empty();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("could not read image " + name + " from " + dir + ": " + e.getMessage(), e);
        }
    }

    private static String type(String name) {
        return ImageNames.format(name).map(ImageFormat::mimeType).orElseThrow();
    }

    @Override
    public int deleteExpired() {
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
                    boolean served = ImageNames.isName(f.getFileName().toString());
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
}
