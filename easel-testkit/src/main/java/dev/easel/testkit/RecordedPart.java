package dev.easel.testkit;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One multipart/form-data part exactly as it arrived.
 *
 * @param name        the {@code name} of the part's {@code Content-Disposition}
 * @param filename    the {@code filename} parameter; empty when the part had none, {@code Optional.of("")}
 *                    when it was sent as {@code filename=""}
 * @param contentType the part's {@code Content-Type} header value as sent; empty when the part had none
 * @param headers     all part headers, case-insensitive keys, values in wire order
 * @param bytes       the part's body (a copy is returned)
 */
public record RecordedPart(String name, Optional<String> filename, Optional<String> contentType,
                           Map<String, List<String>> headers, byte[] bytes) {

    /** Copies the mutable inputs so the record stays immutable. */
    public RecordedPart {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(filename, "filename");
        Objects.requireNonNull(contentType, "contentType");
        headers = Headers.copyOf(headers);
        bytes = bytes.clone();
    }

    /** The part's body; a fresh copy on every call. */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** The body decoded as UTF-8. */
    public String text() {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Number of body bytes. */
    public int size() {
        return bytes.length;
    }

    /** Whether the part carried a {@code filename} parameter (possibly empty). */
    public boolean hasFilename() {
        return filename.isPresent();
    }

    /** First value of a part header (case-insensitive), if present. */
    public Optional<String> header(String name) {
        List<String> values = headers.get(name);
        return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.getFirst());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RecordedPart p && name.equals(p.name) && filename.equals(p.filename)
                && contentType.equals(p.contentType) && headers.equals(p.headers)
                && java.util.Arrays.equals(bytes, p.bytes);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, filename, contentType, headers, java.util.Arrays.hashCode(bytes));
    }

    @Override
    public String toString() {
        return "RecordedPart[name=" + name + ", filename=" + filename.orElse("<none>") + ", contentType="
                + contentType.orElse("<none>") + ", " + bytes.length + " bytes]";
    }
}
