package dev.easel.image;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import javax.imageio.ImageIO;

/**
 * Small real images for tests, encoded with {@code javax.imageio} (PNG, JPEG) or built by hand (WebP
 * headers, which ImageIO cannot write). Shared by every module's tests through easel-core's test sources.
 */
public final class TestImages {

    private TestImages() {
    }

    /** An RGB (colour type 2) or RGBA (colour type 6, fully opaque) PNG with a gradient. */
    public static byte[] png(int w, int h, boolean alpha) {
        BufferedImage img = new BufferedImage(w, h, alpha ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
        paint(img);
        return encode(img, "png");
    }

    /** A baseline JPEG (JFIF) with a gradient. */
    public static byte[] jpeg(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        paint(img);
        return encode(img, "jpeg");
    }

    /** An 8-bit grayscale PNG (colour type 0, no alpha). */
    public static byte[] grayPng(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        paint(img);
        return encode(img, "png");
    }

    /**
     * A palette PNG (colour type 3) whose palette entry 0 is transparent via a tRNS chunk; when
     * {@code useTransparent}, the top-left pixel uses it.
     */
    public static byte[] pngWithTrns(int w, int h, boolean useTransparent) {
        byte[] r = {0, (byte) 255, 0};
        byte[] g = {0, 0, (byte) 255};
        byte[] b = {0, 0, 0};
        byte[] a = {0, (byte) 255, (byte) 255};
        IndexColorModel cm = new IndexColorModel(8, 3, r, g, b, a);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, cm);
        var raster = img.getRaster();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                raster.setSample(x, y, 0, 1 + ((x + y) & 1));
            }
        }
        if (useTransparent) {
            raster.setSample(0, 0, 0, 0);
        }
        return encode(img, "png");
    }

    /** An RGBA PNG mask: opaque everywhere except a fully transparent rectangle in the middle. */
    public static byte[] maskWithHole(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.BLACK);
        g.fillRect(0, 0, w, h);
        g.dispose();
        for (int y = h / 4; y < Math.max(h / 4 + 1, 3 * h / 4); y++) {
            for (int x = w / 4; x < Math.max(w / 4 + 1, 3 * w / 4); x++) {
                img.setRGB(x, y, 0x00000000);
            }
        }
        return encode(img, "png");
    }

    /** A lossy WebP ({@code VP8 } chunk) header with these dimensions; no alpha. */
    public static byte[] webpVp8(int w, int h) {
        ByteBuffer chunk = le(20);
        chunk.put(new byte[] {0x10, 0x02, 0x00}); // frame tag: key frame
        chunk.put(new byte[] {(byte) 0x9D, 0x01, 0x2A});
        chunk.putShort((short) w).putShort((short) h);
        return riff(chunk("VP8 ", chunk.array()));
    }

    /** A lossless WebP ({@code VP8L} chunk) header; {@code alpha} sets the alpha_is_used bit. */
    public static byte[] webpVp8l(int w, int h, boolean alpha) {
        ByteBuffer chunk = le(12);
        chunk.put((byte) 0x2F);
        chunk.putInt((w - 1) | ((h - 1) << 14) | ((alpha ? 1 : 0) << 28));
        return riff(chunk("VP8L", chunk.array()));
    }

    /** An extended WebP ({@code VP8X} chunk, then a VP8L chunk); {@code alpha} sets the alpha flag. */
    public static byte[] webpVp8x(int w, int h, boolean alpha) {
        ByteBuffer x = le(10);
        x.put((byte) (alpha ? 0x10 : 0)).put(new byte[3]);
        put24(x, w - 1);
        put24(x, h - 1);
        ByteBuffer l = le(12);
        l.put((byte) 0x2F).putInt((w - 1) | ((h - 1) << 14) | ((alpha ? 1 : 0) << 28));
        return riff(concat(chunk("VP8X", x.array()), chunk("VP8L", l.array())));
    }

    /** The first {@code n} bytes (a cut-short upload). */
    public static byte[] truncate(byte[] bytes, int n) {
        return Arrays.copyOf(bytes, n);
    }

    /** Concatenation of arrays. */
    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static void paint(BufferedImage img) {
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int r = img.getWidth() == 1 ? 0 : x * 255 / (img.getWidth() - 1);
                int gr = img.getHeight() == 1 ? 0 : y * 255 / (img.getHeight() - 1);
                img.setRGB(x, y, 0xFF000000 | (r << 16) | (gr << 8) | 0x40);
            }
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

    private static byte[] riff(byte[] chunks) {
        ByteBuffer b = le(12 + chunks.length);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII));
        b.putInt(4 + chunks.length);
        b.put("WEBP".getBytes(StandardCharsets.US_ASCII));
        b.put(chunks);
        return b.array();
    }

    private static byte[] chunk(String fourcc, byte[] data) {
        int padded = data.length + (data.length & 1);
        ByteBuffer b = le(8 + padded);
        b.put(fourcc.getBytes(StandardCharsets.US_ASCII));
        b.putInt(data.length);
        b.put(data);
        return b.array();
    }

    private static void put24(ByteBuffer b, int v) {
        b.put((byte) v).put((byte) (v >> 8)).put((byte) (v >> 16));
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
