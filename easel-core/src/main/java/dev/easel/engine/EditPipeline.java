package dev.easel.engine;

import dev.easel.BadRequestException;
import dev.easel.ConnectionException;
import dev.easel.DeploymentStatus;
import dev.easel.Easel;
import dev.easel.EaselException;
import dev.easel.ImageData;
import dev.easel.ImageEditEvent;
import dev.easel.ImageEditRequest;
import dev.easel.ImageEditStream;
import dev.easel.ImageInput;
import dev.easel.ImageResponse;
import dev.easel.InternalServerException;
import dev.easel.NotFoundException;
import dev.easel.RateLimitException;
import dev.easel.Usage;
import dev.easel.catalog.ModelCatalog;
import dev.easel.catalog.ModelSpec;
import dev.easel.config.EaselConfig;
import dev.easel.config.ModelEntry;
import dev.easel.config.RouterSettings;
import dev.easel.cost.CostCalculator;
import dev.easel.cost.CostInput;
import dev.easel.cost.PriceOverrides;
import dev.easel.routing.Router;
import dev.easel.routing.UnsuitableException;
import dev.easel.image.ImageFormat;
import dev.easel.internal.Blob;
import dev.easel.provider.Deployment;
import dev.easel.provider.EditCall;
import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.EditParams;
import dev.easel.provider.ProviderContext;
import dev.easel.provider.ProviderFactory;
import dev.easel.provider.ProviderRegistry;
import dev.easel.validate.EditInput;
import dev.easel.validate.RequestValidator;
import dev.easel.validate.ValidatedEdit;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The request path shared by the SDK and the proxy: model → deployment → validation → provider →
 * response normalisation. Nothing reaches a provider before validation has passed.
 */
final class EditPipeline {

    private final EngineSettings settings;
    private final EditTracer tracer;
    /** The upstream connections every provider of this client shares; closed with it. */
    private final dev.easel.http.HttpTransport transport;
    private final Map<String, ImageEditProvider> providers;
    private final Map<String, List<Target>> groups;
    private final Map<String, Target> targets = new ConcurrentHashMap<>();
    private final Router configRouter;
    private final Map<String, Router> directRouters = new ConcurrentHashMap<>();
    /** Every config deployment with whether it can be called, in config order (filled by {@link #groups}). */
    private final List<DeploymentStatus> deploymentStatuses = new ArrayList<>();
    /** Every config deployment with its entry, model rules and prices, in config order (filled by {@link #groups}). */
    private final List<DeploymentInfo> deploymentInfos = new ArrayList<>();
    /** Groups none of whose deployments is served → the providers they name (filled by {@link #groups}). */
    private final Map<String, java.util.Set<String>> unservable = new LinkedHashMap<>();
    /** {@link #runsJobs} per config group, worked out on first use. */
    private final Map<String, Boolean> jobGroups = new ConcurrentHashMap<>();
    /** A warning per direct model string served as another model of its provider ({@code ModelAlias}), by target id. */
    private final Map<String, String> aliasWarnings = new ConcurrentHashMap<>();
    /** One start-up line per deployment that cannot be called (filled by {@link #groups}). */
    private final List<String> warnings = new ArrayList<>();

    EditPipeline(EngineSettings settings) {
        this.settings = settings;
        this.tracer = new EditTracer(settings.openTelemetry(), settings.tracePrompts(), settings.config());
        // one adapter per installed factory, all sharing one transport, clock, sleeper, job runner and downloader
        transport = settings.httpClient() == null ? new dev.easel.http.HttpTransport()
                : new dev.easel.http.HttpTransport(settings.httpClient().get());
        dev.easel.provider.ResultDownloader downloader = settings.resultDownloader() != null
                ? settings.resultDownloader() : dev.easel.provider.ResultDownloader.guarded(transport);
        ProviderContext context = new ProviderContext(transport, settings.clock(), settings.sleeper(),
                new dev.easel.provider.JobRunner(settings.clock(), settings.sleeper(), downloader), downloader,
                dev.easel.provider.ResponseMemory.shared());
        Map<String, ImageEditProvider> p = new LinkedHashMap<>();
        for (ProviderFactory f : settings.registry().factories()) {
            if (settings.providers().containsKey(f.prefix())) {
                continue; // replaced by the caller's own adapter
            }
            ImageEditProvider created = f.create(context);
            if (!f.prefix().equals(created.name())) {
                throw new IllegalStateException("provider factory " + f.getClass().getName() + " for prefix '"
                        + f.prefix() + "' made an adapter named '" + created.name() + "'");
            }
            p.put(f.prefix(), created);
        }
        p.putAll(settings.providers());
        this.providers = Map.copyOf(p);
        this.groups = settings.config() == null ? Map.of() : groups(settings.config());
        if (settings.config() != null && settings.config().routerSettings().redisConfigured()
                && settings.routerState() instanceof dev.easel.routing.InMemoryRouterState) {
            // the proxy shares router state through this Redis; an SDK client does only when given a shared state
            warnings.add("router_settings." + (settings.config().routerSettings().redisUrl().isPresent()
                    ? "redis_url" : "redis_host") + ": not acted on by this client (ignored): its router state is "
                    + "kept in this process; pass a shared one (easel-redis) to Easel.builder().routerState(...)");
        }
        groups.values().forEach(list -> list.forEach(t -> targets.put(t.id(), t)));
        this.configRouter = settings.config() == null ? null : router(groups, policy(settings.config()));
    }

    /**
     * A deployment with its provider, its model's rules, and its place in its group; {@code limits} are its
     * {@code max_parallel_requests}, {@code max_retries} and {@code stream_timeout}.
     */
    record Target(String group, String id, ImageEditProvider provider, Deployment deployment, ModelSpec spec,
                  int order, double weight, OptionalInt rpm, OptionalLong tpm, java.math.BigDecimal unitPrice,
                  PriceOverrides prices, DeploymentLimits limits, boolean dropParams) {
    }

    /**
     * A deployment's own limits.
     *
     * @param maxParallel   calls in flight at once ({@code max_parallel_requests}, else the router's default)
     * @param maxRetries    {@code max_retries}: calls again to this same deployment after a retryable failure
     * @param streamTimeout {@code stream_timeout}: time for one streamed call, or null to use the call timeout
     */
    record DeploymentLimits(OptionalInt maxParallel, int maxRetries, Duration streamTimeout) {
        static final DeploymentLimits NONE = new DeploymentLimits(OptionalInt.empty(), 0, null);
    }

    // ---- SDK entry points -------------------------------------------------------------------------

    ImageResponse edit(ImageEditRequest request) {
        try (Inputs inputs = Inputs.of(request)) {
            return execute(new GatewayRequest(request.model().orElse(null), inputs.toEditInput(request),
                    request.extraHeaders(), request.timeout().orElse(null), sdkMeta(request))).response();
        }
    }

