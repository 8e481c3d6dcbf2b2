package dev.easel.clients;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Random;
import javax.imageio.ImageIO;

/** Small real images for the client cases (the proxy's WireImages is not visible from this module). */
final class ClientImages {

    private ClientImages() {
    }

    /** An opaque RGB PNG; {@code seed} changes the colours, so two images never share bytes. */
    static byte[] png(int w, int h, int seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, 0xFF000000 | ((x * 31 + seed * 53) & 0xFF) << 16 | ((y * 17 + seed * 7) & 0xFF) << 8
                        | (seed * 97 & 0xFF));
            }
        }
        return encode(img);
    }

    /**
     * An RGBA PNG, coloured as {@link #png} but with a transparent square in the middle: the area to edit for a model
     * that reads the image's own transparency as its mask (Stability inpaint without a mask).
     */
    static byte[] pngWithHole(int w, int h, int seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                boolean hole = x >= w / 4 && x < 3 * w / 4 && y >= h / 4 && y < 3 * h / 4;
                img.setRGB(x, y, hole ? 0 : 0xFF000000 | ((x * 31 + seed * 53) & 0xFF) << 16
                        | ((y * 17 + seed * 7) & 0xFF) << 8 | (seed * 97 & 0xFF));
            }
        }
        return encode(img);
    }

    /** An RGB PNG of random pixels, so a byte-for-byte comparison cannot pass by accident. */
    static byte[] noisePng(int w, int h, long seed) {
        Random random = new Random(seed);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, 0xFF000000 | random.nextInt(0x1000000));
            }
        }
        return encode(img);
    }

    /** An RGBA PNG mask: opaque except for a transparent square in the middle. */
    static byte[] mask(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                boolean hole = x >= w / 4 && x < 3 * w / 4 && y >= h / 4 && y < 3 * h / 4;
                img.setRGB(x, y, hole ? 0x00000000 : 0xFF000000);
            }
        }
        return encode(img);
    }

    /** Decodes a PNG, failing the test when the bytes are not one. */
    static BufferedImage decodePng(byte[] bytes) {
        if (bytes.length < 8 || (bytes[0] & 0xFF) != 0x89 || bytes[1] != 'P' || bytes[2] != 'N' || bytes[3] != 'G') {
            throw new AssertionError("not a PNG: " + bytes.length + " bytes");
        }
        try {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(bytes));
            if (img == null) {
                throw new AssertionError("ImageIO cannot read the PNG");
            }
            return img;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] encode(BufferedImage img) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, "png", out)) {
                throw new IllegalStateException("no ImageIO writer for png");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
