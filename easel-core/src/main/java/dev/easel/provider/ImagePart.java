package dev.easel.provider;

import dev.easel.image.ImageInfo;
import dev.easel.internal.Blob;
import java.util.Objects;

/**
 * One inspected image of a call: its bytes, what inspection found, and the file name to send (always
 * ending in the extension of the detected format).
 */
public record ImagePart(Blob blob, ImageInfo info, String fileName) {
    public ImagePart {
        Objects.requireNonNull(blob, "blob");
        Objects.requireNonNull(info, "info");
        Objects.requireNonNull(fileName, "fileName");
    }
}
