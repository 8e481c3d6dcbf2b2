package dev.easel.proxy;

import dev.easel.engine.Engine;
import dev.easel.proxy.spend.SpendService;
import dev.easel.EaselException;
import dev.easel.engine.EditOutcome;
import dev.easel.engine.GatewayRequest;
import dev.easel.engine.RequestMeta;
import dev.easel.validate.EditInput;
import dev.easel.ImageEditEvent;
import dev.easel.config.RequestLimits;
import dev.easel.engine.StreamOutcome;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/images/edits} (and its aliases): auth → intake (multipart or JSON, spooled, limits
 * enforced while reading) → {@link Easel#execute} → response (JSON streamed out, or SSE) → cleanup.
 * Every failure becomes OpenAI error JSON; every temp file is deleted when the request ends.
 */
final class EditHandler {

    private static final Logger LOG = LoggerFactory.getLogger(EditHandler.class);
    private static final Pattern SAFE_REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    /** A host name or IPv4 address, or a bracketed IPv6 address, and an optional port: nothing else. */
    private static final Pattern PLAIN_HOST = Pattern.compile(
            "(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
                    + "|\\[[0-9A-Fa-f:.]{2,45}])(?::[0-9]{1,5})?");
    private volatile boolean warnedNoPublicBase;

    private final Engine easel;
    private final UploadLimits limits;
    private final UrlFetcher fetcher;
    private final java.util.function.Function<Context, Caller> auth;
    private final Path spoolDir;
    private final boolean allowImageUrls;
    private final String publicBaseUrl;
    private final AtomicInteger inflight;
    private final AtomicReference<ProxyServer.State> state;
    private final RequestLimits requestLimits;
    private final LongSupplier nanoTime;
    private volatile BudgetCheck budgets = (requestId, endUser, model, input, caller, tally) -> () -> { };
    private volatile dev.easel.proxy.keys.KeyGate gate;
    private volatile SpendService spend;
    /** Why an end user is refused outright (blocked), if it is; looked up in memory, no database call. */
    private volatile Function<String, Optional<String>> blockedEndUsers = endUser -> Optional.empty();
    private volatile boolean allowClientCredentials;
    private volatile ParallelLimits parallel;
    private volatile java.time.Clock clock = java.time.Clock.systemUTC();

    /** Refuses (throws) an end user over budget, before anything is sent upstream. */
    @FunctionalInterface
    interface BudgetCheck {
        /**
         * Refuses (throws) a request over the end user's budget, else holds its estimate until the hold is closed;
         * the spend rows recorded under {@code requestId} meanwhile settle it.
         */
        SpendService.BudgetHold hold(String requestId, String endUser, String model, EditInput input, Caller caller,
                                     SpendService.Tally tally);
    }

    /**
     * Who is calling: the master key holder (or anyone, on a proxy without a master key) — {@code key} empty — or a
     * virtual key with its team and user.
     */
    record Caller(java.util.Optional<dev.easel.proxy.keys.KeyCache.Resolved> key) {
        static final Caller ADMIN = new Caller(java.util.Optional.empty());

        /** Whether it may call the management endpoints: the master key, or a key of a {@code proxy_admin} user. */
        boolean admin() {
            return key.isEmpty() || key.get().user().map(dev.easel.proxy.keys.User::admin).orElse(false);
        }
    }

    /** Sets the virtual-key gate (limits, models) and the spend service the request's rows are tallied in. */
    void keys(dev.easel.proxy.keys.KeyGate gate, SpendService spend) {
        this.gate = gate;
        this.spend = spend;
    }



    EditHandler(Engine easel, UploadLimits limits, UrlFetcher fetcher,
                java.util.function.Function<Context, Caller> auth, Path spoolDir,
                boolean allowImageUrls, String publicBaseUrl, AtomicInteger inflight,
                AtomicReference<ProxyServer.State> state, RequestLimits requestLimits, LongSupplier nanoTime) {
        this.easel = easel;
        this.limits = limits;
        this.fetcher = fetcher;
        this.auth = auth;
        this.spoolDir = spoolDir;
        this.allowImageUrls = allowImageUrls;
        this.publicBaseUrl = publicBaseUrl;
        this.inflight = inflight;
        this.state = state;
        this.requestLimits = requestLimits;
        this.nanoTime = nanoTime;
    }

    /** Whether requests may carry their own provider credentials ({@code allow_client_side_credentials}). */
    void allowClientSideCredentials(boolean allow) {
        this.allowClientCredentials = allow;
    }

    /** Sets the proxy-wide parallel limits, taken before the body is read and held until the answer has gone. */
    void parallel(ParallelLimits limits) {
        this.parallel = limits;
    }

    /** Sets the clock a request's arrival time is read from (the proxy's one clock). */
    void clock(java.time.Clock c) {
        this.clock = c;
    }

    /** Sets the end-user budget check run before any upstream call (throws to refuse). */
    /** Refuses (400 {@code end_user_blocked}) the end users {@code check} names a reason for. */
    void blockedEndUsers(Function<String, Optional<String>> check) {
        this.blockedEndUsers = java.util.Objects.requireNonNull(check, "check");
    }

    void budgets(BudgetCheck check) {
        this.budgets = check;
    }

    /**
     * Reads and drops the request body (at most the request size limit), so the answer that follows reaches the
     * client: a draining proxy answers with Connection: close, and closing a connection with unread request bytes
     * makes the kernel reset it, which the client sees as a connection failure instead of the 503 it can act on
     * (nginx's lingering close, for the same reason). Streams through a small buffer; errors end it quietly.
     */
    private void discardBody(Context ctx) {
        byte[] scratch = new byte[16 * 1024];
        long left = limits.maxRequestBytes();
        try (java.io.InputStream in = ctx.req().getInputStream()) {
            for (int n; left > 0 && (n = in.read(scratch, 0, (int) Math.min(scratch.length, left))) > 0; ) {
                left -= n;
            }
        } catch (java.io.IOException | RuntimeException e) {
            // the client went away or sent a broken body: the answer may not reach it anyway
        }
    }

    void handle(Context ctx, String pathModel) {
        long t0 = System.nanoTime();
        String assigned = ctx.res().getHeader("x-request-id"); // set for every request by ProxyServer
        String requestId = assigned != null ? assigned : RequestMeta.newRequestId();
        RoutingHeaders.requestId(ctx, requestId);
        String clientRequestId = clientRequestId(ctx);
        org.slf4j.MDC.put("request_id", requestId); // virtual thread per request: the MDC is this request's
        inflight.incrementAndGet();
        UploadLimits.Account account = limits.open();
        Spool spool = new Spool(spoolDir, account);
        java.time.Instant received = clock.instant();
        String model = pathModel;
        RequestMeta meta = null;
        boolean submitted = false;
        ParallelLimits.Held slots = null;
        SpendService.BudgetHold hold = null;
        dev.easel.proxy.keys.KeyGate.Permit permit = null;
        SpendService.Tally tally = spend == null ? null : spend.track(requestId);
        dev.easel.proxy.keys.KeyCache.Resolved callerKey = null;
        try {
            if (state.get() != ProxyServer.State.READY) {
                discardBody(ctx);
                throw new ProxyException(503, "api_error", "server_draining", null,
                        "the proxy is shutting down; retry on another instance", java.time.Duration.ofSeconds(1));
            }
            Caller caller = auth.apply(ctx);
            if (caller.key().isPresent()) {
                callerKey = caller.key().get();
                // the key's, its team's and its user's rpm/tpm/parallel slots, before the body is read
                permit = gate.admit(caller.key().get());
                permit.headers().forEach(ctx::header);
            }
            // a key with its own max_parallel_requests is not also held to the proxy's default per key
            boolean ownParallel = caller.key().map(r -> r.key().limits().maxParallelRequests().isPresent())
                    .orElse(false);
            slots = parallel == null ? null : parallel.acquire(keyHash(ctx), ownParallel);
            long declared = ctx.req().getContentLengthLong();
            if (declared > limits.maxRequestBytes()) {
                throw ProxyException.tooLarge(null, "request body of " + declared + " bytes is larger than the limit"
                        + " of " + limits.maxRequestBytes() + " bytes");
            }
            MultipartIntake.Parsed parsed = intake(ctx, spool, account);
            model = pathModel != null ? pathModel : parsed.modelOrNull();
            EditInput input = parsed.input();
            if (caller.key().isPresent()) {
                gate.checkModel(caller.key().get(), model);
                // a request's own fallbacks are models it asks for too
                for (String fallback : dev.easel.engine.Engine.requestFallbacks(input.params().get("fallbacks"))) {
                    gate.checkModel(caller.key().get(), fallback);
                }
            }
            // api_key / api_base in the body: refused, or (when allowed) taken out and used for this request only
            ClientCredentials.Taken credentials = ClientCredentials.take(input.params(), allowClientCredentials);
            if (credentials.params() != input.params()) {
                input = new EditInput(input.prompt(), input.images(), input.maskOrNull(), credentials.params(),
                        input.stream());
            }
            String endUser = endUser(ctx, input);
            if (endUser != null && !input.params().containsKey("user")
                    && !input.params().containsKey("safety_identifier")) {
                // an end user named in a header is forwarded upstream as OpenAI expects it
                Map<String, Object> params = new java.util.LinkedHashMap<>(input.params());
                params.put("user", endUser);
                input = new EditInput(input.prompt(), input.images(), input.maskOrNull(), params, input.stream());
            }
            meta = meta(requestId, received, endUser, ctx, clientRequestId, caller);
            if (endUser != null) {
                Optional<String> blocked = blockedEndUsers.apply(endUser);
                if (blocked.isPresent()) { // 400, as LiteLLM answers a blocked end user
                    throw ProxyException.badRequest("end_user_blocked", "user", blocked.get());
                }
            }
            // closed in finally, after the spend row is recorded: the row's cost settles it
            hold = budgets.hold(requestId, endUser, model, input, caller, tally);
            if (caller.key().isPresent()) {
                keySpendHeaders(ctx, caller.key().get().key());
            }
            GatewayRequest request = new GatewayRequest(model, input, Map.of(), null, meta,
                    credentials.credentials().orElse(null));
            submitted = true;
            if (input.stream()) {
                stream(ctx, request, t0);
            } else {
                // the answer's chunks come from the pool and go back once it is written (nothing keeps the response)
                try (dev.easel.internal.ChunkPool.Arena answers = dev.easel.internal.ChunkPool.open()) {
                    EditOutcome outcome;
                    // a job can take minutes: a client that goes away meanwhile stops its polling
                    try (ClientWatch watch = easel.runsJobs(model) ? ClientWatch.arm(ctx) : ClientWatch.NONE) {
                        outcome = easel.execute(request);
                    }
                    RoutingHeaders.set(ctx, outcome.deploymentId(), outcome.modelGroup(), outcome.retries(),
                            outcome.fallbacks(), outcome.response().cost().orElse(null));
                    long overhead = System.nanoTime() - t0 - outcome.upstreamTime().toNanos();
                    ctx.header("x-easel-overhead-ms", Long.toString(Math.max(0, overhead / 1_000_000)));
                    LifecycleHeaders.set(ctx, outcome.lifecycle(), outcome.response().warnings());
                    ctx.status(200).contentType("application/json");
                    ResponseWriter.write(outcome.response(), urlBase(ctx), ctx.res().getOutputStream());
                }
            }
        } catch (Throwable t) {
            if (!submitted) {
                EaselException e = t instanceof EaselException ee ? ee : new EaselException("internal error in the "
                        + "proxy", 500, "api_error", "internal_error", null, null, requestId, t);
                // refused before the pipeline saw it: still one record for logs, metrics and spend
                // a request refused after its key was accepted still names the key, its alias, team and user
                RequestMeta m = meta != null ? meta : meta(requestId, received, endUserFromHeaders(ctx), ctx,
                        clientRequestId, callerKey == null ? Caller.ADMIN : new Caller(Optional.of(callerKey)));
                easel.reportRejected(m, model, e);
            }
            fail(ctx, t, requestId, submitted);
        } finally {
            if (hold != null) {
                hold.close();
            }
            if (permit != null && tally != null && tally.cost().isPresent()) {
                try { // soft_budget crossings go to the listeners (webhook, json logs), off the request path
                    gate.crossedSoftBudgets(callerKey, spend, tally.cost().get())
                            .forEach(easel.listeners()::budgetAlert);
                } catch (RuntimeException e) {
                    LOG.warn("soft budget check failed: {}", e.toString());
                }
            }
            if (permit != null) {
                // every admitted request counts in its key's rpm window, also one refused afterwards (its model, its
                // budget, its fields): a key over its budget cannot hammer the proxy without meeting its rpm limit
                permit.end(tally == null ? 0 : tally.tokens());
            }
            if (tally != null) {
                tally.close();
            }
            if (slots != null) {
                slots.close();
            }
            spool.close();
            inflight.decrementAndGet();
            org.slf4j.MDC.remove("request_id");
        }
    }

    /**
     * {@code x-easel-key-spend} (the key's spend in its current budget window, before this request) and, for a key
     * with a budget, {@code x-easel-key-max-budget} and {@code x-easel-key-remaining-budget}. From memory: the spend
     * service's window totals, not a database read per request.
     */
    private void keySpendHeaders(Context ctx, dev.easel.proxy.keys.VirtualKey key) {
        try {
            java.math.BigDecimal spent = gate.keySpend(spend, key);
            ctx.header("x-easel-key-spend", spent.toPlainString());
            key.limits().maxBudget().ifPresent(max -> {
                ctx.header("x-easel-key-max-budget", max.toPlainString());
                java.math.BigDecimal left = max.subtract(spent);
                ctx.header("x-easel-key-remaining-budget", (left.signum() < 0 ? java.math.BigDecimal.ZERO : left)
                        .toPlainString());
            });
        } catch (RuntimeException e) { // information only
            LOG.debug("key spend headers left out: {}", e.toString());
        }
    }

    /**
     * The request's meta: a virtual key is named by its stable id (its first token, kept by a regenerate), alias,
     * team and user; any other caller by the hash of the key it presented.
     */
    private static RequestMeta meta(String requestId, java.time.Instant received, String endUser, Context ctx,
                                    String clientRequestId, Caller caller) {
        if (caller.key().isEmpty()) {
            return new RequestMeta(requestId, received, endUser, keyHash(ctx), "proxy", ctx.header("traceparent"),
                    clientRequestId);
        }
        dev.easel.proxy.keys.VirtualKey k = caller.key().get().key();
        return new RequestMeta(requestId, received, endUser, k.keyId(), "proxy", ctx.header("traceparent"),
                clientRequestId, k.keyAlias().orElse(null), k.teamId().orElse(null), k.userId().orElse(null));
    }

    /** End user: LiteLLM-compatible headers first, then the body's {@code user}, then {@code safety_identifier}. */
    static String endUser(Context ctx, EditInput input) {
        String h = endUserFromHeaders(ctx);
        if (h != null) {
            return h;
        }
        for (String field : new String[] {"user", "safety_identifier"}) {
            Object v = input.params().get(field);
            if (v != null && !v.toString().isBlank()) {
                return v.toString().trim();
            }
        }
        return null;
    }

    static String endUserFromHeaders(Context ctx) {
        for (String name : new String[] {"x-easel-end-user-id", "x-litellm-end-user-id", "x-litellm-customer-id"}) {
            String v = ctx.header(name);
            if (v != null && !v.isBlank()) {
                return v.trim();
            }
        }
        return null;
    }

    /** The key the caller presented ({@code Authorization: Bearer …} or {@code api-key: …}), or null. */
    static String presentedKey(Context ctx) {
        String auth = ctx.header("Authorization");
        String key = null;
        if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            key = auth.substring(7).trim();
        } else if (ctx.header("api-key") != null) {
            key = ctx.header("api-key").trim();
        }
        return key == null || key.isEmpty() ? null : key;
    }

    /** SHA-256 (hex) of the key the caller presented, or null: keys are never stored or logged. */
    static String keyHash(Context ctx) {
        String key = presentedKey(ctx);
        return key == null ? null : dev.easel.proxy.keys.KeyApi.hash(key);
    }

    private MultipartIntake.Parsed intake(Context ctx, Spool spool, UploadLimits.Account account)
            throws IOException {
        String type = ctx.header("Content-Type");
        String lower = type == null ? "" : type.toLowerCase(Locale.ROOT);
        // every body byte counts against the request limit as it is read (chunked bodies have no length), under
        // the minimum rate and the deadline; parts and fields are counted as they are parsed
        InputStream body = new GuardedBody(ctx.req().getInputStream(), requestLimits, nanoTime, account::body);
        IntakeCounter counter = new IntakeCounter(requestLimits, account);
        if (lower.startsWith("multipart/form-data")) {
            return MultipartIntake.parse(body, type, spool, counter);
        }
        if (lower.startsWith("application/json")) {
            return JsonIntake.parse(body, spool, fetcher, allowImageUrls, counter);
        }
        throw new ProxyException(415, "invalid_request_error", "unsupported_media_type", null,
                "Content-Type must be multipart/form-data or application/json (was "
                        + (type == null ? "missing" : "'" + type + "'") + ")");
    }

    private static final byte[] EVENT_END = {'\n', '\n'};

    /** Writes partial-image events to the client as their bytes arrive from the provider. */
    private static final class Relay implements dev.easel.ImageEditStream.RawPartials {
        private final OutputStream out;
        String lastRelayed;
        boolean open; // an event has begun and not ended

        Relay(OutputStream out) {
            this.out = out;
        }

        @Override
        public void begin(String event) throws IOException {
            out.write(("event: " + event + "\ndata: ").getBytes(StandardCharsets.UTF_8));
            open = true;
        }

        @Override
        public void data(byte[] b, int off, int len) throws IOException {
            // several data lines arrive joined by '\n': each goes out as its own data line
            int start = off;
            for (int i = off; i < off + len; i++) {
                if (b[i] == '\n') {
                    out.write(b, start, i - start);
                    out.write(NEXT_DATA_LINE);
                    start = i + 1;
                }
            }
            out.write(b, start, off + len - start);
            out.flush();
        }

        @Override
        public void end(String json) throws IOException {
            out.write(EVENT_END);
            out.flush();
            open = false;
            lastRelayed = json;
        }
    }

    private static final byte[] NEXT_DATA_LINE = "\ndata: ".getBytes(StandardCharsets.US_ASCII);

    private void stream(Context ctx, GatewayRequest request, long t0) throws IOException {
        StreamOutcome outcome = easel.executeStream(request);
        try (var events = outcome.stream()) {
            ctx.status(200).contentType("text/event-stream");
            ctx.header("Cache-Control", "no-cache");
            RoutingHeaders.set(ctx, outcome.deploymentId(), outcome.modelGroup(), outcome.retries(),
                    outcome.fallbacks(), null);
            ctx.header("x-easel-overhead-ms", Long.toString((System.nanoTime() - t0) / 1_000_000));
            LifecycleHeaders.set(ctx, outcome.lifecycle(), outcome.warnings());
            OutputStream out = ctx.res().getOutputStream();
            ctx.res().flushBuffer();
            // partial images go out while they arrive (cut-through); the completed event, which gets the cost
            // added, is written once whole
            Relay relay = new Relay(out);
            events.relayPartials(relay);
            try {
                for (ImageEditEvent e : events) {
                    if (e.json() == relay.lastRelayed) { // identity: this very event went out as it arrived
                        relay.lastRelayed = null;
                        continue;
                    }
                    // three writes, not one concatenated copy of a ~350 KB event
                    out.write(("event: " + e.type() + "\ndata: ").getBytes(StandardCharsets.UTF_8));
                    String json = e.json();
                    if (json.indexOf('\n') >= 0) { // a provider's multi-line data: one data line each
                        json = json.replace("\n", "\ndata: ");
                    }
                    out.write(json.getBytes(StandardCharsets.UTF_8));
                    out.write(EVENT_END);
                    out.flush();
                }
            } catch (java.io.UncheckedIOException e) {
                throw e.getCause(); // writing a relayed event to the client failed: the client went away
            } catch (EaselException e) {
                // the stream has started: the error goes inside it, as every OpenAI SDK understands
                if (relay.open) {
                    out.write(EVENT_END); // a relayed partial image broke off: end it, so the error is an event
                }
                var reply = ErrorResponses.of(e, null);
                out.write(("data: " + reply.body() + "\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        }
        // closing the stream (also when the client went away and a write failed) cancels the upstream call
    }

    private void fail(Context ctx, Throwable t, String requestId, boolean submitted) {
        if (submitted && t instanceof IOException) {
            // the client went away while the answer was being written
            LOG.debug("request {} ended early: {}", requestId, t.toString());
            return;
        }
        if (GuardedBody.isClientClosed(t)) {
            // nothing can be written back in practice; the answer below is for a client that only half-closed
            LOG.debug("request {}: the client went away mid-body ({})", requestId, String.valueOf(t.getCause()));
        } else if (!(t instanceof EaselException)) {
            // before the pipeline a local I/O failure (a temp file that cannot be written) is the proxy's fault
            LOG.error("request {} failed", requestId, t);
        }
        if (ctx.res().isCommitted()) {
            LOG.debug("request {} failed after the response started: {}", requestId, t.toString());
            return;
        }
        var reply = ErrorResponses.of(t, requestId);
        ctx.res().reset();
        RoutingHeaders.requestId(ctx, requestId);
        String clientRequestId = clientRequestId(ctx);
        if (clientRequestId != null) {
            ctx.header("x-client-request-id", clientRequestId);
        }
        reply.retryAfter().ifPresent(d -> ctx.header("Retry-After",
                Long.toString(Math.max(1, (d.toMillis() + 999) / 1000))));
        if (reply.status() == 413 || reply.status() == 429 || reply.status() == 415 || reply.status() == 401
                || t instanceof ProxyException) {
            // the rest of the upload is not read: close the connection instead of draining it
            ctx.header("Connection", "close");
        }
        ctx.status(reply.status()).contentType("application/json").result(reply.body());
    }

    private String urlBase(Context ctx) {
        if (publicBaseUrl != null) {
            return publicBaseUrl.endsWith("/") ? publicBaseUrl.substring(0, publicBaseUrl.length() - 1) : publicBaseUrl;
        }
        if (!warnedNoPublicBase) {
            warnedNoPublicBase = true;
            LOG.warn("general_settings.public_base_url is not set: image URLs are built from each request's Host "
                    + "header; set it to the address clients reach this proxy at");
        }
        String host = ctx.header("Host");
        if (host == null || !PLAIN_HOST.matcher(host).matches()) {
            // only a plain host[:port] goes into a URL handed out; anything else gets the address it came in on
            String local = ctx.req().getLocalAddr();
            host = (local.indexOf(':') >= 0 ? "[" + local + "]" : local) + ":" + ctx.req().getLocalPort();
        }
        return ctx.scheme() + "://" + host;
    }

    /**
     * The caller's own request id ({@code x-client-request-id}, else {@code x-request-id}) when it is safe to echo
     * ({@code [A-Za-z0-9._:-]{1,128}}), else null. A correlation field only: several requests may carry the same one,
     * so it is never a key (Easel's own {@code x-request-id} is).
     */
    static String clientRequestId(Context ctx) {
        for (String name : new String[] {"x-client-request-id", "x-request-id"}) {
            String v = ctx.header(name);
            if (v != null && SAFE_REQUEST_ID.matcher(v).matches()) {
                return v;
            }
        }
        return null;
    }
}
