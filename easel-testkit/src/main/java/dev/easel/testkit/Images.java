package dev.easel.testkit;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import javax.imageio.ImageIO;

/**
 * Real images for the fakes' answers: small fixed ones encoded once with javax.imageio, and flat (one colour)
 * images of any size in PNG, JPEG or WebP, valid files that any decoder opens, cached by format and size because
 * providers answer with the same few sizes again and again.
 */
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

    /** The largest side a flat image may have (WebP's limit, far above what any provider returns). */
    static final int MAX_SIDE = 16_384;

    private static final Map<String, byte[]> FLAT = new ConcurrentHashMap<>();

    /**
     * A flat mid-grey image of exactly {@code width}x{@code height} pixels.
     *
     * @param format {@code png}, {@code jpeg} (or {@code jpg}) or {@code webp}
     */
    static byte[] flat(String format, int width, int height) {
        if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) {
            throw new IllegalArgumentException("image sides must be between 1 and " + MAX_SIDE + " (was " + width
                    + "x" + height + ")");
        }
        String kind = format.equals("jpg") ? "jpeg" : format;
        return FLAT.computeIfAbsent(kind + ":" + width + "x" + height, key -> switch (kind) {
            case "png" -> flatPng(width, height);
            case "jpeg" -> flatJpeg(width, height);
            case "webp" -> flatWebp(width, height);
            default -> throw new IllegalArgumentException("no flat image in format '" + format + "'");
        });
    }

    /** The image's pixels are all grey (R = G = B), by its header or, for RGB PNG and JPEG, by decoding it. */
    static boolean isGrey(byte[] image, ImageInfo info) {
        if (info.grayscale()) {
            return true;
        }
        try {
            BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(image));
            if (decoded == null) {
                return false;
            }
            for (int y = 0; y < decoded.getHeight(); y++) {
                for (int x = 0; x < decoded.getWidth(); x++) {
                    int rgb = decoded.getRGB(x, y);
                    int r = rgb >> 16 & 0xFF;
                    if (r != (rgb >> 8 & 0xFF) || r != (rgb & 0xFF)) {
                        return false;
                    }
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** RGB, 8 bits, every row filter 0: deflating identical rows is fast even for 4K images. */
    private static byte[] flatPng(int width, int height) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        writeInt(ihdr, width);
        writeInt(ihdr, height);
        ihdr.writeBytes(new byte[] {8, 2, 0, 0, 0});
        chunk(out, "IHDR", ihdr.toByteArray());
        byte[] row = new byte[1 + 3 * width];
        java.util.Arrays.fill(row, 1, row.length, (byte) 0x80);
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        Deflater deflater = new Deflater(Deflater.BEST_SPEED);
        try (DeflaterOutputStream z = new DeflaterOutputStream(idat, deflater, 1 << 16)) {
            for (int y = 0; y < height; y++) {
                z.write(row);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deflater.end();
        }
        chunk(out, "IDAT", idat.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static byte[] flatJpeg(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = image.createGraphics();
        try {
            g.setColor(new java.awt.Color(0x80, 0x80, 0x80));
            g.fillRect(0, 0, width, height);
        } finally {
            g.dispose();
        }
        return write(image, "jpeg");
    }

    /**
     * A lossless (VP8L) WebP whose five prefix codes each have a single symbol, so that every pixel takes zero
     * bits: the file is a few dozen bytes whatever the size, and decoders read it as the flat colour.
     */
    private static byte[] flatWebp(int width, int height) {
        Bits bits = new Bits();
        bits.put(0x2F, 8);                      // VP8L signature
        bits.put(width - 1, 14);
        bits.put(height - 1, 14);
        bits.put(0, 1);                         // alpha_is_used: no
        bits.put(0, 3);                         // version 0
        bits.put(0, 1);                         // no transform
        bits.put(0, 1);                         // no colour cache
        bits.put(0, 1);                         // no meta prefix codes
        for (int symbol : new int[] {0x80, 0x80, 0x80, 0xFF}) { // green, red, blue, alpha
            bits.put(1, 1);                     // simple code
            bits.put(0, 1);                     // one symbol
            bits.put(1, 1);                     // it takes 8 bits
            bits.put(symbol, 8);
        }
        bits.put(1, 1);                         // distance code: simple, one 1-bit symbol 0 (never read)
        bits.put(0, 1);
        bits.put(0, 1);
        bits.put(0, 1);
        byte[] vp8l = bits.toByteArray();
        int padded = vp8l.length + (vp8l.length & 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("RIFF".getBytes(StandardCharsets.US_ASCII));
        writeIntLe(out, 4 + 8 + padded);
        out.writeBytes("WEBPVP8L".getBytes(StandardCharsets.US_ASCII));
        writeIntLe(out, vp8l.length);
        out.writeBytes(vp8l);
        if (padded != vp8l.length) {
            out.write(0);
        }
        return out.toByteArray();
    }

    /** Little-endian, least significant bit first, as VP8L reads them. */
    private static final class Bits {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private long buffer;
        private int used;

        void put(int value, int n) {
            buffer |= ((long) value & ((1L << n) - 1)) << used;
            used += n;
            while (used >= 8) {
                out.write((int) (buffer & 0xFF));
                buffer >>>= 8;
                used -= 8;
            }
        }

        byte[] toByteArray() {
            if (used > 0) {
                out.write((int) (buffer & 0xFF));
                buffer = 0;
                used = 0;
            }
            return out.toByteArray();
        }
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] name = type.getBytes(StandardCharsets.US_ASCII);
        writeInt(out, data.length);
        out.writeBytes(name);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(name);
        crc.update(data);
        writeInt(out, (int) crc.getValue());
    }

    private static void writeInt(ByteArrayOutputStream out, int v) {
        out.write(v >>> 24);
        out.write(v >>> 16 & 0xFF);
        out.write(v >>> 8 & 0xFF);
        out.write(v & 0xFF);
    }

    private static void writeIntLe(ByteArrayOutputStream out, int v) {
        out.write(v & 0xFF);
        out.write(v >>> 8 & 0xFF);
        out.write(v >>> 16 & 0xFF);
        out.write(v >>> 24);
    }

    private static byte[] write(BufferedImage image, String format) {
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

    private static byte[] encode(String format, int type) {
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, type);
        for (int y = 0; y < HEIGHT; y++) {
            for (int x = 0; x < WIDTH; x++) {
                int alpha = x == 0 && y == 0 ? 0x00 : 0xFF;
                image.setRGB(x, y, alpha << 24 | (x * 32) << 16 | (y * 32) << 8 | 0x80);
            }
        }
        return write(image, format);
    }
}
