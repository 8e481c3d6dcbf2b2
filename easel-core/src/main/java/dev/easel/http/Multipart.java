package dev.easel.http;

import dev.easel.internal.Blob;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * A multipart/form-data body whose file parts stream from their blobs (files are never read into
 * memory). {@link #publisher()} may be called any number of times: each call gives a fresh body, which
 * is what retries and fallbacks need.
 */
public final class Multipart {

    private static final SecureRandom RANDOM = new SecureRandom();

    private final String boundary;
    private final List<Part> parts = new ArrayList<>();

    private sealed interface Part permits Text, File {
    }

    private record Text(String name, String value) implements Part {
    }

    private record File(String name, String fileName, String contentType, Blob blob) implements Part {
    }

    private Multipart(String boundary) {
        this.boundary = boundary;
    }

    /** A new body with a random boundary. */
    public static Multipart create() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return new Multipart("easel-" + HexFormat.of().formatHex(b));
    }

    /** A new body with the given boundary (tests). */
    public static Multipart withBoundary(String boundary) {
        return new Multipart(Objects.requireNonNull(boundary));
    }

    /** Adds a text field. */
    public Multipart text(String name, String value) {
        parts.add(new Text(checkName(name), Objects.requireNonNull(value, name)));
        return this;
    }

    /** Adds a file part. */
    public Multipart file(String name, String fileName, String contentType, Blob blob) {
        parts.add(new File(checkName(name), checkName(fileName), contentType, blob));
        return this;
    }

    /** The {@code Content-Type} header value, with the boundary. */
    public String contentType() {
        return "multipart/form-data; boundary=" + boundary;
    }

    /** Total body size in bytes. */
    public long contentLength() {
        long n = 0;
        for (Part p : parts) {
            n += header(p).length + 2; // part header + CRLF after the content
            n += p instanceof Text t ? t.value().getBytes(StandardCharsets.UTF_8).length : ((File) p).blob().size();
        }
        return n + closing().length;
    }

    /**
     * A fresh publisher over the whole body. Parts in memory are sent as views of their arrays (no copy); a part in a
     * file streams from it.
     */
    public HttpRequest.BodyPublisher publisher() {
        List<HttpRequest.BodyPublisher> pubs = new ArrayList<>();
        List<SlicePublisher.Slice> run = new ArrayList<>();
        // the pooled memory the current run lies in: lent only to a subscriber that tracks its release (a run inside
        // the JDK's concat is read by the JDK's subscriber, which poisons it: left to the collector then)
        java.util.Set<dev.easel.internal.ChunkLease> leases = java.util.Collections.newSetFromMap(
                new java.util.IdentityHashMap<>());
        byte[] crlf = "\r\n".getBytes(StandardCharsets.US_ASCII);
        for (Part p : parts) {
            byte[] h = header(p);
            run.add(new SlicePublisher.Slice(h, 0, h.length));
            if (p instanceof Text t) {
                byte[] v = t.value().getBytes(StandardCharsets.UTF_8);
                run.add(new SlicePublisher.Slice(v, 0, v.length));
            } else {
                Blob blob = ((File) p).blob();
                if (blob instanceof Blob.BytesBlob b) {
                    run.add(new SlicePublisher.Slice(b.bytes(), 0, b.bytes().length));
                } else if (blob instanceof Blob.ChunksBlob c) {
                    if (c.lease() != null) {
                        leases.add(c.lease());
                    }
                    for (int i = 0; i < c.chunks().size(); i++) {
                        run.add(new SlicePublisher.Slice(c.chunks().get(i), 0, c.length(i)));
                    }
                } else {
                    if (!run.isEmpty()) {
                        pubs.add(new SlicePublisher(run, leases));
                        run.clear();
                        leases.clear();
                    }
                    pubs.add(blobPublisher(blob));
                }
            }
            run.add(new SlicePublisher.Slice(crlf, 0, 2));
        }
        byte[] end = closing();
        run.add(new SlicePublisher.Slice(end, 0, end.length));
        pubs.add(new SlicePublisher(run, leases));
        return pubs.size() == 1 ? pubs.get(0) : HttpRequest.BodyPublishers.concat(
                pubs.toArray(HttpRequest.BodyPublisher[]::new));
    }

    /** The whole body as bytes (tests and small bodies only). */
    public byte[] toByteArray() {
        var out = new java.io.ByteArrayOutputStream();
        try {
            for (Part p : parts) {
                out.write(header(p));
                if (p instanceof Text t) {
                    out.write(t.value().getBytes(StandardCharsets.UTF_8));
                } else {
                    try (var in = ((File) p).blob().open()) {
                        in.transferTo(out);
                    }
                }
                out.write('\r');
                out.write('\n');
            }
            out.write(closing());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static HttpRequest.BodyPublisher blobPublisher(Blob blob) {
        if (blob.path().isPresent()) {
            try {
                return HttpRequest.BodyPublishers.ofFile(blob.path().get());
            } catch (java.io.FileNotFoundException e) {
                throw new UncheckedIOException(e);
            }
        }
        return HttpRequest.BodyPublishers.fromPublisher(
                HttpRequest.BodyPublishers.ofInputStream(() -> {
                    try {
                        return blob.open();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }), blob.size());
    }

    private byte[] header(Part p) {
        StringBuilder sb = new StringBuilder();
        sb.append("--").append(boundary).append("\r\n");
        if (p instanceof Text t) {
            sb.append("Content-Disposition: form-data; name=\"").append(t.name()).append("\"\r\n\r\n");
        } else {
            File f = (File) p;
            sb.append("Content-Disposition: form-data; name=\"").append(f.name()).append("\"; filename=\"")
                    .append(f.fileName()).append("\"\r\n");
            if (f.contentType() != null) {
                sb.append("Content-Type: ").append(f.contentType()).append("\r\n");
            }
            sb.append("\r\n");
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private byte[] closing() {
        return ("--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** Escapes a field or file name the way browsers do (quotes as %22, line breaks as spaces). */
    private static String checkName(String s) {
        Objects.requireNonNull(s, "name");
        return s.replace("\"", "%22").replace('\r', ' ').replace('\n', ' ');
    }
}
