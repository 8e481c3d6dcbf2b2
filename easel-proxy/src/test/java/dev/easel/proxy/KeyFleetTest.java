package dev.easel.proxy;

import static dev.easel.proxy.SpendE2eFixture.fields;
import static dev.easel.proxy.SpendE2eFixture.form;
import static dev.easel.proxy.SpendE2eFixture.json;
import static dev.easel.proxy.SpendE2eFixture.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.config.ConfigLoader;
import dev.easel.testkit.Await;
import dev.easel.testkit.FakeOpenAi;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.embedded.RedisServer;

/**
 * Virtual keys across three proxies sharing one PostgreSQL (keys, spend) and one Redis (limits, budgets, cache
 * invalidation), as a fleet behind a load balancer runs: a key made on one works on all; blocked or deleted on one,
 * it stops working on every one within a second; its rpm limit and its budget hold for the fleet, not per proxy.
 */
class KeyFleetTest {

    static final String MASTER = "sk-master-fleet-keys-1234";
    static final String UPSTREAM = "sk-upstream-fleet-keys";

    static EmbeddedPostgres pg;
    static RedisServer redis;
    static int redisPort;
    static FakeOpenAi fake;

    @TempDir
    Path dir;
    final List<ProxyServer> proxies = new ArrayList<>();
    /** One time for the three proxies, mid-minute: a minute boundary never passes during a test. */
    final dev.easel.testkit.ManualClock clock =
            new dev.easel.testkit.ManualClock(java.time.Instant.parse("2026-12-07T10:00:05Z"));
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void servers() throws Exception {
        pg = EmbeddedPostgres.builder().start();
        try (ServerSocket s = new ServerSocket(0)) {
            redisPort = s.getLocalPort();
        }
        redis = RedisServer.newRedisServer().bind("127.0.0.1").port(redisPort).setting("save \"\"")
                .setting("appendonly no").build();
        redis.start();
        fake = FakeOpenAi.builder().apiKey(UPSTREAM).start();
    }

    @AfterAll
    static void stopServers() throws Exception {
        if (fake != null) {
            fake.close();
        }
        if (redis != null) {
            redis.stop();
        }
        if (pg != null) {
            pg.close();
        }
    }

    @BeforeEach
    void startProxies() {
        fake.reset();
        String yaml = """
                model_list:
                  - model_name: dall-e-2
                    litellm_params: {model: openai/dall-e-2, api_key: %s, api_base: "%s"}
                router_settings:
                  num_retries: 0
                  redis_url: redis://127.0.0.1:%d
                  redis_key_prefix: "keyfleet-%d:"
                general_settings:
                  master_key: %s
                  database_url: postgresql://postgres@127.0.0.1:%d/postgres
                """.formatted(UPSTREAM, fake.baseUrl(), redisPort, System.nanoTime(), MASTER, pg.getPort());
        var config = ConfigLoader.parse(yaml, Map.of(), "fleet.yaml");
        for (int i = 0; i < 3; i++) {
            proxies.add(ProxyServer.start(ProxyOptions.of(config).listen("127.0.0.1", 0)
                    .withDataDir(dir.resolve("proxy-" + i)).withPrivateImageUrls(true), clock));
        }
    }

    @AfterEach
    void stopProxies() {
        proxies.forEach(ProxyServer::close);
    }

