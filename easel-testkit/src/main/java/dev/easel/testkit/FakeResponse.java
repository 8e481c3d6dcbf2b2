package dev.easel.testkit;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * A one-shot scripted answer for a fake's {@code enqueue} ({@link FakeOpenAi}, {@link FakeGemini}, {@link FakeBfl},
 * {@link FakeStability}). Immutable: {@link #delay(Duration)} and {@link #withHeader(String, String)} return a
 * modified copy. The factories here are generic (any status and body, a dropped connection, an SSE stream); each
 * fake adds factories for its provider's own errors and outcomes.
 *
 * <pre>{@code
 * fake.enqueue(FakeResponse.rateLimited(2));
 * fake.enqueue(FakeResponse.defaultBehaviour().delay(Duration.ofSeconds(5)));
 * }</pre>
 */
public final class FakeResponse {

    /** OUTCOME: the owning fake's own answer, shaped by an outcome object (e.g. a Gemini safety stop). */
    enum Kind { BODY, SSE, DROP, DEFAULT, OUTCOME }

    private final Kind kind;
    private final int status;
    private final String contentType;
    private final Function<String, byte[]> body;
    private final List<String> events;
    private final Duration between;
    private final Duration delay;
    private final List<Map.Entry<String, String>> headers;
    private final Class<?> owner;
    private final Object outcome;
    private final String label;

    private FakeResponse(Kind kind, int status, String contentType, Function<String, byte[]> body,
                         List<String> events, Duration between, Duration delay,
                         List<Map.Entry<String, String>> headers) {
        this(kind, status, contentType, body, events, between, delay, headers, null, null, null);
    }

    private FakeResponse(Kind kind, int status, String contentType, Function<String, byte[]> body,
                         List<String> events, Duration between, Duration delay,
                         List<Map.Entry<String, String>> headers, Class<?> owner, Object outcome, String label) {
        this.owner = owner;
        this.outcome = outcome;
        this.label = label;
        this.kind = kind;
        this.status = status;
        this.contentType = contentType;
        this.body = body;
        this.events = events;
        this.between = between;
        this.delay = delay;
        this.headers = headers;
    }

    private static FakeResponse of(Kind kind, int status, String contentType, Function<String, byte[]> body) {
        return new FakeResponse(kind, status, contentType, body, List.of(), Duration.ZERO, null, List.of());
    }

    /** A response with this status and JSON text as body ({@code Content-Type: application/json}). */
    public static FakeResponse json(int status, String body) {
        Objects.requireNonNull(body, "body");
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return of(Kind.BODY, checkStatus(status), "application/json", id -> bytes);
    }

    /** A response with any content type and body bytes. */
    public static FakeResponse body(int status, String contentType, byte[] body) {
        Objects.requireNonNull(contentType, "contentType");
        byte[] bytes = body.clone();
        return of(Kind.BODY, checkStatus(status), contentType, id -> bytes);
    }

    /**
     * An OpenAI error body {@code {"error":{"message","type","param":null,"code"}}}.
     *
     * @param code may be {@code null} (serialised as JSON null, as OpenAI does)
     */
    public static FakeResponse error(int status, String type, String code, String message) {
        return error(status, type, code, null, message);
    }

    /** An OpenAI error body with a {@code param}; {@code code} and {@code param} may be {@code null}. */
    public static FakeResponse error(int status, String type, String code, String param, String message) {
        byte[] bytes = Json.bytes(Json.error(message, type, param, code));
        return of(Kind.BODY, checkStatus(status), "application/json", id -> bytes);
    }

    /**
     * 429 with {@code Retry-After: <seconds>}, {@code x-ratelimit-reset-requests} and OpenAI's
     * {@code rate_limit_exceeded} body.
     */
    public static FakeResponse rateLimited(long retryAfterSeconds) {
        if (retryAfterSeconds < 0) {
            throw new IllegalArgumentException("retryAfterSeconds must be >= 0 (was " + retryAfterSeconds + ")");
        }
        String message = "Rate limit reached for images per minute (IPM): Limit 5, Used 5, Requested 1. "
                + "Please try again in " + retryAfterSeconds + "s. "
                + "Visit https://platform.openai.com/account/rate-limits to learn more.";
        return error(429, "requests", "rate_limit_exceeded", message)
                .withHeader("Retry-After", Long.toString(retryAfterSeconds))
                .withHeader("x-ratelimit-reset-requests", retryAfterSeconds + "s");
    }

    /** 400 {@code moderation_blocked} (type {@code image_generation_user_error}) naming the request id. */
    public static FakeResponse moderationBlocked() {
        return of(Kind.BODY, 400, "application/json", requestId -> {
            ObjectNode body = Json.error("Your request was rejected by the safety system. If you believe this is an "
                            + "error, contact us at help.openai.com and include the request ID " + requestId + ".",
                    "image_generation_user_error", null, "moderation_blocked");
            ObjectNode details = ((ObjectNode) body.get("error")).putObject("moderation_details");
            details.put("moderation_stage", "input");
            details.putArray("categories").add("violence");
            return Json.bytes(body);
        });
    }

    /** 500 {@code server_error}, as OpenAI answers when it fails internally. */
    public static FakeResponse serverError() {
        return error(500, "server_error", null,
                "The server had an error while processing your request. Sorry about that!");
    }

    /** 200 with {@code Content-Type: application/json} and a truncated, unparseable body. */
    public static FakeResponse malformedJson() {
        byte[] bytes = "{\"created\": 1751135530, \"data\": [{\"b64_json\": \"iVBORw0KGgo"
                .getBytes(StandardCharsets.UTF_8);
        return of(Kind.BODY, 200, "application/json", id -> bytes);
    }

    /** Closes the connection after reading the request, without sending a single response byte. */
    public static FakeResponse dropConnection() {
        return of(Kind.DROP, 0, null, null);
    }

    /**
     * 200 {@code text/event-stream} writing each event verbatim (include the blank line that ends an SSE event,
     * see {@link #sseEvent(String, String)}), flushing after each, waiting {@code between} between events.
     */
    public static FakeResponse sse(List<String> rawEvents, Duration between) {
        return new FakeResponse(Kind.SSE, 200, "text/event-stream", null, List.copyOf(rawEvents),
                checkDuration(between, "between"), null, List.of());
    }

    /** Formats one SSE event: {@code event: <event>\ndata: <data>\n\n}. */
    public static String sseEvent(String event, String data) {
        return "event: " + event + "\ndata: " + data + "\n\n";
    }

    /** The fake's normal OpenAI-like answer; useful with {@link #delay(Duration)} or {@link #withHeader}. */
    public static FakeResponse defaultBehaviour() {
        return of(Kind.DEFAULT, 0, null, null);
    }

    /** A body made when the answer is written, from the id the fake gives that answer (e.g. an error id). */
    static FakeResponse generated(int status, String contentType, Function<String, byte[]> body) {
        return of(Kind.BODY, checkStatus(status), Objects.requireNonNull(contentType, "contentType"),
                Objects.requireNonNull(body, "body"));
    }

    /**
     * An answer that only the fake of class {@code owner} understands: it validates the request as usual and then
     * answers the way {@code outcome} says (the fakes' public factories make these).
     */
    static FakeResponse outcome(Class<?> owner, String label, Object outcome) {
        return new FakeResponse(Kind.OUTCOME, 0, null, null, List.of(), Duration.ZERO, null, List.of(),
                Objects.requireNonNull(owner, "owner"), Objects.requireNonNull(outcome, "outcome"), label);
    }

    /** A copy that waits this long before answering (replaces the server's default latency). */
    public FakeResponse delay(Duration delay) {
        return new FakeResponse(kind, status, contentType, body, events, between, checkDuration(delay, "delay"),
                headers, owner, outcome, label);
    }

    /** A copy that also sends this response header (replacing a default header of the same name). */
    public FakeResponse withHeader(String name, String value) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
        List<Map.Entry<String, String>> copy = new ArrayList<>(headers);
        copy.add(Map.entry(name, value));
        return new FakeResponse(kind, status, contentType, body, events, between, delay, List.copyOf(copy), owner,
                outcome, label);
    }

    Kind kind() {
        return kind;
    }

    int status() {
        return status;
    }

    String contentType() {
        return contentType;
    }

    byte[] body(String requestId) {
        return body.apply(requestId);
    }

    List<String> events() {
        return events;
    }

    Duration between() {
        return between;
    }

    Optional<Duration> delay() {
        return Optional.ofNullable(delay);
    }

    List<Map.Entry<String, String>> headers() {
        return headers;
    }

    /** The fake class an {@link Kind#OUTCOME} belongs to; {@code null} for every other kind. */
    Class<?> owner() {
        return owner;
    }

    /** The outcome object, cast to what the owning fake expects; empty for every other kind or type. */
    <T> Optional<T> outcome(Class<T> type) {
        return type.isInstance(outcome) ? Optional.of(type.cast(outcome)) : Optional.empty();
    }

    private static int checkStatus(int status) {
        if (status < 100 || status > 599) {
            throw new IllegalArgumentException("status must be between 100 and 599 (was " + status + ")");
        }
        return status;
    }

    private static Duration checkDuration(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative()) {
            throw new IllegalArgumentException(what + " must not be negative (was " + d + ")");
        }
        return d;
    }

    @Override
    public String toString() {
        return "FakeResponse[" + kind + (kind == Kind.BODY ? " " + status : "")
                + (kind == Kind.OUTCOME ? " " + label : "") + "]";
    }
}
