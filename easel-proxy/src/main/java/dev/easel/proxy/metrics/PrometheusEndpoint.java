package dev.easel.proxy.metrics;

import io.javalin.http.Handler;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /metrics}: a {@link PrometheusMeterRegistry} and the Javalin handler that serves it in the
 * Prometheus text format (or OpenMetrics, when the scraper asks for it in {@code Accept}).
 *
 * <pre>{@code
 * PrometheusEndpoint metrics = PrometheusEndpoint.create();
 * Easel easel = Easel.builder().config(config).listener(new MetricsListener(metrics.registry(), false)).build();
 * app.get("/metrics", metrics.handler(ctx -> { }));          // open; pass an auth check to protect it
 * }</pre>
 */
public final class PrometheusEndpoint implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PrometheusEndpoint.class);

    /** The path Prometheus scrapes. */
    public static final String PATH = "/metrics";
    /** Content type of the Prometheus text format. */
    public static final String TEXT = "text/plain; version=0.0.4; charset=utf-8";
    /** Content type of OpenMetrics text. */
    public static final String OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private final PrometheusMeterRegistry registry;
    private final List<Runnable> beforeScrape = new CopyOnWriteArrayList<>();
    private final JvmGcMetrics gc;

    private PrometheusEndpoint(PrometheusMeterRegistry registry, boolean jvm) {
        this.registry = Objects.requireNonNull(registry, "registry");
        if (jvm) {
            new JvmMemoryMetrics().bindTo(registry);
            new JvmThreadMetrics().bindTo(registry);
            new ProcessorMetrics().bindTo(registry);
            new UptimeMetrics().bindTo(registry);
            gc = new JvmGcMetrics();
            gc.bindTo(registry);
        } else {
            gc = null;
        }
    }

    /** A new registry with the standard JVM and process meters (memory, GC, threads, CPU, uptime). */
    public static PrometheusEndpoint create() {
        return new PrometheusEndpoint(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), true);
    }

    /** An endpoint over an existing registry; adds no meters of its own. */
    public static PrometheusEndpoint of(PrometheusMeterRegistry registry) {
        return new PrometheusEndpoint(registry, false);
    }

    /** The registry: give it to {@code MetricsListener} and {@link ProxyMetrics#bind}. */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Runs {@code task} before every scrape (to refresh gauges whose set of series changes). */
    void beforeScrape(Runnable task) {
        beforeScrape.add(Objects.requireNonNull(task, "task"));
    }

    /** The current metrics in the Prometheus text format. */
    public String scrape() {
        return scrape(TEXT);
    }

    /** The current metrics as {@link #TEXT} or {@link #OPENMETRICS}. */
    public String scrape(String contentType) {
        for (Runnable task : beforeScrape) {
            try {
                task.run();
            } catch (RuntimeException e) {
                // a broken gauge source must not take the other metrics down with it
                LOG.warn("refreshing metrics before a scrape failed: {}", e.toString());
            }
        }
        return registry.scrape(contentType);
    }

    /**
     * The {@code GET /metrics} handler. {@code guard} runs first: it refuses a request by throwing (e.g. the
     * proxy's master-key check) or by setting a status of 400 or more; pass {@code ctx -> { }} for an open
     * endpoint. Answers OpenMetrics when {@code Accept} asks for {@code application/openmetrics-text}, else
     * the Prometheus text format (never protobuf).
     */
    public Handler handler(Handler guard) {
        Objects.requireNonNull(guard, "guard");
        return ctx -> {
            guard.handle(ctx);
            if (ctx.statusCode() >= 400) {
                return;
            }
            String accept = ctx.header("Accept");
            String type = accept != null && accept.contains("application/openmetrics-text") ? OPENMETRICS : TEXT;
            String body = scrape(type);
            ctx.status(200).contentType(type).header("Cache-Control", "no-store").result(body);
        };
    }

    /** Stops the GC listener and closes the registry. */
    @Override
    public void close() {
        if (gc != null) {
            gc.close();
        }
        registry.close();
    }
}
