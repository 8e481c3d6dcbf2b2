package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.ConfigLoader;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Helpers for the proxy's edge-case tests (errors, limits, temp files, drain): images of a chosen size,
 * multipart bodies, a plain HTTP client, a raw-socket client for partial and oversized uploads, and the
 * checks every error answer must pass.
 */
final class EdgeSupport {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String BOUNDARY = "edgeBoundary7MA4YWxkTrZu0gW";
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private EdgeSupport() {
    }

    // ---- proxy -----------------------------------------------------------------------------------

    /** Starts a proxy on 127.0.0.1:0 for a YAML config. */
    static ProxyServer start(String yaml, Path dataDir) {
        return ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, Map.of(), "test.yaml"))
                .listen("127.0.0.1", 0).withDataDir(dataDir).withPrivateImageUrls(true));
    }

    /** One {@code model_list} entry for a gpt-image-1 group on the fake (extra params as YAML flow pairs). */
    static String openAiModel(String name, String apiBase, String apiKey, String extra) {
        return "  - model_name: " + name + "\n"
                + "    litellm_params: {model: openai/gpt-image-1, api_key: " + apiKey + ", api_base: '" + apiBase + "'"
                + (extra.isEmpty() ? "" : ", " + extra) + "}\n";
    }

    /** Waits (bounded, {@link dev.easel.testkit.Await#DEFAULT_TIMEOUT}) until the condition holds. */
    static void await(String what, BooleanSupplier condition) {
        dev.easel.testkit.Await.until(what, condition);
    }

    /** Files in {@code <dataDir>/uploads} (empty when the directory does not exist). */
    static List<Path> uploads(Path dataDir) {
        Path dir = dataDir.resolve("uploads");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- images ----------------------------------------------------------------------------------

    /** A PNG of random noise (incompressible: about {@code 3 * w * h} bytes). */
    static byte[] noisePng(int w, int h, long seed) {
        Random r = new Random(seed);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, r.nextInt(1 << 24));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** A small (16x16) PNG. */
    static byte[] smallPng() {
        return noisePng(16, 16, 1);
    }

    static String dataUrl(byte[] png) {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(png);
    }

    // ---- multipart -------------------------------------------------------------------------------

    /** A multipart body builder. */
    static final class Form {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Form text(String name, String value) {
            head("Content-Disposition: form-data; name=\"" + name + "\"\r\n\r\n");
            out.writeBytes(value.getBytes(StandardCharsets.UTF_8));
            out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Form file(String name, String fileName, byte[] bytes) {
            head("Content-Disposition: form-data; name=\"" + name + "\"; filename=\"" + fileName + "\"\r\n"
                    + "Content-Type: image/png\r\n\r\n");
            out.writeBytes(bytes);
            out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        private void head(String s) {
            out.writeBytes(("--" + BOUNDARY + "\r\n" + s).getBytes(StandardCharsets.UTF_8));
        }

        byte[] bytes() {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            all.writeBytes(out.toByteArray());
            all.writeBytes(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.US_ASCII));
            return all.toByteArray();
        }
    }

    static Form form() {
        return new Form();
    }

    /** The usual small edit: model, prompt, one image. */
    static byte[] edit(String model, byte[] png) {
        return form().text("model", model).text("prompt", "add a hat").file("image", "a.png", png).bytes();
    }

    static final String MULTIPART = "multipart/form-data; boundary=" + BOUNDARY;

    // ---- HTTP ------------------------------------------------------------------------------------

    /** POSTs a body to {@code /v1/images/edits}; {@code headers} are name/value pairs. */
    static HttpResponse<String> post(ProxyServer proxy, String contentType, byte[] body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits"))
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        try {
            return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static HttpResponse<String> get(ProxyServer proxy, String path) {
        try {
            return HTTP.send(HttpRequest.newBuilder(proxy.baseUri().resolve(path)).timeout(Duration.ofSeconds(10))
                    .GET().build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static JsonNode json(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + body, e);
        }
    }

    /**
     * Checks an error answer: the status, {@code application/json}, exactly the four OpenAI keys, no HTML,
     * no stack trace, no secret in body or headers. Returns the {@code error} object.
     */
    static JsonNode assertError(HttpResponse<String> r, int status, String... secrets) {
        Map<String, List<String>> headers = r.headers().map();
        return assertError(r.statusCode(), headers, r.body(), status, secrets);
    }

    static JsonNode assertError(int actualStatus, Map<String, List<String>> headers, String body, int status,
                                String... secrets) {
        assertThat(actualStatus).as("status of %s", body).isEqualTo(status);
        String contentType = headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase("content-type"))
                .flatMap(e -> e.getValue().stream()).findFirst().orElse("");
        assertThat(contentType).startsWith("application/json");
        assertNoLeak(headers, body, secrets);
        JsonNode root = json(body);
        assertThat(fieldNames(root)).containsExactly("error");
        JsonNode error = root.get("error");
        assertThat(fieldNames(error)).containsExactlyInAnyOrder("message", "type", "param", "code");
        assertThat(error.get("message").isTextual()).as("message is a string").isTrue();
        assertThat(error.get("message").asText()).isNotBlank();
        assertThat(error.get("type").isTextual()).as("type is a string").isTrue();
        return error;
    }

    /** No HTML, no Java stack trace, no secret in body or headers. */
    static void assertNoLeak(Map<String, List<String>> headers, String body, String... secrets) {
        String lower = body.toLowerCase(Locale.ROOT);
        assertThat(lower).doesNotContain("<html", "<body", "<!doctype");
        assertThat(body).doesNotContainPattern("\\tat [a-z]+\\.").doesNotContain("Exception:")
                .doesNotContain("dev.easel.").doesNotContain("org.eclipse.jetty");
        for (String secret : secrets) {
            assertThat(body).doesNotContain(secret);
            headers.forEach((k, v) -> assertThat(v).as("header %s", k).noneMatch(h -> h.contains(secret)));
        }
    }

    static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    // ---- raw sockets -----------------------------------------------------------------------------

    /** A raw HTTP/1.1 connection, for partial, oversized and aborted uploads. */
    static final class Raw implements AutoCloseable {
        final Socket socket;
        final OutputStream out;
        final InputStream in;
        volatile long written;

        Raw(ProxyServer proxy, int sendBuffer) throws IOException {
            socket = new Socket();
            if (sendBuffer > 0) {
                socket.setSendBufferSize(sendBuffer);
            }
            socket.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 5000);
            socket.setSoTimeout(10_000);
            out = socket.getOutputStream();
            in = socket.getInputStream();
        }

        Raw(ProxyServer proxy) throws IOException {
            this(proxy, 0);
        }

        /** Sends a request head for {@code POST path} with these extra header lines. */
        Raw head(String path, String... headerLines) throws IOException {
            StringBuilder sb = new StringBuilder("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            for (String h : headerLines) {
                sb.append(h).append("\r\n");
            }
            sb.append("\r\n");
            out.write(sb.toString().getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return this;
        }

        /** Sends {@code GET path} (keep-alive). */
        Raw get(String path) throws IOException {
            out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return this;
        }

        Raw send(byte[] bytes) throws IOException {
            return send(bytes, 0, bytes.length);
        }

        Raw send(byte[] bytes, int off, int len) throws IOException {
            out.write(bytes, off, len);
            out.flush();
            written += len;
            return this;
        }

        /** One chunk of a chunked body. */
        Raw chunk(byte[] bytes, int off, int len) throws IOException {
            out.write((Integer.toHexString(len) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(bytes, off, len);
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            written += len;
            return this;
        }

        /** Reads one response (head and a Content-Length or chunked body), waiting at most {@code timeout}. */
        RawResponse read(Duration timeout) throws IOException {
            socket.setSoTimeout((int) timeout.toMillis());
            String statusLine = line();
            Map<String, List<String>> headers = new LinkedHashMap<>();
            for (String h = line(); !h.isEmpty(); h = line()) {
                int colon = h.indexOf(':');
                headers.computeIfAbsent(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                        .add(h.substring(colon + 1).trim());
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            String length = first(headers, "content-length");
            if (length != null) {
                body.writeBytes(in.readNBytes(Integer.parseInt(length)));
            } else if ("chunked".equalsIgnoreCase(first(headers, "transfer-encoding"))) {
                for (int n = Integer.parseInt(line().trim(), 16); n > 0; n = Integer.parseInt(line().trim(), 16)) {
                    body.writeBytes(in.readNBytes(n));
                    line();
                }
                line();
            }
            int status = Integer.parseInt(statusLine.split(" ")[1]);
            return new RawResponse(status, headers, body.toString(StandardCharsets.UTF_8));
        }

        /** Whether the server closed the connection (EOF or reset) within {@code timeout}. */
        boolean closedByServer(Duration timeout) throws IOException {
            socket.setSoTimeout((int) timeout.toMillis());
            try {
                return in.read() < 0;
            } catch (SocketTimeoutException e) {
                return false;
            } catch (IOException e) {
                return true; // reset
            }
        }

        private String line() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) >= 0 && c != '\n') {
                if (c != '\r') {
                    b.write(c);
                }
            }
            if (c < 0 && b.size() == 0) {
                throw new IOException("connection closed before a response line");
            }
            return b.toString(StandardCharsets.ISO_8859_1);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /**
     * POSTs {@code body} over a raw socket with {@code Content-Length}, writing from another thread so that an
     * answer sent before the body is read (413, 429) is received even while the upload is cut off.
     */
    static RawResponse rawPost(ProxyServer proxy, String contentType, byte[] body) throws IOException {
        try (Raw raw = new Raw(proxy)) {
            raw.head("/v1/images/edits", "Content-Type: " + contentType, "Content-Length: " + body.length);
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    for (int off = 0; off < body.length; off += 16 * 1024) {
                        raw.send(body, off, Math.min(16 * 1024, body.length - off));
                    }
                } catch (IOException ignored) {
                    // the server answered early and closed: expected for limits
                }
            });
            RawResponse r = raw.read(Duration.ofSeconds(10));
            raw.close();
            try {
                writer.join(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return r;
        }
    }

    /** A response read off a raw socket. */
    record RawResponse(int status, Map<String, List<String>> headers, String body) {
        String header(String name) {
            return first(headers, name.toLowerCase(Locale.ROOT));
        }

        /** The checks of {@link #assertError(HttpResponse, int, String...)}. */
        JsonNode assertError(int expected, String... secrets) {
            return EdgeSupport.assertError(status, headers, body, expected, secrets);
        }
    }

    private static String first(Map<String, List<String>> headers, String name) {
        List<String> v = headers.get(name);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    static URI uri(ProxyServer proxy, String path) {
        return proxy.baseUri().resolve(path);
    }
}
