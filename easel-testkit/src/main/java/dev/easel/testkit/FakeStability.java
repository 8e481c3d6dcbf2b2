package dev.easel.testkit;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A fake Stability AI REST v2beta server for the {@code stable-image/edit} operations, on a real loopback socket.
 * Strict like Stability: 10 MiB request limit, {@code Authorization: Bearer}, multipart only, the {@code accept}
 * switch (raw image bytes with {@code finish-reason}/{@code seed} headers, or JSON), each operation's required
 * fields and ranges, and the image limits (sides ≥ 64 px, 4,096–9,437,184 pixels, aspect 1:2.5…2.5:1, a mask
 * the size of the image). Errors have Stability's shape {@code {"id","name","errors":[…]}}, all problems at once.
 *
 * <pre>{@code
 * try (FakeStability fake = FakeStability.builder().apiKey("sk-stab").start()) {
 *     fake.enqueue(FakeStability.contentFiltered());            // a 200 whose finish reason is CONTENT_FILTERED
 *     // ... point the adapter at fake.baseUrl() ...
 *     RecordedRequest request = fake.takeRequest();
 *     assertThat(request.part("mask").contentType()).contains("image/png");
 * }
 * }</pre>
 *
 * <p>Routes: {@code POST /v2beta/stable-image/edit/{op}} for {@link #OPERATIONS} (these consume the {@link #enqueue}
 * script and count for {@link #holdAnswers()} and {@link #defaultLatency}); {@code replace-background-and-relight}
 * is asynchronous: it answers {@code {"id"}} and {@code GET /v2beta/results/{id}} answers 202 {@code in-progress}
 * {@link Builder#pendingResults(int)} times, then the image.
 */
public final class FakeStability extends FakeServer<FakeStability> {

    /** The edit operations this fake serves. */
    public static final Set<String> OPERATIONS = Set.of("inpaint", "erase", "outpaint", "search-and-replace",
            "search-and-recolor", "remove-background", "replace-background-and-relight");

    /** Stability's limit on a whole request body (10 MiB). */
    public static final int MAX_REQUEST_BYTES = 10 * 1024 * 1024;

    static final long MIN_PIXELS = 4_096;
    static final long MAX_PIXELS = 9_437_184;
    static final long MAX_REMOVE_BACKGROUND_PIXELS = 4_194_304;
    static final long MAX_SEED = 4_294_967_294L;

    private static final Pattern EDIT = Pattern.compile("/v2beta/stable-image/edit/([a-z-]+)");
    private static final Pattern RESULT = Pattern.compile("/v2beta/results/([0-9a-f]{64})");
    private static final Set<String> STYLE_PRESETS = Set.of("3d-model", "analog-film", "anime", "cinematic",
            "comic-book", "digital-art", "enhance", "fantasy-art", "isometric", "line-art", "low-poly",
            "modeling-compound", "neon-punk", "origami", "photographic", "pixel-art", "tile-texture");

    /** The scripted shape of a successful answer. */
    private record ContentFiltered() {
    }

    /** A relight job and what it will answer once done. */
    private record Job(byte[] image, String format, long seed, AtomicInteger polls) {
    }

    private final String apiKey;
    private final int pendingResults;
    private final Map<String, Job> jobs = new ConcurrentHashMap<>();

    private FakeStability(Builder builder) {
        super("FakeStability", builder.defaultLatency);
        this.apiKey = builder.apiKey;
        this.pendingResults = builder.pendingResults;
    }

    /** A builder for a configured server. */
    public static Builder builder() {
        return new Builder();
    }

    /** The URL of an edit operation, e.g. {@code …/v2beta/stable-image/edit/inpaint}. */
    public String editUrl(String operation) {
        return origin() + "/v2beta/stable-image/edit/" + operation;
    }

    /** Polls of a relight result so far (202s and the final 200). */
    public int resultPolls(String id) {
        Job job = jobs.get(id);
        return job == null ? 0 : job.polls().get();
    }

    /** A 200 whose finish reason is {@code CONTENT_FILTERED} (the image comes back blurred); validation still runs. */
    public static FakeResponse contentFiltered() {
        return FakeResponse.outcome(FakeStability.class, "contentFiltered()", new ContentFiltered());
    }

    /** Any Stability-shaped error {@code {"id":"<32 hex>","name","errors":[…]}}; a fresh id per answer. */
    public static FakeResponse error(int status, String name, String... errors) {
        Objects.requireNonNull(name, "name");
        List<String> messages = List.of(errors);
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("errors must not be empty");
        }
        return FakeResponse.generated(status, "application/json", id -> errorBody(id, name, messages));
    }

    /** 402 {@code payment_required}: the account is out of credits. */
    public static FakeResponse paymentRequired() {
        return error(402, "payment_required", "You lack sufficient credits to make this request. Please purchase "
                + "more credits at https://platform.stability.ai/account/credits and try again.");
    }

    /** 403 {@code content_moderation}: the request was flagged and not charged. */
    public static FakeResponse contentModeration() {
        return error(403, "content_moderation", "Your request was flagged by our content moderation system, as a "
                + "result your request was denied and you were not charged.");
    }

    /** 422 {@code invalid_language}: the prompt is not English. */
    public static FakeResponse invalidLanguage() {
        return error(422, "invalid_language", "English is the only supported language for this service.");
    }

    /** 429 {@code rate_limit_exceeded}: more than 150 requests in 10 seconds. */
    public static FakeResponse rateLimited() {
        return error(429, "rate_limit_exceeded", "You have exceeded the rate limit of 150 requests within a 10 "
                + "second period, and have been timed out for 60 seconds.");
    }

    /** 500 {@code internal_error}. */
    public static FakeResponse internalError() {
        return error(500, "internal_error", "An unexpected server error has occurred, please try again later.");
    }

    @Override
    void route(HttpExchange exchange, RecordedRequest request) throws IOException {
        Matcher edit = EDIT.matcher(request.path());
        Matcher result = RESULT.matcher(request.path());
        if (request.method().equals("POST") && edit.matches() && OPERATIONS.contains(edit.group(1))) {
            String errorId = randomHex(16);
            answer(exchange, script(), errorId, List.of(), scripted -> edit(exchange, request, edit.group(1),
                    errorId, scripted));
        } else if (request.method().equals("GET") && result.matches()) {
            result(exchange, request, result.group(1));
        } else {
            reject(exchange, 404, "not_found", List.of("the requested resource was not found: "
                    + request.method() + " " + request.path()), List.of());
        }
    }

    @Override
    byte[] bugBody(String message) {
        return errorBody(randomHex(16), "internal_error", List.of(message));
    }

    private void edit(HttpExchange exchange, RecordedRequest request, String op, String errorId,
                      FakeResponse scripted) throws IOException {
        List<Map.Entry<String, String>> headers = scripted.headers();
        if (request.bodySize() > MAX_REQUEST_BYTES) {
            reject(exchange, 413, "payload_too_large", List.of("body: payloads cannot be larger than 10MiB in size"),
                    headers);
            return;
        }
        if (!authorised(request)) {
            reject(exchange, 401, "unauthorized", List.of("authorization: invalid or missing header value"),
                    headers);
            return;
        }
        if (!request.isMultipart()) {
            reject(exchange, 400, "bad_request", List.of("content-type: must be multipart/form-data (was "
                    + request.header("Content-Type").orElse("none") + ")"), headers);
            return;
        }
        if (request.multipartError().isPresent()) {
            reject(exchange, 400, "bad_request", List.of("body: could not parse multipart/form-data: "
                    + request.multipartError().get()), headers);
            return;
        }
        String accept = request.header("accept").map(String::trim).orElse("image/*");
        boolean async = op.equals("replace-background-and-relight");
        if (!async && !accept.equals("image/*") && !accept.equals("application/json")) {
            reject(exchange, 400, "bad_request", List.of("accept: must be either image/* or application/json (was "
                    + accept + ")"), headers);
            return;
        }
        Form form = new Form(request, op);
        List<String> errors = form.validate();
        if (!errors.isEmpty()) {
            reject(exchange, 400, "bad_request", errors, headers);
            return;
        }
        String format = form.text("output_format").orElse("png");
        long seed = form.text("seed").map(Long::parseLong).filter(s -> s != 0)
                .orElseGet(() -> ThreadLocalRandom.current().nextLong(1, MAX_SEED + 1));
        int[] size = form.outputSize();
        byte[] image = Images.flat(format, size[0], size[1]);
        if (async) {
            String id = randomHex(32);
            jobs.put(id, new Job(image, format, seed, new AtomicInteger()));
            send(exchange, 200, "application/json", Json.bytes(Json.object().put("id", id)), headers);
            return;
        }
        String finish = scripted.outcome(ContentFiltered.class).isPresent() ? "CONTENT_FILTERED" : "SUCCESS";
        deliver(exchange, accept.equals("application/json"), image, format, finish, seed, headers);
    }

    private void result(HttpExchange exchange, RecordedRequest request, String id) throws IOException {
        if (!authorised(request)) {
            reject(exchange, 401, "unauthorized", List.of("authorization: invalid or missing header value"),
                    List.of());
            return;
        }
        Job job = jobs.get(id);
        if (job == null) {
            reject(exchange, 404, "not_found", List.of("id: no generation with id " + id + " was found"), List.of());
            return;
        }
        String accept = request.header("accept").map(String::trim).orElse("*/*");
        if (!accept.equals("*/*") && !accept.equals("image/*") && !accept.equals("application/json")) {
            reject(exchange, 400, "bad_request", List.of("accept: must be either */* or application/json (was "
                    + accept + ")"), List.of());
            return;
        }
        if (job.polls().incrementAndGet() <= pendingResults) {
            ObjectNode progress = Json.object().put("id", id).put("status", "in-progress");
            send(exchange, 202, "application/json", Json.bytes(progress), List.of());
            return;
        }
        deliver(exchange, accept.equals("application/json"), job.image(), job.format(), "SUCCESS", job.seed(),
                List.of());
    }

    private void deliver(HttpExchange exchange, boolean json, byte[] image, String format, String finish, long seed,
                         List<Map.Entry<String, String>> headers) throws IOException {
        if (json) {
            ObjectNode body = Json.object();
            body.put("image", Base64.getEncoder().encodeToString(image));
            body.put("finish_reason", finish);
            body.put("seed", seed);
            send(exchange, 200, "application/json", Json.bytes(body), headers);
            return;
        }
        List<Map.Entry<String, String>> all = new ArrayList<>();
        all.add(Map.entry("finish-reason", finish));
        all.add(Map.entry("seed", Long.toString(seed)));
        all.addAll(headers);
        send(exchange, 200, "image/" + format, image, all);
    }

    private boolean authorised(RecordedRequest request) {
        Optional<String> token = request.header("Authorization")
                .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7))
                .map(v -> v.substring(7).trim()).filter(v -> !v.isEmpty());
        return token.isPresent() && (apiKey == null || apiKey.equals(token.get()));
    }

    private void reject(HttpExchange exchange, int status, String name, List<String> errors,
                        List<Map.Entry<String, String>> headers) throws IOException {
        send(exchange, status, "application/json", errorBody(randomHex(16), name, errors), headers);
    }

    static byte[] errorBody(String id, String name, List<String> errors) {
        ObjectNode root = Json.object();
        root.put("id", id);
        root.put("name", name);
        var array = root.putArray("errors");
        errors.forEach(array::add);
        return Json.bytes(root);
    }

    /** One edit form: its fields by name and every rule of its operation. */
    private static final class Form {
        private final RecordedRequest request;
        private final String op;
        private final List<String> errors = new ArrayList<>();
        private ImageInfo image;

        Form(RecordedRequest request, String op) {
            this.request = request;
            this.op = op;
        }

        Optional<String> text(String name) {
            return request.textField(name).map(String::trim).filter(s -> !s.isEmpty());
        }

        List<String> validate() {
            String imageField = op.equals("replace-background-and-relight") ? "subject_image" : "image";
            image = file(imageField, true).orElse(null);
            switch (op) {
                case "inpaint" -> {
                    prompt("prompt", true);
                    prompt("negative_prompt", false);
                    number("grow_mask", 0, 100);
                    mask();
                    style();
                }
                case "erase" -> {
                    number("grow_mask", 0, 20);
                    mask();
                }
                case "outpaint" -> {
                    prompt("prompt", false);
                    number("creativity", 0, 1);
                    boolean any = false;
                    for (String side : List.of("left", "right", "up", "down")) {
                        any |= number(side, 0, 2000).filter(v -> v > 0).isPresent();
                    }
                    if (!any) {
                        errors.add("left, right, up, down: at least one must be greater than 0");
                    }
                    style();
                }
                case "search-and-replace", "search-and-recolor" -> {
                    prompt("prompt", true);
                    prompt(op.equals("search-and-replace") ? "search_prompt" : "select_prompt", true);
                    prompt("negative_prompt", false);
                    number("grow_mask", 0, 20);
                    style();
                }
                case "remove-background" -> {
                    if (image != null && image.pixels() > MAX_REMOVE_BACKGROUND_PIXELS) {
                        errors.add("image: total pixel count must be at most 4,194,304 for remove-background (was "
                                + String.format("%,d", image.pixels()) + ")");
                    }
                }
                case "replace-background-and-relight" -> {
                    boolean reference = file("background_reference", false).isPresent();
                    if (text("background_prompt").isEmpty() && !reference) {
                        errors.add("background_prompt: is required when no background_reference is given");
                    }
                    prompt("background_prompt", false);
                    prompt("foreground_prompt", false);
                    prompt("negative_prompt", false);
                    number("preserve_original_subject", 0, 1);
                    number("original_background_depth", 0, 1);
                    number("light_source_strength", 0, 1);
                    file("light_reference", false);
                    text("keep_original_background").filter(v -> !v.equals("true") && !v.equals("false"))
                            .ifPresent(v -> errors.add("keep_original_background: must be true or false (was " + v
                                    + ")"));
                    text("light_source_direction").filter(v -> !Set.of("left", "right", "above", "below")
                            .contains(v)).ifPresent(v -> errors.add("light_source_direction: must be one of left, "
                            + "right, above, below (was " + v + ")"));
                    if (text("light_source_strength").isPresent() && text("light_source_direction").isEmpty()
                            && file("light_reference", false).isEmpty()) {
                        errors.add("light_source_strength: requires light_source_direction or light_reference");
                    }
                }
                default -> throw new IllegalStateException("unknown operation " + op);
            }
            text("seed").ifPresent(seed -> {
                boolean ok = seed.matches("\\d{1,10}") && Long.parseLong(seed) <= MAX_SEED;
                if (!ok) {
                    errors.add("seed: must be an integer between 0 and 4294967294 (was " + seed + ")");
                }
            });
            List<String> formats = op.equals("remove-background") ? List.of("png", "webp")
                    : List.of("png", "jpeg", "webp");
            text("output_format").filter(f -> !formats.contains(f)).ifPresent(f -> errors.add("output_format: must "
                    + "be one of " + String.join(", ", formats) + " (was " + f + ")"));
            return errors;
        }

        /** Outpaint grows the canvas; every other operation keeps the input's size. */
        int[] outputSize() {
            int width = image.width();
            int height = image.height();
            if (op.equals("outpaint")) {
                width += text("left").map(Integer::parseInt).orElse(0) + text("right").map(Integer::parseInt)
                        .orElse(0);
                height += text("up").map(Integer::parseInt).orElse(0) + text("down").map(Integer::parseInt)
                        .orElse(0);
            }
            return new int[] {width, height};
        }

        private Optional<ImageInfo> file(String name, boolean required) {
            List<RecordedPart> parts = request.parts(name);
            if (parts.isEmpty()) {
                if (required) {
                    errors.add(name + ": is required");
                }
                return Optional.empty();
            }
            RecordedPart part = parts.getFirst();
            Optional<ImageInfo> info = ImageInfo.of(part.bytes()).filter(i -> !i.mediaType().equals("image/gif"));
            if (info.isEmpty()) {
                errors.add(name + ": unsupported image format; supported formats are jpeg, png, webp");
                return Optional.empty();
            }
            ImageInfo i = info.get();
            if (i.width() < 64 || i.height() < 64) {
                errors.add(name + ": dimensions must be at least 64x64 pixels (was " + i.dimensions() + ")");
            } else if (i.pixels() < MIN_PIXELS || i.pixels() > MAX_PIXELS) {
                errors.add(name + ": total pixel count must be between 4,096 and 9,437,184 (was "
                        + String.format("%,d", i.pixels()) + ")");
            } else {
                double aspect = (double) i.width() / i.height();
                if (aspect > 2.5 || aspect < 1 / 2.5) {
                    errors.add(name + ": aspect ratio must be between 1:2.5 and 2.5:1 (was " + i.dimensions() + ")");
                }
            }
            return info;
        }

        private void mask() {
            Optional<ImageInfo> mask = file("mask", false);
            if (mask.isPresent() && image != null && (mask.get().width() != image.width()
                    || mask.get().height() != image.height())) {
                errors.add("mask: dimensions must match the image (image " + image.dimensions() + ", mask "
                        + mask.get().dimensions() + ")");
            }
            if (request.parts("mask").isEmpty() && image != null && !image.alpha()) {
                errors.add("mask: is required when the image has no alpha channel");
            }
        }

        private void prompt(String name, boolean required) {
            Optional<String> value = request.textField(name);
            if (value.isEmpty() || value.get().isBlank()) {
                if (required) {
                    errors.add(name + ": is required");
                }
            } else if (value.get().length() > 10_000) {
                errors.add(name + ": must be at most 10000 characters (was " + value.get().length() + ")");
            }
        }

        private void style() {
            text("style_preset").filter(s -> !STYLE_PRESETS.contains(s)).ifPresent(s -> errors.add("style_preset: "
                    + "must be one of " + String.join(", ", new java.util.TreeSet<>(STYLE_PRESETS)) + " (was " + s
                    + ")"));
        }

        private Optional<Double> number(String name, double min, double max) {
            Optional<String> raw = text(name);
            if (raw.isEmpty()) {
                return Optional.empty();
            }
            double v;
            try {
                v = Double.parseDouble(raw.get());
            } catch (NumberFormatException e) {
                errors.add(name + ": must be a number (was " + raw.get() + ")");
                return Optional.empty();
            }
            if (v < min || v > max) {
                errors.add(name + ": must be between " + plain(min) + " and " + plain(max) + " (was " + raw.get()
                        + ")");
            }
            return Optional.of(v);
        }

        private static String plain(double v) {
            return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
        }
    }

    /** Configures a {@link FakeStability} before it starts. */
    public static final class Builder extends Settings<Builder> {

        private int pendingResults = 1;

        private Builder() {
        }

        /** How many relight result polls answer 202 {@code in-progress} before the image; default 1. */
        public Builder pendingResults(int polls) {
            if (polls < 0) {
                throw new IllegalArgumentException("pendingResults must be >= 0 (was " + polls + ")");
            }
            this.pendingResults = polls;
            return this;
        }

        /** Binds 127.0.0.1 on a free port and starts serving. */
        public FakeStability start() {
            return new FakeStability(this).serve();
        }
    }
}
