package dev.easel;

import dev.easel.callback.EaselListener;
import dev.easel.callback.EditLogRecord;
import dev.easel.callback.ListenerBus;
import dev.easel.catalog.ModelCatalog;
import dev.easel.config.ConfigLoader;
import dev.easel.config.EaselConfig;
import dev.easel.engine.Engine;
import dev.easel.engine.EngineSettings;
import dev.easel.provider.ImageEditProvider;
import dev.easel.routing.InMemoryRouterState;
import dev.easel.routing.RouterState;
import dev.easel.routing.Sleeper;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * The Easel client: edits images through any configured provider with OpenAI's edit API.
 *
 * <pre>{@code
 * Easel easel = Easel.builder().apiKey(System.getenv("OPENAI_API_KEY")).build();
 * ImageResponse r = easel.imageEdit(ImageEditRequest.builder()
 *         .model("gpt-image-1").image(Path.of("original_image.png"))
 *         .prompt("Add a red hat to the person in the image").build());
 * }</pre>
 *
 * Thread-safe; build one and share it. It owns threads and connections (the upstream connection pool, the listener
 * threads, its executor unless you gave one): close it when done, e.g. with try-with-resources.
 */
public final class Easel implements AutoCloseable {

    private final Engine engine;

    private Easel(Engine engine) {
        this.engine = engine;
    }

    /** A builder with nothing set. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A client configured like the official SDKs: {@code OPENAI_API_KEY} and, when set,
     * {@code OPENAI_BASE_URL}.
     */
    public static Easel fromEnv() {
        return fromEnv(System.getenv());
    }

    static Easel fromEnv(Map<String, String> env) {
        Builder b = builder();
        String key = env.get("OPENAI_API_KEY");
        if (key != null && !key.isBlank()) {
            b.apiKey(key);
        }
        String base = env.get("OPENAI_BASE_URL");
        if (base != null && !base.isBlank()) {
            b.apiBase(base);
        }
        return b.build();
    }

    /**
     * A client serving the model groups of a LiteLLM-format {@code config.yaml} (the proxy's config).
     *
     * @throws dev.easel.config.ConfigException when the file is invalid (the message names the YAML path)
     */
    public static Easel fromConfig(Path configFile) {
        return builder().config(ConfigLoader.load(configFile)).build();
    }

    /**
     * Runs an edit and waits for the result.
     *
     * @throws BadRequestException when the request is invalid for the model (nothing is sent upstream)
     * @throws EaselException      for any other failure, typed by what the caller should do
     */
    public ImageResponse imageEdit(ImageEditRequest request) {
        Objects.requireNonNull(request, "request");
        return engine.edit(request);
    }

    /** Runs an edit on the client's executor (virtual threads by default). */
    public CompletableFuture<ImageResponse> imageEditAsync(ImageEditRequest request) {
        Objects.requireNonNull(request, "request");
        if (engine.closed()) {
            throw new IllegalStateException("this Easel client is closed");
        }
        return CompletableFuture.supplyAsync(() -> engine.edit(request), engine.executor());
    }

    /**
     * Runs an edit with {@code stream=true}: partial images, then the completed image, as they arrive.
     * Close the stream to cancel the upstream call.
     */
    public ImageEditStream imageEditStream(ImageEditRequest request) {
        Objects.requireNonNull(request, "request");
        return engine.stream(request);
    }


    /** Builder for {@link Easel}. */
    public static final class Builder {
        private String apiKey;
        private URI apiBase;
        private String apiVersion;
        private Duration timeout = Duration.ofSeconds(600);
        private boolean dropParams;
        private Path imageDirectory;
        private final Map<String, ImageEditProvider> providers = new LinkedHashMap<>();
        private final Map<String, Object> providerSettings = new LinkedHashMap<>();
        private Executor executor;
        private ImageStore imageStore;
        private ModelCatalog catalog;
        private Clock clock = Clock.systemUTC();
        private EaselConfig config;
        // provider-returned URLs: only http(s) and data: (a provider must not make us read local files)
        private ImageFetcher imageFetcher = d -> {
            String u = d.url().orElse("");
            if (!u.regionMatches(true, 0, "http://", 0, 7) && !u.regionMatches(true, 0, "https://", 0, 8)
                    && !u.regionMatches(true, 0, "data:", 0, 5)) {
                throw new ConnectionException("provider returned an image url that is not http(s)", null, null);
            }
            return d.bytes();
        };
        private int maxRetries = 2;
        private RouterState routerState;
        private RandomGenerator random;
        private Sleeper sleeper = Sleeper.system();
        private final List<EaselListener> listeners = new ArrayList<>();
        private final List<Consumer<EditLogRecord>> recordSinks = new ArrayList<>();
        private boolean redactPrompts;
        private int listenerQueueCapacity = ListenerBus.DEFAULT_CAPACITY;
        private Boolean gateway; // null: decided from apiBase's host
        private dev.easel.provider.ResultDownloader resultDownloader; // null: the SDK's guarded downloader
        private java.util.function.Supplier<dev.easel.http.HttpTransport.Client> httpClient; // null: the JDK's
        private io.opentelemetry.api.OpenTelemetry openTelemetry; // null: GlobalOpenTelemetry
        private boolean tracePrompts;

