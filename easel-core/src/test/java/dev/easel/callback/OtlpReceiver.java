package dev.easel.callback;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

/**
 * An in-test OTLP/HTTP collector on 127.0.0.1: decodes every JSON export request and keeps its spans. Scripted
 * answers (status, {@code Retry-After}) are used once each, in order; then it answers 200 {@code {}}.
 */
final class OtlpReceiver implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One export request as received. */
    record Export(String method, String path, String contentType, Map<String, List<String>> headers, String body,
                  JsonNode json, int answered) {
    }

    /** A span with its resource, flattened. */
    record Span(JsonNode resource, JsonNode scope, JsonNode span) {
        String traceId() {
            return span.path("traceId").asText();
        }

        String spanId() {
            return span.path("spanId").asText();
        }

        String parentSpanId() {
            return span.path("parentSpanId").asText(null);
        }

        String name() {
            return span.path("name").asText();
        }

        int kind() {
            return span.path("kind").asInt();
        }

        int statusCode() {
            return span.path("status").path("code").asInt();
        }

        String statusMessage() {
            return span.path("status").path("message").asText(null);
        }

        /** The attribute's value object ({@code {"stringValue": ...}}), or empty. */
        Optional<JsonNode> attr(String key) {
            return attr(span, key);
        }

        static Optional<JsonNode> attr(JsonNode holder, String key) {
            for (JsonNode kv : holder.path("attributes")) {
                if (kv.path("key").asText().equals(key)) {
                    return Optional.of(kv.path("value"));
                }
            }
            return Optional.empty();
        }

        String string(String key) {
            return attr(key).map(v -> v.path("stringValue").asText(null)).orElse(null);
        }

        /** An int attribute: OTLP/JSON sends 64-bit ints as decimal strings. */
        Long integer(String key) {
            return attr(key).map(v -> {
                JsonNode i = v.path("intValue");
                if (!i.isTextual()) {
                    throw new AssertionError("intValue of " + key + " is not a string: " + v);
                }
                return Long.parseLong(i.asText());
            }).orElse(null);
        }

        Boolean bool(String key) {
            return attr(key).map(v -> v.path("boolValue").asBoolean()).orElse(null);
        }

        Double dbl(String key) {
            return attr(key).map(v -> v.path("doubleValue").asDouble()).orElse(null);
        }

        java.util.Set<String> keys() {
            java.util.Set<String> out = new java.util.LinkedHashSet<>();
            span.path("attributes").forEach(kv -> out.add(kv.path("key").asText()));
            return out;
        }
    }

    /** A scripted answer. */
    record Answer(int status, String retryAfter) {
    }

    private final HttpServer server;
    private final List<Export> exports = new CopyOnWriteArrayList<>();
    private final ConcurrentLinkedQueue<Answer> script = new ConcurrentLinkedQueue<>();

    private OtlpReceiver(HttpServer server) {
        this.server = server;
        server.createContext("/", ex -> {
            try (ex) {
                byte[] body = ex.getRequestBody().readAllBytes();
                Answer a = script.poll();
                int status = a == null ? 200 : a.status();
                String text = new String(body, StandardCharsets.UTF_8);
                JsonNode json;
                try {
                    json = JSON.readTree(text);
                } catch (IOException e) {
                    json = null;
                }
                exports.add(new Export(ex.getRequestMethod(), ex.getRequestURI().getPath(),
                        ex.getRequestHeaders().getFirst("Content-Type"), Map.copyOf(ex.getRequestHeaders()), text,
                        json, status));
                if (a != null && a.retryAfter() != null) {
                    ex.getResponseHeaders().add("Retry-After", a.retryAfter());
                }
                byte[] out = (status == 200 ? "{}" : "{\"message\":\"scripted " + status + "\"}")
                        .getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "application/json");
                ex.sendResponseHeaders(status, out.length);
                ex.getResponseBody().write(out);
            }
        });
        server.start();
    }

    /** A receiver on a free port. */
    static OtlpReceiver start() {
        return start(0);
    }

    /** A receiver on {@code port} (0: any free one). */
    static OtlpReceiver start(int port) {
        try {
            return new OtlpReceiver(HttpServer.create(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A loopback port nothing listens on (bound once, never accepted on, released). */
    static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int port() {
        return server.getAddress().getPort();
    }

    /** {@code http://127.0.0.1:PORT} (no path). */
    String baseUrl() {
        return "http://127.0.0.1:" + port();
    }

    /** The full traces URL. */
    String tracesUrl() {
        return baseUrl() + "/v1/traces";
    }

    void answer(int status, String retryAfter) {
        script.add(new Answer(status, retryAfter));
    }

    List<Export> exports() {
        return List.copyOf(exports);
    }

    /** Spans of the export requests that were answered 200, in arrival order. */
    List<Span> spans() {
        List<Span> out = new ArrayList<>();
        for (Export e : exports) {
            if (e.answered() != 200 || e.json() == null) {
                continue;
            }
            for (JsonNode rs : e.json().path("resourceSpans")) {
                for (JsonNode ss : rs.path("scopeSpans")) {
                    for (JsonNode s : ss.path("spans")) {
                        out.add(new Span(rs.path("resource"), ss.path("scope"), s));
                    }
                }
            }
        }
        return out;
    }

    /** Waits (bounded) until {@code condition} holds; fails the test otherwise. */
    static void await(String what, Duration timeout, BooleanSupplier condition) {
        dev.easel.testkit.Await.until(what, timeout, condition);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
