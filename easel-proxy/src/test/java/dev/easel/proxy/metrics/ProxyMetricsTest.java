package dev.easel.proxy.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.callback.EaselListener;
import dev.easel.callback.ListenerBus;
import dev.easel.callback.RequestEvent;
import dev.easel.routing.InMemoryRouterState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ProxyMetricsTest {

    private final PrometheusEndpoint endpoint = PrometheusEndpoint.of(
            new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
                    io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT));
    private ListenerBus bus;

    @AfterEach
    void stop() {
        if (bus != null) {
            bus.close();
        }
        endpoint.close();
    }

    private static RequestEvent event(int i) {
        return new RequestEvent("req_" + i, Instant.EPOCH, "m", null, "proxy", null, Map.of(),
                "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", null);
    }

    private static void await(BooleanSupplier condition) {
        dev.easel.testkit.Await.until("the otel listener's queue to be empty", condition);
    }

    private PromText scrape() {
        return PromText.parse(endpoint.scrape());
    }

    @Test
    void bind_slowListener_dropsCountedPerListener_healthPerListener() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        EaselListener slow = new EaselListener() {
            @Override
            public String name() {
                return "slow";
            }

            @Override
            public void onRequest(RequestEvent e) {
                entered.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        EaselListener collector = new EaselListener() {
            @Override
            public String name() {
                return "otel";
            }

            @Override
            public Health health() {
                return Health.down("collector at 127.0.0.1:4318 refused the connection");
            }
        };
        bus = new ListenerBus(List.of(slow, collector), 1);
        ProxyMetrics.bind(endpoint, () -> 0, () -> 0, Map::of, bus);

        // the slow listener takes the first event and blocks; the next fills its queue of one; three are dropped
        bus.request(event(0));
        assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
        await(() -> bus.backlog().get("otel") == 0);
        for (int i = 1; i <= 4; i++) {
            bus.request(event(i));
            await(() -> bus.backlog().get("otel") == 0);   // the fast listener never drops
        }
        PromText m = scrape();

        assertThat(m.sum("easel_listener_dropped_events_total", "listener", "slow")).isEqualTo(3);
        assertThat(m.sum("easel_listener_dropped_events_total", "listener", "otel")).isEqualTo(0);
        assertThat(m.sum("easel_listener_backlog_events", "listener", "slow")).isEqualTo(1);
        assertThat(m.sum("easel_listener_up", "listener", "otel")).isEqualTo(0);
        assertThat(m.sum("easel_listener_up", "listener", "slow")).isEqualTo(1);
        assertThat(m.sum("easel_listener_errors_total", "listener", "slow")).isEqualTo(0);

        release.countDown();
        assertThat(bus.drain(Duration.ofSeconds(10))).isTrue();
        assertThat(scrape().sum("easel_listener_backlog_events", "listener", "slow")).isEqualTo(0);
    }

    @Test
    void bind_throwingListenerAndHealth_countedAsErrorsAndDown() throws Exception {
        EaselListener broken = new EaselListener() {
            @Override
            public String name() {
                return "webhook";
            }

            @Override
            public void onRequest(RequestEvent e) {
                throw new IllegalStateException("boom");
            }

            @Override
            public Health health() {
                throw new IllegalStateException("health check broke too");
            }
        };
        bus = new ListenerBus(List.of(broken), 10);
        ProxyMetrics.bind(endpoint, () -> 0, () -> 0, Map::of, bus);

        bus.request(event(1));
        bus.request(event(2));
        assertThat(bus.drain(Duration.ofSeconds(10))).isTrue();
        PromText m = scrape();

        assertThat(m.sum("easel_listener_errors_total", "listener", "webhook")).isEqualTo(2);
        assertThat(m.sum("easel_listener_up", "listener", "webhook")).isEqualTo(0);
    }

    @Test
    void cooldowns_fromRouterState_oneWhileResting() {
        InMemoryRouterState state = new InMemoryRouterState();
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        state.cooldown("gpt-a", now.plusSeconds(30), now);
        state.cooldown("gpt-c", now.minusSeconds(1), now);   // already over
        bus = ListenerBus.none();
        ProxyMetrics.bind(endpoint, () -> 0, () -> 0,
                ProxyMetrics.cooldowns(state, List.of("gpt-a", "gpt-b", "gpt-c"), Clock.fixed(now, ZoneOffset.UTC)),
                bus);

        PromText m = scrape();

        assertThat(m.sum("easel_deployment_cooldown", "deployment", "gpt-a")).isEqualTo(1);
        assertThat(m.sum("easel_deployment_cooldown", "deployment", "gpt-b")).isEqualTo(0);
        assertThat(m.sum("easel_deployment_cooldown", "deployment", "gpt-c")).isEqualTo(0);
    }

    @Test
    void cooldowns_deploymentSetChanges_seriesFollowAtNextScrape() {
        Map<String, Boolean> live = new ConcurrentHashMap<>(Map.of("a", true, "b", false));
        bus = ListenerBus.none();
        ProxyMetrics.bind(endpoint, () -> 0, () -> 0, () -> new LinkedHashMap<>(live), bus);
        assertThat(scrape().all("easel_deployment_cooldown")).hasSize(2);

        live.remove("b");
        live.put("a", false);
        live.put("c", true);
        PromText m = scrape();

        assertThat(m.all("easel_deployment_cooldown")).extracting(s -> s.labels().get("deployment"))
                .containsExactlyInAnyOrder("a", "c");
        assertThat(m.sum("easel_deployment_cooldown", "deployment", "a")).isEqualTo(0);
        assertThat(m.sum("easel_deployment_cooldown", "deployment", "c")).isEqualTo(1);
    }

    @Test
    void scrape_cooldownSourceThrows_otherMetricsStillServed() {
        bus = ListenerBus.none();
        ProxyMetrics.bind(endpoint, () -> 7, () -> 0, () -> {
            throw new IllegalStateException("redis down");
        }, bus);

        PromText m = scrape();

        assertThat(m.sum("easel_inflight_requests")).isEqualTo(7);
    }
}