    private RequestMeta sdkMeta(ImageEditRequest request) {
        return RequestMeta.sdk(settings.clock().instant(), request.user().or(request::safetyIdentifier).orElse(null));
    }

    ImageEditStream stream(ImageEditRequest request) {
        Inputs inputs = Inputs.of(request);
        try {
            EditInput input = inputs.toEditInput(request);
            input = new EditInput(input.prompt(), input.images(), input.maskOrNull(), input.params(), true);
            ImageEditStream upstream = executeStream(new GatewayRequest(request.model().orElse(null), input,
                    request.extraHeaders(), request.timeout().orElse(null), sdkMeta(request))).stream();
            return new ImageEditStream() {
                @Override
                public Iterator<ImageEditEvent> iterator() {
                    return upstream.iterator();
                }

                @Override
                public void relayPartials(RawPartials sink) {
                    upstream.relayPartials(sink);
                }

                @Override
                public void close() {
                    try {
                        upstream.close();
                    } finally {
                        inputs.close();
                    }
                }
            };
        } catch (RuntimeException e) {
            inputs.close();
            throw e;
        }
    }

    // ---- shared entry points ----------------------------------------------------------------------

    /**
     * What one request keeps across its attempts: the mask in each convention it was converted to (once per request,
     * not per retry or fallback) and the images a fan-out has delivered so far.
     */
    private static final class PerRequest {
        private dev.easel.adapt.Masks masks;
        private dev.easel.adapt.FanOut fanOut;

        synchronized dev.easel.adapt.Masks masks(dev.easel.provider.ImagePart validatedMask) {
            if (masks == null) {
                masks = new dev.easel.adapt.Masks(validatedMask);
            }
            return masks;
        }

        synchronized dev.easel.adapt.FanOut fanOut(int n) {
            if (fanOut == null) {
                fanOut = new dev.easel.adapt.FanOut(n);
            }
            return fanOut;
        }

        synchronized java.util.Optional<dev.easel.adapt.FanOut> fanOut() {
            return java.util.Optional.ofNullable(fanOut);
        }
    }

    /** What one successful attempt produced. */
    private record Executed<T>(T value, ValidatedEdit validated, Target target, Duration upstream) {
    }

    EditOutcome execute(GatewayRequest request) {
        List<String> requestFallbacks = new ArrayList<>();
        EditInput input = withoutFallbacks(request.input(), requestFallbacks);
        EditRecorder rec = recorder(request, input);
        rec.requested();
        PerRequest state = new PerRequest();
        try {
            Router.Result<Executed<ImageResponse>> result = route(request, input, requestFallbacks, rec,
                    options(request, false), state, (target, v, call) -> {
                        long t0 = System.nanoTime();
                        ImageResponse r;
                        dev.easel.adapt.FanOut fan = state.fanOut(v.params().n().orElse(1));
                        int perCall = target.spec().imagesPerCall();
                        try {
                            if (!call.stream() && fan.needed(perCall)) {
                                fan.run(perCall, count -> {
                                    ImageResponse part = target.provider().edit(call.withParams(call.params()
                                            .toBuilder().n(count).build()));
                                    return new dev.easel.adapt.FanOut.Part(part, gateway(target) && part.cost()
                                            .isPresent() ? part.cost().get() : cost(target, part, v, false),
                                            target.id());
                                });
                                r = fan.combined().toBuilder().addWarnings(fanOutWarnings(fan, target)).build();
                            } else if (call.stream()) {
                                // stream=true but one answer wanted: the completed event becomes the response
                                try (ImageEditStream s = target.provider().editStream(call)) {
                                    r = collect(s, target);
                                }
                            } else {
                                r = target.provider().edit(call);
                            }
                        } finally {
                            rec.upstream(Duration.ofNanos(System.nanoTime() - t0));
                        }
                        long tokens = r.usage().map(Usage::totalTokens).orElse(0L);
                        return new Router.Attempted<>(new Executed<>(r, v, target,
                                Duration.ofNanos(System.nanoTime() - t0)), tokens, r.data().size());
                    }, true);
            Executed<ImageResponse> e = result.value();
            // the provider has been paid: the cost is known before the answer is converted for the client
            java.math.BigDecimal cost = state.fanOut().filter(f -> f.calls() > 0).isPresent()
                    ? state.fanOut().get().cost() // each call priced on its own deployment
                    : gateway(e.target()) && e.value().cost().isPresent() ? e.value().cost().get()
                    : cost(e.target(), e.value(), e.validated(), input.stream()); // a gateway knows what it charged
            ImageResponse response;
            try {
                response = normalise(e.value(), e.validated()).toBuilder().cost(cost).build();
            } catch (RuntimeException ex) {
                EaselException failure = ex instanceof EaselException ee && ee.status().orElse(500) >= 500 ? ee
                        : new InternalServerException("the edit succeeded but its images could not be converted to "
                        + "the requested response_format: " + ex.getMessage(), 502, "api_error",
                        "response_conversion_failed", "response_format", e.target().deployment().provider(), null, ex);
                rec.failure(failure, input.stream(), cost);
                throw new RecordedException(failure);
            }
            rec.success(response, result.retries(), result.fallbacks(), input.stream());
            return new EditOutcome(response, e.target().group(), e.target().id(),
                    e.target().deployment().provider(), e.upstream(), result.retries(), result.fallbacks(),
                    result.attempts().stream().map(Router.Attempt::toString).toList(), e.target().spec().lifecycle());
        } catch (RecordedException e) {
            throw e.failure();
        } catch (EaselException e) {
            // calls of a fan-out that succeeded before another failed were paid for: their cost is recorded
            rec.failure(e, input.stream(), state.fanOut().map(dev.easel.adapt.FanOut::cost).orElse(null));
            throw e;
        } catch (RuntimeException e) {
            rec.failure(internal(e), input.stream()); // a bug must not cost the spend record
            throw e;
        }
    }

    /** What the response says about a fan-out: how the images were made, and from where when not from one place. */
    private static List<String> fanOutWarnings(dev.easel.adapt.FanOut fan, Target target) {
        List<String> out = new ArrayList<>();
        out.add("n=" + fan.wanted() + " made in " + fan.calls() + (fan.calls() == 1 ? " call" : " calls")
                + " (model '" + target.spec().id() + "' makes at most " + target.spec().imagesPerCall()
                + " per call)");
        java.util.Set<String> from = new java.util.LinkedHashSet<>();
        fan.delivered().forEach(p -> from.add(p.deploymentId()));
        if (from.size() > 1) {
            out.add("images made by deployments " + String.join(", ", from) + " (a retry or fallback made only the "
                    + "images still missing)");
        }
        return out;
    }

    /** One provider call of an attempt, after validation. */
    @FunctionalInterface
    private interface Attempt<T> {
        Router.Attempted<Executed<T>> run(Target target, ValidatedEdit validated, EditCall call);
    }

