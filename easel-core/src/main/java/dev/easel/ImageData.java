package dev.easel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;

/**
 * One returned image: as base64 ({@link #b64Json()}), as a URL ({@link #url()}), or both. {@link #bytes()}
 * returns the image bytes either way.
 */
public final class ImageData {

    private static final HttpClient FETCHER = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();

    /** Largest image read from a URL (a 4K PNG is far below it). */
    private static final int MAX_FETCH_BYTES = 256 * 1024 * 1024;

    private final String url;
    private volatile String b64Json;
    // base64 as ASCII bytes b64Ascii[b64Off, b64Off + b64Len), when parsed that way: half the memory of a String's
    // chars, and usually a slice of the provider's response body itself (no copy at all)
    private final byte[] b64Ascii;
    private final int b64Off;
    private final int b64Len;
    private final String revisedPrompt;
    private volatile byte[] bytes;

    private ImageData(String url, String b64Json, String revisedPrompt, byte[] bytes) {
        this(url, b64Json, null, 0, 0, revisedPrompt, bytes);
    }

    private ImageData(String url, String b64Json, byte[] b64Ascii, int b64Off, int b64Len, String revisedPrompt,
                      byte[] bytes) {
        this.url = url;
        this.b64Json = b64Json;
        this.b64Ascii = b64Ascii;
        this.b64Off = b64Off;
        this.b64Len = b64Len;
        this.revisedPrompt = revisedPrompt;
        this.bytes = bytes;
    }

    /**
     * An image given as base64 in ASCII bytes (as read from a provider's JSON). The bytes must be ASCII
     * 0x20–0x7E other than {@code "} and {@code \} (base64 always is): writers copy them into JSON unescaped.
     * The array is not copied: do not change it afterwards.
     */
    public static ImageData ofBase64Ascii(byte[] ascii, String url, String revisedPrompt) {
        return ofBase64Ascii(ascii, 0, java.util.Objects.requireNonNull(ascii, "ascii").length, url, revisedPrompt);
    }

    /**
     * An image given as base64 in {@code ascii[off, off + len)}, typically a slice of a provider's JSON body;
     * the same rule on the bytes as {@link #ofBase64Ascii(byte[], String, String)}. The array is not copied: do
     * not change it afterwards.
     */
    public static ImageData ofBase64Ascii(byte[] ascii, int off, int len, String url, String revisedPrompt) {
        java.util.Objects.checkFromIndexSize(off, len, java.util.Objects.requireNonNull(ascii, "ascii").length);
        return new ImageData(url, null, ascii, off, len, revisedPrompt, null);
    }

    /** Whether the image carries base64 (without building a String of it). */
    public boolean hasBase64() {
        return b64Ascii != null || b64Json != null;
    }

    /** The base64 as read-only ASCII bytes, when the image holds it that way (lets writers skip a copy). */
    public Optional<java.nio.ByteBuffer> b64Ascii() {
        return b64Ascii == null ? Optional.empty()
                : Optional.of(java.nio.ByteBuffer.wrap(b64Ascii, b64Off, b64Len).slice().asReadOnlyBuffer());
    }

