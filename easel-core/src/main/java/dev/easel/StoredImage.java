package dev.easel;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.Objects;

/**
 * An image read back from a {@link ServableImageStore}: its content type, length in bytes, expiry, and a stream of
 * its bytes (empty for {@link ServableImageStore#stat}). Closing it closes the stream.
 */
public final class StoredImage implements Closeable {

    private final String contentType;
    private final long length;
    private final Instant expiresAt;
    private final InputStream body;

    private StoredImage(String contentType, long length, Instant expiresAt, InputStream body) {
        this.contentType = Objects.requireNonNull(contentType, "contentType");
        this.expiresAt = Objects.requireNonNull(expiresAt, "expiresAt");
        this.body = Objects.requireNonNull(body, "body");
        if (length < 0) {
            throw new IllegalArgumentException("length must not be negative (was " + length + ")");
        }
        this.length = length;
    }

    /** An image whose bytes are {@code body} ({@code length} of them). */
    public static StoredImage of(String contentType, long length, Instant expiresAt, InputStream body) {
        return new StoredImage(contentType, length, expiresAt, body);
    }

    /** An image described without its bytes. */
    public static StoredImage described(String contentType, long length, Instant expiresAt) {
        return new StoredImage(contentType, length, expiresAt, InputStream.nullInputStream());
    }

    /** {@code image/png}, {@code image/jpeg} or {@code image/webp}. */
    public String contentType() {
        return contentType;
    }

    /** Length in bytes. */
    public long length() {
        return length;
    }

    /** When the image stops being served. */
    public Instant expiresAt() {
        return expiresAt;
    }

    /** The image's bytes; read at most once. */
    public InputStream body() {
        return body;
    }

    @Override
    public void close() throws IOException {
        body.close();
    }
}
