package dev.easel.testkit;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One HTTP request as the fake received it: request line, headers, raw body and, for multipart/form-data
 * bodies, the parsed parts in wire order.
 */
public final class RecordedRequest {

    private final String method;
    private final String path;
    private final String query;
    private final Map<String, List<String>> headers;
    private final byte[] body;
    private final List<RecordedPart> parts;
    private final Optional<String> multipartError;

    RecordedRequest(String method, String path, String query, Map<String, List<String>> headers, byte[] body) {
        this.method = method;
        this.path = path;
        this.query = query == null ? "" : query;
        this.headers = Headers.copyOf(headers);
        this.body = body;
        List<RecordedPart> parsed = List.of();
        String error = null;
        String contentType = header("Content-Type").orElse(null);
        if (Multipart.isFormData(contentType)) {
            try {
                parsed = List.copyOf(Multipart.parse(body, Multipart.boundary(contentType)));
            } catch (Multipart.MalformedException e) {
                error = e.getMessage();
            }
        }
        this.parts = parsed;
        this.multipartError = Optional.ofNullable(error);
    }

    /** HTTP method, e.g. {@code POST}. */
    public String method() {
        return method;
    }

    /** Raw (not decoded) path, e.g. {@code /v1/images/edits}. */
    public String path() {
        return path;
    }

    /** Raw query string without {@code ?}; empty when the request had none. */
    public String query() {
        return query;
    }

    /** First value of a query parameter (decoded), if present. */
    public Optional<String> queryParameter(String name) {
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            if (key.equals(name) && !pair.isEmpty()) {
                return Optional.of(eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return Optional.empty();
    }

    /** All request headers; keys are case-insensitive. */
    public Map<String, List<String>> headers() {
        return headers;
    }

    /** First value of a header (case-insensitive), if present. */
    public Optional<String> header(String name) {
        List<String> values = headers.get(name);
        return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.getFirst());
    }

    /** All values of a header (case-insensitive); empty when absent. */
    public List<String> headerValues(String name) {
        return headers.getOrDefault(name, List.of());
    }

    /** The body as received (already de-chunked); a fresh copy on every call. */
    public byte[] body() {
        return body.clone();
    }

    /** The body decoded as UTF-8. */
    public String bodyText() {
        return new String(body, StandardCharsets.UTF_8);
    }

    /** Number of body bytes received. */
    public int bodySize() {
        return body.length;
    }

    /** Whether the body was sent with {@code Transfer-Encoding: chunked}. */
    public boolean chunked() {
        return headerValues("Transfer-Encoding").stream().anyMatch(v -> v.toLowerCase(java.util.Locale.ROOT).contains("chunked"));
    }

    /** The declared {@code Content-Length}, if the request had one. */
    public OptionalLong contentLength() {
        return header("Content-Length").map(v -> OptionalLong.of(Long.parseLong(v.trim())))
                .orElse(OptionalLong.empty());
    }

    /** Whether the Content-Type was multipart/form-data. */
    public boolean isMultipart() {
        return Multipart.isFormData(header("Content-Type").orElse(null));
    }

    /** Why the multipart body could not be parsed; empty when it parsed (or was not multipart). */
    public Optional<String> multipartError() {
        return multipartError;
    }

    /** All multipart parts in wire order; empty for non-multipart or malformed bodies. */
    public List<RecordedPart> parts() {
        return parts;
    }

    /** All parts with this name, in wire order. */
    public List<RecordedPart> parts(String name) {
        return parts.stream().filter(p -> p.name().equals(name)).toList();
    }

    /**
     * The only part with this name.
     *
     * @throws IllegalStateException when there is no such part or more than one
     */
    public RecordedPart part(String name) {
        List<RecordedPart> matching = parts(name);
        if (matching.size() != 1) {
            throw new IllegalStateException("expected exactly one part named '" + name + "' (found "
                    + matching.size() + " in " + fieldNames() + ")");
        }
        return matching.getFirst();
    }

    /** The UTF-8 text of the first part with this name, if any. */
    public Optional<String> textField(String name) {
        return parts.stream().filter(p -> p.name().equals(name)).findFirst().map(RecordedPart::text);
    }

    /** Part names in wire order, duplicates included (e.g. {@code [prompt, model, image[], image[], mask]}). */
    public List<String> fieldNames() {
        return parts.stream().map(RecordedPart::name).toList();
    }

    @Override
    public String toString() {
        return method + " " + path + (query.isEmpty() ? "" : "?" + query) + " (" + body.length + " bytes"
                + (parts.isEmpty() ? "" : ", parts " + fieldNames()) + ")";
    }
}
