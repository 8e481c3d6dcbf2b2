package dev.easel.image;

import dev.easel.image.ImageInspectionException.Reason;
import dev.easel.internal.Blob;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;

/**
 * Reads what validation needs from an image's headers (format, dimensions, alpha channel) and checks
 * that the file is complete, without decoding pixels: blobs may be 50 MB files, so only the first
 * bytes, the chunk/segment headers before the image data, and the last bytes are read.
 */
public final class ImageInspector {

    private static final byte[] PNG_IEND = {0, 0, 0, 0, 'I', 'E', 'N', 'D', (byte) 0xAE, 0x42, 0x60, (byte) 0x82};
    private static final int PNG_HEAD = 8 + 8 + 13 + 4;
    private static final int WEBP_HEAD = 30;
    private static final int JPEG_TAIL = 64;

    private ImageInspector() {
    }

    /**
     * Inspects an image from its headers and its last bytes.
     *
     * @throws ImageInspectionException when the format is not PNG/JPEG/WebP, or the file is corrupt or
     *                                  truncated
     */
    public static ImageInfo inspect(Blob blob) {
        byte[] head = blob.head(PNG_HEAD);
        if (head.length == 0) {
            throw new ImageInspectionException(Reason.UNKNOWN_FORMAT, "not an image: the file is empty");
        }
        ImageFormat format = ImageFormat.sniff(head).orElseThrow(() -> unknownFormat(head));
        return switch (format) {
            case PNG -> png(blob, head);
            case JPEG -> jpeg(blob);
            case WEBP -> webp(blob);
        };
    }

    /**
     * A PNG's pixel mode in the names OpenAI's errors use (Pillow's): {@code RGBA}, {@code LA}, {@code L},
     * {@code RGB}, {@code P}, {@code 1} or {@code I;16}, from the IHDR's colour type and bit depth (a tRNS chunk does
     * not change the mode). Call only on a blob {@link #inspect} accepted as PNG.
     */
    public static String pngMode(Blob png) {
        byte[] head = png.head(PNG_HEAD);
        int bitDepth = head[24] & 0xFF;
        return switch (head[25] & 0xFF) {
            case 6 -> "RGBA";
            case 4 -> "LA";
            case 2 -> "RGB";
            case 3 -> "P";
            default -> bitDepth == 1 ? "1" : bitDepth == 16 ? "I;16" : "L";
        };
    }

