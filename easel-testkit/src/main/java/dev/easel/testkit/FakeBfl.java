package dev.easel.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A fake Black Forest Labs API ({@code https://api.bfl.ai}-shaped) for the FLUX editing endpoints: submit a job,
 * poll its {@code polling_url} until {@code Ready}, download {@code result.sample}, a signed URL that expires.
 * Strict like BFL's FastAPI service: {@code x-key} on submit and poll, each endpoint's fields, types and ranges
 * (422 {@code {"detail":[…]}} in Pydantic's shape), the concurrent-task limits, and an expired sample answered
 * the way BFL's Azure blob CDN answers it.
 *
 * <pre>{@code
 * ManualClock clock = new ManualClock(Instant.parse("2026-12-01T10:00:00Z"));
 * try (FakeBfl fake = FakeBfl.builder().apiKey("bfl-test").clock(clock).pendingPolls(2).start()) {
 *     fake.enqueuePoll(FakeResponse.serverError());              // one poll fails, the job goes on
 *     // ... point the adapter at fake.baseUrl() ...
 *     assertThat(fake.submissions("flux-kontext-pro")).isEqualTo(1);
 *     clock.advance(Duration.ofMinutes(11));                     // the sample URL has expired now
 * }
 * }</pre>
 *
 * <p>Routes: {@code POST /v1/{endpoint}} for {@link #ENDPOINTS} (these consume the {@link #enqueue} script),
 * {@code GET /v1/get_result?id=} (consumes {@link #enqueuePoll}), {@code GET /results/…} for samples; anything
 * else is FastAPI's {@code 404 {"detail":"Not Found"}}. {@link #holdAnswers()} and {@link #defaultLatency} apply
 * to submissions and polls.
 */
public final class FakeBfl extends FakeServer<FakeBfl> {

    /** The submit endpoints this fake serves. */
    public static final Set<String> ENDPOINTS = Set.copyOf(BflSchema.MODELS.keySet());

    /** How long a sample URL stays valid by default (BFL: 10 minutes). */
    public static final Duration DEFAULT_SAMPLE_TTL = Duration.ofMinutes(10);

    private static final Pattern SAMPLE = Pattern.compile("/results/\\d{4}/\\d{2}/\\d{2}/([0-9a-f]{32})_sample"
            + "\\.(jpeg|png)");
    private static final Set<String> OUTCOMES = Set.of("Ready", "Request Moderated", "Content Moderated", "Error",
            "Task not found");
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);
    private static final String SAS_VERSION = "2024-11-04";

    /** How a scripted job ends. */
    private record JobOutcome(String status, int pendingPolls) {
    }

    /** One submitted task. */
    private static final class Job {
        final String id;
        final String endpoint;
        final String prompt;
        final long seed;
        final String format;
        final int width;
        final int height;
        final double startTime;
        final String finalStatus;
        final int pendingPolls;
        final AtomicInteger polls = new AtomicInteger();
        int advanced;           // guarded by this: polls that moved the job on
        boolean terminal;       // guarded by this: the final status has been reported
        String sample;          // guarded by this: the signed URL, made when the job is first reported Ready

        Job(String id, String endpoint, String prompt, long seed, String format, int width, int height,
            double startTime, String finalStatus, int pendingPolls) {
            this.id = id;
            this.endpoint = endpoint;
            this.prompt = prompt;
            this.seed = seed;
            this.format = format;
            this.width = width;
            this.height = height;
            this.startTime = startTime;
            this.finalStatus = finalStatus;
            this.pendingPolls = pendingPolls;
        }

        /** Whether the task counts against Kontext max's own, lower limit (BFL: only flux-kontext-max has one). */
        boolean kontextMax() {
            return endpoint.equals("flux-kontext-max");
        }
    }

    private final String apiKey;
    private final Clock clock;
    private final Duration sampleTtl;
    private final int pendingPolls;
    private final int maxActiveTasks;
    private final int maxActiveKontextMaxTasks;
    private final boolean allowUnknownFields;
    private final boolean reportsCost;
    private final byte[] signingKey = randomBytes(32);
    private final Queue<FakeResponse> pollScript = newScript();
    private final Map<String, Job> jobs = new ConcurrentHashMap<>();
    private final Map<String, Job> samples = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> submissions = new ConcurrentHashMap<>();
    private final AtomicInteger sampleDownloads = new AtomicInteger();
    private final List<String> jobOrder = new ArrayList<>(); // guarded by itself

    private FakeBfl(Builder builder) {
        super("FakeBfl", builder.defaultLatency);
        this.apiKey = builder.apiKey;
        this.clock = builder.clock;
        this.sampleTtl = builder.sampleTtl;
        this.pendingPolls = builder.pendingPolls;
        this.maxActiveTasks = builder.maxActiveTasks;
        this.maxActiveKontextMaxTasks = builder.maxActiveKontextMaxTasks;
        this.allowUnknownFields = builder.allowUnknownFields;
        this.reportsCost = builder.reportsCost;
    }

    /** A builder for a configured server. */
    public static Builder builder() {
        return new Builder();
    }

    /** Queues a one-shot answer for the next poll ({@code GET /v1/get_result}); the job does not move on. */
    public void enqueuePoll(FakeResponse response) {
        pollScript.add(owned(response));
    }

    /**
     * The next accepted submission becomes a job that reports {@code Pending} for {@code pendingPolls} polls and
     * then {@code status}: {@code Ready}, {@code Request Moderated}, {@code Content Moderated}, {@code Error} or
     * {@code Task not found}. The submission itself is checked and answered as usual.
     */
    public static FakeResponse job(String status, int pendingPolls) {
        if (!OUTCOMES.contains(status)) {
            throw new IllegalArgumentException("status must be one of " + new java.util.TreeSet<>(OUTCOMES)
                    + " (was '" + status + "')");
        }
        if (pendingPolls < 0) {
            throw new IllegalArgumentException("pendingPolls must be >= 0 (was " + pendingPolls + ")");
        }
        return FakeResponse.outcome(FakeBfl.class, "job(" + status + ", " + pendingPolls + ")",
                new JobOutcome(status, pendingPolls));
    }

    /** The next job is refused by input moderation: its first poll answers {@code Request Moderated}. */
    public static FakeResponse requestModerated() {
        return job("Request Moderated", 0);
    }

    /** The next job's output is refused: {@code Content Moderated} after one pending poll. */
    public static FakeResponse contentModerated() {
        return job("Content Moderated", 1);
    }

    /** 402: the account has no credits left. */
    public static FakeResponse insufficientCredits() {
        return detail(402, "Insufficient credits. Please add credits to your account to continue.");
    }

    /** 429: too many active tasks, as when the concurrency limit is reached. */
    public static FakeResponse tooManyActiveTasks() {
        return detail(429, activeTasksMessage(24)).withHeader("Retry-After", "1");
    }

    private static String activeTasksMessage(int limit) {
        return "You have reached the maximum number of active tasks (" + limit + "). Please wait for some of them "
                + "to finish and try again.";
    }

    /** Any FastAPI-shaped error {@code {"detail":"…"}}. */
    public static FakeResponse detail(int status, String detail) {
        ObjectNode root = Json.object();
        root.put("detail", Objects.requireNonNull(detail, "detail"));
        return FakeResponse.body(status, "application/json", Json.bytes(root));
    }

    /** Accepted submissions to an endpoint (e.g. {@code flux-kontext-pro}) since the start or {@link #reset()}. */
    public int submissions(String endpoint) {
        AtomicInteger n = submissions.get(endpoint);
        return n == null ? 0 : n.get();
    }

    /** Polls received for a job, scripted ones included. */
    public int polls(String jobId) {
        Job job = jobs.get(jobId);
        return job == null ? 0 : job.polls.get();
    }

    /** Sample images downloaded successfully (expired or forged URLs do not count). */
    public int sampleDownloads() {
        return sampleDownloads.get();
    }

    /** Ids of the accepted jobs, oldest first. */
    public List<String> jobIds() {
        synchronized (jobOrder) {
            return List.copyOf(jobOrder);
        }
    }

    /** Jobs submitted whose final status has not been reported yet (what BFL's concurrency limit counts). */
    public int activeTasks() {
        return (int) jobs.values().stream().filter(j -> !isTerminal(j)).count();
    }

    @Override
    void onReset() {
        jobs.clear();
        samples.clear();
        submissions.clear();
        sampleDownloads.set(0);
        synchronized (jobOrder) {
            jobOrder.clear();
        }
    }

    @Override
    byte[] bugBody(String message) {
        ObjectNode root = Json.object();
        root.put("detail", message);
        return Json.bytes(root);
    }

    @Override
    void route(HttpExchange exchange, RecordedRequest request) throws IOException {
        String path = request.path();
        String method = request.method();
        if (path.startsWith("/v1/") && ENDPOINTS.contains(path.substring(4))) {
            if (!method.equals("POST")) {
                sendDetail(exchange, 405, "Method Not Allowed", List.of());
                return;
            }
            String endpoint = path.substring(4);
            answer(exchange, script(), "", List.of(), scripted -> submit(exchange, request, endpoint, scripted));
        } else if (path.equals("/v1/get_result")) {
            if (!method.equals("GET")) {
                sendDetail(exchange, 405, "Method Not Allowed", List.of());
                return;
            }
            request.queryParameter("id").map(jobs::get).ifPresent(job -> job.polls.incrementAndGet());
            answer(exchange, pollScript, "", List.of(), scripted -> poll(exchange, request, scripted));
        } else if (method.equals("GET") && SAMPLE.matcher(path).matches()) {
            serveSample(exchange, request);
        } else {
            sendDetail(exchange, 404, "Not Found", List.of());
        }
    }

    private boolean authorised(HttpExchange exchange, RecordedRequest request,
                               List<Map.Entry<String, String>> headers) throws IOException {
        Optional<String> key = request.header("x-key").map(String::trim).filter(k -> !k.isEmpty());
        if (key.isEmpty()) {
            sendDetail(exchange, 403, "Not authenticated", headers);
            return false;
        }
        if (apiKey != null && !apiKey.equals(key.get())) {
            sendDetail(exchange, 403, "Not authenticated - Invalid Authentication", headers);
            return false;
        }
        return true;
    }

    private void submit(HttpExchange exchange, RecordedRequest request, String endpoint, FakeResponse scripted)
            throws IOException {
        List<Map.Entry<String, String>> headers = scripted.headers();
        if (!authorised(exchange, request, headers)) {
            return;
        }
        JsonNode parsed;
        try {
            parsed = Json.MAPPER.readTree(request.body());
        } catch (IOException e) {
            ObjectNode ctx = Json.object();
            ctx.put("error", "Expecting value");
            sendErrors(exchange, List.of(BflSchema.error("json_invalid", BflSchema.loc().add(0),
                    "JSON decode error", Json.object(), ctx)), headers);
            return;
        }
        if (parsed == null || !parsed.isObject()) {
            sendErrors(exchange, List.of(BflSchema.error("model_attributes_type", BflSchema.loc(), "Input should be "
                    + "a valid dictionary or object to extract fields from", parsed, null)), headers);
            return;
        }
        ObjectNode body = (ObjectNode) parsed;
        List<ObjectNode> errors = BflSchema.check(endpoint, body, allowUnknownFields);
        if (errors.isEmpty()) {
            errors = crossFieldErrors(endpoint, body);
        }
        if (!errors.isEmpty()) {
            sendErrors(exchange, errors, headers);
            return;
        }
        JobOutcome outcome = scripted.outcome(JobOutcome.class).orElse(new JobOutcome("Ready", pendingPolls));
        Job job;
        synchronized (jobOrder) {
            boolean kontextMax = endpoint.equals("flux-kontext-max");
            long active = jobs.values().stream().filter(j -> !isTerminal(j)).count();
            long activeKontextMax = jobs.values().stream().filter(j -> j.kontextMax() && !isTerminal(j)).count();
            if (active >= maxActiveTasks || kontextMax && activeKontextMax >= maxActiveKontextMaxTasks) {
                int limit = kontextMax && activeKontextMax >= maxActiveKontextMaxTasks ? maxActiveKontextMaxTasks
                        : maxActiveTasks;
                send(exchange, 429, "application/json", Json.bytes(Json.object().put("detail",
                        activeTasksMessage(limit))), concat(List.of(Map.entry("Retry-After", "1")), headers));
                return;
            }
            job = newJob(endpoint, body, outcome);
            jobs.put(job.id, job);
            jobOrder.add(job.id);
        }
        submissions.computeIfAbsent(endpoint, k -> new AtomicInteger()).incrementAndGet();
        ObjectNode answer = Json.object();
        answer.put("id", job.id);
        answer.put("polling_url", origin() + "/v1/get_result?id=" + job.id);
        boolean flux2 = endpoint.startsWith("flux-2");
        double inputMp = inputMegapixels(body);
        double outputMp = (double) job.width * job.height / (1 << 20);
        if (reportsCost) {
            answer.put("cost", cost(endpoint, inputMp, outputMp));
        }
        if (flux2) {
            answer.put("input_mp", round2(inputMp));
            answer.put("output_mp", round2(outputMp));
        } else {
            answer.putNull("input_mp");
            answer.putNull("output_mp");
        }
        send(exchange, 200, "application/json", Json.bytes(answer), headers);
    }

    private List<ObjectNode> crossFieldErrors(String endpoint, ObjectNode body) {
        List<ObjectNode> errors = new ArrayList<>();
        if (endpoint.startsWith("flux-kontext")) {
            JsonNode ratio = body.get("aspect_ratio");
            if (ratio != null && !ratio.isNull() && !validKontextRatio(ratio.asText())) {
                errors.add(BflSchema.valueError(BflSchema.loc("aspect_ratio"), "aspect ratio must be between 21:9 "
                        + "and 9:21, e.g. '16:9' (was '" + ratio.asText() + "')", ratio));
            }
            JsonNode safety = body.get("safety_tolerance");
            if (hasImage(body, "input_image") && safety != null && !safety.isNull()
                    && BflSchema.number(BflSchema.Type.INT, safety).orElse(0.0) > 2) {
                errors.add(BflSchema.valueError(BflSchema.loc(), "safety_tolerance must be at most 2 when an input "
                        + "image is given (was " + safety.asText() + ")", body));
            }
        }
        if (endpoint.equals("flux-pro-1.0-fill") && body.hasNonNull("mask")) {
            Optional<ImageInfo> image = BflSchema.image(body.get("image").asText());
            Optional<ImageInfo> mask = BflSchema.image(body.get("mask").asText());
            if (image.isPresent() && mask.isPresent()) {
                if (image.get().width() != mask.get().width() || image.get().height() != mask.get().height()) {
                    errors.add(BflSchema.valueError(BflSchema.loc(), "mask must have the same dimensions as image "
                            + "(image " + image.get().dimensions() + ", mask " + mask.get().dimensions() + ")", body));
                } else if (!Images.isGrey(BflSchema.imageBytes(body.get("mask").asText()), mask.get())) {
                    errors.add(BflSchema.valueError(BflSchema.loc("mask"), "mask must be a black-and-white image "
                            + "(white marks the area to fill)", body.get("mask")));
                }
            }
        }
        if (endpoint.startsWith("flux-2")) {
            int[] size = flux2Size(body);
            if ((long) size[0] * size[1] > BflSchema.FLUX2_MAX_PIXELS) {
                errors.add(BflSchema.valueError(BflSchema.loc(), "width * height must be at most "
                        + BflSchema.FLUX2_MAX_PIXELS + " pixels (4 MP) (was " + size[0] + "x" + size[1] + ")", body));
            }
        }
        return errors;
    }

    private Job newJob(String endpoint, ObjectNode body, JobOutcome outcome) {
        int[] size = outputSize(endpoint, body);
        long seed = body.hasNonNull("seed") ? body.get("seed").asLong() : Math.floorMod(
                java.util.concurrent.ThreadLocalRandom.current().nextLong(), 4_294_967_295L);
        String format = body.hasNonNull("output_format") ? body.get("output_format").asText() : "jpeg";
        double start = clock.instant().toEpochMilli() / 1000.0;
        return new Job(UUID.randomUUID().toString(), endpoint, body.path("prompt").asText(""), seed, format, size[0],
                size[1], start, outcome.status(), outcome.pendingPolls());
    }

    private void poll(HttpExchange exchange, RecordedRequest request, FakeResponse scripted) throws IOException {
        List<Map.Entry<String, String>> headers = scripted.headers();
        if (!authorised(exchange, request, headers)) {
            return;
        }
        Optional<String> id = request.queryParameter("id");
        if (id.isEmpty()) {
            sendErrors(exchange, List.of(BflSchema.error("missing", Json.MAPPER.createArrayNode().add("query")
                    .add("id"), "Field required", null, null)), headers);
            return;
        }
        Job job = jobs.get(id.get());
        ObjectNode answer = Json.object();
        answer.put("id", id.get());
        String status;
        if (job == null) {
            status = "Task not found";
        } else {
            synchronized (job) {
                if (!job.terminal && job.advanced < job.pendingPolls) {
                    job.advanced++;
                    status = "Pending";
                    answer.put("status", status);
                    answer.putNull("result");
                    answer.put("progress", round2((double) job.advanced / (job.pendingPolls + 1)));
                    answer.putNull("details");
                    answer.putNull("preview");
                    send(exchange, 200, "application/json", Json.bytes(answer),
                            concat(List.of(Map.entry("Retry-After", "1")), headers));
                    return;
                }
                job.terminal = true;
                status = job.finalStatus;
                if (status.equals("Ready") && job.sample == null) {
                    job.sample = signSample(job);
                }
            }
        }
        answer.put("status", status);
        if (status.equals("Ready")) {
            ObjectNode result = answer.putObject("result");
            result.put("start_time", job.startTime);
            result.put("prompt", job.prompt);
            result.put("seed", job.seed);
            synchronized (job) {
                result.put("sample", job.sample);
            }
        } else {
            answer.putNull("result");
        }
        answer.putNull("progress");
        switch (status) {
            case "Request Moderated" -> answer.putObject("details").putArray("Moderation Reasons")
                    .add("Derivative Works Filter");
            case "Content Moderated" -> answer.putObject("details").putArray("Moderation Reasons").add("NSFW");
            case "Error" -> answer.putObject("details").put("error", "Generation failed");
            default -> answer.putNull("details");
        }
        answer.putNull("preview");
        send(exchange, 200, "application/json", Json.bytes(answer), headers);
    }

    /** Azure-blob-style SAS URL: expiry {@code se} and an HMAC {@code sig} over path and expiry. */
    private String signSample(Job job) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
        String day = DateTimeFormatter.ofPattern("yyyy/MM/dd").withZone(ZoneOffset.UTC).format(now);
        String blob = randomHex(16);
        String path = "/results/" + day + "/" + blob + "_sample." + job.format;
        String expiry = DateTimeFormatter.ISO_INSTANT.format(now.plus(sampleTtl));
        samples.put(blob, job);
        return origin() + path + "?se=" + URLEncoder.encode(expiry, StandardCharsets.UTF_8) + "&sp=r&sv="
                + SAS_VERSION + "&sr=b&rsct=image/" + job.format + "&sig="
                + URLEncoder.encode(signature(path, expiry), StandardCharsets.UTF_8);
    }

    private void serveSample(HttpExchange exchange, RecordedRequest request) throws IOException {
        Matcher m = SAMPLE.matcher(request.path());
        if (!m.matches()) {
            throw new IllegalStateException("not a sample path: " + request.path());
        }
        Instant now = clock.instant();
        Optional<String> expiry = request.queryParameter("se");
        Optional<String> sig = request.queryParameter("sig");
        if (expiry.isEmpty() || sig.isEmpty() || !signature(request.path(), expiry.get()).equals(sig.get())) {
            azureError(exchange, 403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure "
                    + "the value of Authorization header is formed correctly including the signature.", now,
                    "Signature did not match. String to sign used was r\n\n" + expiry.orElse("") + "\n"
                    + request.path());
            return;
        }
        Instant notAfter = Instant.parse(expiry.get());
        if (!now.isBefore(notAfter)) {
            azureError(exchange, 403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure "
                    + "the value of Authorization header is formed correctly including the signature.", now,
                    "Signature not valid in the specified time frame: Start [" + HTTP_DATE.format(notAfter.minus(
                    sampleTtl)) + "] - Expiry [" + HTTP_DATE.format(notAfter) + "] - Current [" + HTTP_DATE.format(now)
                    + "]");
            return;
        }
        Job job = samples.get(m.group(1));
        if (job == null) {
            azureError(exchange, 404, "BlobNotFound", "The specified blob does not exist.", now, null);
            return;
        }
        sampleDownloads.incrementAndGet();
        send(exchange, 200, "image/" + job.format, Images.flat(job.format, job.width, job.height),
                List.of(Map.entry("x-ms-request-id", UUID.randomUUID().toString()),
                        Map.entry("x-ms-version", SAS_VERSION), Map.entry("Accept-Ranges", "bytes")));
    }

    private void azureError(HttpExchange exchange, int status, String code, String message, Instant now,
                            String detail) throws IOException {
        String requestId = UUID.randomUUID().toString();
        String xml = "\uFEFF<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>" + code + "</Code><Message>"
                + message + "\nRequestId:" + requestId + "\nTime:" + DateTimeFormatter.ISO_INSTANT.format(now)
                + "</Message>" + (detail == null ? "" : "<AuthenticationErrorDetail>" + detail
                + "</AuthenticationErrorDetail>") + "</Error>";
        send(exchange, status, "application/xml", xml.getBytes(StandardCharsets.UTF_8), List.of(
                Map.entry("x-ms-request-id", requestId), Map.entry("x-ms-error-code", code)));
    }

    private String signature(String path, String expiry) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(signingKey, "HmacSHA256"));
            return Base64.getEncoder().encodeToString(mac.doFinal((path + "\n" + expiry)
                    .getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    private static boolean isTerminal(Job job) {
        synchronized (job) {
            return job.terminal;
        }
    }

    /** The output size: Kontext ~1 MP at the requested ratio (else the input's), Fill/Expand from the image. */
    private static int[] outputSize(String endpoint, ObjectNode body) {
        Optional<ImageInfo> input = Optional.empty();
        for (String field : List.of("input_image", "image")) {
            if (body.hasNonNull(field)) {
                input = BflSchema.image(body.get(field).asText());
                break;
            }
        }
        if (endpoint.startsWith("flux-kontext")) {
            double ratio = body.hasNonNull("aspect_ratio") ? ratio(body.get("aspect_ratio").asText())
                    : input.map(i -> (double) i.width() / i.height()).orElse(1.0);
            return new int[] {round16(1024 * Math.sqrt(ratio)), round16(1024 / Math.sqrt(ratio))};
        }
        if (endpoint.equals("flux-pro-1.0-fill")) {
            return input.map(i -> new int[] {i.width(), i.height()}).orElse(new int[] {1024, 1024});
        }
        if (endpoint.equals("flux-pro-1.0-expand")) {
            int[] base = input.map(i -> new int[] {i.width(), i.height()}).orElse(new int[] {1024, 1024});
            return new int[] {base[0] + body.path("left").asInt(0) + body.path("right").asInt(0),
                    base[1] + body.path("top").asInt(0) + body.path("bottom").asInt(0)};
        }
        return flux2Size(body);
    }

    /** FLUX.2: width/height as given, else the input image's size (on the 16-pixel grid), else 1024x1024. */
    private static int[] flux2Size(ObjectNode body) {
        Optional<ImageInfo> input = body.hasNonNull("input_image") ? BflSchema.image(body.get("input_image")
                .asText()) : Optional.empty();
        int width = input.map(i -> round16(i.width())).orElse(1024);
        int height = input.map(i -> round16(i.height())).orElse(1024);
        return new int[] {body.hasNonNull("width") ? body.get("width").asInt() : width,
                body.hasNonNull("height") ? body.get("height").asInt() : height};
    }

    /** Megapixels of the input images (2^20 pixels each); a URL image, which the fake cannot see, counts as 1. */
    private static double inputMegapixels(ObjectNode body) {
        double mp = 0;
        for (Map.Entry<String, JsonNode> e : body.properties()) {
            if ((e.getKey().equals("image") || e.getKey().startsWith("input_image")) && e.getValue().isTextual()) {
                mp += BflSchema.image(e.getValue().asText()).map(i -> (double) i.pixels() / (1 << 20)).orElse(1.0);
            }
        }
        return mp;
    }

    /**
     * Credits: fixed per Kontext/Fill/Expand call; FLUX.2 charges its first output megapixel at the base rate and
     * every further output megapixel and every input megapixel (each rounded up) at the per-MP rate.
     */
    static double cost(String endpoint, double inputMp, double outputMp) {
        double[] rates = switch (endpoint) {
            case "flux-kontext-pro" -> new double[] {4, 0};
            case "flux-kontext-max" -> new double[] {8, 0};
            case "flux-pro-1.0-fill", "flux-pro-1.0-expand" -> new double[] {5, 0};
            case "flux-2-pro" -> new double[] {3, 1.5};
            case "flux-2-max" -> new double[] {7, 3};
            case "flux-2-flex" -> new double[] {6, 6};
            default -> throw new IllegalArgumentException("unknown endpoint " + endpoint);
        };
        double extra = Math.ceil(Math.max(0, round2(outputMp) - 1)) + Math.ceil(round2(inputMp));
        return rates[0] + rates[1] * extra;
    }

    private static boolean validKontextRatio(String text) {
        if (!text.matches("\\d{1,3}:\\d{1,3}")) {
            return false;
        }
        double r = ratio(text);
        return r > 0 && r >= 9.0 / 21 - 1e-9 && r <= 21.0 / 9 + 1e-9;
    }

    private static boolean hasImage(ObjectNode body, String prefix) {
        for (var it = body.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (name.startsWith(prefix) && body.hasNonNull(name)) {
                return true;
            }
        }
        return false;
    }

    private static double ratio(String text) {
        int colon = text.indexOf(':');
        double h = Double.parseDouble(text.substring(colon + 1));
        return h == 0 ? 0 : Double.parseDouble(text.substring(0, colon)) / h;
    }

    private static int round16(double v) {
        return (int) Math.max(16, Math.round(v / 16) * 16);
    }

    private static double round2(double v) {
        return Math.round(v * 100) / 100.0;
    }

    private void sendDetail(HttpExchange exchange, int status, String detail, List<Map.Entry<String, String>> headers)
            throws IOException {
        send(exchange, status, "application/json", Json.bytes(Json.object().put("detail", detail)), headers);
    }

    private void sendErrors(HttpExchange exchange, List<ObjectNode> errors, List<Map.Entry<String, String>> headers)
            throws IOException {
        send(exchange, 422, "application/json", BflSchema.detail(errors), headers);
    }

    private static List<Map.Entry<String, String>> concat(List<Map.Entry<String, String>> a,
                                                          List<Map.Entry<String, String>> b) {
        List<Map.Entry<String, String>> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** Configures a {@link FakeBfl} before it starts. */
    public static final class Builder extends Settings<Builder> {

        private Clock clock = Clock.systemUTC();
        private Duration sampleTtl = DEFAULT_SAMPLE_TTL;
        private int pendingPolls = 2;
        private int maxActiveTasks = 24;
        private int maxActiveKontextMaxTasks = 6;
        private boolean allowUnknownFields;
        private boolean reportsCost = true;

        private Builder() {
        }

        /** The clock that dates jobs and expires sample URLs (a {@link ManualClock} in tests); default UTC now. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** How long a sample URL is valid after the job is first reported Ready; default 10 minutes. */
        public Builder sampleTtl(Duration ttl) {
            if (nonNegative(ttl, "ttl").isZero()) {
                throw new IllegalArgumentException("ttl must be positive (was " + ttl + ")");
            }
            this.sampleTtl = ttl;
            return this;
        }

        /** How many polls answer {@code Pending} before a job's final status; default 2. */
        public Builder pendingPolls(int polls) {
            if (polls < 0) {
                throw new IllegalArgumentException("pendingPolls must be >= 0 (was " + polls + ")");
            }
            this.pendingPolls = polls;
            return this;
        }

        /** Active tasks allowed at once before a submission is a 429; default 24 (BFL's default). */
        public Builder maxActiveTasks(int max) {
            this.maxActiveTasks = positive(max, "maxActiveTasks");
            return this;
        }

        /**
         * Active {@code flux-kontext-max} tasks allowed at once; default 6 (BFL: "except for flux-kontext-max where
         * the requests to our API is limited to 6 active tasks", help.bfl.ai). Other Kontext tasks count only against
         * {@link #maxActiveTasks}.
         */
        public Builder maxActiveKontextMaxTasks(int max) {
            this.maxActiveKontextMaxTasks = positive(max, "maxActiveKontextMaxTasks");
            return this;
        }

        /**
         * Ignore fields an endpoint does not define, as Pydantic does by default. By default this fake rejects
         * them ({@code extra_forbidden}), so a misspelt field ({@code input_image2}) fails loudly in tests.
         */
        public Builder allowUnknownFields(boolean allow) {
            this.allowUnknownFields = allow;
            return this;
        }

        /**
         * Whether the submit answer carries {@code cost} (credits); default true. BFL's schema marks it optional, so a
         * client must price a job without it (from its own table).
         */
        public Builder reportsCost(boolean reports) {
            this.reportsCost = reports;
            return this;
        }

        /** Binds 127.0.0.1 on a free port and starts serving. */
        public FakeBfl start() {
            return new FakeBfl(this).serve();
        }

        private static int positive(int n, String what) {
            if (n < 1) {
                throw new IllegalArgumentException(what + " must be >= 1 (was " + n + ")");
            }
            return n;
        }
    }
}