        private Builder() {
        }

        /** API key sent to the provider. */
        public Builder apiKey(String apiKey) {
            this.apiKey = apiKey;
            return this;
        }

        /** Base URL of the provider, e.g. {@code https://api.openai.com/v1} or an Azure resource URL. */
        public Builder apiBase(String apiBase) {
            this.apiBase = apiBase == null ? null : URI.create(apiBase.endsWith("/")
                    ? apiBase.substring(0, apiBase.length() - 1) : apiBase);
            return this;
        }

        /**
         * Whether {@link #apiBase} is an OpenAI-compatible gateway (another Easel, a LiteLLM proxy) rather than
         * OpenAI itself or a transparent proxy to it. Behind a gateway, model names the catalogue does not know
         * (the gateway's own model groups) pass through unchecked, known names are still checked locally, and
         * {@code response_format} is sent as given so that the gateway's image URLs come back. Default: a
         * gateway when {@code apiBase} is set and its host is not {@code api.openai.com}. Applies to
         * {@code openai/...} and bare model names without a config.
         */
        public Builder gateway(boolean gateway) {
            this.gateway = gateway;
            return this;
        }

        /** API version (Azure's {@code api-version}). */
        public Builder apiVersion(String apiVersion) {
            this.apiVersion = apiVersion;
            return this;
        }

