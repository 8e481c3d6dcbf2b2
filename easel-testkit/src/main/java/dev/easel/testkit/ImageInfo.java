package dev.easel.testkit;

import java.util.Optional;

/**
 * What the fakes need to know of an uploaded image, read from its header bytes only (never decoded): the format
 * by magic bytes, the dimensions and whether it can carry transparency. Providers reject images by these facts
 * (Stability's pixel limits, BFL's same-size mask, Gemini's "a real image"), so the fakes do too.
 *
 * @param mediaType {@code image/png}, {@code image/jpeg}, {@code image/webp} or {@code image/gif}
 * @param alpha     whether the image has an alpha channel (or a transparent palette entry)
 * @param grayscale whether the header declares a grey colour model (PNG grey, single-component JPEG)
 */
record ImageInfo(String mediaType, int width, int height, boolean alpha, boolean grayscale) {

    long pixels() {
        return (long) width * height;
    }

    String dimensions() {
        return width + "x" + height;
    }

    /** The facts of a PNG, JPEG, WebP or GIF; empty for anything else or a header too short to say. */
    static Optional<ImageInfo> of(byte[] b) {
        try {
            if (b.length >= 24 && u8(b, 0) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
                return png(b);
            }
            if (b.length >= 4 && u8(b, 0) == 0xFF && u8(b, 1) == 0xD8 && u8(b, 2) == 0xFF) {
                return jpeg(b);
            }
            if (b.length >= 30 && ascii(b, 0, 4).equals("RIFF") && ascii(b, 8, 4).equals("WEBP")) {
                return webp(b);
            }
            if (b.length >= 10 && (ascii(b, 0, 6).equals("GIF87a") || ascii(b, 0, 6).equals("GIF89a"))) {
                return Optional.of(new ImageInfo("image/gif", le16(b, 6), le16(b, 8), false, false));
            }
        } catch (ArrayIndexOutOfBoundsException truncated) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static Optional<ImageInfo> png(byte[] b) {
        if (!ascii(b, 12, 4).equals("IHDR")) {
            return Optional.empty();
        }
        int colourType = u8(b, 25);
        boolean alpha = colourType == 4 || colourType == 6;
        // a palette or grey image is transparent through a tRNS chunk, which comes before the first IDAT
        for (int pos = 33; pos + 8 <= b.length && !alpha; ) {
            String type = ascii(b, pos + 4, 4);
            if (type.equals("IDAT")) {
                break;
            }
            alpha = type.equals("tRNS");
            pos += 12 + be32(b, pos);
        }
        return Optional.of(new ImageInfo("image/png", be32(b, 16), be32(b, 20), alpha,
                colourType == 0 || colourType == 4));
    }

    private static Optional<ImageInfo> jpeg(byte[] b) {
        int pos = 2;
        while (pos + 4 <= b.length) {
            if (u8(b, pos) != 0xFF) {
                return Optional.empty();
            }
            int marker = u8(b, pos + 1);
            if (marker == 0xFF) {
                pos++; // fill byte
                continue;
            }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
                pos += 2;
                continue;
            }
            int length = be16(b, pos + 2);
            boolean startOfFrame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8
                    && marker != 0xCC;
            if (startOfFrame) {
                return Optional.of(new ImageInfo("image/jpeg", be16(b, pos + 7), be16(b, pos + 5), false,
                        u8(b, pos + 9) == 1));
            }
            pos += 2 + length;
        }
        return Optional.empty();
    }

    private static Optional<ImageInfo> webp(byte[] b) {
        String chunk = ascii(b, 12, 4);
        return switch (chunk) {
            case "VP8 " -> Optional.of(new ImageInfo("image/webp", le16(b, 26) & 0x3FFF, le16(b, 28) & 0x3FFF,
                    false, false));
            case "VP8L" -> {
                long bits = u8(b, 21) | (long) u8(b, 22) << 8 | (long) u8(b, 23) << 16 | (long) u8(b, 24) << 24;
                yield Optional.of(new ImageInfo("image/webp", (int) (bits & 0x3FFF) + 1,
                        (int) (bits >> 14 & 0x3FFF) + 1, (bits >> 28 & 1) == 1, false));
            }
            case "VP8X" -> Optional.of(new ImageInfo("image/webp", le24(b, 24) + 1, le24(b, 27) + 1,
                    (u8(b, 20) & 0x10) != 0, false));
            default -> Optional.empty();
        };
    }

    private static int u8(byte[] b, int i) {
        return b[i] & 0xFF;
    }

    private static int be16(byte[] b, int i) {
        return u8(b, i) << 8 | u8(b, i + 1);
    }

    private static int be32(byte[] b, int i) {
        return be16(b, i) << 16 | be16(b, i + 2);
    }

    private static int le16(byte[] b, int i) {
        return u8(b, i) | u8(b, i + 1) << 8;
    }

    private static int le24(byte[] b, int i) {
        return le16(b, i) | u8(b, i + 2) << 16;
    }

    private static String ascii(byte[] b, int from, int n) {
        if (from + n > b.length) {
            return "";
        }
        return new String(b, from, n, java.nio.charset.StandardCharsets.ISO_8859_1);
    }
}
