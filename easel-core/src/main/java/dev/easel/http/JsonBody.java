package dev.easel.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.internal.Blob;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
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
 *
 * The bytes go out as a {@link Base64Body}: the JSON text between the placeholders as literals, each blob encoded
 * while it is sent.
 */
public final class JsonBody {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    /** The JSON text around the blobs, and the blobs, encoded while sent. */
    private final Base64Body body;

    private JsonBody(Base64Body body) {
        this.body = body;
    }

    /** A builder whose placeholders are unique to it. */
    public static Builder builder() {
        return new Builder();
    }

    /** The body's size in bytes. */
    public long contentLength() {
        return body.contentLength();
    }

    /** A fresh publisher over the whole body, of known length. */
    public HttpRequest.BodyPublisher publisher() {
        return body.publisher();
    }

    /** The whole body in memory (tests and small bodies only). */
    public byte[] toByteArray() {
        return body.toByteArray();
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
            Base64Body.Builder pieces = Base64Body.builder();
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
                pieces.bytes(java.util.Arrays.copyOfRange(json, from, at + 1)); // up to and with the opening quote
                pieces.base64(blobs.get(index));
                from = end; // the closing quote starts the next piece
            }
            for (boolean u : used) {
                if (!u) {
                    throw new IllegalArgumentException("a base64 placeholder is not in the JSON tree (each must be "
                            + "a string value, once)");
                }
            }
            pieces.bytes(java.util.Arrays.copyOfRange(json, from, json.length));
            return new JsonBody(pieces.build());
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
}
