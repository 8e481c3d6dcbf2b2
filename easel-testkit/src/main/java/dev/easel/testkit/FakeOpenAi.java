package dev.easel.testkit;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
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
 * and {@code GET /files/{id}.png|jpeg} for the image URLs it hands out. Image-edit requests (either route) consume
 * the {@link #enqueue} script and count for {@link #holdAnswers()} and {@link #defaultLatency}. Never hangs a test:
 * all waits are bounded and {@link #close()} interrupts in-flight delayed responses.
 */
public final class FakeOpenAi extends FakeServer<FakeOpenAi> {

    /** How long {@link #takeRequest()} waits. */
    public static final Duration DEFAULT_TAKE_TIMEOUT = TAKE_TIMEOUT;

    /** How long a held answer waits for {@link #releaseAnswers()} at most, so a forgotten release cannot hang. */
    public static final Duration MAX_HOLD = HOLD_LIMIT;

    /** The oldest Azure {@code api-version} that supports image edits. */
    public static final String AZURE_MIN_API_VERSION = "2025-04-01-preview";

    private static final Pattern AZURE_EDIT = Pattern.compile("/openai/deployments/([^/]+)/images/edits");
    private static final Pattern FILE = Pattern.compile("/files/([0-9a-f]{32})\\.(png|jpeg)");
    private static final Pattern API_VERSION = Pattern.compile("(\\d{4}-\\d{2}-\\d{2})(-preview)?");
    private static final String AZURE_401 = "Access denied due to invalid subscription key or wrong API endpoint. "
            + "Make sure to provide a valid key for an active subscription and use a correct regional API endpoint "
            + "for your resource.";

    private final String apiKey;
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();
    private volatile boolean respondWithUrls;
    private final java.util.function.Function<String, byte[]> imageForPrompt;
    private volatile Duration streamEventDelay;

    private FakeOpenAi(Builder builder) {
        super("fake OpenAI", builder.defaultLatency);
        this.apiKey = builder.apiKey;
        this.respondWithUrls = builder.respondWithUrls;
        this.imageForPrompt = builder.imageForPrompt;
        this.streamEventDelay = builder.streamEventDelay;
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
    @Override
    public String baseUrl() {
        return azureBaseUrl() + "/v1";
    }

    /** Azure endpoint, e.g. {@code http://127.0.0.1:PORT} (deployment paths go below it). */
    public String azureBaseUrl() {
        return origin();
    }

    /** Whether GPT image models answer with {@code url} entries instead of {@code b64_json}. */
    public FakeOpenAi respondWithUrls(boolean urls) {
        this.respondWithUrls = urls;
        return this;
    }

    /** Pause between the events of a default (non-scripted) stream. */
    public FakeOpenAi streamEventDelay(Duration delay) {
        this.streamEventDelay = nonNegative(delay, "delay");
        return this;
    }

    /**
     * Image-edit requests being answered right now: from the moment the whole request body has arrived until
     * the answer (or the stream) has been written or cut off.
     */
    public int editsInFlight() {
        return inFlight();
    }

    /** The most image-edit requests that were in flight at once since the start (or {@link #reset()}). */
    public int maxEditsInFlight() {
        return maxInFlight();
    }

    @Override
    void route(HttpExchange exchange, RecordedRequest request) throws IOException {
        String requestId = "req_" + randomHex(16);
        String path = request.path();
        Matcher azure = AZURE_EDIT.matcher(path);
        boolean post = request.method().equals("POST");
        if (post && (path.equals("/v1/images/edits") || azure.matches())) {
            String deployment = azure.matches() ? azure.group(1) : null;
            List<Map.Entry<String, String>> standard = List.of(Map.entry("x-request-id", requestId));
            answer(exchange, script(), requestId, standard,
                    scripted -> answerDefault(exchange, request, deployment, requestId, scripted.headers()));
        } else if (request.method().equals("GET") && FILE.matcher(path).matches()) {
            serveFile(exchange, path, requestId);
        } else {
            send(exchange, 404, Json.bytes(Json.error("Invalid URL (" + request.method() + " " + path + ")",
                    "invalid_request_error", null, null)), requestId, List.of());
        }
    }

    @Override
    String sseContentType() {
        return "text/event-stream; charset=utf-8";
    }

    @Override
    byte[] bugBody(String message) {
        return Json.bytes(Json.error(message, "fake_server_error", null, null));
    }

    @Override
    List<Map.Entry<String, String>> bugHeaders() {
        return List.of(Map.entry("x-request-id", "req_fake_error"));
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
        EditBehaviour.Reply reply = EditBehaviour.answer(request, deployment, respondWithUrls, this::storeFile,
                imageForPrompt);
        switch (reply) {
            case EditBehaviour.Reply.Body b -> send(exchange, b.status(), b.json(), requestId, headers);
            case EditBehaviour.Reply.Stream s -> stream(exchange, sseContentType(), s.events(), streamEventDelay,
                    withRequestId(requestId, headers));
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
        send(exchange, 200, "image/" + m.group(2), bytes, withRequestId(requestId, List.of()));
    }

    private String storeFile(byte[] image) {
        String id = randomHex(16);
        files.put(id, image);
        return azureBaseUrl() + "/files/" + id + (image == Images.JPEG ? ".jpeg" : ".png");
    }

    private void send(HttpExchange exchange, int status, byte[] json, String requestId,
                      List<Map.Entry<String, String>> headers) throws IOException {
        send(exchange, status, "application/json", json, withRequestId(requestId, headers));
    }

    /** Every OpenAI answer carries {@code x-request-id}; a scripted header of that name replaces it. */
    private static List<Map.Entry<String, String>> withRequestId(String requestId,
                                                                 List<Map.Entry<String, String>> headers) {
        List<Map.Entry<String, String>> all = new ArrayList<>();
        all.add(Map.entry("x-request-id", requestId));
        all.addAll(headers);
        return all;
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

    /** Configures a {@link FakeOpenAi} before it starts. */
    public static final class Builder extends Settings<Builder> {

        private boolean respondWithUrls;
        private Duration streamEventDelay = Duration.ZERO;
        private java.util.function.Function<String, byte[]> imageForPrompt;

        private Builder() {
        }

        /** Whether GPT image models answer with {@code url} entries; default false. */
        public Builder respondWithUrls(boolean urls) {
            this.respondWithUrls = urls;
            return this;
        }

        /**
         * The image a success returns for a request's prompt (so that a test can tell every answer from every
         * other); default: the standard test image of the requested output format.
         */
        public Builder imageForPrompt(java.util.function.Function<String, byte[]> image) {
            this.imageForPrompt = java.util.Objects.requireNonNull(image, "image");
            return this;
        }

        /** Pause between the events of a default stream; default zero. */
        public Builder streamEventDelay(Duration delay) {
            this.streamEventDelay = nonNegative(delay, "delay");
            return this;
        }

        /** Binds 127.0.0.1 on a free port and starts serving. */
        public FakeOpenAi start() {
            return new FakeOpenAi(this).serve();
        }
    }
}
