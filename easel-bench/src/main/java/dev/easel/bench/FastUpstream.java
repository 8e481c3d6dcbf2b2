package dev.easel.bench;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * A fake OpenAI image-edit upstream built never to be the bottleneck: it answers only
 * {@code POST /<profile>/v1/images/edits} from memory and exposes nothing else.
 *
 * <p>The profile in the path sets the behaviour, so direct and proxied calls hit exactly the same code:
 * {@code d<ms>-n<images>[-sse]}, e.g. {@code /d0-n1/v1/images/edits} (no delay, one image) or
 * {@code /d200-n1-sse/v1/images/edits} (server-sent events: three partial images spread over 200 ms, then
 * the completed event). Every SSE event carries {@code bench_emit_us}, the wall-clock microsecond at which
 * it was written, so a client on the same machine can measure emit → receive.
 *
 * <p>Jetty's core API (no servlet layer) on virtual threads: the request body is discarded chunk by chunk
 * without copying, the delay is a sleep (a parked virtual thread, not a spinning one), and canned bodies
 * are written from one shared array. Jetty rather than the JDK's {@code HttpServer}, whose single
 * dispatcher thread accepts and parses every request and falls behind with thousands of connections.
 *
 * <pre>{@code
 * java -cp easel-bench.jar dev.easel.bench.FastUpstream --port 0 --image-bytes 1048576 --partial-bytes 262144
 * }</pre>
 */
public final class FastUpstream {

    private static final Pattern PROFILE = Pattern.compile("/d(\\d+)-n(\\d+)(-sse)?/v1/images/edits");

    private final byte[] image64;
    private final byte[] partial64;
    private final Map<Integer, byte[]> bodies = new ConcurrentHashMap<>();

    private FastUpstream(long imageBytes, long partialBytes) {
        this.image64 = Base64.getEncoder().encode(Png.ofSize(imageBytes, true, 7));
        this.partial64 = Base64.getEncoder().encode(Png.ofSize(partialBytes, true, 8));
    }

    /** Starts the server; prints {@code FastUpstream listening on http://127.0.0.1:<port>} when ready. */
    public static void main(String[] args) throws Exception {
        int port = 0;
        long imageBytes = 1 << 20;
        long partialBytes = 256 << 10;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--image-bytes" -> imageBytes = Long.parseLong(args[++i]);
                case "--partial-bytes" -> partialBytes = Long.parseLong(args[++i]);
                default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
            }
        }
        FastUpstream fake = new FastUpstream(imageBytes, partialBytes);
        QueuedThreadPool pool = new QueuedThreadPool(16, 4);
        pool.setName("fake");
        pool.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        Server server = new Server(pool);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendDateHeader(false);
        http.setOutputBufferSize(64 * 1024);
        ServerConnector connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        connector.setHost("127.0.0.1");
        connector.setPort(port);
        connector.setAcceptQueueSize(16_384); // thousands of connections arrive at once in S4
        connector.setIdleTimeout(300_000);
        server.addConnector(connector);
        server.setHandler(fake.handler());
        server.start();
        System.out.println("FastUpstream listening on http://127.0.0.1:" + connector.getLocalPort()
                + "  (image " + fake.image64.length + " b64 bytes, partial " + fake.partial64.length + ")");
        System.out.flush();
        server.join();
    }

    private Handler handler() {
        return new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                Matcher m = PROFILE.matcher(Request.getPathInContext(request));
                if (!"POST".equals(request.getMethod()) || !m.matches()) {
                    Response.writeError(request, response, callback, 404);
                    return true;
                }
                discard(request);
                long delayMs = Long.parseLong(m.group(1));
                int n = Integer.parseInt(m.group(2));
                if (m.group(3) != null) {
                    sse(response, callback, delayMs);
                    return true;
                }
                if (delayMs > 0) {
                    Thread.sleep(delayMs);
                }
                byte[] body = bodies.computeIfAbsent(n, FastUpstream.this::body);
                response.setStatus(200);
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
                response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
                response.write(true, ByteBuffer.wrap(body), callback);
                return true;
            }
        };
    }

    /** Reads and drops the request body without copying it. */
    private static void discard(Request request) throws Exception {
        while (true) {
            Content.Chunk chunk = request.read();
            if (chunk == null) {
                CompletableFuture<Void> ready = new CompletableFuture<>();
                request.demand(() -> ready.complete(null));
                ready.join();
                continue;
            }
            if (Content.Chunk.isFailure(chunk)) {
                throw new java.io.IOException("request body failed", chunk.getFailure());
            }
            boolean last = chunk.isLast();
            chunk.release();
            if (last) {
                return;
            }
        }
    }

    private void sse(Response response, Callback callback, long delayMs) throws Exception {
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        byte[] partialTail = ("\"size\":\"1024x1024\",\"quality\":\"medium\",\"background\":\"opaque\","
                + "\"output_format\":\"png\",\"created_at\":" + (System.currentTimeMillis() / 1000)
                + ",\"b64_json\":\"" + new String(partial64, StandardCharsets.ISO_8859_1) + "\"}\n\n")
                .getBytes(StandardCharsets.ISO_8859_1);
        int partials = 3;
        for (int i = 0; i < partials; i++) {
            Thread.sleep(delayMs / (partials + 1));
            String head = "event: image_edit.partial_image\ndata: {\"type\":\"image_edit.partial_image\","
                    + "\"bench_emit_us\":" + nowMicros() + ",\"partial_image_index\":" + i + ",";
            write(response, head.getBytes(StandardCharsets.ISO_8859_1), false);
            write(response, partialTail, false);
        }
        Thread.sleep(delayMs / (partials + 1));
        String done = "event: image_edit.completed\ndata: {\"type\":\"image_edit.completed\",\"bench_emit_us\":"
                + nowMicros() + ",\"size\":\"1024x1024\",\"quality\":\"medium\",\"background\":\"opaque\","
                + "\"output_format\":\"png\",\"created_at\":" + (System.currentTimeMillis() / 1000) + ","
                + USAGE + ",\"b64_json\":\"";
        write(response, done.getBytes(StandardCharsets.ISO_8859_1), false);
        write(response, image64, false);
        response.write(true, ByteBuffer.wrap("\"}\n\n".getBytes(StandardCharsets.ISO_8859_1)), callback);
    }

    private static void write(Response response, byte[] bytes, boolean last) throws Exception {
        Callback.Completable done = new Callback.Completable();
        response.write(last, ByteBuffer.wrap(bytes), done);
        done.get();
    }

    private static final String USAGE = "\"usage\":{\"input_tokens\":323,\"input_tokens_details\":{\"image_tokens\":"
            + "194,\"text_tokens\":129},\"output_tokens\":1056,\"output_tokens_details\":{\"image_tokens\":1056,"
            + "\"text_tokens\":0},\"total_tokens\":1379}";

    private byte[] body(int n) {
        StringBuilder sb = new StringBuilder(n * (image64.length + 32) + 512);
        sb.append("{\"created\":").append(System.currentTimeMillis() / 1000).append(",\"data\":[");
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : ",").append("{\"b64_json\":\"")
                    .append(new String(image64, StandardCharsets.ISO_8859_1)).append("\"}");
        }
        sb.append("],\"background\":\"opaque\",\"output_format\":\"png\",\"quality\":\"medium\",")
                .append("\"size\":\"1024x1024\",").append(USAGE).append('}');
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Wall-clock microseconds (CLOCK_REALTIME; comparable across processes on one machine). */
    static long nowMicros() {
        Instant t = Instant.now();
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
    }
}
