package dev.easel.proxy;

import dev.easel.callback.EaselListener;
import dev.easel.callback.Filtered;
import dev.easel.callback.JsonLogsListener;
import dev.easel.callback.WebhookListener;
import dev.easel.callback.MetricsListener;
import dev.easel.config.EaselConfig;
import dev.easel.proxy.metrics.LitellmMetrics;
import dev.easel.proxy.metrics.PrometheusEndpoint;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The logging integrations named in {@code litellm_settings.callbacks} / {@code success_callback} /
 * {@code failure_callback} (and {@code json_logs: true}): built once at start-up, closed at shutdown.
 */
final class Integrations implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Integrations.class);

    /** Callback names Easel implements. */
    static final Set<String> KNOWN = Set.of("json_logs", "otel", "prometheus", "webhook");

    private final List<EaselListener> listeners;
    private final Optional<PrometheusEndpoint> metrics;
    private final Optional<LitellmMetrics> litellmMetrics;
    private final List<AutoCloseable> closeables;
    private final Optional<OtelIntegration> otel;

    private Integrations(List<EaselListener> listeners, Optional<PrometheusEndpoint> metrics,
                         Optional<LitellmMetrics> litellmMetrics, List<AutoCloseable> closeables,
                         Optional<OtelIntegration> otel) {
        this.listeners = List.copyOf(listeners);
        this.metrics = metrics;
        this.litellmMetrics = litellmMetrics;
        this.closeables = List.copyOf(closeables);
        this.otel = otel;
    }

    static Integrations fromConfig(EaselConfig config, Map<String, String> env) {
        var s = config.litellmSettings();
        Set<String> named = new LinkedHashSet<>();
        named.addAll(s.callbacks());
        named.addAll(s.successCallback());
        named.addAll(s.failureCallback());
        for (String n : named) {
            if (!KNOWN.contains(n)) {
                LOG.warn("callback '{}' is not an Easel integration (known: {}); ignored", n, String.join(", ",
                        new java.util.TreeSet<>(KNOWN)));
            }
        }
        List<EaselListener> listeners = new ArrayList<>();
        List<AutoCloseable> closeables = new ArrayList<>();
        Optional<PrometheusEndpoint> metrics = Optional.empty();
        Optional<LitellmMetrics> litellm = Optional.empty();
        if (s.hasCallback(MetricsListener.NAME)) {
            PrometheusEndpoint endpoint = PrometheusEndpoint.create();
            metrics = Optional.of(endpoint);
            // the same events under LiteLLM's names too, so a LiteLLM dashboard works unchanged: one integration
            LitellmMetrics l = new LitellmMetrics(endpoint.registry(), s.enableEndUserCostTrackingPrometheusOnly());
            litellm = Optional.of(l);
            MetricsListener.fromConfig(config, endpoint.registry()).ifPresent(m -> listeners.add(both(m, l)));
            closeables.add(endpoint);
        }
        // its spans come from the engine; among the listeners it reports the exporter's health
        Optional<OtelIntegration> otel = OtelIntegration.fromConfig(config, env);
        otel.ifPresent(o -> {
            listeners.add(o);
            closeables.add(o);
        });
        JsonLogsListener.fromConfig(config, env).ifPresent(l -> {
            listeners.add(scoped(s, "json_logs", l));
            closeables.add(l);
        });
        WebhookListener.fromConfig(config, env).ifPresent(l -> {
            listeners.add(scoped(s, "webhook", l));
            closeables.add(l);
        });
        return new Integrations(listeners, metrics, litellm, closeables, otel);
    }

    /**
     * A listener named only in {@code success_callback} hears only successes, one named only in
     * {@code failure_callback} only failures; in {@code callbacks} (or both lists) everything.
     */
    static EaselListener scoped(dev.easel.config.LitellmSettings s, String name, EaselListener l) {
        boolean all = s.callbacks().contains(name) || (s.successCallback().contains(name)
                && s.failureCallback().contains(name)) || ("json_logs".equals(name) && s.jsonLogs());
        if (all) {
            return l;
        }
        if (s.successCallback().contains(name)) {
            return Filtered.successesOnly(l);
        }
        if (s.failureCallback().contains(name)) {
            return Filtered.failuresOnly(l);
        }
        return l;
    }

    /**
     * One listener named {@code first}'s name that hands every event to both; if either throws, the other still
     * hears the event and the failure is passed on (the bus counts it against the integration).
     */
    static EaselListener both(EaselListener first, EaselListener second) {
        return new EaselListener() {
            @Override
            public String name() {
                return first.name();
            }

            @Override
            public void onRequest(dev.easel.callback.RequestEvent e) {
                each(l -> l.onRequest(e));
            }

            @Override
            public void onAttemptStart(dev.easel.callback.AttemptStartEvent e) {
                each(l -> l.onAttemptStart(e));
            }

            @Override
            public void onJobPoll(dev.easel.callback.JobPollEvent e) {
                each(l -> l.onJobPoll(e));
            }

            @Override
            public void onAttempt(dev.easel.callback.AttemptEvent e) {
                each(l -> l.onAttempt(e));
            }

            @Override
            public void onSuccess(dev.easel.callback.EditLogRecord r) {
                each(l -> l.onSuccess(r));
            }

            @Override
            public void onFailure(dev.easel.callback.EditLogRecord r) {
                each(l -> l.onFailure(r));
            }

            @Override
            public Health health() {
                return first.health();
            }

            private void each(java.util.function.Consumer<EaselListener> call) {
                RuntimeException failed = null;
                for (EaselListener l : List.of(first, second)) {
                    try {
                        call.accept(l);
                    } catch (RuntimeException e) {
                        if (failed == null) {
                            failed = e;
                        } else {
                            failed.addSuppressed(e);
                        }
                    }
                }
                if (failed != null) {
                    throw failed;
                }
            }
        };
    }

    List<EaselListener> listeners() {
        return listeners;
    }

    Optional<PrometheusEndpoint> metrics() {
        return metrics;
    }

    /** The OpenTelemetry SDK the engine traces with, when the config names {@code otel}. */
    Optional<OtelIntegration> otel() {
        return otel;
    }

    /** The meters under LiteLLM's names, when {@code prometheus} is on; bound to the engine once it is built. */
    Optional<LitellmMetrics> litellmMetrics() {
        return litellmMetrics;
    }

    @Override
    public void close() {
        for (AutoCloseable c : closeables) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("closing an integration failed: {}", e.toString());
            }
        }
    }
}
