package dev.easel.image;

import java.util.Locale;
import java.util.Optional;

/** Image formats Easel recognises by their magic bytes. */
public enum ImageFormat {
    PNG("image/png", "png"),
    JPEG("image/jpeg", "jpg"),
    WEBP("image/webp", "webp");

    private final String mimeType;
    private final String extension;

    ImageFormat(String mimeType, String extension) {
        this.mimeType = mimeType;
        this.extension = extension;
    }

    /** {@code image/png}, {@code image/jpeg} or {@code image/webp}. */
    public String mimeType() {
        return mimeType;
    }

    /** File extension without dot: {@code png}, {@code jpg}, {@code webp}. */
    public String extension() {
        return extension;
    }

    /** Lower-case name as OpenAI writes it ({@code png}, {@code jpeg}, {@code webp}). */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code png}, {@code jpeg}, {@code jpg} or {@code webp} (any case). */
    public static Optional<ImageFormat> fromName(String name) {
        if (name == null) {
            return Optional.empty();
        }
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "png" -> Optional.of(PNG);
            case "jpeg", "jpg" -> Optional.of(JPEG);
            case "webp" -> Optional.of(WEBP);
            default -> Optional.empty();
        };
    }

    /** Detects the format from the first bytes (12 are enough), or empty if none matches. */
    public static Optional<ImageFormat> sniff(byte[] head) {
        if (head.length >= 8 && (head[0] & 0xFF) == 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G'
                && head[4] == 0x0D && head[5] == 0x0A && head[6] == 0x1A && head[7] == 0x0A) {
            return Optional.of(PNG);
        }
        if (head.length >= 3 && (head[0] & 0xFF) == 0xFF && (head[1] & 0xFF) == 0xD8 && (head[2] & 0xFF) == 0xFF) {
            return Optional.of(JPEG);
        }
        if (head.length >= 12 && head[0] == 'R' && head[1] == 'I' && head[2] == 'F' && head[3] == 'F'
                && head[8] == 'W' && head[9] == 'E' && head[10] == 'B' && head[11] == 'P') {
            return Optional.of(WEBP);
        }
        return Optional.empty();
    }
}
