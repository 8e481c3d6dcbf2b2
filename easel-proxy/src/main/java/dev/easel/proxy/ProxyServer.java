package dev.easel.proxy;

import dev.easel.BadRequestException;
import dev.easel.DeploymentStatus;
import dev.easel.Easel;
import dev.easel.ServableImageStore;
import dev.easel.StoredImage;
import dev.easel.engine.Engine;
import dev.easel.proxy.keys.AuthChanges;
import dev.easel.proxy.keys.KeyApi;
import dev.easel.proxy.keys.KeyStore;
import dev.easel.proxy.metrics.PrometheusEndpoint;
import dev.easel.proxy.metrics.ProxyMetrics;
import dev.easel.proxy.spend.SpendApi;
import dev.easel.redis.RedisFleet;
import dev.easel.redis.RedisLink;
import dev.easel.redis.budget.RedisBudgetLedger;
import dev.easel.config.RouterSettings;
import dev.easel.redis.RedisRouterState;
import dev.easel.redis.SharedRouterState;
import dev.easel.routing.InMemoryRouterState;
import dev.easel.routing.RouterState;
import dev.easel.proxy.spend.SpendOptions;
import dev.easel.proxy.spend.SpendService;
import dev.easel.EaselException;
import dev.easel.engine.RequestMeta;
import dev.easel.config.EaselConfig;
import dev.easel.config.RequestLimits;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnector;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Easel proxy: OpenAI's image-edit API over HTTP (Javalin 7 on Jetty 12, virtual threads), serving
 * the model groups of a LiteLLM-format config.
 *
 * <pre>{@code
 * try (ProxyServer proxy = ProxyServer.start(ProxyOptions.of(ConfigLoader.load(path)).listen("127.0.0.1", 0))) {
 *     URI base = proxy.baseUri();   // point OpenAI clients here
 * }
 * }</pre>
 */
