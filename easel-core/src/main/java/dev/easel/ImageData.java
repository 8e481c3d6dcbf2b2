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
    // base64 as ASCII bytes, when parsed that way: half the memory of a String's chars, and usually slices of the
    // provider's response body itself (no copy at all); several slices when the body was read in chunks
    private final java.nio.ByteBuffer[] b64Ascii;
    private final long b64Len;
    private final String revisedPrompt;
    private volatile byte[] bytes;

    private ImageData(String url, String b64Json, String revisedPrompt, byte[] bytes) {
        this(url, b64Json, null, revisedPrompt, bytes);
    }

    private ImageData(String url, String b64Json, java.nio.ByteBuffer[] b64Ascii, String revisedPrompt,
                      byte[] bytes) {
        this.url = url;
        this.b64Json = b64Json;
        this.b64Ascii = b64Ascii;
        long n = 0;
        if (b64Ascii != null) {
            for (java.nio.ByteBuffer b : b64Ascii) {
                n += b.remaining();
            }
        }
        this.b64Len = n;
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
        return new ImageData(url, null, new java.nio.ByteBuffer[] {java.nio.ByteBuffer.wrap(ascii, off, len).slice()},
                revisedPrompt, null);
    }

    /**
     * An image given as base64 in several runs of ASCII bytes, in order (a provider's JSON body read in chunks); the
     * same rule on the bytes as {@link #ofBase64Ascii(byte[], String, String)}. Heap buffers are not copied: do not
     * change them afterwards.
     */
    public static ImageData ofBase64Ascii(java.util.List<java.nio.ByteBuffer> parts, String url,
                                          String revisedPrompt) {
        java.nio.ByteBuffer[] held = new java.nio.ByteBuffer[parts.size()];
        for (int i = 0; i < held.length; i++) {
            java.nio.ByteBuffer p = java.util.Objects.requireNonNull(parts.get(i), "part");
            if (p.hasArray()) {
                held[i] = p.slice();
            } else { // direct or read-only: copied once
                byte[] copy = new byte[p.remaining()];
                p.duplicate().get(copy);
                held[i] = java.nio.ByteBuffer.wrap(copy);
            }
        }
        return new ImageData(url, null, held, revisedPrompt, null);
    }

    /** Whether the image carries base64 (without building a String of it). */
    public boolean hasBase64() {
        return b64Ascii != null || b64Json != null;
    }

    /** Whether the image holds its base64 as ASCII bytes ({@link #writeBase64} writes them without a copy). */
    public boolean holdsBase64Ascii() {
        return b64Ascii != null;
    }

    /** How many characters of base64 the image carries (0 without base64), without building a String of it. */
    public long base64Length() {
        if (b64Ascii != null) {
            return b64Len;
        }
        String s = b64Json;
        return s == null ? 0 : s.length();
    }

    /**
     * The base64 as read-only ASCII bytes, when the image holds it that way (one view when it is held in one run,
     * else a copy of its runs joined).
     */
    public Optional<java.nio.ByteBuffer> b64Ascii() {
        if (b64Ascii == null) {
            return Optional.empty();
        }
        if (b64Ascii.length == 1) {
            return Optional.of(b64Ascii[0].duplicate().asReadOnlyBuffer());
        }
        return Optional.of(java.nio.ByteBuffer.wrap(joined()).asReadOnlyBuffer());
    }

    private byte[] joined() {
        if (b64Len > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("base64 of " + b64Len + " characters does not fit one array");
        }
        byte[] all = new byte[(int) b64Len];
        int at = 0;
        for (java.nio.ByteBuffer b : b64Ascii) {
            int n = b.remaining();
            b.duplicate().get(all, at, n);
            at += n;
        }
        return all;
    }

    /**
     * Writes the base64 to {@code out} as ASCII bytes without building a String (one write per run of bytes the
     * image holds). Returns false, writing nothing, when the image has no base64.
     */
    public boolean writeBase64(java.io.OutputStream out) throws IOException {
        if (b64Ascii != null) {
            for (java.nio.ByteBuffer b : b64Ascii) {
                out.write(b.array(), b.arrayOffset() + b.position(), b.remaining());
            }
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
        return new ImageData(newUrl, b64Json, b64Ascii, revisedPrompt, bytes);
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
            if (b64Ascii.length == 1) {
                java.nio.ByteBuffer b = b64Ascii[0];
                s = new String(b.array(), b.arrayOffset() + b.position(), b.remaining(),
                        java.nio.charset.StandardCharsets.ISO_8859_1);
            } else {
                s = new String(joined(), java.nio.charset.StandardCharsets.ISO_8859_1);
            }
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
            if (b64Ascii.length == 1) {
                java.nio.ByteBuffer d = Base64.getDecoder().decode(b64Ascii[0].duplicate());
                b = d.hasArray() && d.arrayOffset() == 0 && d.position() == 0 && d.remaining() == d.array().length
                        ? d.array() : java.util.Arrays.copyOfRange(d.array(), d.arrayOffset() + d.position(),
                        d.arrayOffset() + d.limit());
            } else {
                b = decodeRuns();
            }
        } else if (b64Json != null) {
            b = Base64.getDecoder().decode(b64Json);
        } else {
            b = fetch(url);
        }
        bytes = b;
        return b.clone();
    }

    /**
     * Decodes base64 held in several runs straight into one exact array (joining the runs first would be one more
     * copy of the whole image). Malformed base64 is an {@link IllegalArgumentException}, as {@link Base64.Decoder}
     * reports it for one array.
     */
    private byte[] decodeRuns() {
        long pad = 0;
        for (long k = 1; k <= 2 && k <= b64Len && charFromEnd(k) == '='; k++) {
            pad++;
        }
        long full = b64Len - pad;
        long n = full / 4 * 3 + (full % 4 == 3 ? 2 : full % 4 == 2 ? 1 : 0);
        if (full % 4 == 1 || n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("not base64: " + b64Len + " characters cannot be decoded");
        }
        java.util.List<java.io.InputStream> runs = new java.util.ArrayList<>(b64Ascii.length);
        for (java.nio.ByteBuffer r : b64Ascii) {
            runs.add(new java.io.ByteArrayInputStream(r.array(), r.arrayOffset() + r.position(), r.remaining()));
        }
        byte[] out = new byte[(int) n];
        try (java.io.InputStream in = Base64.getDecoder().wrap(
                new java.io.SequenceInputStream(java.util.Collections.enumeration(runs)))) {
            int got = in.readNBytes(out, 0, out.length);
            if (got != out.length || in.read() >= 0) {
                throw new IllegalArgumentException("not base64: the decoded length is not " + n + " bytes");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("not base64: " + e.getMessage(), e);
        }
        return out;
    }

    /** The {@code k}-th character from the end of the runs ({@code 1 <= k <= b64Len}). */
    private char charFromEnd(long k) {
        for (int i = b64Ascii.length - 1; i >= 0; i--) {
            java.nio.ByteBuffer r = b64Ascii[i];
            if (k <= r.remaining()) {
                return (char) r.get(r.position() + r.remaining() - (int) k);
            }
            k -= r.remaining();
        }
        throw new IndexOutOfBoundsException("past the start of the base64");
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
