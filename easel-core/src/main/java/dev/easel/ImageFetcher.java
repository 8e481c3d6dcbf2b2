package dev.easel;

/** Reads the bytes of an image a provider returned as a URL. */
@FunctionalInterface
public interface ImageFetcher {

    /** The image's bytes. */
    byte[] fetch(ImageData image);
}
