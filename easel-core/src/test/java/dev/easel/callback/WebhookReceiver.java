package dev.easel.callback;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A webhook receiver on a real loopback socket: records every POST (headers, batch id, records), answers
 * 200, a chosen status, or hangs until released; can stop (connections refused) and start again on the same
 * port.
 */
final class WebhookReceiver implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    /** One POST as it arrived. */
    record Post(String idempotencyKey, String authorization, String contentType, JsonNode body) {
    }

    private final int port;
    private final List<Post> posts = new ArrayList<>();
    private final List<String> refusedKeys = new ArrayList<>();
    private final CountDownLatch released = new CountDownLatch(1);
    private ExecutorService executor;
    private HttpServer server;
    private volatile int status = 200;
    private volatile boolean hang;

    private WebhookReceiver(int port) {
        this.port = port;
        bind();
    }

    /** A receiver on a free port, answering 200. */
    public static WebhookReceiver start() {
        return new WebhookReceiver(0);
    }

    private void bind() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind the webhook receiver", e);
        }
        executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        server.createContext("/hook", this::handle);
        server.start();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            byte[] body = ex.getRequestBody().readAllBytes();
            if (hang) {
                try {
                    released.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            int answer = status;
            if (answer >= 300) {
                synchronized (posts) {
                    refusedKeys.add(ex.getRequestHeaders().getFirst("Idempotency-Key"));
                }
            }
            if (answer >= 200 && answer < 300) {
                synchronized (posts) {
                    posts.add(new Post(ex.getRequestHeaders().getFirst("Idempotency-Key"),
                            ex.getRequestHeaders().getFirst("Authorization"),
                            ex.getRequestHeaders().getFirst("Content-Type"), JSON.readTree(body)));
                }
            }
            ex.sendResponseHeaders(answer, -1);
        }
    }

    /** The URL to POST to. */
    public URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook");
    }

    /** Answers {@code status} from now on (2xx: the POST is accepted and recorded). */
    public void answer(int newStatus) {
        this.status = newStatus;
    }

    /** Every POST from now on waits (up to 30 s) until {@link #release()}. */
    public void hang() {
        this.hang = true;
    }

    /** Lets hanging POSTs finish and answers at once from now on. */
    public void release() {
        hang = false;
        released.countDown();
    }

    /** Closes the socket: connections are refused until {@link #restart()}. */
    public void stop() {
        server.stop(0);
        executor.shutdownNow();
    }

    /** Listens again on the same port. */
    public void restart() {
        int p = server.getAddress().getPort();
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), p), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind the webhook receiver again on port " + p, e);
        }
        executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        server.createContext("/hook", this::handle);
        server.start();
    }

    /** Accepted POSTs, in arrival order. */
    /** Idempotency keys of POSTs answered with an error status. */
    public List<String> refusedKeys() {
        synchronized (posts) {
            return List.copyOf(refusedKeys);
        }
    }

    public List<Post> posts() {
        synchronized (posts) {
            return List.copyOf(posts);
        }
    }

    /** Every record of every accepted POST, in arrival order. */
    public List<JsonNode> records() {
        List<JsonNode> out = new ArrayList<>();
        for (Post p : posts()) {
            p.body().path("records").forEach(out::add);
        }
        return out;
    }

    /** The {@code request_id} of every record received, in arrival order. */
    public List<String> requestIds() {
        return records().stream().map(r -> r.path("request_id").asText()).toList();
    }

    /** Waits (bounded, {@link dev.easel.testkit.Await#DEFAULT_TIMEOUT}) until the condition holds. */
    public static void await(String what, BooleanSupplier condition) {
        dev.easel.testkit.Await.until(what, condition);
    }

    @Override
    public void close() {
        release();
        server.stop(0);
        executor.shutdownNow();
    }
}
