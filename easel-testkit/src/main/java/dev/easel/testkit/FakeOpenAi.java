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
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A fake OpenAI + Azure OpenAI image-edit server on a real loopback socket.
 *
 * <p>It records every request (raw bytes and parsed multipart parts), answers like OpenAI by default (auth,
 * body rules with OpenAI's exact error messages, GPT-image-shaped success, SSE streaming) and can be scripted
 * with one-shot {@link FakeResponse}s.
 *
 * <pre>{@code
 * try (FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-test").start()) {
 *     fake.enqueue(FakeResponse.rateLimited(1));
 *     // ... point the client at fake.baseUrl() ...
 *     RecordedRequest request = fake.takeRequest();
 *     assertThat(request.fieldNames()).containsExactly("prompt", "model", "image[]", "image[]");
 * }
 * }</pre>
 *
 * <p>Routes: {@code POST /v1/images/edits}, {@code POST /openai/deployments/{deployment}/images/edits?api-version=…}
 * and {@code GET /files/{id}.png|jpeg} for the image URLs it hands out. Never hangs a test: all waits are bounded
 * and {@link #close()} interrupts in-flight delayed responses.
 */
public final class FakeOpenAi implements AutoCloseable {

    /** How long {@link #takeRequest()} waits. */
    public static final Duration DEFAULT_TAKE_TIMEOUT = Duration.ofSeconds(10);

    /** How long a held answer waits for {@link #releaseAnswers()} at most, so a forgotten release cannot hang. */
    public static final Duration MAX_HOLD = Duration.ofSeconds(60);

    /** The oldest Azure {@code api-version} that supports image edits. */
    public static final String AZURE_MIN_API_VERSION = "2025-04-01-preview";

    private static final Pattern AZURE_EDIT = Pattern.compile("/openai/deployments/([^/]+)/images/edits");
    private static final Pattern FILE = Pattern.compile("/files/([0-9a-f]{32})\\.(png|jpeg)");
    private static final Pattern API_VERSION = Pattern.compile("(\\d{4}-\\d{2}-\\d{2})(-preview)?");
    private static final String AZURE_401 = "Access denied due to invalid subscription key or wrong API endpoint. "
            + "Make sure to provide a valid key for an active subscription and use a correct regional API endpoint "
            + "for your resource.";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final HttpServer server;
    private final ExecutorService executor;
    private final String apiKey;
    private final CountDownLatch closing = new CountDownLatch(1);
    private final AtomicBoolean closed = new AtomicBoolean();
    private final List<RecordedRequest> requests = new ArrayList<>();
    private final BlockingQueue<RecordedRequest> untaken = new LinkedBlockingQueue<>();
    private final ConcurrentLinkedQueue<FakeResponse> script = new ConcurrentLinkedQueue<>();
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();
    private volatile boolean respondWithUrls;
    private volatile Duration defaultLatency;
    private volatile Duration streamEventDelay;
    private final java.util.concurrent.atomic.AtomicInteger editsInFlight = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger maxEditsInFlight = new java.util.concurrent.atomic.AtomicInteger();
    // per exchange, not HttpExchange attributes: those live in the context and are shared by every exchange
    private final Map<HttpExchange, Boolean> inFlight = new ConcurrentHashMap<>();
    private CountDownLatch hold; // guarded by this; non-null while edit answers are held

    private FakeOpenAi(Builder builder) {
        this.apiKey = builder.apiKey;
        this.respondWithUrls = builder.respondWithUrls;
        this.defaultLatency = builder.defaultLatency;
        this.streamEventDelay = builder.streamEventDelay;
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        try {
            this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            executor.shutdownNow();
            throw new UncheckedIOException("cannot bind the fake OpenAI server to 127.0.0.1", e);
        }
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** Starts a server with default settings (any non-empty Bearer key accepted). */
    public static FakeOpenAi start() {
        return builder().start();
    }

    /** A builder for a configured server. */
    public static Builder builder() {
        return new Builder();
    }

    /** OpenAI base URL, e.g. {@code http://127.0.0.1:PORT/v1}. */
    public String baseUrl() {
        return azureBaseUrl() + "/v1";
    }

    /** Azure endpoint, e.g. {@code http://127.0.0.1:PORT} (deployment paths go below it). */
    public String azureBaseUrl() {
        return "http://127.0.0.1:" + port();
    }

    /** The bound port. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** Queues a one-shot answer for the next image-edit request (either route); consumed in order. */
    public void enqueue(FakeResponse response) {
        script.add(Objects.requireNonNull(response, "response"));
    }

    /** Whether GPT image models answer with {@code url} entries instead of {@code b64_json}. */
    public FakeOpenAi respondWithUrls(boolean urls) {
        this.respondWithUrls = urls;
        return this;
    }

    /** Latency before every image-edit answer that has no delay of its own. */
    public FakeOpenAi defaultLatency(Duration latency) {
        this.defaultLatency = nonNegative(latency, "latency");
        return this;
    }

    /** Pause between the events of a default (non-scripted) stream. */
    public FakeOpenAi streamEventDelay(Duration delay) {
        this.streamEventDelay = nonNegative(delay, "delay");
        return this;
    }

    /**
     * Holds every image-edit answer from now on until {@link #releaseAnswers()}: the request is recorded at once
     * (so a test can wait for it to arrive) and its answer waits, keeping the call in flight exactly as long as
     * the test needs, however slow the machine. {@link #close()} ends the wait too, and so does {@link #MAX_HOLD}.
     */
    public synchronized FakeOpenAi holdAnswers() {
        if (hold == null) {
            hold = new CountDownLatch(1);
        }
        return this;
    }

    /** Lets every held answer go (each then takes its own delay, if any) and stops holding new ones. */
    public synchronized FakeOpenAi releaseAnswers() {
        if (hold != null) {
            hold.countDown();
            hold = null;
        }
        return this;
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
     * The oldest request not yet taken, waiting up to {@link #DEFAULT_TAKE_TIMEOUT} for one to arrive.
     *
     * @throws IllegalStateException when none arrives in time
     */
    public RecordedRequest takeRequest() {
        return takeRequest(DEFAULT_TAKE_TIMEOUT);
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
     * @throws IllegalStateException when no request has arrived yet
     */
    public RecordedRequest lastRequest() {
        synchronized (requests) {
            if (requests.isEmpty()) {
                throw new IllegalStateException("no request has been received yet");
            }
            return requests.getLast();
        }
    }

    /**
     * Image-edit requests being answered right now: from the moment the whole request body has arrived until
     * the answer (or the stream) has been written or cut off.
     */
    public int editsInFlight() {
        return editsInFlight.get();
    }

    /** The most image-edit requests that were in flight at once since the start (or {@link #reset()}). */
    public int maxEditsInFlight() {
        return maxEditsInFlight.get();
    }

    /** Forgets all recorded requests and all scripted responses not yet consumed. */
    public void reset() {
        synchronized (requests) {
            requests.clear();
            untaken.clear();
        }
        script.clear();
        maxEditsInFlight.set(editsInFlight.get());
    }

    /** Stops the server at once, cutting in-flight (e.g. delayed or streaming) responses. Idempotent. */
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

    private void handle(HttpExchange exchange) {
        try {
            route(exchange);
        } catch (IOException e) {
            // the client disconnected or close() cut the connection: nothing left to do
        } catch (RuntimeException e) {
            // a bug in the fake: answer 500 (if headers are not out yet) rather than silently dropping the socket
            try {
                send(exchange, 500, Json.bytes(Json.error("fake server failed: " + e, "fake_server_error", null,
                        null)), "req_fake_error", List.of());
            } catch (IOException | RuntimeException ignored) {
                // response already started or connection gone
            }
        } finally {
            exchange.close();
        }
    }

    private void route(HttpExchange exchange) throws IOException {
        byte[] body;
        try {
            body = exchange.getRequestBody().readAllBytes();
        } catch (IOException e) {
            return; // client went away mid-upload; nothing to record or answer
        }
        RecordedRequest request = new RecordedRequest(exchange.getRequestMethod(),
                exchange.getRequestURI().getRawPath(), exchange.getRequestURI().getRawQuery(),
                exchange.getRequestHeaders(), body);
        synchronized (requests) {
            requests.add(request);
            untaken.add(request);
        }
        String requestId = "req_" + HexFormat.of().formatHex(randomBytes(16));
        String path = request.path();
        Matcher azure = AZURE_EDIT.matcher(path);
        boolean post = request.method().equals("POST");
        if (post && (path.equals("/v1/images/edits") || azure.matches())) {
            maxEditsInFlight.accumulateAndGet(editsInFlight.incrementAndGet(), Math::max);
            inFlight.put(exchange, Boolean.TRUE);
            try {
                answerEdit(exchange, request, azure.matches() ? azure.group(1) : null, requestId);
            } finally {
                endInFlight(exchange);
            }
        } else if (request.method().equals("GET") && FILE.matcher(path).matches()) {
            serveFile(exchange, path, requestId);
        } else {
            send(exchange, 404, Json.bytes(Json.error("Invalid URL (" + request.method() + " " + path + ")",
                    "invalid_request_error", null, null)), requestId, List.of());
        }
    }

    private void answerEdit(HttpExchange exchange, RecordedRequest request, String deployment, String requestId)
            throws IOException {
        FakeResponse scripted = script.poll();
        FakeResponse response = scripted == null ? FakeResponse.defaultBehaviour() : scripted;
        if (!awaitRelease() || !pause(response.delay().orElse(defaultLatency))) {
            return;
        }
        switch (response.kind()) {
            case DROP -> {
                // Closing an exchange before sendResponseHeaders closes the TCP connection: no byte is sent.
            }
            case BODY -> exchange(exchange, response.status(), response.contentType(),
                    response.body(requestId), requestId, response.headers());
            case SSE -> stream(exchange, response.events(), response.between(), requestId, response.headers());
            case DEFAULT -> answerDefault(exchange, request, deployment, requestId, response.headers());
        }
    }

    private void answerDefault(HttpExchange exchange, RecordedRequest request, String deployment, String requestId,
                               List<Map.Entry<String, String>> headers) throws IOException {
        if (deployment == null) {
            Optional<String> token = bearer(request);
            if (token.isEmpty()) {
                send(exchange, 401, Json.bytes(Json.error("You didn't provide an API key. You need to provide your "
                        + "API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)"
                        + ", or as the password field (with blank username) if you're accessing the API from your "
                        + "browser and are prompted for a username and password. You can obtain an API key from "
                        + "https://platform.openai.com/account/api-keys.", "invalid_request_error", null,
                        "invalid_api_key")), requestId, headers);
                return;
            }
            if (apiKey != null && !apiKey.equals(token.get())) {
                send(exchange, 401, Json.bytes(Json.error("Incorrect API key provided: " + mask(token.get())
                        + ". You can find your API key at https://platform.openai.com/account/api-keys.",
                        "invalid_request_error", null, "invalid_api_key")), requestId, headers);
                return;
            }
        } else {
            if (!azureApiVersionSupported(request.queryParameter("api-version"))) {
                send(exchange, 404, azureError("404", "Resource not found"), requestId, headers);
                return;
            }
            Optional<String> key = request.header("api-key").filter(k -> !k.isBlank());
            boolean keyOk = key.isPresent() && (apiKey == null || apiKey.equals(key.get().trim()));
            if (!keyOk && (key.isPresent() || bearer(request).isEmpty())) {
                send(exchange, 401, azureError("401", AZURE_401), requestId, headers);
                return;
            }
        }
        EditBehaviour.Reply reply = EditBehaviour.answer(request, deployment, respondWithUrls, this::storeFile);
        switch (reply) {
            case EditBehaviour.Reply.Body b -> send(exchange, b.status(), b.json(), requestId, headers);
            case EditBehaviour.Reply.Stream s -> stream(exchange, s.events(), streamEventDelay, requestId, headers);
        }
    }

    private void serveFile(HttpExchange exchange, String path, String requestId) throws IOException {
        Matcher m = FILE.matcher(path);
        byte[] bytes = m.matches() ? files.get(m.group(1)) : null;
        if (bytes == null) {
            send(exchange, 404, Json.bytes(Json.error("File not found: " + path, "invalid_request_error", null,
                    null)), requestId, List.of());
            return;
        }
        exchange(exchange, 200, "image/" + m.group(2), bytes, requestId, List.of());
    }

    private String storeFile(byte[] image) {
        String id = HexFormat.of().formatHex(randomBytes(16));
        files.put(id, image);
        return azureBaseUrl() + "/files/" + id + (image == Images.JPEG ? ".jpeg" : ".png");
    }

    /**
     * Ends an edit's in-flight time just before its last bytes go out: a client that has read the whole
     * answer must never find it still counted (it may start its next request at once).
     */
    private void endInFlight(HttpExchange exchange) {
        if (inFlight.remove(exchange) != null) {
            editsInFlight.decrementAndGet();
        }
    }

    private void send(HttpExchange exchange, int status, byte[] json, String requestId,
                      List<Map.Entry<String, String>> headers) throws IOException {
        exchange(exchange, status, "application/json", json, requestId, headers);
    }

    private void exchange(HttpExchange exchange, int status, String contentType, byte[] body,
                          String requestId, List<Map.Entry<String, String>> headers) throws IOException {
        prepareHeaders(exchange, contentType, requestId, headers);
        endInFlight(exchange);
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private void stream(HttpExchange exchange, List<String> events, Duration between, String requestId,
                        List<Map.Entry<String, String>> headers) throws IOException {
        prepareHeaders(exchange, "text/event-stream; charset=utf-8", requestId, headers);
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

    private static void prepareHeaders(HttpExchange exchange, String contentType, String requestId,
                                       List<Map.Entry<String, String>> headers) {
        com.sun.net.httpserver.Headers h = exchange.getResponseHeaders();
        if (contentType != null) {
            h.set("Content-Type", contentType);
        }
        h.set("x-request-id", requestId);
        for (Map.Entry<String, String> header : headers) {
            h.set(header.getKey(), header.getValue());
        }
    }

    /** Waits while answers are held; false when the server is closing. */
    private boolean awaitRelease() {
        CountDownLatch h;
        synchronized (this) {
            h = hold;
        }
        if (h != null) {
            try {
                h.await(MAX_HOLD.toNanos(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return closing.getCount() > 0;
    }

    /** Waits, returning early (false) when the server is closing. */
    private boolean pause(Duration duration) {
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

    private static Optional<String> bearer(RecordedRequest request) {
        return request.header("Authorization")
                .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7))
                .map(v -> v.substring(7).trim())
                .filter(v -> !v.isEmpty());
    }

    static boolean azureApiVersionSupported(Optional<String> apiVersion) {
        if (apiVersion.isEmpty()) {
            return false;
        }
        Matcher m = API_VERSION.matcher(apiVersion.get());
        return m.matches() && m.group(1).compareTo(AZURE_MIN_API_VERSION.substring(0, 10)) >= 0;
    }

    private static byte[] azureError(String code, String message) {
        var root = Json.object();
        var error = root.putObject("error");
        error.put("code", code);
        error.put("message", message);
        return Json.bytes(root);
    }

    /** Shows a key the way OpenAI does in its 401 message, without echoing it whole. */
    static String mask(String key) {
        if (key.length() <= 8) {
            return "*".repeat(key.length());
        }
        return key.substring(0, 3) + "*".repeat(key.length() - 7) + key.substring(key.length() - 4);
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    private static Duration nonNegative(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative()) {
            throw new IllegalArgumentException(what + " must not be negative (was " + d + ")");
        }
        return d;
    }

    /** Configures a {@link FakeOpenAi} before it starts. */
    public static final class Builder {

        private String apiKey;
        private boolean respondWithUrls;
        private Duration defaultLatency = Duration.ZERO;
        private Duration streamEventDelay = Duration.ZERO;

        private Builder() {
        }

        /** The only accepted key (Bearer on OpenAI, {@code api-key} on Azure); default: any non-empty key. */
        public Builder apiKey(String apiKey) {
            Objects.requireNonNull(apiKey, "apiKey");
            if (apiKey.isBlank()) {
                throw new IllegalArgumentException("apiKey must not be blank");
            }
            this.apiKey = apiKey;
            return this;
        }

        /** Whether GPT image models answer with {@code url} entries; default false. */
        public Builder respondWithUrls(boolean urls) {
            this.respondWithUrls = urls;
            return this;
        }

        /** Latency before every image-edit answer that has no delay of its own; default zero. */
        public Builder defaultLatency(Duration latency) {
            this.defaultLatency = nonNegative(latency, "latency");
            return this;
        }

        /** Pause between the events of a default stream; default zero. */
        public Builder streamEventDelay(Duration delay) {
            this.streamEventDelay = nonNegative(delay, "delay");
            return this;
        }

        /** Binds 127.0.0.1 on a free port and starts serving. */
        public FakeOpenAi start() {
            return new FakeOpenAi(this);
        }
    }
}
