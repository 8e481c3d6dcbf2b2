package dev.easel.http;

import dev.easel.internal.Blob;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * A request body of literal bytes and blobs written as base64, for providers whose JSON carries images inline
 * (Gemini's {@code inlineData.data}): each blob is encoded while the body is sent, from its file or array, so an
 * upload is never held in memory a second time as base64 text. The length is known before anything is sent, and
 * {@link #publisher()} may be called any number of times (retries, fallbacks). The caller writes the JSON around the
 * blobs; base64 needs no JSON escaping.
 */
public final class Base64Body {

    /** Source bytes encoded per read: a multiple of 3, so only the last chunk is padded. */
    private static final int CHUNK = 3 * 16 * 1024;

    private sealed interface Piece permits Literal, Encoded {
    }

    private record Literal(byte[] bytes) implements Piece {
    }

    private record Encoded(Blob blob) implements Piece {
    }

    private final List<Piece> pieces;

    private Base64Body(List<Piece> pieces) {
        this.pieces = List.copyOf(pieces);
    }

    /** An empty builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** Characters of the padded base64 of {@code bytes} bytes. */
    public static long encodedLength(long bytes) {
        return (bytes + 2) / 3 * 4;
    }

    /** Total body size in bytes. */
    public long contentLength() {
        long n = 0;
        for (Piece p : pieces) {
            n += p instanceof Literal l ? l.bytes().length : encodedLength(((Encoded) p).blob().size());
        }
        return n;
    }

    /** A fresh publisher over the whole body, of exactly {@link #contentLength()} bytes. */
    public HttpRequest.BodyPublisher publisher() {
        HttpRequest.BodyPublisher[] pubs = new HttpRequest.BodyPublisher[pieces.size()];
        for (int i = 0; i < pubs.length; i++) {
            if (pieces.get(i) instanceof Literal l) {
                pubs[i] = SlicePublisher.of(l.bytes(), 0, l.bytes().length); // a view: ofByteArray copies
            } else if (((Encoded) pieces.get(i)).blob().size() == 0) {
                pubs[i] = HttpRequest.BodyPublishers.noBody(); // fromPublisher refuses a length of 0
            } else {
                Blob blob = ((Encoded) pieces.get(i)).blob();
                if (blob instanceof Blob.ChunksBlob c && c.lease() != null) {
                    c.lease().poison(); // encoded while the client sends it, on the client's threads: not tracked
                }
                pubs[i] = HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> {
                    try {
                        return new Encoding(blob.open());
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }), encodedLength(blob.size()));
            }
        }
        return HttpRequest.BodyPublishers.concat(pubs);
    }

    /** The whole body in memory (tests and small bodies only). */
    public byte[] toByteArray() {
        var out = new java.io.ByteArrayOutputStream();
        for (Piece p : pieces) {
            if (p instanceof Literal l) {
                out.writeBytes(l.bytes());
            } else {
                try (InputStream in = new Encoding(((Encoded) p).blob().open())) {
                    in.transferTo(out);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return out.toByteArray();
    }

    /** Builds a {@link Base64Body} piece by piece, in order. */
    public static final class Builder {
        private final List<Piece> pieces = new ArrayList<>();

        private Builder() {
        }

        /** Appends bytes as they are. */
        public Builder bytes(byte[] bytes) {
            pieces.add(new Literal(Objects.requireNonNull(bytes, "bytes").clone()));
            return this;
        }

        /** Appends {@code text} as UTF-8 (already valid JSON where it goes: this escapes nothing). */
        public Builder text(String text) {
            pieces.add(new Literal(Objects.requireNonNull(text, "text").getBytes(StandardCharsets.UTF_8)));
            return this;
        }

        /** Appends the padded standard base64 of {@code blob}, encoded while the body is sent. */
        public Builder base64(Blob blob) {
            pieces.add(new Encoded(Objects.requireNonNull(blob, "blob")));
            return this;
        }

        /** The body. */
        public Base64Body build() {
            return new Base64Body(pieces);
        }
    }

    /** Base64 of a stream, chunk by chunk. */
    private static final class Encoding extends InputStream {
        private final InputStream in;
        private final byte[] raw = new byte[CHUNK];
        private byte[] out = new byte[0];
        private int pos;
        private boolean done;

        Encoding(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            if (len == 0) {
                return 0;
            }
            if (pos == out.length && !fill()) {
                return -1;
            }
            int n = Math.min(len, out.length - pos);
            System.arraycopy(out, pos, b, off, n);
            pos += n;
            return n;
        }

        /** Encodes the next chunk; false at the end. */
        private boolean fill() throws IOException {
            if (done) {
                return false;
            }
            // readNBytes fills the chunk unless the stream ends, so padding appears only at the very end
            int n = in.readNBytes(raw, 0, raw.length);
            if (n < raw.length) {
                done = true;
            }
            if (n == 0) {
                return false;
            }
            out = Base64.getEncoder().encode(n == raw.length ? raw : java.util.Arrays.copyOf(raw, n));
            pos = 0;
            return true;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
