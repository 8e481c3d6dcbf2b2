package dev.easel.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * Valid PNG files of an exact size, made fast: random pixels in stored (uncompressed) deflate blocks, so
 * the file size follows from the dimensions and nothing in the benchmark depends on compression.
 */
final class Png {

    private Png() {
    }

    /** An RGBA (alpha) or RGB PNG of the given dimensions with random pixels. */
    static byte[] of(int width, int height, boolean alpha, long seed) {
        int bpp = alpha ? 4 : 3;
        byte[] raw = new byte[height * (1 + width * bpp)];
        new SplittableRandom(seed).nextBytes(raw);
        for (int y = 0; y < height; y++) {
            raw[y * (1 + width * bpp)] = 0; // filter type "none" at the start of every row
        }
        ByteArrayOutputStream z = new ByteArrayOutputStream(raw.length + raw.length / 1000 + 64);
        Deflater deflater = new Deflater(Deflater.NO_COMPRESSION);
        try (DeflaterOutputStream d = new DeflaterOutputStream(z, deflater, 1 << 16)) {
            d.write(raw);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } finally {
            deflater.end();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(z.size() + 64);
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height)
                .put((byte) 8).put((byte) (alpha ? 6 : 2)).put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        chunk(out, "IDAT", z.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    /** A square-ish RGBA PNG of about {@code bytes} bytes. */
    static byte[] ofSize(long bytes, boolean alpha, long seed) {
        int bpp = alpha ? 4 : 3;
        int side = (int) Math.max(1, Math.round(Math.sqrt(bytes / (double) bpp)));
        return of(side, side, alpha, seed);
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