        /** Default time allowed per call (600 s unless set). */
        public Builder timeout(Duration timeout) {
            this.timeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** Drop parameters the model does not take, instead of failing (LiteLLM's {@code drop_params}). */
        public Builder dropParams(boolean dropParams) {
            this.dropParams = dropParams;
            return this;
        }

        /**
         * Directory for images that must be returned as URLs when the provider only returns base64
         * (default: {@code easel-images} in the system temp directory).
         */
        public Builder imageDirectory(Path dir) {
            this.imageDirectory = dir;
            return this;
        }

        /** Where URL-wanted images go when the provider returns base64 (overrides {@link #imageDirectory}). */
        public Builder imageStore(ImageStore store) {
            this.imageStore = store;
            return this;
        }

        /** The model catalogue to validate against (default: the bundled one). */
        public Builder catalog(ModelCatalog catalog) {
            this.catalog = catalog;
            return this;
        }

        /** Clock for model lifecycle checks (tests). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Serve the model groups of a LiteLLM-format config: model names are then the config's
         * {@code model_name}s, each with its own provider, key and base; {@code litellm_settings.drop_params}
         * and {@code request_timeout} apply.
         */
        public Builder config(EaselConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            this.dropParams = dropParams || config.litellmSettings().dropParams();
            config.litellmSettings().requestTimeout().ifPresent(t -> this.timeout = t);
            return this;
        }

        /** How image URLs returned by providers are read when the caller wants base64 (the proxy guards this). */
        public Builder imageFetcher(ImageFetcher fetcher) {
            this.imageFetcher = Objects.requireNonNull(fetcher, "fetcher");
            return this;
        }

        /**
         * Retries of a failed call (429, 5xx, connection failures) before giving up, with exponential backoff
         * (default 2, like the official SDKs). With a config, {@code router_settings.num_retries} wins.
         */
        public Builder maxRetries(int maxRetries) {
            if (maxRetries < 0) {
                throw new IllegalArgumentException("maxRetries must be at least 0 (was " + maxRetries + ")");
            }
            this.maxRetries = maxRetries;
            return this;
        }

        /** Where the router keeps cooldowns, usage and latencies (default: in memory, per client). */
        public Builder routerState(RouterState state) {
            this.routerState = Objects.requireNonNull(state, "state");
            return this;
        }

        /** Random source for load balancing (tests). */
        public Builder random(RandomGenerator random) {
            this.random = Objects.requireNonNull(random, "random");
            return this;
        }

        /** How the router waits between retries (tests). */
        public Builder sleeper(Sleeper sleeper) {
            this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
            return this;
        }

        /**
         * Adds a listener: told about every request, attempt and outcome, off the request path (a slow or
         * throwing listener never delays or fails an edit).
         */
        public Builder listener(EaselListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /** Capacity of each listener's queue; events beyond it are dropped and counted. */
        public Builder listenerQueueCapacity(int capacity) {
            if (capacity < 1) {
                throw new IllegalArgumentException("listenerQueueCapacity must be at least 1 (was " + capacity + ")");
            }
            this.listenerQueueCapacity = capacity;
            return this;
        }

        /**
         * Adds a sink that receives every final record synchronously on the calling thread (never dropped;
         * keep it fast). The proxy's spend log is one.
         */
        public Builder recordSink(Consumer<EditLogRecord> sink) {
            recordSinks.add(Objects.requireNonNull(sink, "sink"));
            return this;
        }

        /**
         * Where edits' spans go (see {@code docs/tracing.md}); default {@code GlobalOpenTelemetry}, which is the
         * Java agent's or an SDK the application registered, else a no-op (no spans; trace context is still
         * propagated upstream).
         */
        public Builder openTelemetry(io.opentelemetry.api.OpenTelemetry openTelemetry) {
            this.openTelemetry = Objects.requireNonNull(openTelemetry, "openTelemetry");
            return this;
        }

        /**
         * Records the prompt on request spans as {@code gen_ai.input.messages} (default off); a prompt removed by
         * {@link #redactPrompts(boolean)} never is.
         */
        public Builder tracePrompts(boolean include) {
            this.tracePrompts = include;
            return this;
        }

        /** Keep prompts out of records and listeners ({@code redact_prompts}). */
        public Builder redactPrompts(boolean redact) {
            this.redactPrompts = redact;
            return this;
        }

        /**
         * How result URLs of providers that answer with expiring URLs (jobs) are downloaded (default: the SDK's
         * guarded downloader; the proxy passes its own, which connects only to the addresses it checked).
         */
        public Builder resultDownloader(dev.easel.provider.ResultDownloader downloader) {
            this.resultDownloader = Objects.requireNonNull(downloader, "downloader");
            return this;
        }

        /**
         * What the providers' requests go out on (default: the JDK's {@link java.net.http.HttpClient}); called once per
         * engine, which closes the client when it closes. The proxy passes Jetty's.
         */
        public Builder httpClient(java.util.function.Supplier<dev.easel.http.HttpTransport.Client> client) {
            this.httpClient = Objects.requireNonNull(client, "client");
            return this;
        }

        /**
         * Registers (or replaces) a provider adapter under its {@link ImageEditProvider#name()}: for an adapter made
         * in code. An adapter in a jar is found by its {@link dev.easel.provider.ProviderFactory} instead.
         */
        public Builder provider(ImageEditProvider provider) {
            providers.put(provider.name(), provider);
            return this;
        }

        /**
         * A provider-specific setting, e.g. the mock provider's {@code latency_ms} or {@code failure_rate}.
         */
        public Builder providerSetting(String key, Object value) {
            providerSettings.put(key, value);
            return this;
        }

        /** Executor for {@link #imageEditAsync}; default: a virtual thread per task. */
        public Builder executor(Executor executor) {
            this.executor = executor;
            return this;
        }

        /** The client. */
        public Easel build() {
            return new Easel(engine());
        }

        /**
         * The engine alone, for a gateway that calls it with parsed requests (the proxy); applications use
         * {@link #build()}. Close it when done.
         */
        public Engine engine() {
            java.util.concurrent.ExecutorService owned = executor == null
                    ? java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor() : null;
            Executor ex = executor != null ? executor : owned;
            Path dir = imageDirectory != null ? imageDirectory
                    : Path.of(System.getProperty("java.io.tmpdir"), "easel-images");
            ImageStore store = imageStore != null ? imageStore : new LocalImageStore(dir);
            dev.easel.provider.ProviderRegistry registry = dev.easel.provider.ProviderRegistry.installed();
            return new Engine(new EngineSettings(apiKey, apiBase, apiVersion, timeout, dropParams, store,
                    Map.copyOf(providers), Map.copyOf(providerSettings), ex, owned,
                    catalog != null ? catalog : ModelCatalog.forProviders(registry), clock, config, imageFetcher, maxRetries,
                    routerState != null ? routerState : new InMemoryRouterState(),
                    random != null ? random : RandomGenerator.getDefault(), sleeper,
                    listeners.isEmpty() ? ListenerBus.none() : new ListenerBus(listeners, listenerQueueCapacity),
                    List.copyOf(recordSinks), redactPrompts || (config != null
                    && config.litellmSettings().redactPrompts()), gateway,
                    registry, resultDownloader, openTelemetry, tracePrompts, httpClient));
        }
    }

    /** The listeners' bus (drop and error counts, backlog). */
    public ListenerBus listeners() {
        return engine.listeners();
    }

    /**
     * Every deployment of the config and whether it can be called (a deployment whose provider this client does
     * not serve cannot), in config order; empty without a config.
     */
    public List<DeploymentStatus> deployments() {
        return engine.deployments();
    }

    /**
     * What this client found when it was built, one line each: every config deployment whose provider it does
     * not serve, and a Redis in {@code router_settings} that its in-process router state does not use (pass a
     * shared {@code RouterState} to share it). The config file's own warnings are {@link EaselConfig#warnings()}.
     */
    public List<String> warnings() {
        return engine.warnings();
    }

    /**
     * Closes the upstream connections (edits still running fail with a {@link ConnectionException}), delivers what
     * listeners have queued (up to 5 s) and stops the client's own threads. Later edits throw
     * {@link IllegalStateException}. Idempotent.
     */
    @Override
    public void close() {
        engine.close();
    }
}
