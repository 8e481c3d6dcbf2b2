package dev.easel.proxy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** A multipart/form-data body written byte by byte, so a test controls every header and separator. */
final class RawMultipart {

    static final String BOUNDARY = "----EaselWireBoundary7MA4YWxkTrZu0gW";

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** The request's Content-Type header. */
    static String contentType() {
        return "multipart/form-data; boundary=" + BOUNDARY;
    }

    /** A text part without a content type. */
    RawMultipart text(String name, String value) {
        return part(name, null, null, value.getBytes(StandardCharsets.UTF_8));
    }

    /** A text part with its own Content-Type header (as some clients send). */
    RawMultipart text(String name, String value, String contentType) {
        return part(name, null, contentType, value.getBytes(StandardCharsets.UTF_8));
    }

    /** A file part; {@code filename} and {@code contentType} may be null (header parameter left out). */
    RawMultipart file(String name, String filename, String contentType, byte[] bytes) {
        return part(name, filename == null ? null : filename, contentType, bytes);
    }

    private RawMultipart part(String name, String filename, String contentType, byte[] bytes) {
        StringBuilder h = new StringBuilder("--").append(BOUNDARY).append("\r\n")
                .append("Content-Disposition: form-data; name=\"").append(name).append('"');
        if (filename != null) {
            h.append("; filename=\"").append(filename).append('"');
        }
        h.append("\r\n");
        if (contentType != null) {
            h.append("Content-Type: ").append(contentType).append("\r\n");
        }
        h.append("\r\n");
        raw(h.toString());
        out.writeBytes(bytes);
        return raw("\r\n");
    }

    /** Verbatim bytes (for preambles and broken bodies). */
    RawMultipart raw(String text) {
        out.writeBytes(text.getBytes(StandardCharsets.ISO_8859_1));
        return this;
    }

    /** The body with its closing boundary. */
    byte[] build() {
        ByteArrayOutputStream copy = new ByteArrayOutputStream();
        copy.writeBytes(out.toByteArray());
        copy.writeBytes(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.ISO_8859_1));
        return copy.toByteArray();
    }

    /** The body as written so far, without a closing boundary. */
    byte[] unterminated() {
        return out.toByteArray();
    }
}