    /**
     * Routes a request: each attempt validates for its deployment (adapting to fallback models), builds the
     * call and runs {@code attempt}; attempts are recorded ({@code endOnSuccess}: a stream's attempt ends when
     * the stream does, so it is recorded there).
     */
    private <T> Router.Result<Executed<T>> route(GatewayRequest request, EditInput input, List<String> fallbacks,
                                                 EditRecorder rec, Router.Options options, PerRequest state,
                                                 Attempt<T> attempt, boolean endOnSuccess) {
        try {
            return routeOnce(request, input, fallbacks, rec, options, state, attempt, endOnSuccess);
        } catch (EaselException e) {
            throw unserved(request.model(), e);
        }
    }

    private <T> Router.Result<Executed<T>> routeOnce(GatewayRequest request, EditInput input, List<String> fallbacks,
                                                     EditRecorder rec, Router.Options options, PerRequest state,
                                                     Attempt<T> attempt, boolean endOnSuccess) {
        Router router = routerFor(request.model());
        if (request.credentials().map(c -> c.apiKeyOrNull() != null).orElse(false)) {
            router = isolated(router); // the caller's own key: its failures and usage are not the deployment's
        }
        return router.route(request.model(), fallbacks, options, (candidate, fallback, remaining) -> {
            Target target = targets.get(candidate.id());
            Instant start = rec.attemptStart(target, candidate);
            try {
                ValidatedEdit v = adapt(validate(input, target, fallback), target, fallback, state);
                rec.validated(v);
                Router.Attempted<Executed<T>> done = attempt.run(target, v,
                        call(request, input, target, v, rec, remaining));
                if (endOnSuccess) {
                    rec.attemptEnd(target, fallback, start, null);
                }
                return done;
            } catch (UnsuitableException e) {
                throw e;
            } catch (EaselException e) {
                // a validation failure is no attempt: nothing reached a provider
                if (e.provider().isPresent() || !(e instanceof BadRequestException)) {
                    rec.attemptEnd(target, fallback, start, e);
                }
                throw e;
            }
        });
    }

    /**
     * A routing failure said plainly where groups without a served deployment were involved: such a group has no
     * candidate, so the router skips it as if it were resting; the client is told which provider is missing
     * (501 {@code provider_not_served}) instead of being asked to retry, and the attempt list says why.
     */
    private EaselException unserved(String model, EaselException e) {
        if (unservable.isEmpty()) {
            return e;
        }
        List<String> tried = new ArrayList<>();
        for (String a : e.attempts()) {
            String rewritten = a;
            for (Map.Entry<String, java.util.Set<String>> g : unservable.entrySet()) {
                if (a.startsWith(g.getKey() + ": skipped:")) {
                    rewritten = g.getKey() + ": skipped: " + notServed(g.getValue());
                }
            }
            tried.add(rewritten);
        }
        EaselException out = e;
        if (e instanceof RateLimitException && e.code().filter("no_deployment_available"::equals).isPresent()
                && unservable.containsKey(model)) {
            out = new EaselException("model '" + model + "' cannot be served: " + notServed(unservable.get(model))
                    + " (served providers: " + String.join(", ", new TreeSet<>(providers.keySet())) + ")", 501,
                    "api_error", "provider_not_served", "model", null, null, null);
        }
        if (!tried.isEmpty()) {
            out.recordAttempts(tried);
        }
        return out;
    }

    /** {@code provider 'gemini' is not served by this Easel}; several providers are named together. */
    private static String notServed(java.util.Set<String> names) {
        List<String> quoted = names.stream().sorted().map(n -> "'" + n + "'").toList();
        return quoted.size() == 1 ? "provider " + quoted.get(0) + " is not served by this Easel"
                : "providers " + String.join(", ", quoted) + " are not served by this Easel";
    }

    /** Carries a failure that has already been recorded past the recording catch blocks. */
    private static final class RecordedException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final EaselException failure;

        RecordedException(EaselException failure) {
            super(null, null, false, false);
            this.failure = failure;
        }

