package dev.easel.proxy.metrics;

import dev.easel.callback.EaselListener;
import dev.easel.callback.ListenerBus;
import dev.easel.redis.SharedRouterState;
import dev.easel.routing.RouterState;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The gauges that read the proxy's own state: requests and upload bytes in flight, which deployments are
 * cooling down, and the listener bus (events dropped, listener failures, backlog, integration health).
 * Names as rendered on {@code /metrics}: {@code easel_inflight_requests}, {@code easel_inflight_upload_bytes},
 * {@code easel_deployment_cooldown{deployment}}, {@code easel_listener_dropped_events_total{listener}},
 * {@code easel_listener_errors_total{listener}}, {@code easel_listener_backlog_events{listener}},
 * {@code easel_listener_up{listener}}; with router state shared through Redis also {@code easel_redis_up},
 * {@code easel_redis_replicas} and {@code easel_redis_fallbacks_total}.
 */
public final class ProxyMetrics {

    private final ListenerBus bus;
    private final Supplier<Map<String, Boolean>> cooldowns;
    private final MultiGauge cooldownGauge;

    private ProxyMetrics(MeterRegistry registry, Supplier<Map<String, Boolean>> cooldowns, ListenerBus bus) {
        this.bus = bus;
        this.cooldowns = cooldowns;
        this.cooldownGauge = MultiGauge.builder("easel.deployment.cooldown")
                .description("1 while a deployment is resting after failures, else 0").register(registry);
    }

    /**
     * Registers the proxy's gauges on {@code endpoint}'s registry; the cooldown series are refreshed before
     * every scrape (deployments may come and go).
     *
     * @param endpoint            where the gauges live
     * @param inflight            requests being handled now
     * @param inflightUploadBytes upload bytes held now (memory and spool)
     * @param cooldowns           per deployment id, whether it is resting now (see {@link #cooldowns})
     * @param bus                 the listener bus ({@code Easel.listeners()})
     */
    public static ProxyMetrics bind(PrometheusEndpoint endpoint, IntSupplier inflight, LongSupplier inflightUploadBytes,
                                    Supplier<Map<String, Boolean>> cooldowns, ListenerBus bus) {
        Objects.requireNonNull(inflight, "inflight");
        Objects.requireNonNull(inflightUploadBytes, "inflightUploadBytes");
        MeterRegistry registry = endpoint.registry();
        ProxyMetrics m = new ProxyMetrics(registry, Objects.requireNonNull(cooldowns, "cooldowns"),
                Objects.requireNonNull(bus, "bus"));
        Gauge.builder("easel.inflight.requests", inflight::getAsInt).description("Requests being handled now")
                .register(registry);
        Gauge.builder("easel.inflight.upload.bytes", inflightUploadBytes::getAsLong)
                .description("Upload bytes held now (memory and spool) across requests").register(registry);
        for (String name : m.listenerNames()) {
            Tags tags = Tags.of("listener", name);
            // ProxyMetrics is the meters' (weakly referenced) state; the endpoint's refresh task holds it
            FunctionCounter.builder("easel.listener.dropped.events", m, p -> p.bus.dropped().getOrDefault(name, 0L))
                    .description("Events dropped because the listener's queue was full").tags(tags)
                    .register(registry);
            FunctionCounter.builder("easel.listener.errors", m, p -> p.bus.errors().getOrDefault(name, 0L))
                    .description("Events whose listener threw").tags(tags).register(registry);
            Gauge.builder("easel.listener.backlog.events", m, p -> p.bus.backlog().getOrDefault(name, 0))
                    .description("Events waiting in the listener's queue").tags(tags).register(registry);
            Gauge.builder("easel.listener.up", m, p -> p.up(name) ? 1 : 0)
                    .description("1 when the integration can deliver (its health is up), else 0").tags(tags)
                    .register(registry);
        }
        endpoint.beforeScrape(m::refresh);
        return m;
    }

    /**
     * Registers the gauges of the router state shared through Redis: {@code easel_redis_up} (1 while Redis answers,
     * else 0), {@code easel_redis_replicas} (replicas last seen in the fleet) and {@code easel_redis_fallbacks_total}
     * (router state calls the in-process fallback answered, or refused, because Redis was unavailable).
     */
    public static void bindRedis(MeterRegistry registry, SharedRouterState state) {
        Objects.requireNonNull(state, "state");
        // the state is the meters' (weakly referenced) object: the proxy holds it as long as it runs
        Gauge.builder("easel.redis.up", state, s -> s.link().up() ? 1 : 0)
                .description("1 while the Redis that shares router state answers, else 0").register(registry);
        Gauge.builder("easel.redis.replicas", state, s -> s.fleet().replicas())
                .description("Replicas sharing router state, as last seen in Redis").register(registry);
        FunctionCounter.builder("easel.redis.fallbacks", state, SharedRouterState::fallbacks)
                .description("Router state calls served by the in-process fallback (or refused) while Redis was "
                        + "unavailable").register(registry);
    }

    /**
     * Cooldown state read from the router's state: for each of {@code deploymentIds}, whether
     * {@link RouterState#cooldownUntil} says it is resting at {@code clock}'s now.
     */
    public static Supplier<Map<String, Boolean>> cooldowns(RouterState state, Collection<String> deploymentIds,
                                                           Clock clock) {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(clock, "clock");
        List<String> ids = List.copyOf(deploymentIds);
        return () -> {
            Instant now = clock.instant();
            Map<String, Boolean> out = new LinkedHashMap<>();
            for (String id : ids) {
                out.put(id, state.cooldownUntil(id, now).isPresent());
            }
            return out;
        };
    }

    /** Re-reads the cooldown state (done before every scrape). */
    void refresh() {
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        cooldowns.get().forEach((id, resting) ->
                rows.add(MultiGauge.Row.of(Tags.of("deployment", id), Boolean.TRUE.equals(resting) ? 1 : 0)));
        cooldownGauge.register(rows, true);
    }

    private Set<String> listenerNames() {
        Set<String> names = new LinkedHashSet<>();
        bus.listeners().forEach(l -> names.add(l.name()));
        return names;
    }

    /** Up when every listener of that name reports up; a health check that throws counts as down. */
    private boolean up(String name) {
        for (EaselListener l : bus.listeners()) {
            if (l.name().equals(name)) {
                try {
                    if (!l.health().up()) {
                        return false;
                    }
                } catch (RuntimeException e) {
                    return false;
                }
            }
        }
        return true;
    }
}
