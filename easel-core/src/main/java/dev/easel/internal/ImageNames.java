package dev.easel.internal;

import dev.easel.image.ImageFormat;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Names of stored images: 128 random bits in hex and the format's extension ({@code 3f…a1.png}). The name is the
 * whole capability of a served image URL, so it is never derived from anything a client can know.
 *
 * <p>Internal API: public only so that other Easel modules can use it.
 */
public final class ImageNames {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern NAME = Pattern.compile("[0-9a-f]{32}\\.(png|jpg|webp)");

    private ImageNames() {
    }

    /** A new random name for an image of {@code format}. */
    public static String newName(ImageFormat format) {
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        return HexFormat.of().formatHex(id) + "." + format.extension();
    }

    /** Whether {@code name} has the shape of a name {@link #newName} makes (anything else is never looked up). */
    public static boolean isName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /** The format a name's extension stands for. */
    public static Optional<ImageFormat> format(String name) {
        if (!isName(name)) {
            return Optional.empty();
        }
        return ImageFormat.fromName(name.substring(name.lastIndexOf('.') + 1));
    }
}