        EaselException failure() {
            return failure;
        }
    }

    /**
     * The request's deadline: {@code router_settings.timeout} (for streams {@code stream_timeout}, else
     * {@code timeout}: the time until the stream has started) from when the request arrived, waits, retries and
     * fallbacks included; none without a config or without the key. A stream keeps its slot until it ends.
     */
    private Router.Options options(GatewayRequest request, boolean stream) {
        Router.Options o = Router.Options.none();
        if (settings.config() != null) {
            RouterSettings r = settings.config().routerSettings();
            if (stream && r.streamTimeout().isPresent()) {
                o = Router.Options.deadline(request.meta().receivedAt(), r.streamTimeout().get(),
                        "router_settings.stream_timeout");
            } else if (r.timeout().isPresent()) {
                o = Router.Options.deadline(request.meta().receivedAt(), r.timeout().get(), "router_settings.timeout");
            }
        }
        return stream ? o.holding() : o;
    }

    private static EaselException internal(RuntimeException e) {
        return new EaselException("internal error: " + e.getClass().getSimpleName(), 500, "api_error",
                "internal_error", null, null, null, e);
    }

    StreamOutcome executeStream(GatewayRequest request) {
        List<String> requestFallbacks = new ArrayList<>();
        EditInput input = withoutFallbacks(request.input(), requestFallbacks);
        EditRecorder rec = recorder(request, input);
        rec.requested();
        Router.Result<Executed<ImageEditStream>> result;
        try {
            // retries and fallbacks cover starting the stream; once events flow, an error ends the stream
            result = route(request, input, requestFallbacks, rec, options(request, true), new PerRequest(),
                    (target, v, call) -> {
                long t0 = System.nanoTime();
                ImageEditStream s;
                try {
                    s = target.provider().editStream(call);
                } finally {
                    rec.upstream(Duration.ofNanos(System.nanoTime() - t0));
                }
                return new Router.Attempted<>(new Executed<>(s, v, target, Duration.ZERO), 0, 1);
            }, false);
        } catch (EaselException e) {
            rec.failure(e, true);
            throw e;
        } catch (RuntimeException e) {
            rec.failure(internal(e), true);
            throw e;
        }
        Executed<ImageEditStream> e = result.value();
        ImageEditStream recorded = new RecordedStream(e.value(), rec, e.target(), e.validated(), result.retries(),
                result.fallbacks(), result.slot());
        return new StreamOutcome(recorded, e.target().group(), e.target().id(), e.target().deployment().provider(),
                result.retries(), result.fallbacks(), e.target().spec().lifecycle(), e.validated().warnings());
    }

    private EditRecorder recorder(GatewayRequest request, EditInput input) {
        return new EditRecorder(settings.clock(), request.meta(), request.model(), input, settings.listeners(),
                settings.recordSinks(), settings.redactPrompts(), tracer);
    }

    /**
     * A stream that reports its outcome: the completed event's usage gives the cost (added to the event's
     * JSON as {@code easel_response_cost}, since the headers are gone by then), and the record is written
     * when the stream completes, fails or is closed early. The deployment's slot is held until then too.
     */
    private final class RecordedStream implements ImageEditStream {
        private final ImageEditStream upstream;
        private final EditRecorder rec;
        private final Target target;
        private final ValidatedEdit validated;
        private final int retries;
        private final int fallbacks;
        private final long t0 = System.nanoTime();
        private final Instant start;
        private final java.util.concurrent.atomic.AtomicBoolean reported = new java.util.concurrent.atomic.AtomicBoolean();
        private final Router.Slot slot;
        private int partials;

        RecordedStream(ImageEditStream upstream, EditRecorder rec, Target target, ValidatedEdit validated, int retries,
                       int fallbacks, Router.Slot slot) {
            this.slot = slot;
            this.upstream = upstream;
            this.rec = rec;
            this.target = target;
            this.validated = validated;
            this.retries = retries;
            this.fallbacks = fallbacks;
            this.start = settings.clock().instant();
        }

        @Override
        public void relayPartials(RawPartials sink) {
            upstream.relayPartials(sink);
        }

        @Override
        public Iterator<ImageEditEvent> iterator() {
            Iterator<ImageEditEvent> it = upstream.iterator();
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    try {
                        return it.hasNext();
                    } catch (EaselException e) {
                        fail(e);
                        throw e;
                    }
                }

                @Override
                public ImageEditEvent next() {
                    ImageEditEvent ev;
                    try {
                        ev = it.next();
                    } catch (EaselException e) {
                        fail(e);
                        throw e;
                    }
                    if (ev instanceof ImageEditEvent.PartialImage) {
                        partials++;
                        slot.renew(); // a long stream keeps its slot while events keep coming
                    }
                    if (ev instanceof ImageEditEvent.Completed c) {
                        return complete(c);
                    }
                    return ev;
                }
            };
        }

        private ImageEditEvent complete(ImageEditEvent.Completed c) {
            ImageResponse r = ImageResponse.builder().created(c.createdAt()).addData(ImageData.ofBase64(c.b64Json()))
                    .size(c.size()).quality(c.quality()).background(c.background()).outputFormat(c.outputFormat())
                    .usage(c.usageOrNull()).provider(target.deployment().provider())
                    .model(target.deployment().model()).addWarnings(validated.warnings()).build();
            java.math.BigDecimal cost = cost(target, r, validated, true);
            slot.settle(r.usage().map(Usage::totalTokens).orElse(0L));
            if (reported.compareAndSet(false, true)) {
                rec.upstream(Duration.ofNanos(System.nanoTime() - t0));
                rec.attemptEnd(target, fallbacks > 0, start, null);
                rec.success(r.toBuilder().cost(cost).build(), retries, fallbacks, true);
            }
            if (cost == null) {
                return c;
            }
            String json = c.json().strip();
            if (json.endsWith("}")) {
                json = json.substring(0, json.length() - 1) + ",\"easel_response_cost\":" + cost.toPlainString() + "}";
            }
            return new ImageEditEvent.Completed(c.b64Json(), c.size(), c.quality(), c.background(), c.outputFormat(),
                    c.createdAt(), c.usageOrNull(), json);
        }

        private void fail(EaselException e) {
            slot.settle(0);
            if (reported.compareAndSet(false, true)) {
                rec.upstream(Duration.ofNanos(System.nanoTime() - t0));
                rec.attemptEnd(target, fallbacks > 0, start, e);
                rec.failure(e, true);
            }
        }

        @Override
        public void close() {
            try {
                upstream.close();
            } finally {
                slot.settle(0); // no-op after completion or failure; a stream ended without either frees it here
                if (!reported.get()) {
                    fail(new EaselException("the stream was closed before the completed image arrived", 499,
                            "api_error", "client_closed", null, target.deployment().provider(), null, null));
                }
            }
        }
    }

    /** The edit's cost in USD (full precision), or null when the model is not priced. */
    private static java.math.BigDecimal cost(Target target, ImageResponse r, ValidatedEdit v, boolean stream) {
        int partials = v.params().partialImages().orElse(0);
        CostInput in = CostInput.builder().response(r)
                .requestedSize(v.params().size().map(EditParams.Size::wire).orElse(null))
                .requestedQuality(v.params().quality().map(EditParams.Quality::wire).orElse(null))
                .partialImages(stream ? partials : 0).streamed(stream)
                .inputImages(v.images().size())
                .inputPixels(v.images().stream().mapToLong(i -> (long) i.info().width() * i.info().height()).sum())
                .build();
        return COSTS.cost(target.spec(), target.prices(), in).total().orElse(null);
    }

    private static final CostCalculator COSTS = CostCalculator.standard();

    /** Takes the per-request {@code fallbacks} field (JSON array, comma list or list) out of the parameters. */
    private static EditInput withoutFallbacks(EditInput input, List<String> out) {
        if (!input.params().containsKey("fallbacks")) {
            return input;
        }
        Map<String, Object> params = new LinkedHashMap<>(input.params());
        out.addAll(requestFallbacks(params.remove("fallbacks")));
        return new EditInput(input.prompt(), input.images(), input.maskOrNull(), params, input.stream());
    }

    /**
     * The model groups a request's own {@code fallbacks} field names (a list, a JSON array or a comma-separated
     * list; null: none), in order; a gateway checks a caller may use each before it is routed there.
     *
     * @throws BadRequestException for text that starts like a JSON array and is not one
     */
    static List<String> requestFallbacks(Object v) {
        List<String> out = new java.util.ArrayList<>();
        if (v instanceof List<?> list) {
            list.forEach(x -> out.add(String.valueOf(x).trim()));
        } else if (v != null) {
            String text = v.toString().trim();
            if (text.startsWith("[")) {
                try {
                    for (var n : new com.fasterxml.jackson.databind.ObjectMapper().readTree(text)) {
                        out.add(n.asText().trim());
                    }
                } catch (com.fasterxml.jackson.core.JsonProcessingException ex) {
                    throw new BadRequestException("fallbacks must be a JSON array of model names or a comma-separated"
                            + " list (was '" + text + "')", "invalid_value", "fallbacks");
                }
            } else {
                for (String part : text.split(",")) {
                    if (!part.isBlank()) {
                        out.add(part.trim());
                    }
                }
            }
        }
        return out;
    }

    /**
     * Whether an edit of {@code model} may run as a job (submit, then poll: seconds to minutes): its group or a
     * group it falls back to has a job-mode deployment; without a config, whether the catalogue says so of the model.
     * A gateway watches such a request for a client that goes away, so the polling stops.
     */
    boolean runsJobs(String model) {
        if (settings.config() == null) {
            int slash = model.indexOf('/');
            String id = slash > 0 ? model.substring(slash + 1) : model;
            return settings.catalog().find(id).map(s -> s.mode() == ModelSpec.Mode.JOB).orElse(false);
        }
        if (!groups.containsKey(model)) {
            return false; // not a group: refused or routed by its own fallbacks, none of which is a config group's
        }
        // the config does not change: each group's answer is worked out once (not per request)
        return jobGroups.computeIfAbsent(model, this::reachesJobs);
    }

    private boolean reachesJobs(String model) {
        RouterSettings r = settings.config().routerSettings();
        java.util.Set<String> seen = new java.util.HashSet<>();
        java.util.ArrayDeque<String> next = new java.util.ArrayDeque<>(List.of(model));
        while (!next.isEmpty()) {
            String g = next.poll();
            if (!seen.add(g)) {
                continue;
            }
            if (groups.getOrDefault(g, List.of()).stream().anyMatch(t -> t.spec().mode() == ModelSpec.Mode.JOB)) {
                return true;
            }
            List<String> own = r.fallbacks().getOrDefault(g, List.of());
            next.addAll(own.isEmpty() ? r.defaultFallbacks() : own);
            next.addAll(r.contentPolicyFallbacks().getOrDefault(g, List.of()));
        }
        return false;
    }

    /**
     * What the edit may cost at most, before it is sent: the catalogue price of the requested size and quality
     * times {@code n}, at the dearest deployment of the group; empty when one of them is unpriced.
     */
    java.util.Optional<java.math.BigDecimal> estimate(String model, EditInput input) {
        List<Target> group = groups.get(model);
        if (group == null || group.isEmpty()) {
            return java.util.Optional.empty();
        }
        int n = 1;
        try {
            Object v = input.params().get("n");
            n = v == null ? 1 : Integer.parseInt(v.toString().trim());
        } catch (NumberFormatException ignored) {
            // validation will refuse it
        }
        Object size = input.params().get("size");
        Object quality = input.params().get("quality");
        CostInput in = CostInput.builder().imagesReturned(Math.max(1, n))
                .requestedSize(size == null ? null : size.toString())
                .requestedQuality(quality == null ? null : quality.toString())
                .inputImages(input.images().size()).build();
        // the dearest deployment the router may pick: a budget holds the worst case, not the likely one
        java.util.Optional<java.math.BigDecimal> worst = java.util.Optional.empty();
        for (Target t : group) {
            java.util.Optional<java.math.BigDecimal> c = COSTS.cost(t.spec(), t.prices(), in).total();
            if (c.isEmpty()) {
                return java.util.Optional.empty(); // one unpriced deployment: the worst case is unknown
            }
            worst = worst.isEmpty() || c.get().compareTo(worst.get()) > 0 ? c : worst;
        }
        return worst;
    }

    /** The configured base URL of a deployment, by its id. */
    java.util.Optional<java.net.URI> apiBase(String deploymentId) {
        Target t = deploymentId == null ? null : targets.get(deploymentId);
        return t == null ? java.util.Optional.empty() : t.deployment().base();
    }

    void reportRejected(RequestMeta meta, String model, EaselException error) {
        EditInput empty = new EditInput(null, List.of(), null, Map.of(), false);
        new EditRecorder(settings.clock(), meta, model, empty, settings.listeners(), settings.recordSinks(),
                settings.redactPrompts(), tracer).failure(error, false);
    }

    /** Ids of the config's deployments, in config order. */
    List<String> deploymentIds() {
        List<String> ids = new ArrayList<>();
        groups.values().forEach(list -> list.forEach(t -> ids.add(t.id())));
        return ids;
    }

    /** Model names served ({@code model_name}s of the config; empty without a config). */
    List<String> modelNames() {
        return List.copyOf(groups.keySet());
    }

    /** Every config deployment and whether it can be called, in config order. */
    List<DeploymentStatus> deployments() {
        return List.copyOf(deploymentStatuses);
    }

    /** Every config deployment with its entry, model rules and prices, in config order. */
    List<DeploymentInfo> deploymentInfos() {
        return List.copyOf(deploymentInfos);
    }

    /** What the config's router knows of a deployment now; empty without a config or for an unknown id. */
    java.util.Optional<dev.easel.routing.DeploymentHealth> health(String deploymentId) {
        return configRouter == null ? java.util.Optional.empty() : configRouter.health(deploymentId);
    }

    /** Stops the shared transport: upstream connections close, calls still running are cancelled. */
    void close() {
        transport.close();
    }

    /**
     * Start-up warnings: one per config deployment whose provider this client does not serve, and a Redis the
     * config names that this client's in-process router state does not use.
     */
    List<String> warnings() {
        return List.copyOf(warnings);
    }

    // ---- model resolution -------------------------------------------------------------------------

    private Map<String, List<Target>> groups(EaselConfig config) {
        Map<String, List<Target>> out = new LinkedHashMap<>();
        for (int index = 0; index < config.modelList().size(); index++) {
            ModelEntry e = config.modelList().get(index);
            Deployment d = e.params().toDeployment();
            // the group exists even when nothing in it can be called: its fallbacks still apply
            List<Target> group = out.computeIfAbsent(e.modelName(), k -> new ArrayList<>());
            ImageEditProvider served = providers.get(d.provider());
            String id = e.modelInfo().id().orElseGet(() -> defaultId(config, e));
            String pricedAs = e.modelInfo().baseModel().orElse(d.model());
            ModelSpec spec = spec(pricedAs, d.provider());
            PriceOverrides prices = PriceOverrides.of(e.modelInfo());
            if (served == null) {
                String reason = notServed(java.util.Set.of(d.provider()));
                DeploymentStatus status = new DeploymentStatus(id, e.modelName(), d.provider(),
                        java.util.Optional.of(reason));
                deploymentStatuses.add(status);
                deploymentInfos.add(new DeploymentInfo(status, e, spec, COSTS.rates(spec, prices)));
                warnings.add("model_list[" + index + "] (model_name '" + e.modelName() + "', model '"
                        + e.params().model() + "'): " + reason + "; the deployment is unavailable");
                unservable.computeIfAbsent(e.modelName(), k -> new java.util.TreeSet<>()).add(d.provider());
                continue;
            }
            DeploymentStatus status = new DeploymentStatus(id, e.modelName(), d.provider(), java.util.Optional.empty());
            deploymentStatuses.add(status);
            deploymentInfos.add(new DeploymentInfo(status, e, spec, COSTS.rates(spec, prices)));
            if (d.timeout() == null) {
                Duration t = config.litellmSettings().requestTimeout().orElse(settings.timeout());
                d = new Deployment(d.provider(), d.model(), d.apiKey(), d.apiBase(), d.apiVersion(), t, d.settings());
            }
            double weight = e.params().weight().orElse(e.params().rpm().isPresent() ? e.params().rpm().getAsInt()
                    : e.params().tpm().isPresent() ? e.params().tpm().getAsLong() : 1);
            java.math.BigDecimal price = e.modelInfo().outputCostPerImage().orElseGet(() -> typicalPrice(spec));
            OptionalInt maxParallel = e.params().maxParallelRequests().isPresent() ? e.params().maxParallelRequests()
                    : config.routerSettings().defaultMaxParallelRequests();
            DeploymentLimits limits = new DeploymentLimits(maxParallel, e.params().maxRetries().orElse(0),
                    e.params().streamTimeout().orElse(null));
            group.add(new Target(e.modelName(), id, served, d, spec, e.params().order().orElse(Integer.MAX_VALUE),
                    weight, e.params().rpm(), e.params().tpm(), price, prices, limits,
                    e.params().dropParams().orElse(settings.dropParams())));
        }
        // a group with some served deployment is no longer unservable
        out.forEach((name, list) -> {
            if (!list.isEmpty()) {
                unservable.remove(name);
            }
        });
        out.replaceAll((k, v) -> List.copyOf(v));
        // keep config order (Map.copyOf would not): /v1/models and the start-up line list groups as written
        return java.util.Collections.unmodifiableMap(out);
    }

    /** The router serving {@code model}: the config's, or a one-deployment router for a model string. */
    private Router routerFor(String model) {
        if (model == null || model.isBlank()) {
            throw new BadRequestException("you must provide a model (e.g. 'gpt-image-2', 'azure/<deployment>' "
                    + "or 'mock/edit')", "missing_required_parameter", "model");
        }
        if (configRouter != null) {
            if (!groups.containsKey(model)) {
                throw new NotFoundException("model '" + model + "' is not served here (available: "
                        + String.join(", ", new TreeSet<>(groups.keySet())) + ")", "model_not_found", "model");
            }
            return configRouter;
        }
        Router r = directRouters.get(model);
        if (r == null) {
            Target t = direct(model);
            targets.put(t.id(), t);
            r = directRouters.computeIfAbsent(model, m -> router(Map.of(m, List.of(t)), directPolicy()));
        }
        return r;
    }

    /**
     * A router over the same groups and policy whose state is this request's alone (LiteLLM gives such a request a
     * deployment id of its own): a caller's bad key must not rest, or use up the limits of, the deployment every
     * other caller shares.
     */
    private Router isolated(Router shared) {
        return shared.withState(new dev.easel.routing.InMemoryRouterState());
    }

    /** A model string without config: {@code provider/model} or a bare catalogue name. */
    private Target direct(String model) {
        String providerName;
        String providerModel;
        int slash = model.indexOf('/');
        if (slash > 0) {
            providerName = model.substring(0, slash);
            providerModel = model.substring(slash + 1);
            if (providerModel.isBlank()) {
                throw new BadRequestException("model '" + model + "' names no model after the provider",
                        "invalid_model", "model");
            }
        } else {
            providerModel = model;
            providerName = settings.catalog().find(model).map(ModelSpec::provider).orElse("openai");
        }
        ImageEditProvider provider = provider(providerName, model);
        // the factory knows its model names, unless the caller registered an adapter of its own for the prefix
        String named = providerModel;
        java.util.Optional<ProviderFactory> factory = settings.providers().containsKey(providerName)
                ? java.util.Optional.empty() : settings.registry().find(providerName);
        java.util.Optional<String> refused = factory.flatMap(f -> f.modelProblem(named));
        if (refused.isPresent()) {
            throw new BadRequestException("model '" + model + "': " + refused.get(), "invalid_model", "model");
        }
        java.util.Optional<dev.easel.provider.ModelAlias> alias = factory.flatMap(f -> f.servedAs(named));
        if (alias.isPresent()) {
            aliasWarnings.put(model, "model '" + model + "': " + alias.get().reason());
            providerModel = alias.get().model();
        }
        Deployment d = new Deployment(providerName, providerModel, settings.apiKey(), settings.apiBase(),
                settings.apiVersion(), settings.timeout(), settings.providerSettings());
        Target t = new Target(model, model, provider, d, spec(providerModel, providerName), 0, 1,
                OptionalInt.empty(), OptionalLong.empty(), null, PriceOverrides.none(), DeploymentLimits.NONE,
                settings.dropParams());
        return gateway(t) ? new Target(t.group(), t.id(), t.provider(), d, forGateway(t.spec()), t.order(), t.weight(),
                t.rpm(), t.tpm(), t.unitPrice(), t.prices(), t.limits(), t.dropParams()) : t;
    }

    /**
     * Whether a deployment is reached through a gateway: an {@code openai} deployment of a config-less client
     * whose {@code apiBase} is one ({@code Easel.Builder.gateway}, else any host but OpenAI's own). A gateway
     * validates its own model groups, honours {@code response_format} and reports what it charged.
     */
    private boolean gateway(Target t) {
        return settings.config() == null && "openai".equals(t.deployment().provider())
                && isGateway(settings.apiBase(), settings.gateway());
    }

    /** Whether {@code base} is a gateway, unless {@code override} (null: decide from the host) says. */
    static boolean isGateway(java.net.URI base, Boolean override) {
        if (override != null) {
            return override;
        }
        String host = base == null ? null : base.getHost();
        if (host == null) {
            return false;
        }
        host = host.toLowerCase(java.util.Locale.ROOT);
        return !host.equals("api.openai.com") && !host.endsWith(".api.openai.com");
    }

    /**
     * A known model's rules for a call through a gateway: still checked locally (the name promises the model),
     * but every parameter is sent, since parameters Easel would otherwise honour itself ({@code response_format}
     * on GPT image models) are the gateway's to honour: it returns its own image URLs.
     */
    private static ModelSpec forGateway(ModelSpec s) {
        if (s.params().values().stream().allMatch(ModelSpec.ParamRule::upstream)) {
            return s;
        }
        Map<String, ModelSpec.ParamRule> params = new LinkedHashMap<>();
        s.params().forEach((k, r) -> params.put(k, r.withUpstream(true)));
        return s.withParams(params);
    }

    private Router router(Map<String, List<Target>> byGroup, Router.Policy policy) {
        Map<String, List<Router.Candidate>> candidates = new LinkedHashMap<>();
        byGroup.forEach((g, list) -> candidates.put(g, list.stream().map(t -> new Router.Candidate(t.id(), g,
                t.order(), t.weight(), t.rpm(), t.tpm(), t.unitPrice(), t.limits().maxParallel(),
                t.limits().maxRetries())).toList()));
        return new Router(candidates, policy, settings.routerState(), settings.clock(), settings.random(),
                settings.sleeper());
    }

    private Router.Policy policy(EaselConfig config) {
        RouterSettings r = config.routerSettings();
        int retries = r.numRetries().isPresent() ? r.numRetries().getAsInt()
                : config.litellmSettings().numRetries().orElse(settings.maxRetries());
        return new Router.Policy(r.routingStrategy(), retries, r.retryAfter(), r.allowedFails(), r.cooldownTime(),
                r.fallbacks(), r.contentPolicyFallbacks(), r.defaultFallbacks(), r.retryOnTimeout(),
                Duration.ofSeconds(10), !r.disableCooldowns(), r.maxCooldownTime(), r.maxParallelWaiters(),
                r.maxParallelWait(), leaseTtl());
    }

    /**
     * How long a lease lives unless renewed: twice the longest call timeout (headers, then a body whose bytes keep
     * coming) plus a minute. Only a holder that never ends its lease (a crash, a bug) is ever cut by it.
     */
    private Duration leaseTtl() {
        Duration longest = settings.timeout();
        for (List<Target> list : groups.values()) {
            for (Target t : list) {
                for (Duration d : new Duration[] {t.deployment().timeout(), t.limits().streamTimeout()}) {
                    if (d != null && d.compareTo(longest) > 0) {
                        longest = d;
                    }
                }
            }
        }
        return longest.multipliedBy(2).plusSeconds(60);
    }

    private Router.Policy directPolicy() {
        Router.Policy d = Router.Policy.defaults();
        return new Router.Policy(d.strategy(), settings.maxRetries(), d.minRetryWait(), d.allowedFails(),
                d.cooldownTime(), Map.of(), Map.of(), List.of(), false, d.maxRetryWait(), false, d.maxCooldownTime(),
                d.maxParallelWaiters(), d.maxParallelWait(), leaseTtl());
    }

    /**
     * A deployment's id without {@code model_info.id}: {@code provider/model} when that is unique in the
     * config, else with a short hash of its group, base URL, version and key (stable across restarts, so
     * shared router state keeps its meaning), else with its position.
     */
    private static String defaultId(EaselConfig config, ModelEntry e) {
        String base = e.params().provider() + "/" + e.params().providerModel();
        List<ModelEntry> same = config.modelList().stream().filter(o -> o.modelInfo().id().isEmpty()
                && (o.params().provider() + "/" + o.params().providerModel()).equals(base)).toList();
        if (same.size() == 1) {
            return base;
        }
        String fingerprint = e.modelName() + "|" + e.params().apiBase().map(Object::toString).orElse("") + "|"
                + e.params().apiVersion().orElse("") + "|" + e.params().apiKey().orElse("");
        String hash;
        try {
            hash = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(fingerprint.getBytes(java.nio.charset.StandardCharsets.UTF_8))).substring(0, 8);
        } catch (java.security.NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
        long twins = same.stream().filter(o -> (o.modelName() + "|" + o.params().apiBase().map(Object::toString)
                .orElse("") + "|" + o.params().apiVersion().orElse("") + "|" + o.params().apiKey().orElse(""))
                .equals(fingerprint)).count();
        return twins == 1 ? base + "-" + hash : base + "-" + hash + "-" + (same.indexOf(e) + 1);
    }

    /** The catalogue price of one medium 1024x1024 image, for cost-based routing; null when unknown. */
    private static java.math.BigDecimal typicalPrice(ModelSpec spec) {
        if (spec.pricing().isEmpty()) {
            return null;
        }
        var p = spec.pricing().get();
        java.math.BigDecimal perImage = p.perImage().get("medium|1024x1024");
        if (perImage == null) {
            perImage = p.perImage().get("standard|1024x1024");
        }
        if (perImage != null) {
            return perImage;
        }
        return p.imageOutputPerMillion() == null ? null
                : p.imageOutputPerMillion().multiply(java.math.BigDecimal.valueOf(1056))
                        .divide(java.math.BigDecimal.valueOf(1_000_000));
    }

    private ImageEditProvider provider(String name, String model) {
        ImageEditProvider p = providers.get(name);
        if (p == null) {
            throw new BadRequestException("unknown provider '" + name + "' in model '" + model
                    + "' (known: " + String.join(", ", new TreeSet<>(providers.keySet())) + ")",
                    "invalid_model", "model");
        }
        return p;
    }

    private ModelSpec spec(String model, String provider) {
        ModelCatalog catalog = settings.catalog();
        return catalog.find(model).orElseGet(() -> catalog.permissive(model, provider));
    }

    // ---- steps ------------------------------------------------------------------------------------

    /**
     * Validates for one deployment. For a fallback group the request is first adapted to the model
     * (unsupported parameters dropped, the size mapped to the nearest allowed one); if it still does not
     * fit, the group is unsuitable and the router skips it.
     */
    private ValidatedEdit validate(EditInput input, Target target, boolean fallback) {
        LocalDate today = LocalDate.now(settings.clock());
        if (!fallback) {
            ValidatedEdit v = new RequestValidator().validate(input, target.spec(), target.dropParams(), today);
            String alias = aliasWarnings.get(target.id());
            if (alias == null) {
                return v;
            }
            List<String> warnings = new ArrayList<>(v.warnings());
            warnings.add(alias);
            return new ValidatedEdit(v.images(), v.maskOrNull(), v.params(), v.dropped(), warnings);
        }
        try {
            EditInput adapted = dev.easel.adapt.FallbackAdapter.adapt(input, target.spec());
            ValidatedEdit v = new RequestValidator().validate(adapted, target.spec(), true, today);
            List<String> warnings = new ArrayList<>(v.warnings());
            if (!java.util.Objects.equals(adapted.params().get("size"), input.params().get("size"))) {
                warnings.add("size " + input.params().get("size") + " mapped to " + adapted.params().get("size")
                        + " for fallback model '" + target.spec().id() + "'");
            }
            return new ValidatedEdit(v.images(), v.maskOrNull(), v.params(), v.dropped(), warnings);
        } catch (UnsuitableException e) {
            throw e;
        } catch (BadRequestException e) {
            throw new UnsuitableException(e);
        }
    }

    /**
     * The validated request in the form the deployment's model takes (docs/providers.md, "Adaptation"): its size
     * mapped (aspect ratio and tier for models that take those; {@code auto} left to the provider there), and the
     * mask in the model's convention (converted once per request). A fallback that cannot take it is unsuitable.
     */
    private ValidatedEdit adapt(ValidatedEdit v, Target target, boolean fallback, PerRequest state) {
        ModelSpec spec = target.spec();
        EditParams params = v.params();
        List<String> warnings = new ArrayList<>(v.warnings());
        if (params.size().isPresent()) {
            java.util.Optional<EditParams.Size> mapped = dev.easel.adapt.Sizes.forModel(params.size().get(),
                    spec.sizes());
            if (mapped.isEmpty()) {
                params = params.without("size");
            } else if (!mapped.get().equals(params.size().get())) {
                warnings.add("size " + params.size().get().wire() + " sent to model '" + spec.id() + "' as "
                        + mapped.get().wire());
                params = params.toBuilder().size(mapped.get()).build();
            }
        }
        dev.easel.provider.ImagePart mask = v.maskOrNull();
        if (mask != null) {
            try {
                mask = state.masks(mask).forConvention(spec.mask().convention(), spec.id());
            } catch (BadRequestException e) {
                if (fallback) {
                    throw new UnsuitableException(e);
                }
                throw e;
            }
        }
        if (params == v.params() && mask == v.maskOrNull()) {
            return v;
        }
        return new ValidatedEdit(v.images(), mask, params, v.dropped(), warnings);
    }

    private EditCall call(GatewayRequest r, EditInput input, Target t, ValidatedEdit v, EditRecorder rec,
                          java.util.Optional<Duration> remaining) {
        Duration own = t.deployment().timeout() != null ? t.deployment().timeout() : settings.timeout();
        if (input.stream() && t.limits().streamTimeout() != null) {
            own = t.limits().streamTimeout();
        }
        Duration timeout = r.timeout().orElse(own);
        Duration idle = timeout; // a stream that has started keeps the call's own guard between its events
        if (remaining.isPresent() && remaining.get().compareTo(timeout) < 0) {
            // no attempt may outlast the request's deadline (router_settings.timeout)
            timeout = remaining.get().isPositive() ? remaining.get() : Duration.ofMillis(1);
        }
        Map<String, String> headers = new LinkedHashMap<>(r.headers());
        rec.traceUpstream(headers); // the attempt's span is the upstream call's parent
        Deployment d = t.deployment();
        if (r.credentials().isPresent()) { // the caller's own credentials, for this request only
            GatewayRequest.Credentials c = r.credentials().get();
            d = new Deployment(d.provider(), d.model(), c.apiKeyOrNull() != null ? c.apiKeyOrNull() : d.apiKey(),
                    c.apiBaseOrNull() != null ? c.apiBaseOrNull() : d.apiBase(),
                    c.apiVersionOrNull() != null ? c.apiVersionOrNull() : d.apiVersion(), d.timeout(), d.settings());
        }
        return new EditCall(d, t.spec(), input.prompt(), v.images(), v.maskOrNull(),
                upstream(v.params(), t.spec()), input.stream(), headers, timeout, idle, rec.callEvents(t));
    }

    /** The parameters to send: without those the model's rules mark as Easel's to honour ({@code upstream: false}). */
    private static EditParams upstream(EditParams params, ModelSpec spec) {
        EditParams out = params;
        for (ModelSpec.ParamRule rule : spec.params().values()) {
            if (!rule.upstream()) {
                out = out.without(rule.name());
            }
        }
        return out;
    }

    /** Gives the caller what it asked for: {@code url} or {@code b64_json}, whatever the provider returned. */
    private ImageResponse normalise(ImageResponse r, ValidatedEdit v) {
        ImageResponse.Builder b = r.toBuilder().addWarnings(v.warnings());
        String format = v.params().responseFormat().map(EditParams.ResponseFormat::wire).orElse(null);
        if (format == null) {
            return b.build();
        }
        List<ImageData> out = new ArrayList<>(r.data().size());
        for (ImageData d : r.data()) {
            if ("url".equals(format) && d.url().isEmpty()) {
                byte[] bytes = d.bytes();
                ImageFormat f = ImageFormat.sniff(bytes).orElseGet(() ->
                        ImageFormat.fromName(r.outputFormat().orElse("png")).orElse(ImageFormat.PNG));
                out.add(ImageData.ofUrl(settings.imageStore().store(bytes, f)));
            } else if ("b64_json".equals(format) && !d.hasBase64()) {
                out.add(ImageData.ofBase64(Base64.getEncoder().encodeToString(settings.imageFetcher().fetch(d))));
            } else {
                out.add(d);
            }
        }
        return b.data(out).build();
    }

    private static ImageResponse collect(ImageEditStream s, Target target) {
        for (ImageEditEvent e : s) {
            if (e instanceof ImageEditEvent.Completed c) {
                return ImageResponse.builder()
                        .created(c.createdAt())
                        .addData(ImageData.ofBase64(c.b64Json()))
                        .size(c.size()).quality(c.quality()).background(c.background())
                        .outputFormat(c.outputFormat()).usage(c.usageOrNull())
                        .provider(target.deployment().provider()).model(target.deployment().model())
                        .build();
            }
        }
        throw new ConnectionException("the stream ended without a completed image",
                target.deployment().provider(), null);
    }

    /**
     * The request's images as blobs; streams are spooled to temporary files, deleted on close.
     */
    static final class Inputs implements AutoCloseable {
        final List<EditInput.RawImage> images = new ArrayList<>();
        EditInput.RawImage mask;
        private final List<Path> temp = new ArrayList<>();

        static Inputs of(ImageEditRequest r) {
            Inputs in = new Inputs();
            try {
                List<ImageInput> list = r.images();
                for (int i = 0; i < list.size(); i++) {
                    String param = list.size() == 1 ? "image" : "image[" + i + "]";
                    in.images.add(in.raw(list.get(i), param));
                }
                r.mask().ifPresent(m -> in.mask = in.raw(m, "mask"));
                return in;
            } catch (RuntimeException e) {
                in.close();
                throw e;
            }
        }

        EditInput toEditInput(ImageEditRequest r) {
            Map<String, Object> params = new LinkedHashMap<>();
            r.n().ifPresent(n -> params.put("n", n));
            r.size().ifPresent(v -> params.put("size", v));
            r.quality().ifPresent(v -> params.put("quality", v));
            r.background().ifPresent(v -> params.put("background", v));
            r.outputFormat().ifPresent(v -> params.put("output_format", v));
            r.outputCompression().ifPresent(v -> params.put("output_compression", v));
            r.inputFidelity().ifPresent(v -> params.put("input_fidelity", v));
            r.responseFormat().ifPresent(v -> params.put("response_format", v));
            r.partialImages().ifPresent(v -> params.put("partial_images", v));
            r.user().ifPresent(v -> params.put("user", v));
            r.safetyIdentifier().ifPresent(v -> params.put("safety_identifier", v));
            r.extraBody().forEach(params::putIfAbsent);
            return new EditInput(r.prompt().orElse(null), images, mask, params, r.stream());
        }

        private EditInput.RawImage raw(ImageInput input, String param) {
            Blob blob = input.read(path -> {
                if (!Files.isRegularFile(path)) {
                    throw new BadRequestException("cannot read " + param + " file '" + path + "'",
                            "invalid_image_file", param);
                }
                return Blob.ofFile(path);
            }, Blob::ofBytes, stream -> spool(stream, param));
            return new EditInput.RawImage(blob, input.fileName().orElse(null), param);
        }

        private Blob spool(InputStream stream, String param) {
            try {
                Path f = Files.createTempFile("easel-upload-", ".bin");
                temp.add(f);
                try (var out = Files.newOutputStream(f)) {
                    stream.transferTo(out);
                }
                return Blob.ofFile(f);
            } catch (IOException e) {
                throw new UncheckedIOException("could not read " + param + " stream", e);
            }
        }

        @Override
        public void close() {
            for (Path p : temp) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    p.toFile().deleteOnExit();
                }
            }
            temp.clear();
        }
    }
}
