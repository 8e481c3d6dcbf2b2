package dev.easel.proxy;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A real OTLP/HTTP trace receiver on 127.0.0.1: decodes every {@code POST /v1/traces} body as a protobuf
 * {@code ExportTraceServiceRequest} and keeps it; answers 200 unless answers were scripted with
 * {@link #answer(int)}. {@link #stop()} closes the socket (connections refused), {@link #restart()} listens again on
 * the same port.
 */
final class OtlpReceiver implements AutoCloseable {

    static final String PATH = "/v1/traces";

    /** One export as it arrived, with the status it was answered. */
    record Export(String method, String path, Map<String, String> headers, byte[] body, int answered,
                  ExportTraceServiceRequest request) {
        /** The request as protobuf text, for scanning what was sent. */
        String text() {
            return request == null ? new String(body, java.nio.charset.StandardCharsets.ISO_8859_1)
                    : request.toString();
        }
    }

    private final List<Export> exports = new ArrayList<>();
    private final Deque<Integer> answers = new ArrayDeque<>();
    private HttpServer server;
    private ExecutorService executor;
    private int port;

    private OtlpReceiver() {
    }

    static OtlpReceiver start() {
        return start(0);
    }

    static OtlpReceiver start(int port) {
        OtlpReceiver r = new OtlpReceiver();
        r.bind(port);
        return r;
    }

    /** A port nothing listens on (yet). */
    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void bind(int p) {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), p), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind an OTLP receiver on port " + p, e);
        }
        executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        server.createContext(PATH, ex -> {
            try (ex) {
                byte[] body = ex.getRequestBody().readAllBytes();
                Map<String, String> headers = new LinkedHashMap<>();
                ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT),
                        String.join(",", v)));
                int status;
                synchronized (answers) {
                    status = answers.isEmpty() ? 200 : answers.poll();
                }
                ExportTraceServiceRequest request;
                try {
                    request = ExportTraceServiceRequest.parseFrom(body);
                } catch (IOException e) {
                    request = null;
                    status = 400;
                }
                synchronized (exports) {
                    exports.add(new Export(ex.getRequestMethod(), ex.getRequestURI().getPath(), headers, body, status,
                            request));
                }
                ex.getResponseHeaders().add("Content-Type", "application/x-protobuf");
                ex.sendResponseHeaders(status, -1); // an empty ExportTraceServiceResponse
            }
        });
        server.start();
        port = server.getAddress().getPort();
    }

    /** The next exports are answered with these statuses, in order (then 200 again). */
    void answer(int... statuses) {
        synchronized (answers) {
            for (int s : statuses) {
                answers.add(s);
            }
        }
    }

    int port() {
        return port;
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    String tracesUrl() {
        return baseUrl() + PATH;
    }

    void stop() {
        server.stop(0);
        executor.shutdownNow();
    }

    void restart() {
        bind(port);
    }

    List<Export> exports() {
        synchronized (exports) {
            return List.copyOf(exports);
        }
    }

    /** Every span of every export answered 200, with its resource and scope. */
    List<Span> spans() {
        List<Span> out = new ArrayList<>();
        for (Export e : exports()) {
            if (e.request() == null || e.answered() != 200) {
                continue;
            }
            for (ResourceSpans rs : e.request().getResourceSpansList()) {
                for (ScopeSpans ss : rs.getScopeSpansList()) {
                    for (io.opentelemetry.proto.trace.v1.Span s : ss.getSpansList()) {
                        out.add(new Span(rs.getResource(), ss.getScope().getName(), s));
                    }
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        stop();
    }

    /** A decoded span: kinds and status codes as OTLP numbers them (2 server, 3 client; 1 ok, 2 error). */
    record Span(Resource resource, String scope, io.opentelemetry.proto.trace.v1.Span span) {
        private static final HexFormat HEX = HexFormat.of();

        String traceId() {
            return HEX.formatHex(span.getTraceId().toByteArray());
        }

        String spanId() {
            return HEX.formatHex(span.getSpanId().toByteArray());
        }

        /** The parent's span id, or null for a root span. */
        String parentSpanId() {
            return span.getParentSpanId().isEmpty() ? null : HEX.formatHex(span.getParentSpanId().toByteArray());
        }

        String name() {
            return span.getName();
        }

        int kind() {
            return span.getKindValue();
        }

        int statusCode() {
            return span.getStatus().getCodeValue();
        }

        String statusMessage() {
            return span.getStatus().getMessage();
        }

        long startNanos() {
            return span.getStartTimeUnixNano();
        }

        long endNanos() {
            return span.getEndTimeUnixNano();
        }

        static Optional<AnyValue> attr(List<KeyValue> attributes, String key) {
            return attributes.stream().filter(kv -> kv.getKey().equals(key)).map(KeyValue::getValue).findFirst();
        }

        String string(String key) {
            return attr(span.getAttributesList(), key).filter(AnyValue::hasStringValue).map(AnyValue::getStringValue)
                    .orElse(null);
        }

        String resource(String key) {
            return attr(resource.getAttributesList(), key).map(AnyValue::getStringValue).orElse(null);
        }

        Long integer(String key) {
            return attr(span.getAttributesList(), key).filter(AnyValue::hasIntValue).map(AnyValue::getIntValue)
                    .orElse(null);
        }

        Boolean bool(String key) {
            return attr(span.getAttributesList(), key).filter(AnyValue::hasBoolValue).map(AnyValue::getBoolValue)
                    .orElse(null);
        }

        Double dbl(String key) {
            return attr(span.getAttributesList(), key).filter(AnyValue::hasDoubleValue).map(AnyValue::getDoubleValue)
                    .orElse(null);
        }

        List<String> keys() {
            return span.getAttributesList().stream().map(KeyValue::getKey).toList();
        }
    }
}
