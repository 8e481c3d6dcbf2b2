package dev.easel.proxy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import javax.imageio.ImageIO;

/** Small real images for the proxy's wire tests (easel-core's TestImages is not visible here). */
final class WireImages {

    private WireImages() {
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
        return encode(img, "png");
    }

    /** An RGBA PNG (fully opaque but for the top-left pixel): what dall-e-2 takes without a mask. */
    static byte[] pngWithAlpha(int w, int h, int seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int alpha = x == 0 && y == 0 ? 0 : 0xFF;
                img.setRGB(x, y, alpha << 24 | ((x * 31 + seed * 53) & 0xFF) << 16 | ((y * 17 + seed * 7) & 0xFF) << 8
                        | (seed * 97 & 0xFF));
            }
        }
        return encode(img, "png");
    }

    /** An RGB PNG of random pixels: barely compressible, so its size is about {@code 3 * w * h} bytes. */
    static byte[] noisePng(int w, int h, long seed) {
        java.util.Random random = new java.util.Random(seed);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, 0xFF000000 | random.nextInt(0x1000000));
            }
        }
        return encode(img, "png");
    }

    /** A baseline JPEG. */
    static byte[] jpeg(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, 0xFF000000 | (x * 8 & 0xFF) << 16 | (y * 8 & 0xFF) << 8 | 0x40);
            }
        }
        return encode(img, "jpeg");
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
        return encode(img, "png");
    }

    /** A lossless WebP ({@code VP8L} chunk) header with these dimensions: enough for format sniffing. */
    static byte[] webp(int w, int h) {
        ByteBuffer vp8l = ByteBuffer.allocate(5).order(ByteOrder.LITTLE_ENDIAN);
        vp8l.put((byte) 0x2F).putInt((w - 1) | ((h - 1) << 14));
        byte[] data = vp8l.array();
        int padded = data.length + (data.length & 1);
        ByteBuffer b = ByteBuffer.allocate(12 + 8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(4 + 8 + padded);
        b.put("WEBP".getBytes(StandardCharsets.US_ASCII));
        b.put("VP8L".getBytes(StandardCharsets.US_ASCII)).putInt(data.length).put(data);
        return b.array();
    }

    /** Whether the bytes decode as a PNG image (checks the signature and that ImageIO can read it). */
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

    private static byte[] encode(BufferedImage img, String format) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, format, out)) {
                throw new IllegalStateException("no ImageIO writer for " + format);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
