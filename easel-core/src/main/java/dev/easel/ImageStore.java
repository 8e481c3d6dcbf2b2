package dev.easel;

import dev.easel.image.ImageFormat;

/**
 * Where images go when a caller asked for URLs but the provider only returned base64 (GPT image
 * models). The SDK's default writes files to a local directory and returns {@code file:} URLs; the proxy
 * plugs in a store that serves them over HTTP.
 */
public interface ImageStore {

    /** Stores the image and returns a URL from which it can be read. */
    String store(byte[] image, ImageFormat format);
}
