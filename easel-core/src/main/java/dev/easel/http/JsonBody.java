package dev.easel.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.internal.Blob;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * A JSON request body whose base64 strings stream from blobs, for providers that take images as base64 inside JSON:
 * neither an image nor its base64 (a third larger) is ever held in memory whole, and {@link #publisher()} gives a
 * fresh body each time (retries, fan-out). Put {@link Builder#base64(Blob)}'s placeholder where the string goes in a
 * Jackson tree, then {@link Builder#build(JsonNode)}:
 *
 * <pre>{@code
 * JsonBody.Builder b = JsonBody.builder();
 * ObjectNode root = mapper.createObjectNode().put("prompt", "add a hat").put("image", b.base64(blob));
 * JsonBody body = b.build(root);   // {"prompt":"add a hat","image":"iVBORw0KGgo…"}
 * }</pre>
 */
public final class JsonBody {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Bytes of plain JSON, or a blob written as base64 (without the quotes, which are in the JSON around it). */
    private final List<Object> pieces;
    private final long length;

    private JsonBody(List<Object> pieces) {
        this.pieces = List.copyOf(pieces);
        long n = 0;
        for (Object p : pieces) {
            n += p instanceof byte[] b ? b.length : base64Length(((Blob) p).size());
        }
        this.length = n;
    }

    /** A builder whose placeholders are unique to it. */
    public static Builder builder() {
        return new Builder();
    }

    /** Length of the base64 of {@code bytes} bytes (padded). */
    public static long base64Length(long bytes) {
        return 4 * ((bytes + 2) / 3);
    }

    /** The body's size in bytes. */
    public long contentLength() {
        return length;
    }

    /** A fresh publisher over the whole body, of known length. */
    public HttpRequest.BodyPublisher publisher() {
        List<HttpRequest.BodyPublisher> pubs = new ArrayList<>(pieces.size());
        for (Object p : pieces) {
            if (p instanceof byte[] b) {
                pubs.add(HttpRequest.BodyPublishers.ofByteArray(b));
            } else {
                Blob blob = (Blob) p;
                pubs.add(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> {
                    try {
                        return new Base64Stream(blob.open());
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }), base64Length(blob.size())));
            }
        }
        return HttpRequest.BodyPublishers.concat(pubs.toArray(HttpRequest.BodyPublisher[]::new));
    }

    /** The whole body in memory (tests and small bodies only). */
    public byte[] toByteArray() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object p : pieces) {
            if (p instanceof byte[] b) {
                out.writeBytes(b);
            } else {
                try (InputStream in = new Base64Stream(((Blob) p).open())) {
                    in.transferTo(out);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return out.toByteArray();
    }

    /** Collects the blobs of one body. Not thread-safe; one per body. */
    public static final class Builder {
        private final String nonce;
        private final List<Blob> blobs = new ArrayList<>();

        private Builder() {
            byte[] b = new byte[12];
            RANDOM.nextBytes(b);
            // random per body, so no string a client sends (a prompt) can pass for a placeholder
            this.nonce = HexFormat.of().formatHex(b);
        }

        /** The placeholder to put where the base64 of {@code blob} goes: a JSON string value. */
        public String base64(Blob blob) {
            blobs.add(Objects.requireNonNull(blob, "blob"));
            return placeholder(blobs.size() - 1);
        }

        private String placeholder(Object index) {
            return "easel-base64-" + nonce + "-" + index;
        }

        /**
         * The body: {@code root} written as JSON, each placeholder string replaced by its blob's base64.
         *
         * @throws IllegalArgumentException when a placeholder is not in {@code root} exactly once
         */
        public JsonBody build(JsonNode root) {
            byte[] json;
            try {
                json = JSON.writeValueAsBytes(Objects.requireNonNull(root, "root"));
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("cannot write the JSON body: " + e.getOriginalMessage(), e);
            }
            List<Object> pieces = new ArrayList<>();
            byte[] prefix = ("\"" + placeholder("")).getBytes(StandardCharsets.US_ASCII);
            boolean[] used = new boolean[blobs.size()];
            int from = 0;
            for (int at = indexOf(json, prefix, 0); at >= 0; at = indexOf(json, prefix, from)) {
                int end = at + prefix.length;
                int index = 0;
                while (end < json.length && json[end] >= '0' && json[end] <= '9' && index < blobs.size()) {
                    index = index * 10 + (json[end++] - '0');
                }
                if (end == at + prefix.length || end >= json.length || json[end] != '"' || index >= blobs.size()
                        || used[index]) {
                    throw new IllegalArgumentException("a base64 placeholder is used twice or altered in the JSON "
                            + "tree");
                }
                used[index] = true;
                pieces.add(java.util.Arrays.copyOfRange(json, from, at + 1)); // up to and with the opening quote
                pieces.add(blobs.get(index));
                from = end; // the closing quote starts the next piece
            }
            for (boolean u : used) {
                if (!u) {
                    throw new IllegalArgumentException("a base64 placeholder is not in the JSON tree (each must be "
                            + "a string value, once)");
                }
            }
            pieces.add(java.util.Arrays.copyOfRange(json, from, json.length));
            return new JsonBody(pieces);
        }

        private static int indexOf(byte[] hay, byte[] needle, int from) {
            outer:
            for (int i = from; i <= hay.length - needle.length; i++) {
                for (int j = 0; j < needle.length; j++) {
                    if (hay[i + j] != needle[j]) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }
    }

    /** The base64 (RFC 4648, padded, no line breaks) of a stream, encoded as it is read. */
    static final class Base64Stream extends InputStream {
        private static final int CHUNK = 3 * 4096;
        private final InputStream in;
        private final byte[] raw = new byte[CHUNK];
        private byte[] encoded = new byte[0];
        private int pos;
        private boolean eof;

        Base64Stream(InputStream in) {
            this.in = in;
        }

        private boolean fill() throws IOException {
            while (pos >= encoded.length) {
                if (eof) {
                    return false;
                }
                // whole groups of 3 bytes, so padding can only come at the very end
                int n = in.readNBytes(raw, 0, CHUNK);
                if (n < CHUNK) {
                    eof = true;
                }
                encoded = Base64.getEncoder().encode(n == CHUNK ? raw : java.util.Arrays.copyOf(raw, n));
                pos = 0;
            }
            return true;
        }

        @Override
        public int read() throws IOException {
            return fill() ? encoded[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            if (len == 0) {
                return 0;
            }
            if (!fill()) {
                return -1;
            }
            int n = Math.min(len, encoded.length - pos);
            System.arraycopy(encoded, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
