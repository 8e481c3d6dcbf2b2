package dev.easel;

import dev.easel.image.ImageFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;

/** Writes images under a directory with unguessable names (128 random bits) and returns {@code file:} URLs. */
final class LocalImageStore implements ImageStore {

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;

    LocalImageStore(Path dir) {
        this.dir = dir;
    }

    @Override
    public String store(byte[] image, ImageFormat format) {
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        try {
            Files.createDirectories(dir);
            Path file = dir.resolve("img_" + HexFormat.of().formatHex(id) + "." + format.extension());
            Path tmp = Files.createTempFile(dir, ".img", ".part");
            try {
                Files.write(tmp, image);
                Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
            return file.toUri().toString();
        } catch (IOException e) {
            throw new UncheckedIOException("could not write image to " + dir, e);
        }
    }
}
