package dev.easel.image;

/**
 * What inspection learned about an image without decoding it.
 *
 * @param format   detected from magic bytes
 * @param width    pixels
 * @param height   pixels
 * @param hasAlpha whether the image has an alpha channel (PNG colour type 4/6 or tRNS; WebP alpha flag;
 *                 never for JPEG)
 * @param bytes    size in bytes
 */
public record ImageInfo(ImageFormat format, int width, int height, boolean hasAlpha, long bytes) {

    /** {@code WxH}. */
    public String dimensions() {
        return width + "x" + height;
    }

    /** Whether width equals height. */
    public boolean square() {
        return width == height;
    }
}