    /**
     * Writes the base64 to {@code out} as ASCII bytes without building a String (one write when the image
     * holds ASCII bytes). Returns false, writing nothing, when the image has no base64.
     */
    public boolean writeBase64(java.io.OutputStream out) throws IOException {
        if (b64Ascii != null) {
            out.write(b64Ascii, b64Off, b64Len);
            return true;
        }
        String s = b64Json;
        if (s == null) {
            return false;
        }
        out.write(s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        return true;
    }

    /** An image given as base64. */
    public static ImageData ofBase64(String b64Json) {
        return new ImageData(null, b64Json, null, null);
    }

    /** An image given as a URL. */
    public static ImageData ofUrl(String url) {
        return new ImageData(url, null, null, null);
    }

    /** An image with any of its forms; at least one of {@code url} and {@code b64Json} must be non-null. */
    public static ImageData of(String url, String b64Json, String revisedPrompt) {
        if (url == null && b64Json == null) {
            throw new IllegalArgumentException("an image needs a url or b64_json");
        }
        return new ImageData(url, b64Json, revisedPrompt, null);
    }

    /** A copy that also carries {@code url}; keeps the known bytes. */
    public ImageData withUrl(String newUrl) {
        return new ImageData(newUrl, b64Json, b64Ascii, b64Off, b64Len, revisedPrompt, bytes);
    }

    /** A copy without base64 (for clients that asked for URLs only). */
    public ImageData withoutBase64() {
        if (url == null) {
            throw new IllegalStateException("an image without url must keep its base64");
        }
        return new ImageData(url, null, revisedPrompt, bytes);
    }

    /** URL of the image ({@code https:}, or {@code file:} for images Easel stored locally). */
    public Optional<String> url() {
        return Optional.ofNullable(url);
    }

    /** The image as base64. */
    public Optional<String> b64Json() {
        String s = b64Json;
        if (s == null && b64Ascii != null) {
            s = new String(b64Ascii, b64Off, b64Len, java.nio.charset.StandardCharsets.ISO_8859_1);
            b64Json = s;
        }
        return Optional.ofNullable(s);
    }

    /** Revised prompt, for models that rewrite prompts. */
    public Optional<String> revisedPrompt() {
        return Optional.ofNullable(revisedPrompt);
    }

    /**
     * The image bytes: decoded from base64, or read from the URL ({@code file:} read from disk,
     * {@code http(s):} fetched once and kept).
     *
     * @throws ConnectionException when the URL cannot be read
     */
    public byte[] bytes() {
        byte[] b = bytes;
        if (b != null) {
            return b.clone();
        }
        if (b64Ascii != null) {
            java.nio.ByteBuffer d = Base64.getDecoder().decode(java.nio.ByteBuffer.wrap(b64Ascii, b64Off, b64Len));
            b = d.hasArray() && d.arrayOffset() == 0 && d.position() == 0 && d.remaining() == d.array().length
                    ? d.array() : java.util.Arrays.copyOfRange(d.array(), d.arrayOffset() + d.position(),
                    d.arrayOffset() + d.limit());
        } else if (b64Json != null) {
            b = Base64.getDecoder().decode(b64Json);
        } else {
            b = fetch(url);
        }
        bytes = b;
        return b.clone();
    }

    private static byte[] fetch(String url) {
        URI uri = URI.create(url);
        try {
            if ("file".equalsIgnoreCase(uri.getScheme())) {
                return Files.readAllBytes(Path.of(uri));
            }
            if ("data".equalsIgnoreCase(uri.getScheme())) {
                String s = uri.getSchemeSpecificPart();
                return Base64.getDecoder().decode(s.substring(s.indexOf(',') + 1));
            }
            if (!"http".equalsIgnoreCase(uri.getScheme()) && !"https".equalsIgnoreCase(uri.getScheme())) {
                throw new ConnectionException("cannot read an image url with scheme '" + uri.getScheme() + "'", null,
                        null);
            }
            HttpResponse<java.io.InputStream> r = FETCHER.send(HttpRequest.newBuilder(uri)
                    .timeout(Duration.ofSeconds(60)).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
            try (java.io.InputStream in = r.body()) {
                if (r.statusCode() / 100 != 2) {
                    throw new ConnectionException("could not fetch image url (HTTP " + r.statusCode() + ")", null,
                            null);
                }
                byte[] b = in.readNBytes(MAX_FETCH_BYTES + 1);
                if (b.length > MAX_FETCH_BYTES) {
                    throw new ConnectionException("image url returned more than " + MAX_FETCH_BYTES + " bytes", null,
                            null);
                }
                return b;
            }
        } catch (IOException e) {
            throw new ConnectionException("could not read image url (" + e.getClass().getSimpleName() + ")", null, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConnectionException("interrupted while fetching image url", null, e);
        }
    }

    @Override
    public String toString() {
        long chars = b64Ascii != null ? b64Len : b64Json != null ? b64Json.length() : -1;
        return "ImageData[" + (url != null ? "url=" + url : "") + (chars >= 0 ? (url != null ? ", " : "")
                + "b64Json=" + chars + " chars" : "") + "]";
    }
}
