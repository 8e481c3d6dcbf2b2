package dev.easel.engine;

import dev.easel.ImageFetcher;
import dev.easel.ImageStore;
import dev.easel.callback.EditLogRecord;
import dev.easel.callback.ListenerBus;
import dev.easel.catalog.ModelCatalog;
import dev.easel.config.EaselConfig;
import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.ProviderRegistry;
import dev.easel.provider.ResultDownloader;
import dev.easel.routing.RouterState;
import dev.easel.routing.Sleeper;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * Everything an {@link Engine} is built from; made by {@code Easel.Builder} (see its setters for what each means).
 *
 * @param ownedExecutor the executor the engine made itself and shuts down when closed, or null when the caller
 *                      gave {@code executor}
 * @param openTelemetry where edits' spans go, or null for {@code GlobalOpenTelemetry}
 * @param tracePrompts  whether request spans carry the prompt (never a redacted one)
 * @param httpClient    makes the client the providers' requests go out on, or null for the JDK's
 */
public record EngineSettings(String apiKey, URI apiBase, String apiVersion, Duration timeout, boolean dropParams,
                             ImageStore imageStore, Map<String, ImageEditProvider> providers,
                             Map<String, Object> providerSettings, java.util.concurrent.Executor executor,
                             ExecutorService ownedExecutor, ModelCatalog catalog, Clock clock, EaselConfig config,
                             ImageFetcher imageFetcher, int maxRetries, RouterState routerState,
                             RandomGenerator random, Sleeper sleeper, ListenerBus listeners,
                             List<Consumer<EditLogRecord>> recordSinks, boolean redactPrompts, Boolean gateway,
                             ProviderRegistry registry, ResultDownloader resultDownloader,
                             io.opentelemetry.api.OpenTelemetry openTelemetry, boolean tracePrompts,
                             java.util.function.Supplier<dev.easel.http.HttpTransport.Client> httpClient) {
}