public final class ProxyServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyServer.class);

    /** Connections the kernel may queue before Jetty accepts them (capped by net.core.somaxconn). */
    static final int ACCEPT_QUEUE = 8192;

    /** Readiness as {@code /health/readiness} reports it. */
    public enum State { STARTING, READY, DRAINING, STOPPED }

    private final ProxyOptions options;
    private final Engine easel;
    private final ServableImageStore images;
    private final Clock clock;
    private final UploadLimits limits;
    private final UrlFetcher fetcher;
    private final UrlFetcher providerFetcher;

    /**
     * A job's result URL, through the proxy's fetcher (which connects only to the addresses it checked): the host must
     * be one the provider documents or a configured {@code api_base} host; a refused or failed download is the
     * provider's unusable answer (502), not the client's bad request.
     */
    private byte[] downloadResult(java.net.URI url, dev.easel.provider.ResultDownloader.Rules rules) {
        String host = url.getHost();
        if (host == null || !rules.allows(host)) {
            throw new dev.easel.InternalServerException(rules.provider() + " returned a result URL on host '" + host
                    + "', which is neither one it documents nor the configured api_base", 502, "api_error",
                    "bad_upstream_response", null, rules.provider(), null, null);
        }
        try {
            return providerFetcher.fetch(url.toString(), "result");
        } catch (ProxyException e) {
            throw new dev.easel.InternalServerException(rules.provider() + " returned a result URL that could not be "
                    + "downloaded: " + e.getMessage(), 502, "api_error", "bad_upstream_response", null,
                    rules.provider(), null, e);
        }
    }
    private final byte[] masterKey;
    private final AtomicReference<State> state = new AtomicReference<>(State.STARTING);
    private final AtomicInteger inflight = new AtomicInteger();
    /**
     * Requests whose response has not been sent whole yet. A handler returns before its response is written out (an
     * error body set with {@code ctx.result} is written after it; a written body is completed after it), so
     * {@link #inflight} reaching 0 does not mean every answer has left: {@link #drain} waits for this too, or stopping
     * Jetty would close connections under answers not yet sent (seen in FleetSpendTest: a drained request's 401
     * recorded, and its client got no answer).
     */
    private final AtomicInteger responding = new AtomicInteger();
    private final ScheduledExecutorService janitor;
    private final Javalin app;
    private final Path spoolDir;
    private final SpendService spend;
    private final Integrations integrations;
    private final RouterState routerState;
    /** The state shared through Redis, when {@code router_settings} names one. */
    private final Optional<SharedRouterState> shared;
    private final ParallelLimits parallel;
    /** Virtual keys: null on a proxy without a master key (its callers are not told apart). */
    private final dev.easel.proxy.keys.KeyGate keyGate;
    /** This process owns the data directory while it runs. */
    private final DataDirLock dataLock;

    private ProxyServer(ProxyOptions options, Clock clock, DataDirLock dataLock, ServableImageStore images) {
        this.options = options;
        this.dataLock = dataLock;
        this.clock = clock;
        EaselConfig config = options.config();
        this.spoolDir = options.dataDir().resolve("uploads");
        this.images = images;
        this.limits = new UploadLimits(options.general().maxImageBytes(), options.general().maxRequestBytes(),
                options.general().maxInflightUploadBytes(), options.general().resolvedUploadMemoryBytes());
        this.fetcher = new UrlFetcher(options.allowPrivateImageUrls(), options.general().maxImageBytes(),
                Duration.ofSeconds(30));
        java.util.Set<String> providerHosts = new java.util.HashSet<>();
        config.modelList().forEach(e -> e.params().apiBase().ifPresent(u -> {
            if (u.getHost() != null) {
                providerHosts.add(u.getHost().toLowerCase(java.util.Locale.ROOT));
            }
        }));
        this.providerFetcher = new UrlFetcher(options.allowPrivateImageUrls(), providerHosts,
                options.general().maxImageBytes() * 2, Duration.ofSeconds(60));
        this.shared = sharedState(config, clock);
        this.routerState = shared.<RouterState>map(x -> x).orElseGet(InMemoryRouterState::new);
        SpendOptions spendOptions = SpendOptions.of(options.general(), options.dataDir()).withClock(clock);
        if (shared.isPresent()) {
            // end-user budgets held in the same Redis, so every replica sees the others' holds and costs at once
            RouterSettings rs = config.routerSettings();
            spendOptions = spendOptions.withBudgetLedger(new RedisBudgetLedger(shared.get().link()::commands,
                    rs.redisUnavailableBudgets(), RedisBudgetLedger.DEFAULT_IDLE_EXPIRY,
                    RedisBudgetLedger.DEFAULT_EXPIRED_HOLD_MEMORY, rs.redisKeyPrefix()));
        }
        this.spend = SpendService.start(spendOptions);
        this.keyGate = keyGate(options, config, spend, routerState, shared, clock);
        AtomicReference<Engine> self = new AtomicReference<>(); // the sink is built before the engine exists
        Easel.Builder builder = Easel.builder().config(config).clock(clock).imageStore(images).routerState(routerState)
                .imageFetcher(d -> providerFetcher.fetch(d.url().orElseThrow(), "data.url"))
                .resultDownloader((url, rules) -> downloadResult(url, rules))
                .recordSink(r -> spend.record(SpendRecords.of(r, id -> self.get() == null ? Optional.empty()
                        : self.get().apiBase(id))));
        upstreamClient(System.getProperty("easel.upstream.client", "jetty")).ifPresent(builder::httpClient);
        this.integrations = Integrations.fromConfig(config, options.env());
        integrations.listeners().forEach(builder::listener);
        integrations.otel().ifPresent(o -> builder.openTelemetry(o.openTelemetry()).tracePrompts(o.prompts()));
        this.easel = builder.engine();
        self.set(easel);
        integrations.metrics().ifPresent(m -> ProxyMetrics.bind(m, inflight::get, limits::inflightBytes,
                ProxyMetrics.cooldowns(routerState, easel.deploymentIds(), clock), easel.listeners()));
        integrations.metrics().ifPresent(m -> integrations.litellmMetrics().ifPresent(l ->
                l.bind(m, easel.deploymentInfo(), easel::health)));
        this.masterKey = options.masterKey().map(k -> k.getBytes(StandardCharsets.UTF_8)).orElse(null);
        this.janitor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "easel-janitor");
            t.setDaemon(true);
            return t;
        });
        RequestLimits requestLimits = options.general().requestLimits();
        EditHandler edits = new EditHandler(easel, limits, fetcher, this::caller, spoolDir,
                options.general().allowImageUrls(), options.publicBaseUrl().map(URI::toString).orElse(null),
                inflight, state, requestLimits, System::nanoTime);
        edits.allowClientSideCredentials(options.general().allowClientSideCredentials());
        edits.clock(clock);
        edits.blockedEndUsers(spend::blocked);
        edits.keys(keyGate, spend);
        edits.budgets((requestId, endUser, model, input, caller, tally) -> {
            // the key's, its team's and its user's budgets, then the end user's: every one must fit the estimate
            List<SpendService.Allowance> allowances = new java.util.ArrayList<>();
            caller.key().ifPresent(k -> allowances.addAll(keyGate.allowances(k)));
            spend.endUserAllowance(endUser).ifPresent(allowances::add);
            return spend.holdBudgets(tally, allowances, easel.estimateCost(model, input).orElse(null), refusal -> {
                throw new BadRequestException(refusal.message(), refusal.status(), refusal.type(), refusal.code(),
                        refusal.who().startsWith("end user") ? "user" : null, null, null, null);
            });
        });
        this.parallel = new ParallelLimits(options.general(), options.masterKey().isPresent(),
                config.routerSettings().timeout(), routerState, clock);
        edits.parallel(parallel);
        integrations.metrics().ifPresent(m -> parallel.bindMetrics(m.registry()));
        integrations.metrics().ifPresent(m -> spend.bindMetrics(m.registry()));
        shared.ifPresent(sh -> integrations.metrics().ifPresent(m -> ProxyMetrics.bindRedis(m.registry(), sh)));
        SpendApi spendApi = new SpendApi(spend, new JsonBodies(requestLimits, System::nanoTime)::readTree);
        // ?api_key= takes a key (hashed here, never stored) or its hash; a regenerated key's rows carry its first
        // token, so the new key finds them
        spendApi.keyIds(value -> {
            String token = value.startsWith("sk-") ? KeyApi.hash(value) : value;
            try {
                return keyGate == null ? token : keyGate.cache().resolve(token).map(r -> r.key().keyId()).orElse(token);
            } catch (EaselException e) {
                return token;
            }
        });
        // keys, teams and users live in the spend log's database, migrated with it
        // the same store and change channel as the request path's cache: a write is seen there at once
        KeyApi keyApi = keyGate == null ? null : new KeyApi(keyGate.cache().store(), keyGate.cache().changes(),
                (dimension, id, from) -> spend.spendNow(new dev.easel.proxy.spend.Subject(dimension, id), from,
                        Optional.empty()),
                new JsonBodies(requestLimits, System::nanoTime)::readTree, this::actor, clock);
        this.app = Javalin.create(c -> {
            c.concurrency.useVirtualThreads = true;
            c.startup.showJavalinBanner = false;
            c.startup.showOldJavalinVersionWarning = false;
            c.http.compressionStrategy = CompressionStrategy.NONE;
            c.http.maxRequestSize = Long.MAX_VALUE; // Easel enforces its own limits while streaming
            c.jetty.addConnector((server, http) -> {
                ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
                connector.setHost(options.host());
                connector.setPort(options.port());
                // the JDK's default listen backlog is 50: a burst of a thousand clients connecting at once
                // overflows it and the kernel drops or resets their handshakes (bench S4). The kernel caps
                // this at net.core.somaxconn (4096 on current Linux).
                connector.setAcceptQueueSize(ACCEPT_QUEUE);
                // a body that stops arriving fails the read after this long (answered 408 by the handlers); it is
                // not applied while a handler waits for the upstream without reading or writing
                connector.setIdleTimeout(requestLimits.idleTimeout().toMillis());
                return connector;
            });
            // what Jetty refuses itself (bad request line, 431, 414) is OpenAI error JSON too, never an HTML page
            c.jetty.modifyServer(server -> server.setErrorHandler(new JettyErrors()));
            c.jetty.modifyServletContextHandler(h -> {
                h.setMaxFormContentSize(-1);
                h.setMaxFormKeys(10_000);
            });
            // every response carries Easel's own x-request-id, unique per request; the caller's own id is echoed
            // as x-client-request-id (a correlation field, never a key: issue 12)
            c.routes.before(ctx -> {
                trackResponse(ctx);
                RoutingHeaders.requestId(ctx, RequestMeta.newRequestId());
                String client = EditHandler.clientRequestId(ctx);
                if (client != null) {
                    ctx.header("x-client-request-id", client);
                }
            });
            c.routes.post("/v1/images/edits", ctx -> edits.handle(ctx, null));
            c.routes.post("/images/edits", ctx -> edits.handle(ctx, null));
            c.routes.post("/openai/deployments/{model}/images/edits", ctx -> edits.handle(ctx, ctx.pathParam("model")));
            getAndHead(c, "/v1/models", this::models);
            getAndHead(c, "/models", this::models);
            getAndHead(c, "/v1/images/files/{name}", this::file);
            getAndHead(c, "/health/liveliness", ctx -> json(ctx, 200, "\"I'm alive!\""));
            getAndHead(c, "/health/liveness", ctx -> json(ctx, 200, "\"I'm alive!\""));
            getAndHead(c, "/health/readiness", this::readiness);
            // LiteLLM's operational surface, behind the master key as LiteLLM's is
            LitellmOps ops = new LitellmOps(easel);
            getAndHead(c, "/health", authorized(ops::health));
            getAndHead(c, "/model/info", authorized(ops::modelInfo));
            getAndHead(c, "/v1/model/info", authorized(ops::modelInfo));
            getAndHead(c, "/model_group/info", authorized(ops::modelGroupInfo));
            integrations.metrics().ifPresent(m -> {
                io.javalin.http.Handler h = m.handler(config.litellmSettings().requireAuthForMetricsEndpoint()
                        ? this::refusedAuth : ctx -> { });
                getAndHead(c, PrometheusEndpoint.PATH, h);
            });
            getAndHead(c, "/spend/logs", authorized(spendApi::logs));
            getAndHead(c, "/spend/logs/v2", authorized(spendApi::logsPage));
            getAndHead(c, "/end_user/info", authorized(spendApi::endUserInfo));
            getAndHead(c, "/customer/info", authorized(spendApi::endUserInfo));
            c.routes.post("/end_user/new", authorized(spendApi::newEndUser));
            c.routes.post("/customer/new", authorized(spendApi::newEndUser));
            for (String prefix : List.of("/end_user", "/customer")) {
                c.routes.post(prefix + "/update", authorized(spendApi::updateEndUser));
                c.routes.post(prefix + "/delete", authorized(spendApi::deleteEndUsers));
                c.routes.post(prefix + "/block", authorized(spendApi::blockEndUsers));
                c.routes.post(prefix + "/unblock", authorized(spendApi::unblockEndUsers));
            }
            getAndHead(c, "/global/spend/report", authorized(spendApi::report));
            // LiteLLM's key, team and user management (docs/keys.md)
            c.routes.post("/key/generate", keys(keyApi, k -> k::generateKey));
            getAndHead(c, "/key/info", keyApi == null ? masterKeyRequired() : ctx -> {
                // a key may read its own info, as in LiteLLM; another key's needs an admin
                Optional<EditHandler.Caller> who = callerOrAnswer(ctx);
                if (who.isPresent() && who.get().admin()) {
                    keyApi.keyInfo(ctx);
                } else {
                    who.ifPresent(w -> keyApi.ownKeyInfo(ctx, w.key().orElseThrow().key().token()));
                }
            });
            getAndHead(c, "/key/list", keys(keyApi, k -> k::listKeys));
            c.routes.post("/key/update", keys(keyApi, k -> k::updateKey));
            c.routes.post("/key/delete", keys(keyApi, k -> k::deleteKeys));
            c.routes.post("/key/block", keys(keyApi, k -> k::blockKey));
            c.routes.post("/key/unblock", keys(keyApi, k -> k::unblockKey));
            c.routes.post("/key/regenerate", keys(keyApi, k -> k::regenerateKey));
            c.routes.post("/key/{key}/regenerate", keys(keyApi, k -> k::regenerateKey));
            c.routes.post("/team/new", keys(keyApi, k -> k::newTeam));
            getAndHead(c, "/team/info", keys(keyApi, k -> k::teamInfo));
            getAndHead(c, "/team/list", keys(keyApi, k -> k::listTeams));
            c.routes.post("/team/update", keys(keyApi, k -> k::updateTeam));
            c.routes.post("/team/delete", keys(keyApi, k -> k::deleteTeams));
            c.routes.post("/team/member_add", keys(keyApi, k -> k::addTeamMember));
            c.routes.post("/team/member_delete", keys(keyApi, k -> k::deleteTeamMember));
            c.routes.post("/user/new", keys(keyApi, k -> k::newUser));
            getAndHead(c, "/user/info", keys(keyApi, k -> k::userInfo));
            getAndHead(c, "/user/list", keys(keyApi, k -> k::listUsers));
            c.routes.post("/user/update", keys(keyApi, k -> k::updateUser));
            c.routes.post("/user/delete", keys(keyApi, k -> k::deleteUsers));
            c.routes.error(404, ctx -> {
                String type = ctx.res().getContentType();
                if (type == null || !type.startsWith("application/json")) {
                    error(ctx, 404, "invalid_request_error", "unknown_url", "Unknown request URL: "
                            + ctx.method() + " " + ctx.path());
                }
            });
            c.routes.error(405, ctx -> error(ctx, 405, "invalid_request_error", "method_not_allowed",
                    "Method " + ctx.method() + " is not allowed on " + ctx.path()));
            c.routes.exception(Exception.class, (e, ctx) -> {
                LOG.error("unhandled error on {} {}", ctx.method(), KeyApi.maskedPath(ctx.path()), e);
                var reply = ErrorResponses.of(e, ctx.header("x-request-id"));
                ctx.status(reply.status()).contentType("application/json").result(reply.body());
            });
        });
    }

    /** The store of {@code url} answers' images: the data directory's, or the bucket every replica reads. */
    private static ServableImageStore imageStore(ProxyOptions options, Clock clock) {
        var settings = options.general().imageStore();
        Duration ttl = options.general().imageUrlTtl();
        if (settings.s3().isPresent()) {
            ServableImageStore store = dev.easel.s3.S3ImageStore.connect(settings.s3().get(), settings.urlMode(), ttl,
                    clock);
            LOG.info("images of url answers go to {}", store);
            return store;
        }
        return new FileImageStore(options.dataDir().resolve("images"), ttl, clock);
    }

    /**
     * The router state shared through the Redis of {@code router_settings}, if one is named. Opening does not wait
     * for Redis: one that is down now is used once it answers, and the fallback policy serves meanwhile.
     */
    private static Optional<SharedRouterState> sharedState(EaselConfig config, Clock clock) {
        var settings = config.routerSettings();
        Optional<io.lettuce.core.RedisURI> uri = RedisLink.uri(settings);
        if (uri.isEmpty()) {
            return Optional.empty();
        }
        RedisLink link = RedisLink.open(uri.get(), clock);
        RedisFleet fleet = RedisFleet.join(link, settings.redisKeyPrefix(), clock);
        LOG.info("router state shared through Redis {} (key prefix '{}'); while it is unavailable rate limits "
                + "follow router_settings.redis_unavailable_rate_limits: {}", link.description(),
                settings.redisKeyPrefix(), settings.redisUnavailableRateLimits().wireName());
        return Optional.of(SharedRouterState.of(RedisRouterState.on(link, settings.redisKeyPrefix()), link, fleet,
                settings.redisUnavailableRateLimits()));
    }

    /** Leaves the fleet and closes the Redis link. */
    private void closeRedis() {
        shared.ifPresent(s -> {
            s.fleet().close();
            s.link().close();
        });
    }

    /**
     * Registers {@code h} for GET and HEAD: Javalin answers HEAD on a GET route with an empty 200 without running
     * any handler, which skipped the key check (issue 12). HEAD runs the GET handler; Jetty drops the body.
     */
    private static void getAndHead(io.javalin.config.JavalinConfig c, String path, io.javalin.http.Handler h) {
        c.routes.get(path, h);
        c.routes.head(path, h);
    }

    /** Starts a proxy and returns once it is ready. */
    public static ProxyServer start(ProxyOptions options) {
        return start(options, Clock.systemUTC());
    }

    /**
     * Tests: a proxy that reads every time it acts on from {@code clock} (cool-downs, rpm windows, budget
     * windows, image URL expiry, record times), so a test moves the clock instead of sleeping.
     */
    static ProxyServer start(ProxyOptions options, Clock clock) {
        long t0 = System.nanoTime();
        // before anything in the data directory is opened: a second proxy there is refused, not let in
        DataDirLock dataLock = DataDirLock.acquire(options.dataDir());
        ProxyServer s;
        ServableImageStore images = null;
        try {
            // before the rest: an S3 bucket that cannot be used stops the start before anything else is opened
            images = imageStore(options, clock);
            s = new ProxyServer(options, clock, dataLock, images);
        } catch (RuntimeException | Error e) {
            if (images != null) {
                images.close();
            }
            dataLock.close();
            throw e;
        }
        try {
            Files.createDirectories(s.spoolDir);
            cleanSpool(s.spoolDir);
        } catch (java.io.IOException e) {
            s.closeUnstarted();
            throw new EaselException("cannot create data directory " + options.dataDir() + ": " + e.getMessage(),
                    "config_error");
        }
        try {
            s.app.start(); // host and port are the connector's
        } catch (RuntimeException e) {
            s.closeUnstarted();
            throw e;
        }
        // every replica sweeps a shared bucket too: the sweep is idempotent, and no replica is special
        s.janitor.scheduleWithFixedDelay(s.images::deleteExpired, 1, 1, TimeUnit.MINUTES);
        s.state.set(State.READY);
        if (options.masterKey().isEmpty()) {
            LOG.warn("no general_settings.master_key: the proxy accepts requests without a key");
        }
        s.easel.warnings().forEach(w -> LOG.warn("{}", w)); // deployments that cannot be served, once each
        LOG.info("ready in {} ms", Duration.ofNanos(System.nanoTime() - t0).toMillis());
        return s;
    }

    /** Uploads left behind by a crash are removed at start. */
    private static void cleanSpool(Path dir) throws java.io.IOException {
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
        }
    }

    /** The port it listens on. */
    public int port() {
        return app.port();
    }

    /** The listen backlog asked of the kernel (tests). */
    int acceptQueueSize() {
        for (var c : app.jettyServer().server().getConnectors()) {
            if (c instanceof ServerConnector sc) {
                return sc.getAcceptQueueSize();
            }
        }
        return -1;
    }

    /** {@code http://host:port} (loopback when bound to all interfaces). */
    public URI baseUri() {
        String host = options.host().equals("0.0.0.0") || options.host().equals("::") ? "127.0.0.1" : options.host();
        return URI.create("http://" + host + ":" + port());
    }

    /** The model names served. */
    public List<String> models() {
        return easel.modelNames();
    }

    /**
     * What the proxy found at start-up about its deployments, one line each (also logged once at WARN): every
     * deployment whose provider it does not serve. The config file's own warnings are
     * {@link EaselConfig#warnings()}.
     */
    public List<String> warnings() {
        return easel.warnings();
    }

    /** Current readiness. */
    public State state() {
        return state.get();
    }

    /** What requests in flight hold against an end user's budget (0 when nothing is in flight). */
    public java.math.BigDecimal heldBudget(String endUser) {
        return spend.heldBudget(endUser);
    }

    /** Requests in flight. */
    public int inflight() {
        return inflight.get();
    }

    /** The router's state: leases, cooldowns, usage (tests check that nothing leaks). */
    RouterState routerState() {
        return routerState;
    }

    /** The proxy-wide parallel limits (tests check that nothing leaks). */
    ParallelLimits parallelLimits() {
        return parallel;
    }

    /** Upload bytes held by requests in flight. */
    public long inflightUploadBytes() {
        return limits.inflightBytes();
    }

    /** The upload accounting (tests read the memory held and its peak). */
    UploadLimits uploadLimits() {
        return limits;
    }

    /**
     * Graceful stop: readiness turns 503, new connections are refused, requests in flight may finish
     * within {@code grace}; then the server stops. Returns true when nothing was cut off.
     */
    public boolean drain(Duration grace) {
        State before = state.get();
        if (before != State.READY && before != State.STARTING) {
            return inflight.get() == 0;
        }
        int listening = port(); // read before the close: a closed connector reports no port
        for (var c : app.jettyServer().server().getConnectors()) {
            if (c instanceof NetworkConnector nc) {
                // Jetty's graceful shutdown of the connector: every response from now on says Connection: close
                // and ends its connection, and idle keep-alive connections are closed after a short idle time, so
                // clients move to another replica instead of sending on a connection that is about to close
                nc.shutdown();
                nc.close(); // stop accepting; open connections keep going
            }
        }
        awaitListenerClosed(listening);
        // DRAINING is only observable once the listener is closed
        if (!state.compareAndSet(before, State.DRAINING)) {
            return inflight.get() == 0;
        }
        long deadline = System.nanoTime() + grace.toNanos();
        while ((inflight.get() > 0 || responding.get() > 0) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        boolean clean = inflight.get() == 0 && responding.get() == 0;
        if (!clean) {
            LOG.warn("grace period of {} ms over with {} requests in flight ({} answers not sent whole); stopping "
                    + "anyway", grace.toMillis(), inflight.get(), responding.get());
        }
        close();
        return clean;
    }

    /** Counts the request in {@link #responding} until Jetty has sent its response whole (or failed to). */
    private void trackResponse(Context ctx) {
        var request = org.eclipse.jetty.ee10.servlet.ServletContextRequest.getServletContextRequest(ctx.req());
        if (request != null) {
            responding.incrementAndGet();
            org.eclipse.jetty.server.Request.addCompletionListener(request, failure -> responding.decrementAndGet());
        }
    }

    /**
     * Waits (at most 2 s) until the listening port refuses connections. Jetty's acceptor runs on a virtual thread
     * parked in {@code accept()}, and the JDK closes a listening socket only once that thread has left
     * {@code accept()}: until it is scheduled again the kernel still completes handshakes (seen under load: a
     * "draining" proxy reset new clients instead of refusing them). A probe connection is the one way to see it.
     */
    private void awaitListenerClosed(int listenPort) {
        String host = options.host().equals("0.0.0.0") || options.host().equals("::") ? "127.0.0.1" : options.host();
        long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (System.nanoTime() < until) {
            try (java.net.Socket probe = new java.net.Socket()) {
                probe.connect(new java.net.InetSocketAddress(host, listenPort), 200);
            } catch (java.io.IOException refused) {
                return;
            }
            try {
                Thread.sleep(5); // the acceptor's thread has yet to run; nothing to wait on but time
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        LOG.warn("the listener on port {} still accepted connections 2 s after it was closed", listenPort);
    }

    @Override
    public void close() {
        if (state.getAndSet(State.STOPPED) == State.STOPPED) {
            return;
        }
        janitor.shutdownNow();
        app.stop();
        spend.close(); // flushes every queued spend row
        easel.close(); // delivers what listeners have queued (then each exporter flushes), closes upstream connections
        integrations.close();
        if (keyGate != null) {
            keyGate.cache().close(); // before Redis: it may listen there
        }
        closeRedis(); // after the engine: nothing takes or ends a lease any more
        fetcher.close();
        providerFetcher.close();
        images.close();
        dataLock.close(); // last: nothing of this process touches the directory any more
    }

    /**
     * The client upstream requests go out on: Jetty's unless the JVM is started with
     * {@code -Deasel.upstream.client=jdk}
     * (the JDK's, which the SDK uses; kept for comparison in the benchmark, docs/benchmarks.md). Empty: the JDK's.
     */
    static Optional<java.util.function.Supplier<dev.easel.http.HttpTransport.Client>> upstreamClient(String choice) {
        return switch (choice) {
            case "jetty" -> Optional.of(JettyUpstream::new);
            case "jdk" -> Optional.empty();
            default -> throw new IllegalArgumentException("-Deasel.upstream.client must be 'jetty' or 'jdk', not '"
                    + choice + "'");
        };
    }

    /** Gives back what a proxy that did not start holds, the data directory last. */
    private void closeUnstarted() {
        state.set(State.STOPPED);
        janitor.shutdownNow();
        spend.close();
        easel.close();
        integrations.close();
        if (keyGate != null) {
            keyGate.cache().close(); // before Redis: it may listen there
        }
        closeRedis();
        fetcher.close();
        providerFetcher.close();
        images.close();
        dataLock.close();
    }

    /** The configured grace period for {@link #drain}. */
    public Duration gracePeriod() {
        return options.gracePeriod();
    }

    // ---- handlers ---------------------------------------------------------------------------------

    /**
     * Who presented which key ({@code Authorization: Bearer <key>} or {@code api-key: <key>}): the master key (or
     * anyone, without one), or a virtual key that is known, not blocked and not expired.
     *
     * @throws EaselException 401 for a missing or wrong key (the message never holds the key)
     */
    EditHandler.Caller caller(Context ctx) {
        if (masterKey == null) {
            return EditHandler.Caller.ADMIN;
        }
        String key = EditHandler.presentedKey(ctx);
        if (key == null) {
            throw new ProxyException(401, "authentication_error", "missing_api_key", null,
                    "You didn't provide an API key. Send 'Authorization: Bearer <key>' (or 'api-key: <key>').");
        }
        if (MessageDigest.isEqual(masterKey, key.getBytes(StandardCharsets.UTF_8))) {
            return EditHandler.Caller.ADMIN;
        }
        if (keyGate == null) {
            throw new ProxyException(401, "authentication_error", "invalid_api_key", null,
                    "Incorrect API key provided.");
        }
        return new EditHandler.Caller(Optional.of(keyGate.authenticate(EditHandler.keyHash(ctx))));
    }

    /**
     * Admits the master key, or a virtual key whose user is a {@code proxy_admin} (the management endpoints).
     *
     * @throws EaselException 401 otherwise
     */
    void authorize(Context ctx) {
        EditHandler.Caller c = caller(ctx);
        if (!c.admin()) {
            throw new ProxyException(401, "authentication_error", "not_admin", null, "key '"
                    + c.key().get().key().label() + "' may not call " + KeyApi.maskedPath(ctx.path())
                    + ": only the master key or a key"
                    + " of a proxy_admin user may");
        }
    }

    /**
     * The virtual keys of a proxy with a master key: the key store in the spend log's database, cached per replica
     * and invalidated through Redis when {@code router_settings} names one (and by polling the store's version
     * on PostgreSQL, where other replicas write).
     */
    private static dev.easel.proxy.keys.KeyGate keyGate(ProxyOptions options, EaselConfig config, SpendService spend,
                                                       RouterState routerState,
                                                       Optional<SharedRouterState> shared, Clock clock) {
        if (options.masterKey().isEmpty()) {
            return null;
        }
        var database = spend.database();
        dev.easel.proxy.keys.KeyStore store = dev.easel.proxy.keys.KeyStore.jdbc(database);
        // through Redis when router_settings names one: every replica hears every change at once
        dev.easel.proxy.keys.AuthChanges changes = dev.easel.proxy.keys.RedisAuthChanges.forSettings(
                config.routerSettings(), shared.map(SharedRouterState::link));
        // SQLite: one process writes. PostgreSQL without Redis: poll the store's version every second (with Redis the
        // channel tells every change, and "*" after any gap in the subscription)
        var cache = new dev.easel.proxy.keys.KeyCache(store, changes, database.sqlite() || shared.isPresent()
                ? Duration.ZERO : Duration.ofSeconds(1));
        java.util.Map<String, java.util.Set<String>> groups = new java.util.HashMap<>();
        config.modelList().forEach(e -> e.modelInfo().accessGroups().forEach(g ->
                groups.computeIfAbsent(g, x -> new java.util.HashSet<>()).add(e.modelName())));
        return new dev.easel.proxy.keys.KeyGate(cache, routerState, clock, groups);
    }

    /** Whether the caller presented the master key (true when none is configured: the proxy is open). */
    private boolean presentsMasterKey(Context ctx) {
        if (masterKey == null) {
            return true;
        }
        String key = EditHandler.presentedKey(ctx);
        return key != null && MessageDigest.isEqual(masterKey, key.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A management endpoint of keys, teams and users ({@code route} of the key API): behind the master key or a
     * proxy_admin's key; on a proxy without a master key ({@code api} null) a 400 saying that virtual keys need one
     * (its callers are not told apart).
     */
    private io.javalin.http.Handler keys(KeyApi api,
                                         java.util.function.Function<KeyApi, io.javalin.http.Handler> route) {
        return api == null ? masterKeyRequired() : authorized(route.apply(api));
    }

    /** What the key API's endpoints answer on a proxy without a master key. */
    private io.javalin.http.Handler masterKeyRequired() {
        return ctx -> error(ctx, 400, "invalid_request_error", "master_key_required", "virtual keys, teams and "
                + "users need general_settings.master_key: without one the proxy does not check keys");
    }

    /** Who a management call is by: {@code litellm_proxy_admin_name} for the master key, else the key's user. */
    private String actor(Context ctx) {
        EditHandler.Caller c = caller(ctx);
        return c.key().flatMap(r -> r.key().userId()).orElse(KeyApi.PROXY_ADMIN_NAME);
    }

    /** Wraps a handler behind the master key; failures become OpenAI error JSON. */
    private io.javalin.http.Handler authorized(io.javalin.http.Handler h) {
        return ctx -> {
            if (!refusedAuth(ctx)) {
                h.handle(ctx);
            }
        };
    }

    /** Checks the master key; on failure answers the OpenAI error JSON and returns true. */
    private boolean refusedAuth(Context ctx) {
        try {
            authorize(ctx);
            return false;
        } catch (EaselException e) { // a wrong, blocked or expired virtual key too, and a key store outage
            var reply = ErrorResponses.of(e, null);
            json(ctx, reply.status(), reply.body());
            return true;
        }
    }

    /** The caller, or empty after answering the OpenAI error JSON of a missing or refused key. */
    private Optional<EditHandler.Caller> callerOrAnswer(Context ctx) {
        try {
            return Optional.of(caller(ctx));
        } catch (EaselException e) {
            var reply = ErrorResponses.of(e, null);
            json(ctx, reply.status(), reply.body());
            return Optional.empty();
        }
    }

    private void models(Context ctx) {
        Optional<EditHandler.Caller> who = callerOrAnswer(ctx);
        if (who.isEmpty()) {
            return;
        }
        EditHandler.Caller caller = who.get();
        StringBuilder sb = new StringBuilder("{\"object\":\"list\",\"data\":[");
        long created = 1_700_000_000L;
        // a group none of whose deployments can be called is left out: a client never picks a model it cannot use
        java.util.Set<String> servable = new java.util.HashSet<>();
        easel.deployments().stream().filter(DeploymentStatus::available).forEach(d -> servable.add(d.modelGroup()));
        List<String> names = easel.modelNames().stream().filter(servable::contains).toList();
        if (caller.key().isPresent()) {
            names = keyGate.visible(caller.key().get(), names); // a key sees only what it may use
        }
        for (int i = 0; i < names.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append("{\"id\":").append(quote(names.get(i))).append(",\"object\":\"model\",\"created\":")
                    .append(created).append(",\"owned_by\":\"easel\"}");
        }
        json(ctx, 200, sb.append("]}").toString());
    }

    /**
     * {@code GET|HEAD /v1/images/files/{name}}: an image of a {@code url} answer, from whichever store holds it (with
     * S3, any replica serves what another wrote). Streamed in small buffers, never read whole into memory.
     */
    private void file(Context ctx) {
        String name = ctx.pathParam("name");
        boolean head = "HEAD".equals(ctx.method().name());
        Optional<StoredImage> found;
        try {
            found = head ? images.stat(name) : images.open(name);
        } catch (java.io.UncheckedIOException e) {
            LOG.warn("image store read failed: {}", e.getMessage());
            error(ctx, 503, "api_error", "image_store_unavailable", "the image store could not be read; try again");
            return;
        }
        if (found.isEmpty()) {
            error(ctx, 404, "invalid_request_error", "image_not_found", "image not found or expired");
            return;
        }
        try (StoredImage image = found.get()) {
            // a cache may keep it as long as it is served, not longer
            long maxAge = Math.max(0, Duration.between(clock.instant(), image.expiresAt())
                    .toSeconds());
            ctx.status(200).contentType(image.contentType());
            ctx.header("Cache-Control", "private, max-age=" + maxAge);
            ctx.header("Content-Length", Long.toString(image.length()));
            if (!head) {
                image.body().transferTo(ctx.res().getOutputStream());
            }
        } catch (java.io.IOException e) {
            LOG.debug("serving {} failed: {}", name, e.toString()); // the client went away
        }
    }

    private void readiness(Context ctx) {
        State s = state.get();
        int status = s == State.READY ? 200 : 503;
        var h = spend.health();
        // the spend store being down does not make the proxy unready: rows wait in the journal
        String store = "{\"status\":" + quote(h.reachable() ? "connected" : "unreachable") + ",\"store\":"
                + quote(h.store()) + ",\"backlog\":" + h.backlog() + ",\"journal_bytes\":" + h.journalBytes()
                + (h.lastError().isPresent() ? ",\"last_error\":" + quote(h.lastError().get()) : "") + "}";
        StringBuilder integrations = new StringBuilder("{");
        for (var l : easel.listeners().listeners()) {
            var lh = l.health();
            if (integrations.length() > 1) {
                integrations.append(',');
            }
            integrations.append(quote(l.name())).append(":{\"status\":").append(quote(lh.up() ? "up" : "down"))
                    .append(",\"detail\":").append(quote(lh.detail())).append(",\"dropped\":")
                    .append(easel.listeners().dropped().getOrDefault(l.name(), 0L)).append('}');
        }
        integrations.append('}');
        StringBuilder deployments = new StringBuilder("[");
        for (DeploymentStatus d : easel.deployments()) {
            if (deployments.length() > 1) {
                deployments.append(',');
            }
            deployments.append("{\"id\":").append(quote(d.id())).append(",\"model_name\":").append(quote(d.modelGroup()))
                    .append(",\"provider\":").append(quote(d.provider())).append(",\"status\":")
                    .append(quote(d.available() ? "available" : "unavailable"));
            d.unavailableReason().ifPresent(r -> deployments.append(",\"reason\":").append(quote(r)));
            deployments.append('}');
        }
        deployments.append(']');
        boolean keyHolder = presentsMasterKey(ctx);
        String redis = shared.map(sh -> redisHealth(sh, keyHolder)).orElse("");
        json(ctx, status, "{\"status\":" + quote(s == State.READY ? "healthy" : s.name().toLowerCase())
                + ",\"state\":" + quote(s.name().toLowerCase()) + ",\"inflight_requests\":" + inflight.get()
                + ",\"models\":" + easel.modelNames().size()
                // the deployments name the config's layout: only for a caller holding the key (probes need none)
                + (keyHolder ? ",\"deployments\":" + deployments : "") + ",\"db\":" + store + redis
                + ",\"integrations\":" + integrations + "}");
    }

    /**
     * {@code ,"redis":{…}}: whether the shared state answers (Redis down does not make the proxy unready: the
     * fallback policy serves), the replicas last seen, calls the fallback served; where it points and the last
     * error only for a caller holding the key (they name the internal topology).
     */
    private static String redisHealth(SharedRouterState sh, boolean keyHolder) {
        RedisLink link = sh.link();
        StringBuilder b = new StringBuilder(",\"redis\":{\"status\":")
                .append(quote(switch (link.state()) {
                    case UP -> "up";
                    case DOWN -> "unavailable";
                    case UNKNOWN -> "connecting";
                }))
                .append(",\"replicas\":").append(sh.fleet().replicas())
                .append(",\"fallbacks\":").append(sh.fallbacks());
        if (keyHolder) {
            b.append(",\"url\":").append(quote(link.description()));
            link.lastError().ifPresent(e -> b.append(",\"last_error\":").append(quote(e)));
        }
        return b.append('}').toString();
    }

    static void json(Context ctx, int status, String body) {
        ctx.status(status).contentType("application/json").result(body);
    }

    static void error(Context ctx, int status, String type, String code, String message) {
        json(ctx, status, ErrorResponses.body(message, type, null, code));
    }

    static String quote(String s) {
        try {
            return ErrorResponses.JSON.writeValueAsString(s);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
