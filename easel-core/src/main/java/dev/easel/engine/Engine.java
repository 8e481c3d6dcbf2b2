package dev.easel.engine;

import dev.easel.DeploymentStatus;
import dev.easel.EaselException;
import dev.easel.ImageEditRequest;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.callback.ListenerBus;
import dev.easel.validate.EditInput;
import java.math.BigDecimal;
import java.net.URI;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The engine behind {@link dev.easel.Easel}, for gateways: the same validation, adaptation, routing and response
 * normalisation, called with already-parsed requests ({@link GatewayRequest}) and answering where each edit went
 * ({@link EditOutcome}). Built with {@code Easel.builder()....engine()}. Owns threads and connections (the shared
 * upstream transport, the listener threads, its executor when it made one): {@link #close()} it. Thread-safe.
 */
public final class Engine implements AutoCloseable {

    private final EngineSettings settings;
    private final EditPipeline pipeline;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** An engine on {@code settings} (use {@code Easel.Builder.engine()}). */
    public Engine(EngineSettings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.pipeline = new EditPipeline(settings);
    }

    /** Runs an edit and waits for it ({@link dev.easel.Easel#imageEdit}). */
    public ImageResponse edit(ImageEditRequest request) {
        open();
        return pipeline.edit(request);
    }

    /** Runs an edit as a stream ({@link dev.easel.Easel#imageEditStream}). */
    public ImageEditStream stream(ImageEditRequest request) {
        open();
        return pipeline.stream(request);
    }

    /** Runs a parsed request: validation, routing, the provider call, the normalised response and where it went. */
    public EditOutcome execute(GatewayRequest request) {
        Objects.requireNonNull(request, "request");
        open();
        return pipeline.execute(request);
    }

    /** Streaming twin of {@link #execute(GatewayRequest)}; the input must have {@code stream=true}. */
    public StreamOutcome executeStream(GatewayRequest request) {
        Objects.requireNonNull(request, "request");
        open();
        return pipeline.executeStream(request);
    }

    /**
     * Reports an edit refused before it reached the engine (by a gateway: auth, limits, malformed body), so that
     * logs, metrics and spend see every request.
     */
    public void reportRejected(RequestMeta meta, String model, EaselException error) {
        pipeline.reportRejected(meta, model, error);
    }

    /**
     * The most an edit may cost before it is sent (the price of the requested size and quality times {@code n} at
     * the dearest deployment of its group), held against budgets; empty when a deployment is unpriced or the model
     * is not a config group.
     */
    public Optional<BigDecimal> estimateCost(String model, EditInput input) {
        return pipeline.estimate(model, input);
    }

    /**
     * Whether an edit of {@code model} may run as a provider job (submit, then poll), through its group or its
     * fallbacks: a gateway then watches for a client that goes away, since such an edit can take minutes.
     */
    public boolean runsJobs(String model) {
        return pipeline.runsJobs(model);
    }

    /** The ids of the config's deployments ({@code model_info.id}, else derived), in config order. */
    public List<String> deploymentIds() {
        return pipeline.deploymentIds();
    }

    /**
     * The base URL a deployment is called at (as configured: the spend log's {@code api_base}); empty for an
     * unknown deployment id or one on its provider's default URL.
     */
    public Optional<URI> apiBase(String deploymentId) {
        return pipeline.apiBase(deploymentId);
    }

    /** The model names served from the config (empty without one). */
    public List<String> modelNames() {
        return pipeline.modelNames();
    }

    /** Every deployment of the config and whether it can be called, in config order. */
    public List<DeploymentStatus> deployments() {
        return pipeline.deployments();
    }

    /**
     * Every deployment of the config with its entry, model rules and prices, in config order (one per
     * {@code model_list} entry, as {@link #deployments()}).
     */
    public List<DeploymentInfo> deploymentInfo() {
        return pipeline.deploymentInfos();
    }

    /**
     * What the router knows of a config deployment now (rest, last failure and success, latency, calls in flight,
     * this minute's use), read without calling the provider; empty for an id that is not a served deployment of the
     * config.
     */
    public Optional<dev.easel.routing.DeploymentHealth> health(String deploymentId) {
        return pipeline.health(deploymentId);
    }

    /** What the engine found when it was built: one line per config deployment whose provider it does not serve. */
    public List<String> warnings() {
        return pipeline.warnings();
    }

    /**
     * The model groups a request's own {@code fallbacks} field names (a list, a JSON array or a comma-separated list;
     * null: none), as the engine reads them: a gateway checks that its caller may use each.
     *
     * @throws dev.easel.BadRequestException for text that starts like a JSON array and is not one
     */
    public static java.util.List<String> requestFallbacks(Object field) {
        return EditPipeline.requestFallbacks(field);
    }

    /** The listeners' bus (drop and error counts, backlog). */
    public ListenerBus listeners() {
        return settings.listeners();
    }

    /** The executor asynchronous edits run on. */
    public java.util.concurrent.Executor executor() {
        return settings.executor();
    }

    /** Whether {@link #close()} was called. */
    public boolean closed() {
        return closed.get();
    }

    /**
     * Refuses new edits, cancels the upstream calls still running (their records are still delivered), delivers
     * what the listeners have queued (up to 5 s) and shuts down the executor the engine made. Idempotent. A gateway
     * that wants running edits to finish waits for them first (the proxy drains).
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            pipeline.close();
        } finally {
            try {
                settings.listeners().close();
            } finally {
                if (settings.ownedExecutor() != null) {
                    settings.ownedExecutor().shutdown();
                }
            }
        }
    }

    private void open() {
        if (closed.get()) {
            throw new IllegalStateException("this Easel client is closed");
        }
    }
}