    private HttpResponse<byte[]> send(HttpRequest r) {
        try {
            return http.send(r, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private HttpResponse<byte[]> admin(int proxy, String path, String body) {
        return send(HttpRequest.newBuilder(uri(proxy, path)).header("Authorization", "Bearer " + MASTER)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    private HttpResponse<byte[]> edit(int proxy, String key) {
        RawMultipart m = form("dall-e-2", fields("size", "256x256"));
        return send(HttpRequest.newBuilder(uri(proxy, "/v1/images/edits")).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + key).header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(m.build())).build());
    }

    private URI uri(int proxy, String path) {
        return proxies.get(proxy).baseUri().resolve(path);
    }

    private String generate(int proxy, String body) {
        HttpResponse<byte[]> r = admin(proxy, "/key/generate", body);
        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        return json(r).path("key").asText();
    }

    private static String code(HttpResponse<byte[]> r) {
        return json(r).path("error").path("code").asText();
    }

    @Test
    void blockedOrDeletedOnOneProxy_stopsOnEveryProxyWithinASecond() {
        String key = generate(0, "{\"key_alias\":\"fleet-key\"}");
        for (int p = 0; p < 3; p++) { // every proxy has it cached now
            assertThat(edit(p, key).statusCode()).isEqualTo(200);
        }
        assertThat(admin(0, "/key/block", "{\"key\":\"" + key + "\"}").statusCode()).isEqualTo(200);
        for (int p = 1; p < 3; p++) {
            int proxy = p;
            Await.until("proxy " + p + " refuses the blocked key", Duration.ofSeconds(1),
                    () -> "key_blocked".equals(code(edit(proxy, key))));
        }
        assertThat(admin(1, "/key/unblock", "{\"key\":\"" + key + "\"}").statusCode()).isEqualTo(200);
        for (int p : new int[] {0, 2}) {
            int proxy = p;
            Await.until("proxy " + p + " takes the unblocked key", Duration.ofSeconds(1),
                    () -> edit(proxy, key).statusCode() == 200);
        }
        assertThat(admin(2, "/key/delete", "{\"keys\":[\"" + key + "\"]}").statusCode()).isEqualTo(200);
        for (int p = 0; p < 2; p++) {
            int proxy = p;
            Await.until("proxy " + p + " refuses the deleted key", Duration.ofSeconds(1),
                    () -> "invalid_api_key".equals(code(edit(proxy, key))));
        }
    }

    @Test
    void rpmLimit_holdsForTheFleet_notPerProxy() {
        String key = generate(0, "{\"key_alias\":\"fleet-rpm\",\"rpm_limit\":6}");
        int ok = 0;
        int limited = 0;
        for (int i = 0; i < 12; i++) {
            HttpResponse<byte[]> r = edit(i % 3, key);
            if (r.statusCode() == 200) {
                ok++;
            } else {
                assertThat(code(r)).as(text(r)).isEqualTo("rate_limit_exceeded");
                limited++;
            }
        }
        assertThat(ok).isEqualTo(6);
        assertThat(limited).isEqualTo(6);
        assertThat(fake.requestCount()).isEqualTo(6);
        clock.advance(Duration.ofMinutes(1)); // the next minute, on every proxy
        assertThat(edit(2, key).statusCode()).isEqualTo(200);
    }

    @Test
    void keyBudget_concurrentRequestsOnThreeProxies_neverOverspendIt() throws Exception {
        // 0.016 each, budget 0.1: at most 6 of 30 concurrent requests may pass, wherever they land
        String key = generate(1, "{\"key_alias\":\"fleet-budget\",\"max_budget\":0.1}");
        fake.holdAnswers();
        ExecutorService pool = Executors.newFixedThreadPool(30);
        List<Future<HttpResponse<byte[]>>> all = new ArrayList<>();
        try {
            for (int i = 0; i < 30; i++) {
                int proxy = i % 3;
                all.add(pool.submit(() -> edit(proxy, key)));
            }
            Await.until("6 requests upstream", () -> fake.requestCount() >= 6);
            fake.releaseAnswers();
            int ok = 0;
            for (Future<HttpResponse<byte[]>> f : all) {
                HttpResponse<byte[]> r = f.get();
                if (r.statusCode() == 200) {
                    ok++;
                } else {
                    assertThat(code(r)).as(text(r)).isEqualTo("budget_exceeded");
                }
            }
            assertThat(ok).isEqualTo(6);
            assertThat(fake.requestCount()).isEqualTo(6);
        } finally {
            fake.releaseAnswers();
            pool.shutdownNow();
        }
    }
}