    /**
     * Whether a PNG has at least one fully transparent pixel (alpha 0). Decodes the whole image with
     * {@code javax.imageio}, so call it only when a rule needs it (masks) and the image is small enough.
     *
     * @throws ImageInspectionException when the PNG cannot be decoded
     */
    public static boolean hasTransparentPixel(Blob png) {
        BufferedImage image;
        try (InputStream in = png.open()) {
            image = ImageIO.read(in);
        } catch (IOException e) {
            throw new ImageInspectionException(Reason.CORRUPT, "corrupt png: cannot decode pixels (" + e.getMessage() + ")");
        }
        if (image == null) {
            throw new ImageInspectionException(Reason.UNKNOWN_FORMAT, "not a png image: no decoder accepts it");
        }
        ColorModel cm = image.getColorModel();
        if (!cm.hasAlpha()) {
            return false;
        }
        if (cm instanceof IndexColorModel icm) {
            return indexedHasTransparentPixel(image.getRaster(), icm);
        }
        Raster alpha = image.getAlphaRaster();
        if (alpha == null) {
            return rgbHasTransparentPixel(image);
        }
        int w = alpha.getWidth();
        int[] row = new int[w];
        for (int y = 0; y < alpha.getHeight(); y++) {
            alpha.getSamples(alpha.getMinX(), alpha.getMinY() + y, w, 1, 0, row);
            for (int a : row) {
                if (a == 0) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean indexedHasTransparentPixel(Raster raster, IndexColorModel icm) {
        boolean[] transparent = new boolean[icm.getMapSize()];
        boolean any = false;
        for (int i = 0; i < transparent.length; i++) {
            transparent[i] = icm.getAlpha(i) == 0;
            any |= transparent[i];
        }
        if (!any) {
            return false;
        }
        int w = raster.getWidth();
        int[] row = new int[w];
        for (int y = 0; y < raster.getHeight(); y++) {
            raster.getSamples(raster.getMinX(), raster.getMinY() + y, w, 1, 0, row);
            for (int index : row) {
                if (index < transparent.length && transparent[index]) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean rgbHasTransparentPixel(BufferedImage image) {
        int w = image.getWidth();
        int[] row = new int[w];
        for (int y = 0; y < image.getHeight(); y++) {
            image.getRGB(0, y, w, 1, row, 0, w);
            for (int argb : row) {
                if ((argb >>> 24) == 0) {
                    return true;
                }
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- PNG

    private static ImageInfo png(Blob blob, byte[] head) {
        if (head.length < PNG_HEAD) {
            throw truncated("png", "the file ends inside the IHDR chunk (" + blob.size() + " bytes)");
        }
        long length = u32be(head, 8);
        String type = new String(head, 12, 4, StandardCharsets.ISO_8859_1);
        if (!type.equals("IHDR") || length != 13) {
            throw corrupt("png", "the first chunk is '" + printable(type) + "' of " + length + " bytes, expected IHDR of 13");
        }
        CRC32 crc = new CRC32();
        crc.update(head, 12, 4 + 13);
        long stored = u32be(head, 29);
        if (crc.getValue() != stored) {
            throw corrupt("png", "IHDR checksum mismatch (stored " + hex32(stored) + ", computed " + hex32(crc.getValue()) + ")");
        }
        long width = u32be(head, 16);
        long height = u32be(head, 20);
        if (width == 0 || height == 0 || width > Integer.MAX_VALUE || height > Integer.MAX_VALUE) {
            throw corrupt("png", "invalid dimensions " + width + "x" + height);
        }
        int bitDepth = head[24] & 0xFF;
        int colourType = head[25] & 0xFF;
        if (!validPngDepth(colourType, bitDepth)) {
            throw corrupt("png", "invalid bit depth " + bitDepth + " for colour type " + colourType);
        }
        if (!Arrays.equals(blob.tail(PNG_IEND.length), PNG_IEND)) {
            throw truncated("png", "the file does not end with an IEND chunk");
        }
        // colour types 4 and 6 carry alpha; the others may get it from a tRNS chunk, which precedes IDAT
        boolean alpha = colourType == 4 || colourType == 6 || hasTrnsBeforeIdat(blob);
        return new ImageInfo(ImageFormat.PNG, (int) width, (int) height, alpha, blob.size());
    }

    private static boolean validPngDepth(int colourType, int bitDepth) {
        return switch (colourType) {
            case 0 -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8 || bitDepth == 16;
            case 3 -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8;
            case 2, 4, 6 -> bitDepth == 8 || bitDepth == 16;
            default -> throw corrupt("png", "invalid colour type " + colourType);
        };
    }

    /** Walks chunk headers after IHDR, skipping chunk data, until tRNS (true) or IDAT (false). */
    private static boolean hasTrnsBeforeIdat(Blob blob) {
        try (InputStream in = new BufferedInputStream(blob.open(), 64)) {
            in.skipNBytes(PNG_HEAD);
            byte[] header = new byte[8];
            while (true) {
                if (in.readNBytes(header, 0, 8) < 8) {
                    throw truncated("png", "the file ends before the first IDAT chunk");
                }
                long length = u32be(header, 0);
                String type = new String(header, 4, 4, StandardCharsets.ISO_8859_1);
                if (length > Integer.MAX_VALUE) {
                    throw corrupt("png", "chunk '" + printable(type) + "' declares " + length + " bytes");
                }
                switch (type) {
                    case "tRNS" -> {
                        return true;
                    }
                    case "IDAT" -> {
                        return false;
                    }
                    case "IEND" -> throw corrupt("png", "IEND before any IDAT chunk");
                    default -> in.skipNBytes(length + 4);
                }
            }
        } catch (EOFException e) {
            throw truncated("png", "the file ends before the first IDAT chunk");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- JPEG

    private static ImageInfo jpeg(Blob blob) {
        int[] dims = jpegDimensions(blob);
        byte[] tail = blob.tail(JPEG_TAIL);
        int end = tail.length;
        while (end > 0 && tail[end - 1] == 0) {
            end--; // some writers pad after EOI with zeros
        }
        if (end < 2 || (tail[end - 2] & 0xFF) != 0xFF || (tail[end - 1] & 0xFF) != 0xD9) {
            throw truncated("jpeg", "the file does not end with the EOI marker (FF D9)");
        }
        return new ImageInfo(ImageFormat.JPEG, dims[0], dims[1], false, blob.size());
    }

    /** Walks segments from SOI to the first SOFn frame header, skipping segment payloads. */
    private static int[] jpegDimensions(Blob blob) {
        try (InputStream in = new BufferedInputStream(blob.open(), 512)) {
            in.skipNBytes(2);
            long pos = 2;
            while (true) {
                int b = in.read();
                if (b < 0) {
                    throw truncated("jpeg", "the file ends before the frame header (SOF)");
                }
                if (b != 0xFF) {
                    throw corrupt("jpeg", "expected a marker at offset " + pos + ", found 0x" + hex8(b));
                }
                pos++;
                int marker = in.read();
                pos++;
                while (marker == 0xFF) { // fill bytes
                    marker = in.read();
                    pos++;
                }
                if (marker < 0) {
                    throw truncated("jpeg", "the file ends before the frame header (SOF)");
                }
                if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
                    continue; // markers without a length
                }
                if (marker == 0xD8 || marker == 0xD9) {
                    throw corrupt("jpeg", "unexpected marker FF " + hex8(marker) + " before the frame header (SOF)");
                }
                if (marker == 0xDA) {
                    throw corrupt("jpeg", "scan data (SOS) before the frame header (SOF)");
                }
                byte[] len = in.readNBytes(2);
                if (len.length < 2) {
                    throw truncated("jpeg", "the file ends before the frame header (SOF)");
                }
                int length = ((len[0] & 0xFF) << 8) | (len[1] & 0xFF);
                if (length < 2) {
                    throw corrupt("jpeg", "segment FF " + hex8(marker) + " declares length " + length);
                }
                if (isSof(marker)) {
                    byte[] sof = in.readNBytes(5);
                    if (sof.length < 5) {
                        throw truncated("jpeg", "the file ends inside the frame header (SOF)");
                    }
                    int height = ((sof[1] & 0xFF) << 8) | (sof[2] & 0xFF);
                    int width = ((sof[3] & 0xFF) << 8) | (sof[4] & 0xFF);
                    if (width == 0 || height == 0) {
                        throw corrupt("jpeg", "invalid dimensions " + width + "x" + height);
                    }
                    return new int[] {width, height};
                }
                in.skipNBytes(length - 2);
                pos += length;
            }
        } catch (EOFException e) {
            throw truncated("jpeg", "the file ends before the frame header (SOF)");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isSof(int marker) {
        return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    }

    // ---------------------------------------------------------------- WebP

    private static ImageInfo webp(Blob blob) {
        byte[] h = blob.head(WEBP_HEAD);
        long declared = u32le(h, 4);
        long actual = blob.size() - 8;
        if (actual < declared) {
            throw truncated("webp", "the RIFF header declares " + declared + " bytes but only " + actual + " follow");
        }
        if (actual > declared) {
            throw corrupt("webp", (actual - declared) + " bytes follow the end of the RIFF data (declared " + declared
                    + " bytes)");
        }
        if (h.length < 20) {
            throw truncated("webp", "the file ends before the first chunk");
        }
        String chunk = new String(h, 12, 4, StandardCharsets.ISO_8859_1);
        switch (chunk) {
            case "VP8 " -> {
                need(h, 30, "VP8");
                if ((h[23] & 0xFF) != 0x9D || (h[24] & 0xFF) != 0x01 || (h[25] & 0xFF) != 0x2A) {
                    throw corrupt("webp", "missing the VP8 start code 9D 01 2A");
                }
                int w = u16le(h, 26) & 0x3FFF;
                int ht = u16le(h, 28) & 0x3FFF;
                return webpInfo(blob, w, ht, false);
            }
            case "VP8L" -> {
                need(h, 25, "VP8L");
                if ((h[20] & 0xFF) != 0x2F) {
                    throw corrupt("webp", "bad VP8L signature 0x" + hex8(h[20] & 0xFF) + ", expected 0x2F");
                }
                long bits = u32le(h, 21);
                int w = (int) (bits & 0x3FFF) + 1;
                int ht = (int) ((bits >>> 14) & 0x3FFF) + 1;
                boolean alpha = ((bits >>> 28) & 1) == 1;
                return webpInfo(blob, w, ht, alpha);
            }
            case "VP8X" -> {
                need(h, 30, "VP8X");
                boolean alpha = (h[20] & 0x10) != 0;
                int w = u24le(h, 24) + 1;
                int ht = u24le(h, 27) + 1;
                return webpInfo(blob, w, ht, alpha);
            }
            default -> throw corrupt("webp", "unknown first chunk '" + printable(chunk) + "', expected VP8, VP8L or VP8X");
        }
    }

    private static ImageInfo webpInfo(Blob blob, int w, int h, boolean alpha) {
        if (w == 0 || h == 0) {
            throw corrupt("webp", "invalid dimensions " + w + "x" + h);
        }
        return new ImageInfo(ImageFormat.WEBP, w, h, alpha, blob.size());
    }

    private static void need(byte[] h, int n, String chunk) {
        if (h.length < n) {
            throw truncated("webp", "the file ends inside the " + chunk + " header");
        }
    }

    // ---------------------------------------------------------------- helpers

    private static ImageInspectionException unknownFormat(byte[] head) {
        String other = otherFormat(head);
        if (other != null) {
            return new ImageInspectionException(Reason.UNKNOWN_FORMAT,
                    "not a png, jpeg or webp image (detected " + other + ")", other);
        }
        byte[] first = Arrays.copyOf(head, Math.min(4, head.length));
        return new ImageInspectionException(Reason.UNKNOWN_FORMAT,
                "not a png, jpeg or webp image (first bytes " + HexFormat.ofDelimiter(" ").withUpperCase().formatHex(first) + ")");
    }

    /** Names a few formats people upload by mistake, so the error can say what it saw. */
    private static String otherFormat(byte[] h) {
        if (startsWith(h, "GIF8")) {
            return "gif";
        }
        if (startsWith(h, "BM") && h.length >= 14) {
            return "bmp";
        }
        if (startsWith(h, "II*\0") || startsWith(h, "MM\0*")) {
            return "tiff";
        }
        if (startsWith(h, "%PDF")) {
            return "pdf";
        }
        if (h.length >= 12 && new String(h, 4, 4, StandardCharsets.ISO_8859_1).equals("ftyp")) {
            String brand = new String(h, 8, 4, StandardCharsets.ISO_8859_1);
            if (brand.startsWith("avi")) {
                return "avif";
            }
            if (brand.startsWith("hei") || brand.startsWith("mif") || brand.startsWith("hev")) {
                return "heic";
            }
        }
        return null;
    }

    private static boolean startsWith(byte[] h, String prefix) {
        if (h.length < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (h[i] != (byte) prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static ImageInspectionException corrupt(String format, String detail) {
        return new ImageInspectionException(Reason.CORRUPT, "corrupt " + format + ": " + detail);
    }

    private static ImageInspectionException truncated(String format, String detail) {
        return new ImageInspectionException(Reason.TRUNCATED, "truncated " + format + ": " + detail);
    }

    private static long u32be(byte[] b, int i) {
        return ((long) (b[i] & 0xFF) << 24) | ((b[i + 1] & 0xFF) << 16) | ((b[i + 2] & 0xFF) << 8) | (b[i + 3] & 0xFF);
    }

    private static long u32le(byte[] b, int i) {
        return ((long) (b[i + 3] & 0xFF) << 24) | ((b[i + 2] & 0xFF) << 16) | ((b[i + 1] & 0xFF) << 8) | (b[i] & 0xFF);
    }

    private static int u24le(byte[] b, int i) {
        return ((b[i + 2] & 0xFF) << 16) | ((b[i + 1] & 0xFF) << 8) | (b[i] & 0xFF);
    }

    private static int u16le(byte[] b, int i) {
        return ((b[i + 1] & 0xFF) << 8) | (b[i] & 0xFF);
    }

    private static String hex32(long v) {
        return String.format("0x%08X", v);
    }

    private static String hex8(int v) {
        return String.format("%02X", v);
    }

    private static String printable(String s) {
        StringBuilder out = new StringBuilder();
        for (char c : s.toCharArray()) {
            out.append(c >= 0x20 && c < 0x7F ? c : '?');
        }
        return out.toString();
    }
}
