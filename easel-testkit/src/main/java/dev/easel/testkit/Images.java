package dev.easel.testkit;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/** Small real images, encoded once with javax.imageio. */
final class Images {

    static final int WIDTH = 8;
    static final int HEIGHT = 8;
    static final byte[] PNG = encode("png", BufferedImage.TYPE_INT_ARGB);
    static final byte[] JPEG = encode("jpeg", BufferedImage.TYPE_INT_RGB);
    /** An RGB PNG: no alpha channel (dall-e-2 without a mask refuses it). */
    static final byte[] RGB_PNG = encode("png", BufferedImage.TYPE_INT_RGB);

    private Images() {
    }

    /** The bytes for an {@code output_format}; PNG unless {@code jpeg}/{@code jpg} (ImageIO cannot write webp). */
    static byte[] forFormat(String outputFormat) {
        return outputFormat.equals("jpeg") || outputFormat.equals("jpg") ? JPEG : PNG;
    }

    private static byte[] encode(String format, int type) {
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, type);
        for (int y = 0; y < HEIGHT; y++) {
            for (int x = 0; x < WIDTH; x++) {
                int alpha = x == 0 && y == 0 ? 0x00 : 0xFF;
                image.setRGB(x, y, alpha << 24 | (x * 32) << 16 | (y * 32) << 8 | 0x80);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, format, out)) {
                throw new IllegalStateException("no ImageIO writer for " + format);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
