package dev.easel;

import java.util.Optional;

/**
 * An {@link ImageStore} whose images a server reads back by name, so that any replica of the proxy serves the URL
 * another one handed out ({@code GET /v1/images/files/{name}}). {@link #store} returns either
 * {@link #REFERENCE_PREFIX} and the image's name, which the server turns into its own URL, or an absolute URL the
 * client fetches elsewhere (a presigned S3 URL).
 *
 * <p>Names are the 128-bit random names the store made; any other name, and an image past its expiry, is absent.
 * Implementations are thread-safe.
 */
public interface ServableImageStore extends ImageStore, AutoCloseable {

    /** What {@link #store} returns before the image's name when the server is to build the URL. */
    String REFERENCE_PREFIX = "easel-image:";

    /**
     * The image's content type, length and expiry, without its bytes (for {@code HEAD}).
     *
     * @throws java.io.UncheckedIOException when the store cannot be read (not for an absent image)
     */
    Optional<StoredImage> stat(String name);

    /**
     * The image with an open stream of its bytes; the caller closes it.
     *
     * @throws java.io.UncheckedIOException when the store cannot be read (not for an absent image)
     */
    Optional<StoredImage> open(String name);

    /**
     * Deletes the images whose expiry has passed and returns how many it deleted. Idempotent, and safe while other
     * processes sweep the same store; it never throws (a failure is logged and the next sweep tries again).
     */
    int deleteExpired();

    /** Releases what the store holds (connections); the default holds nothing. */
    @Override
    default void close() {
    }
}
