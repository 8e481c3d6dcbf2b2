package dev.easel.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What every fake provider server shares: a JDK {@code HttpServer} on 127.0.0.1 (port 0, one virtual thread per
 * exchange) that records every request, answers scripted {@link FakeResponse}s before its provider's default
 * behaviour, holds or delays answers on demand, and never hangs a test ({@link #close()} cuts everything).
 *
 * <p>A subclass routes each recorded request ({@link #route}) and, for the requests a script applies to, calls
 * {@link #answer}, which takes the next scripted response (or the default) and writes it. Its public methods
 * are inherited by the public fakes, so they are documented for the user of those fakes.
 *
 * @param <S> the concrete fake, so fluent setters return it
 */
abstract class FakeServer<S extends FakeServer<S>> implements AutoCloseable {

    /** How long {@link #takeRequest()} waits. */
    static final Duration TAKE_TIMEOUT = Duration.ofSeconds(10);

    /** How long a held answer waits for {@link #releaseAnswers()} at most, so a forgotten release cannot hang. */
    static final Duration HOLD_LIMIT = Duration.ofSeconds(60);

    private static final SecureRandom RANDOM = new SecureRandom();

    /** Writes the fake's own answer for a request whose script had nothing (or a DEFAULT/OUTCOME entry). */
    @FunctionalInterface
    interface DefaultAnswer {
        /** @param scripted the consumed script entry: {@link FakeResponse#defaultBehaviour()} or an outcome */
        void write(FakeResponse scripted) throws IOException;
    }

    private final String name;
    private final HttpServer server;
    private final ExecutorService executor;
    private final CountDownLatch closing = new CountDownLatch(1);
    private final AtomicBoolean closed = new AtomicBoolean();
    private final List<RecordedRequest> requests = new ArrayList<>();
    private final BlockingQueue<RecordedRequest> untaken = new LinkedBlockingQueue<>();
    private final List<Queue<FakeResponse>> scripts = new CopyOnWriteArrayList<>();
    private final Queue<FakeResponse> script = newScript();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger maxInFlight = new AtomicInteger();
    // per exchange, not HttpExchange attributes: those live in the context and are shared by every exchange
    private final Map<HttpExchange, Boolean> inFlightExchanges = new ConcurrentHashMap<>();
    private volatile Duration defaultLatency;
    private CountDownLatch hold; // guarded by this; non-null while answers are held
    /** The hold in force when the request this thread handles was recorded (the handler answers on its thread). */
    private final ThreadLocal<CountDownLatch> heldAtArrival = new ThreadLocal<>();

    /** Binds 127.0.0.1 on a free port; nothing is served until {@link #serve()}. */
    FakeServer(String name, Duration defaultLatency) {
        this.name = name;
        this.defaultLatency = nonNegative(defaultLatency, "latency");
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        try {
            this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            executor.shutdownNow();
            throw new UncheckedIOException("cannot bind the " + name + " server to 127.0.0.1", e);
        }
        server.setExecutor(executor);
        server.createContext("/", this::handle);
    }

    /**
     * Starts serving. Called once the subclass is fully constructed: starting the server's thread is what makes
     * every field the subclass set visible to the handler threads.
     */
    final S serve() {
        server.start();
        return self();
    }

    @SuppressWarnings("unchecked")
    private S self() {
        return (S) this;
    }

    /** The bound port. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** {@code http://127.0.0.1:PORT}, the root every route of this fake hangs from. */
    final String origin() {
        return "http://127.0.0.1:" + port();
    }

    /**
     * The URL to configure as the provider's API base: {@code http://127.0.0.1:PORT} in place of the provider's
     * host (the adapter appends the provider's paths), unless the fake's class documentation says otherwise.
     */
    public String baseUrl() {
        return origin();
    }

    /**
     * Queues a one-shot answer for the next request that this fake's script applies to (its class documentation
     * says which); consumed in order, before the default behaviour.
     *
     * @throws IllegalArgumentException for an outcome made by another fake (e.g. a Gemini outcome on FakeBfl)
     */
    public void enqueue(FakeResponse response) {
        script.add(owned(response));
    }

    /** Latency before every scripted-route answer that has no delay of its own. */
    public S defaultLatency(Duration latency) {
        this.defaultLatency = nonNegative(latency, "latency");
        return self();
    }

    /**
     * Holds every scripted-route answer from now on until {@link #releaseAnswers()}: the request is recorded at
     * once (so a test can wait for it to arrive) and its answer waits, keeping the call in flight exactly as long
     * as the test needs, however slow the machine. A request waits on the hold in force when it was recorded, so a
     * release lets go every request already seen, even if answers are held again right after it.
     * {@link #close()} ends the wait too, and so does a 60 s limit.
     */
    public synchronized S holdAnswers() {
        if (hold == null) {
            hold = new CountDownLatch(1);
        }
        return self();
    }

    /** Lets every held answer go (each then takes its own delay, if any) and stops holding new ones. */
    public synchronized S releaseAnswers() {
        if (hold != null) {
            hold.countDown();
            hold = null;
        }
        return self();
    }

    /** Every request received so far, in arrival order (a snapshot). */
    public List<RecordedRequest> requests() {
        synchronized (requests) {
            return List.copyOf(requests);
        }
    }

    /** Number of requests received so far. */
    public int requestCount() {
        synchronized (requests) {
            return requests.size();
        }
    }

    /**
     * The oldest request not yet taken, waiting up to 10 s for one to arrive.
     *
     * @throws IllegalStateException when none arrives in time
     */
    public RecordedRequest takeRequest() {
        return takeRequest(TAKE_TIMEOUT);
    }

    /**
     * The oldest request not yet taken, waiting up to {@code timeout} for one to arrive.
     *
     * @throws IllegalStateException when none arrives in time
     */
    public RecordedRequest takeRequest(Duration timeout) {
        try {
            RecordedRequest request = untaken.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (request == null) {
                throw new IllegalStateException("no request arrived within " + timeout + " (" + requestCount()
                        + " received in total)");
            }
            return request;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a request", e);
        }
    }

    /**
     * The most recent request.
     *
     * @throws IllegalStateException when no request has been received yet
     */
    public RecordedRequest lastRequest() {
        synchronized (requests) {
            if (requests.isEmpty()) {
                throw new IllegalStateException("no request has been received yet");
            }
            return requests.getLast();
        }
    }

    /** Forgets all recorded requests, all scripted responses not yet used and the fake's own counters. */
    public final void reset() {
        synchronized (requests) {
            requests.clear();
            untaken.clear();
        }
        scripts.forEach(Queue::clear);
        maxInFlight.set(inFlight.get());
        onReset();
    }

    /** Stops the server at once, cutting in-flight (e.g. delayed, held or streaming) responses. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        server.stop(0); // closes every connection first, so woken handlers cannot finish their responses cleanly
        closing.countDown();
        synchronized (this) {
            if (hold != null) {
                hold.countDown(); // held handlers wake, see the server closing and end
            }
        }
        executor.shutdownNow();
        try {
            executor.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return name + "[" + origin() + "]";
    }

    /** Routes one recorded request; the body has been read whole. */
    abstract void route(HttpExchange exchange, RecordedRequest request) throws IOException;

    /** Clears what the subclass counts; called by {@link #reset()}. */
    void onReset() {
    }

    /** The content type of a scripted {@link FakeResponse#sse} stream. */
    String sseContentType() {
        return "text/event-stream";
    }

    /** The body of the 500 answered when the fake itself fails (a bug in the fake, never a scripted outcome). */
    byte[] bugBody(String message) {
        var root = Json.object();
        root.put("fake_server_error", message);
        return Json.bytes(root);
    }

    /** Headers of that 500 (e.g. the request id every answer of the fake carries). */
    List<Map.Entry<String, String>> bugHeaders() {
        return List.of();
    }

    /** A second script queue (e.g. for polls beside submissions); {@link #reset()} clears it too. */
    final Queue<FakeResponse> newScript() {
        Queue<FakeResponse> queue = new ConcurrentLinkedQueue<>();
        scripts.add(queue);
        return queue;
    }

    /** The main script, consumed by {@link #answer} calls that name it. */
    final Queue<FakeResponse> script() {
        return script;
    }

    /** Checks that an outcome belongs to this fake, so a misplaced one fails at once rather than at answer time. */
    final FakeResponse owned(FakeResponse response) {
        Objects.requireNonNull(response, "response");
        if (response.kind() == FakeResponse.Kind.OUTCOME && response.owner() != getClass()) {
            throw new IllegalArgumentException(response + " is an outcome of " + response.owner().getSimpleName()
                    + " and cannot be enqueued on " + name);
        }
        return response;
    }

    /**
     * Answers a request from {@code queue}: takes the next scripted response (or the default), waits while
     * answers are held and for its delay, then writes it. The request counts as in flight until just before
     * the answer's last bytes go out.
     *
     * @param requestId passed to scripted bodies that name the request (e.g. OpenAI's moderation message)
     * @param standard  headers every answer of this fake carries; a scripted response's own headers replace them
     */
    final void answer(HttpExchange exchange, Queue<FakeResponse> queue, String requestId,
                      List<Map.Entry<String, String>> standard, DefaultAnswer fallback) throws IOException {
        maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
        inFlightExchanges.put(exchange, Boolean.TRUE);
        try {
            FakeResponse scripted = queue.poll();
            FakeResponse response = scripted == null ? FakeResponse.defaultBehaviour() : scripted;
            if (!awaitRelease() || !pause(response.delay().orElse(defaultLatency))) {
                return;
            }
            List<Map.Entry<String, String>> headers = concat(standard, response.headers());
            switch (response.kind()) {
                case DROP -> {
                    // Closing an exchange before sendResponseHeaders closes the TCP connection: no byte is sent.
                }
                case BODY -> send(exchange, response.status(), response.contentType(), response.body(requestId),
                        headers);
                case SSE -> stream(exchange, sseContentType(), response.events(), response.between(), headers);
                case DEFAULT, OUTCOME -> fallback.write(response);
            }
        } finally {
            endInFlight(exchange);
        }
    }

    /** Requests being answered through {@link #answer} right now. */
    final int inFlight() {
        return inFlight.get();
    }

    /** The most requests that were in flight at once since the start (or {@link #reset()}). */
    final int maxInFlight() {
        return maxInFlight.get();
    }

    /** Writes a whole response; {@code headers} are set in order, so a later one replaces an earlier namesake. */
    final void send(HttpExchange exchange, int status, String contentType, byte[] body,
                    List<Map.Entry<String, String>> headers) throws IOException {
        prepareHeaders(exchange, contentType, headers);
        endInFlight(exchange);
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** Writes a 200 stream of already formatted events, flushing each, {@code between} apart. */
    final void stream(HttpExchange exchange, String contentType, List<String> events, Duration between,
                      List<Map.Entry<String, String>> headers) throws IOException {
        prepareHeaders(exchange, contentType, headers);
        exchange.getResponseHeaders().set("Cache-Control", "no-cache");
        exchange.sendResponseHeaders(200, 0);
        OutputStream out = exchange.getResponseBody();
        for (int i = 0; i < events.size(); i++) {
            if (i > 0 && !pause(between)) {
                return; // closing: leave the stream unterminated, as a cut connection would
            }
            if (i == events.size() - 1) {
                endInFlight(exchange);
            }
            out.write(events.get(i).getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
        out.close();
    }

    /** Waits, returning early (false) when the server is closing. */
    final boolean pause(Duration duration) {
        if (duration.isZero()) {
            return closing.getCount() > 0;
        }
        try {
            return !closing.await(duration.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** {@code n} random bytes as lower-case hex. */
    static String randomHex(int n) {
        return HexFormat.of().formatHex(randomBytes(n));
    }

    static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    static Duration nonNegative(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative()) {
            throw new IllegalArgumentException(what + " must not be negative (was " + d + ")");
        }
        return d;
    }

    /**
     * What every fake's builder sets: the accepted key and the default latency.
     *
     * @param <B> the concrete builder, so setters chain
     */
    abstract static class Settings<B extends Settings<B>> {

        String apiKey;
        Duration defaultLatency = Duration.ZERO;

        Settings() {
        }

        @SuppressWarnings("unchecked")
        private B self() {
            return (B) this;
        }

        /** The only accepted API key (the fake's class documentation says where it is read); default: any. */
        public B apiKey(String apiKey) {
            Objects.requireNonNull(apiKey, "apiKey");
            if (apiKey.isBlank()) {
                throw new IllegalArgumentException("apiKey must not be blank");
            }
            this.apiKey = apiKey;
            return self();
        }

        /** Latency before every scripted-route answer that has no delay of its own; default zero. */
        public B defaultLatency(Duration latency) {
            this.defaultLatency = nonNegative(latency, "latency");
            return self();
        }
    }

    private void handle(HttpExchange exchange) {
        try {
            byte[] body;
            try {
                body = exchange.getRequestBody().readAllBytes();
            } catch (IOException e) {
                return; // client went away mid-upload; nothing to record or answer
            }
            RecordedRequest request = new RecordedRequest(exchange.getRequestMethod(),
                    exchange.getRequestURI().getRawPath(), exchange.getRequestURI().getRawQuery(),
                    exchange.getRequestHeaders(), body);
            // the hold is taken as the request is recorded: a test that sees the request and then releases (and
            // perhaps holds again) always releases this one, never a later hold's
            synchronized (this) {
                heldAtArrival.set(hold);
            }
            synchronized (requests) {
                requests.add(request);
                untaken.add(request);
            }
            route(exchange, request);
        } catch (IOException e) {
            // the client disconnected or close() cut the connection: nothing left to do
        } catch (RuntimeException e) {
            // a bug in the fake: answer 500 (if headers are not out yet) rather than silently dropping the socket
            try {
                send(exchange, 500, "application/json", bugBody("fake server failed: " + e), bugHeaders());
            } catch (IOException | RuntimeException ignored) {
                // response already started or connection gone
            }
        } finally {
            heldAtArrival.remove();
            exchange.close();
        }
    }

    /**
     * Ends an answer's in-flight time just before its last bytes go out: a client that has read the whole
     * answer must never find it still counted (it may start its next request at once).
     */
    private void endInFlight(HttpExchange exchange) {
        if (inFlightExchanges.remove(exchange) != null) {
            inFlight.decrementAndGet();
        }
    }

    private static void prepareHeaders(HttpExchange exchange, String contentType,
                                       List<Map.Entry<String, String>> headers) {
        com.sun.net.httpserver.Headers h = exchange.getResponseHeaders();
        if (contentType != null) {
            h.set("Content-Type", contentType);
        }
        for (Map.Entry<String, String> header : headers) {
            h.set(header.getKey(), header.getValue());
        }
    }

    /** Waits while the hold this request arrived under lasts; false when the server is closing. */
    private boolean awaitRelease() {
        CountDownLatch h = heldAtArrival.get();
        if (h != null) {
            try {
                h.await(HOLD_LIMIT.toNanos(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return closing.getCount() > 0;
    }

    private static List<Map.Entry<String, String>> concat(List<Map.Entry<String, String>> a,
                                                          List<Map.Entry<String, String>> b) {
        if (b.isEmpty()) {
            return a;
        }
        List<Map.Entry<String, String>> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
