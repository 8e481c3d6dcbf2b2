package dev.easel.image;

import java.util.Objects;
import java.util.Optional;

/**
 * An image could not be inspected: its format is not one Easel accepts, or its headers are broken, or
 * the file was cut short. The message says which, in lower case, without the file's bytes.
 */
public final class ImageInspectionException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why inspection failed. */
    public enum Reason {
        /** Not a PNG, JPEG or WebP file (see {@link #detectedFormat()} for a recognised other format). */
        UNKNOWN_FORMAT,
        /** The headers are inconsistent (bad checksum, impossible dimensions, broken structure). */
        CORRUPT,
        /** The file ends too early (upload cut short). */
        TRUNCATED
    }

    private final Reason reason;
    private final String detectedFormat;

    /** Creates the exception; {@code detectedFormatOrNull} names a recognised but unsupported format. */
    public ImageInspectionException(Reason reason, String message, String detectedFormatOrNull) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
        this.detectedFormat = detectedFormatOrNull;
    }

    /** Creates the exception. */
    public ImageInspectionException(Reason reason, String message) {
        this(reason, message, null);
    }

    /** Why inspection failed. */
    public Reason reason() {
        return reason;
    }

    /**
     * For {@link Reason#UNKNOWN_FORMAT}: the name of a format that was recognised but is not accepted
     * ({@code gif}, {@code bmp}, {@code tiff}, {@code heic}, {@code avif}, {@code pdf}), if any.
     */
    public Optional<String> detectedFormat() {
        return Optional.ofNullable(detectedFormat);
    }
}
