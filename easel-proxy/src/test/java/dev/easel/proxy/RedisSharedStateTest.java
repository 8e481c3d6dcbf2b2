package dev.easel.proxy;

import static dev.easel.proxy.RoutingFixtures.config;
import static dev.easel.proxy.RoutingFixtures.deployment;
import static dev.easel.proxy.RoutingFixtures.fake;
import static dev.easel.proxy.RoutingFixtures.header;
import static dev.easel.proxy.RoutingFixtures.post;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.proxy.RoutingFixtures.Form;
import dev.easel.testkit.Await;
import dev.easel.testkit.FakeOpenAi;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.embedded.RedisServer;

/** Two proxies on one real Redis share the router's limits: the fleet holds a deployment's rpm, not each proxy. */
class RedisSharedStateTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dirA;
    @TempDir
    Path dirB;

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String redisConfig(FakeOpenAi upstream, int redisPort, String... more) {
        List<String> settings = new ArrayList<>(List.of("redis_host: 127.0.0.1", "redis_port: " + redisPort));
        settings.addAll(List.of(more));
        return config(List.of(deployment("img", "only", "gpt-image-1.5", upstream, "sk-a", "rpm: 3")),
                settings.toArray(String[]::new));
    }

    @Test
    void twoProxiesOnOneRedis_rpm3_tenConcurrentEditsAcrossBoth_exactlyThreeReachTheProvider() throws Exception {
        int port = freePort();
        RedisServer redis = new RedisServer(port);
        redis.start();
        try (FakeOpenAi upstream = fake("sk-a").defaultLatency(Duration.ofMillis(200));
             ProxyServer a = RoutingFixtures.start(redisConfig(upstream, port), dirA);
             ProxyServer b = RoutingFixtures.start(redisConfig(upstream, port), dirB)) {
            assertThat(a.warnings()).noneMatch(w -> w.contains("redis")); // the proxy does share its state
            awayFromMinuteBoundary();
            List<HttpResponse<String>> answers = concurrently(10, i -> post(i % 2 == 0 ? a : b, Form.simple("img")));

            assertThat(upstream.requestCount()).isEqualTo(3);
            assertThat(answers).filteredOn(r -> r.statusCode() == 200).hasSize(3);
            List<HttpResponse<String>> refused = answers.stream().filter(r -> r.statusCode() != 200).toList();
            assertThat(refused).hasSize(7).allSatisfy(r -> {
                assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
                assertThat(Long.parseLong(header(r, "Retry-After"))).isBetween(1L, 60L);
                JsonNode error = JSON.readTree(r.body()).path("error");
                assertThat(error.path("code").asText()).isEqualTo("no_deployment_available");
            });
            // both proxies count the fleet's requests, and free every slot
            assertThat(a.routerState().requestsThisMinute("only", Instant.now())).isEqualTo(3);
            assertThat(b.routerState().inflight("only")).isZero();
            Await.until("both proxies to see two replicas", () -> redisHealth(a).path("replicas").asInt() == 2
                    && redisHealth(b).path("replicas").asInt() == 2);
            assertThat(redisHealth(a).path("status").asText()).isEqualTo("up");
            assertThat(redisHealth(a).path("url").asText()).isEqualTo("redis://127.0.0.1:" + port + "/0");
        } finally {
            redis.stop();
        }
    }

    @Test
    void redisDownAtStart_theProxyStartsAndServesByTheFallback_thenUsesRedisOnceItIsUp() throws Exception {
        int port = freePort();
        try (FakeOpenAi upstream = fake("sk-a");
             ProxyServer proxy = RoutingFixtures.start(redisConfig(upstream, port)
                     + "litellm_settings:\n  callbacks: [prometheus]\n", dirA)) {
            assertThat(proxy.state()).isEqualTo(ProxyServer.State.READY);
            assertThat(metrics(proxy)).contains("easel_redis_up 0.0", "easel_redis_replicas 1.0");
            JsonNode health = redisHealth(proxy);
            assertThat(health.path("status").asText()).isEqualTo("unavailable");
            assertThat(health.path("last_error").asText()).contains("127.0.0.1");
            long before = health.path("fallbacks").asLong(); // the scrape above read cooldowns by the fallback

            assertThat(post(proxy, Form.simple("img")).statusCode()).isEqualTo(200);
            assertThat(redisHealth(proxy).path("fallbacks").asLong()).isGreaterThan(before);
            assertThat(metrics(proxy)).containsPattern("easel_redis_fallbacks_total [1-9]");

            RedisServer redis = new RedisServer(port);
            redis.start();
            try {
                Await.until("the proxy to reach Redis", () -> redisHealth(proxy).path("status").asText().equals("up"));
                awayFromMinuteBoundary();
                assertThat(post(proxy, Form.simple("img")).statusCode()).isEqualTo(200);
                assertThat(proxy.routerState().requestsThisMinute("only", Instant.now())).isEqualTo(1);
                assertThat(metrics(proxy)).contains("easel_redis_up 1.0");
            } finally {
                redis.stop();
            }
        }
    }

    @Test
    void refusePolicy_redisDown_anEditOnARateLimitedDeploymentIs503NamingThePolicy() throws Exception {
        int port = freePort();
        try (FakeOpenAi upstream = fake("sk-a");
             ProxyServer proxy = RoutingFixtures.start(redisConfig(upstream, port,
                     "redis_unavailable_rate_limits: refuse"), dirA)) {
            HttpResponse<String> r = post(proxy, Form.simple("img"));

            assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
            JsonNode error = JSON.readTree(r.body()).path("error");
            assertThat(error.path("code").asText()).isEqualTo("redis_unavailable");
            assertThat(error.path("message").asText()).contains("router_settings.redis_unavailable_rate_limits: "
                    + "refuse");
            assertThat(upstream.requestCount()).isZero();
        }
    }

    private static String metrics(ProxyServer proxy) {
        return get(proxy, "/metrics");
    }

    private static String get(ProxyServer proxy, String path) {
        try {
            return RoutingFixtures.CLIENT.send(HttpRequest.newBuilder(URI.create(proxy.baseUri() + path)).GET()
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static JsonNode redisHealth(ProxyServer proxy) {
        try {
            HttpResponse<String> r = RoutingFixtures.CLIENT.send(HttpRequest.newBuilder(
                    URI.create(proxy.baseUri() + "/health/readiness")).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            return JSON.readTree(r.body()).path("redis");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static <T> List<T> concurrently(int n, java.util.function.IntFunction<T> request) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<T>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                int k = i;
                futures.add(pool.submit(() -> {
                    go.await();
                    return request.apply(k);
                }));
            }
            go.countDown();
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                out.add(f.get(60, TimeUnit.SECONDS));
            }
            return out;
        }
    }

    /** The test's requests must land in one minute window. */
    private static void awayFromMinuteBoundary() {
        while (Instant.now().getEpochSecond() % 60 >= 55) {
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
    }
}
