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
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Limits taken before the upstream call (rpm, {@code max_parallel_requests} per deployment, per key and for the
 * whole proxy), auth failover within a group, the whole-request timeout and per-deployment retries, through the
 * real proxy with many concurrent clients. Concurrency is measured in the fake upstream
 * ({@link FakeOpenAi#maxEditsInFlight()}).
 */
class RoutingLimitsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dataDir;

    // ---- rpm ------------------------------------------------------------------------------------------

    @Test
    void rpm1_tenConcurrentRequests_exactlyOneReachesTheProvider_theRestGet429WithRetryAfter() throws Exception {
        try (FakeOpenAi upstream = fake("sk-a").defaultLatency(Duration.ofMillis(300));
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("img", "only", "gpt-image-1.5", upstream, "sk-a", "rpm: 1"))), dataDir)) {
            awayFromMinuteBoundary();
            List<HttpResponse<String>> answers = concurrently(10, () -> post(proxy, Form.simple("img")));

            assertThat(upstream.requestCount()).isEqualTo(1);
            assertThat(answers).filteredOn(r -> r.statusCode() == 200).hasSize(1);
            List<HttpResponse<String>> refused = answers.stream().filter(r -> r.statusCode() != 200).toList();
            assertThat(refused).hasSize(9);
            for (HttpResponse<String> r : refused) {
                assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
                JsonNode error = JSON.readTree(r.body()).path("error");
                assertThat(error.path("type").asText()).isEqualTo("rate_limit_error");
                assertThat(error.path("code").asText()).isEqualTo("no_deployment_available");
                assertThat(error.path("message").asText()).startsWith("no deployment of 'img' is available right now");
                long retryAfter = Long.parseLong(header(r, "Retry-After"));
                // seconds to the next minute window
                assertThat(retryAfter).isBetween(1L, 60L);
            }
        }
    }

    @Test
    void rpm1_tenConcurrentRequests_oneToThePrimary_theOthersToTheFallback() {
        try (FakeOpenAi primary = fake("sk-p").defaultLatency(Duration.ofMillis(300)); FakeOpenAi backup = fake("sk-b");
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                             deployment("primary", "p", "gpt-image-1.5", primary, "sk-p", "rpm: 1"),
                             deployment("backup", "b", "gpt-image-1.5", backup, "sk-b")),
                     "fallbacks: [{\"primary\": [\"backup\"]}]"), dataDir)) {
            awayFromMinuteBoundary();
            List<HttpResponse<String>> answers = concurrently(10, () -> post(proxy, Form.simple("primary")));

            assertThat(answers).allSatisfy(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(200));
            assertThat(primary.requestCount()).isEqualTo(1);
            assertThat(backup.requestCount()).isEqualTo(9);
            assertThat(answers).filteredOn(r -> header(r, "x-easel-model-group").equals("backup")).hasSize(9);
        }
    }

    // ---- max_parallel_requests per deployment ------------------------------------------------------------

    @Test
    void maxParallelRequests2_twentyConcurrent_neverMoreThanTwoUpstream_andEveryOneIsServed() {
        try (FakeOpenAi upstream = fake("sk-a").defaultLatency(Duration.ofMillis(150));
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("img", "only", "gpt-image-1.5", upstream, "sk-a", "max_parallel_requests: 2")),
                     "max_parallel_waiters: 100"), dataDir)) {
            List<HttpResponse<String>> answers = concurrently(20, () -> post(proxy, Form.simple("img")));

            assertThat(answers).allSatisfy(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(200));
            assertThat(upstream.requestCount()).isEqualTo(20);
            assertThat(upstream.maxEditsInFlight()).isEqualTo(2);
            assertThat(proxy.routerState().inflight("only")).isZero();
        }
    }

    @Test
    void defaultMaxParallelRequests_appliesToEveryDeploymentWithoutItsOwn() {
        try (FakeOpenAi a = fake("sk-a").defaultLatency(Duration.ofMillis(150));
             FakeOpenAi b = fake("sk-b").defaultLatency(Duration.ofMillis(150));
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                             deployment("img", "a", "gpt-image-1.5", a, "sk-a"),
                             deployment("img", "b", "gpt-image-1.5", b, "sk-b", "max_parallel_requests: 3")),
                     "default_max_parallel_requests: 1"), dataDir)) {
            List<HttpResponse<String>> answers = concurrently(16, () -> post(proxy, Form.simple("img")));

            assertThat(answers).allSatisfy(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(200));
            assertThat(a.maxEditsInFlight()).isEqualTo(1);
            assertThat(b.maxEditsInFlight()).isBetween(1, 3);
            assertThat(a.requestCount() + b.requestCount()).isEqualTo(16);
        }
    }

    @Test
    void maxParallelRequests1_waitQueueOfTwo_threeServed_threeRefusedAtOnceWith429() throws Exception {
        try (FakeOpenAi upstream = fake("sk-a").defaultLatency(Duration.ofSeconds(1));
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("img", "only", "gpt-image-1.5", upstream, "sk-a", "max_parallel_requests: 1")),
                     "max_parallel_waiters: 2", "max_parallel_wait: 20"), dataDir)) {
            List<HttpResponse<String>> answers = concurrently(6, () -> post(proxy, Form.simple("img")));

            assertThat(answers).filteredOn(r -> r.statusCode() == 200).hasSize(3);
            List<HttpResponse<String>> refused = answers.stream().filter(r -> r.statusCode() != 200).toList();
            assertThat(refused).hasSize(3);
            for (HttpResponse<String> r : refused) {
                assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
                assertThat(header(r, "Retry-After")).isEqualTo("1");
                JsonNode error = JSON.readTree(r.body()).path("error");
                assertThat(error.path("type").asText()).isEqualTo("rate_limit_error");
                assertThat(error.path("code").asText()).isEqualTo("parallel_limit_reached");
                assertThat(error.path("message").asText()).isEqualTo("every deployment of 'img' is at its "
                        + "max_parallel_requests and 2 requests are already waiting "
                        + "(router_settings.max_parallel_waiters); retry in 1 s");
            }
            assertThat(upstream.requestCount()).isEqualTo(3);
            assertThat(upstream.maxEditsInFlight()).isEqualTo(1);
            assertThat(proxy.routerState().inflight("only")).isZero();
        }
    }

    @Test
    void maxParallelRequests1_waitLongerThanMaxParallelWait_429() throws Exception {
        try (FakeOpenAi upstream = fake("sk-a").defaultLatency(Duration.ofSeconds(2));
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("img", "only", "gpt-image-1.5", upstream, "sk-a", "max_parallel_requests: 1")),
                     "max_parallel_wait: 0.2"), dataDir)) {
            List<HttpResponse<String>> answers = concurrently(2, () -> post(proxy, Form.simple("img")));

            assertThat(answers).filteredOn(r -> r.statusCode() == 200).hasSize(1);
            HttpResponse<String> refused = answers.stream().filter(r -> r.statusCode() != 200).findFirst().orElseThrow();
            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(header(refused, "Retry-After")).isEqualTo("1");
            assertThat(JSON.readTree(refused.body()).path("error").path("message").asText()).isEqualTo(
                    "every deployment of 'img' is at its max_parallel_requests and no slot freed within 0.2 s "
                            + "(router_settings.max_parallel_wait); retry in 1 s");
            assertThat(upstream.requestCount()).isEqualTo(1);
        }
    }

    @Test
    void maxParallelRequests1_aStreamKeepsItsSlotUntilItEnds() {
        try (FakeOpenAi upstream = fake("sk-a").streamEventDelay(Duration.ofMillis(400))) {
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                    deployment("img", "only", "gpt-image-1.5", upstream, "sk-a", "max_parallel_requests: 1"))),
                    dataDir)) {
                ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
                try {
                    Future<HttpResponse<String>> stream = pool.submit(() -> post(proxy,
                            Form.simple("img").field("stream", "true").field("partial_images", "2")));
                    EdgeSupport.await("the stream to start upstream", () -> upstream.editsInFlight() == 1);
                    HttpResponse<String> plain = post(proxy, Form.simple("img"));
                    assertThat(plain.statusCode()).as(plain.body()).isEqualTo(200);
                    assertThat(stream.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
                } catch (Exception e) {
                    throw new AssertionError(e);
                } finally {
                    pool.shutdownNow();
                }
                // the plain edit waited for the stream to end instead of running beside it
                assertThat(upstream.maxEditsInFlight()).isEqualTo(1);
                assertThat(upstream.requestCount()).isEqualTo(2);
                EdgeSupport.await("the stream's slot to be freed", () -> proxy.routerState().inflight("only") == 0);
            }
        }
    }

    // ---- proxy-wide limits ------------------------------------------------------------------------------

    @Test
    void globalMaxParallelRequests_limitsEditsInFlightAcrossEveryGroup() {
        try (FakeOpenAi upstream = fake("sk-a").defaultLatency(Duration.ofMillis(150));
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("one", "one", "gpt-image-1.5", upstream, "sk-a"),
                     deployment("two", "two", "gpt-image-1", upstream, "sk-a")))
                     + "general_settings:\n  global_max_parallel_requests: 2\n", dataDir)) {
            int[] n = {0};
            List<HttpResponse<String>> answers = concurrently(16, () -> {
                synchronized (n) {
                    n[0]++;
                }
                return post(proxy, Form.simple(n[0] % 2 == 0 ? "one" : "two"));
            });

            assertThat(answers).allSatisfy(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(200));
            assertThat(upstream.maxEditsInFlight()).isEqualTo(2);
            // the slots are given back once the handler is done, just after the answer went out
            EdgeSupport.await("every proxy slot to be given back", () -> proxy.parallelLimits().inflight() == 0);
        }
    }

    @Test
    void globalMaxParallelRequests_queueFull_429WithRetryAfterAndOpenAiError() throws Exception {
        try (FakeOpenAi upstream = fake("sk-a").defaultLatency(Duration.ofSeconds(1));
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("img", "only", "gpt-image-1.5", upstream, "sk-a")))
                     + "general_settings:\n  global_max_parallel_requests: 1\n  max_parallel_waiters: 1\n"
                     + "litellm_settings:\n  callbacks: [prometheus]\n", dataDir)) {
            List<HttpResponse<String>> answers = concurrently(5, () -> post(proxy, Form.simple("img")));

            assertThat(answers).filteredOn(r -> r.statusCode() == 200).hasSize(2);
            List<HttpResponse<String>> refused = answers.stream().filter(r -> r.statusCode() != 200).toList();
            assertThat(refused).hasSize(3);
            for (HttpResponse<String> r : refused) {
                assertThat(r.statusCode()).isEqualTo(429);
                assertThat(header(r, "Retry-After")).isEqualTo("1");
                JsonNode error = JSON.readTree(r.body()).path("error");
                assertThat(error.path("type").asText()).isEqualTo("rate_limit_error");
                assertThat(error.path("code").asText()).isEqualTo("parallel_limit_reached");
                assertThat(error.path("message").asText()).isEqualTo("the proxy is at its "
                        + "general_settings.global_max_parallel_requests (1 edit in flight) and 1 request is "
                        + "already waiting (general_settings.max_parallel_waiters); retry in 1 s");
            }
            assertThat(upstream.requestCount()).isEqualTo(2);
            // the slots are given back once the handler is done, just after the answer went out
            EdgeSupport.await("every proxy slot to be given back", () -> proxy.parallelLimits().inflight() == 0);
            HttpResponse<String> metrics = send(HttpRequest.newBuilder(proxy.baseUri().resolve("/metrics")).GET()
                    .build());
            assertThat(metrics.body()).contains("easel_parallel_refused_total{limit=\"global_max_parallel_requests\"} 3.0")
                    .contains("easel_parallel_refused_total{limit=\"max_parallel_requests\"} 0.0");
        }
    }

    @Test
    void keyMaxParallelRequests_appliesPerPresentedKey() {
        try (FakeOpenAi upstream = fake("sk-a").defaultLatency(Duration.ofMillis(150));
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("img", "only", "gpt-image-1.5", upstream, "sk-a")))
                     + "general_settings:\n  master_key: sk-master\n  max_parallel_requests: 1\n", dataDir)) {
            List<HttpResponse<String>> answers = concurrently(6, () -> send(Form.simple("img")
                    .request(proxy.baseUri()).header("Authorization", "Bearer sk-master").build()));

            assertThat(answers).allSatisfy(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(200));
            assertThat(upstream.maxEditsInFlight()).isEqualTo(1);
            // the slots are given back once the handler is done, just after the answer went out
            EdgeSupport.await("every proxy slot to be given back", () -> proxy.parallelLimits().inflight() == 0);
        }
    }

    // ---- 401/403 from one deployment --------------------------------------------------------------------

    @Test
    void unauthorizedDeployment_healthyTwinServes_clientNeverSees401() {
        try (FakeOpenAi good = fake("sk-good"); FakeOpenAi revoked = fake("sk-current");
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                             deployment("img", "good", "gpt-image-1.5", good, "sk-good", "order: 2"),
                             deployment("img", "revoked", "gpt-image-1.5", revoked, "sk-revoked-1234", "order: 1")),
                     "num_retries: 1", "cooldown_time: 60"), dataDir)) {
            for (int i = 0; i < 5; i++) {
                HttpResponse<String> r = post(proxy, Form.simple("img"));
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-deployment")).isEqualTo("good");
                assertThat(header(r, "x-easel-attempted-retries")).isEqualTo(i == 0 ? "1" : "0");
            }
            // asked once (the first request), then rested: order 1 would otherwise have taken every request
            assertThat(revoked.requestCount()).isEqualTo(1);
            assertThat(good.requestCount()).isEqualTo(5);
        }
    }

    @Test
    void forbiddenOnEveryDeployment_clientGetsTheProvidersError_unchanged() throws Exception {
        try (FakeOpenAi a = fake("sk-a"); FakeOpenAi b = fake("sk-b")) {
            a.enqueue(FakeResponse.error(403, "invalid_request_error", "unsupported_country_region_territory",
                    "Country, region, or territory not supported"));
            b.enqueue(FakeResponse.error(403, "invalid_request_error", "unsupported_country_region_territory",
                    "Country, region, or territory not supported"));
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("img", "a", "gpt-image-1.5", a, "sk-a", "order: 1"),
                            deployment("img", "b", "gpt-image-1.5", b, "sk-b", "order: 2")),
                    "num_retries: 3"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("img"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
                JsonNode error = JSON.readTree(r.body()).path("error");
                assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
                assertThat(error.path("code").asText()).isEqualTo("unsupported_country_region_territory");
                assertThat(error.path("message").asText()).startsWith("Country, region, or territory not supported");
                // each deployment once: never the same one again after its 403
                assertThat(a.requestCount()).isEqualTo(1);
                assertThat(b.requestCount()).isEqualTo(1);
            }
        }
    }

    // ---- router_settings.timeout, stream_timeout, max_retries ----------------------------------------------

    @Test
    void routerTimeout_slowUpstream_504TimeoutErrorWhenTheWholeRequestTimeIsUp() throws Exception {
        try (FakeOpenAi slow = fake("sk-a").defaultLatency(Duration.ofSeconds(5));
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                             deployment("img", "slow", "gpt-image-1.5", slow, "sk-a", "timeout: 30")),
                     "timeout: 1", "num_retries: 3", "retry_on_timeout: true"), dataDir)) {
            long t0 = System.nanoTime();
            HttpResponse<String> r = post(proxy, Form.simple("img"));
            Duration took = Duration.ofNanos(System.nanoTime() - t0);

            assertThat(r.statusCode()).as(r.body()).isEqualTo(504);
            JsonNode error = JSON.readTree(r.body()).path("error");
            assertThat(error.path("type").asText()).isEqualTo("timeout_error");
            assertThat(error.path("code").asText()).isEqualTo("timeout");
            assertThat(error.path("message").asText()).startsWith("the request took longer than its time limit of "
                    + "1 s (router_settings.timeout: waits, retries and fallbacks included)");
            assertThat(took).isLessThan(Duration.ofMillis(2500));
            assertThat(slow.requestCount()).isEqualTo(1);
        }
    }

    @Test
    void streamTimeout_appliesToStreamedCalls_plainCallsKeepTheirTimeout() throws Exception {
        try (FakeOpenAi slow = fake("sk-a").defaultLatency(Duration.ofMillis(1500));
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("img", "slow", "gpt-image-1.5", slow, "sk-a", "stream_timeout: 0.3")),
                     "num_retries: 0"), dataDir)) {
            HttpResponse<String> plain = post(proxy, Form.simple("img"));
            assertThat(plain.statusCode()).as(plain.body()).isEqualTo(200);

            long t0 = System.nanoTime();
            HttpResponse<String> streamed = post(proxy, Form.simple("img").field("stream", "true"));
            assertThat(streamed.statusCode()).as(streamed.body()).isEqualTo(504);
            assertThat(JSON.readTree(streamed.body()).path("error").path("type").asText()).isEqualTo("timeout_error");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(1400));
        }
    }

    @Test
    void routerStreamTimeout_boundsTheStartOfAStream_notTheSilenceBetweenItsEvents() throws Exception {
        // the deadline may end the wait for a stream to start; once events flow the edit is under way (and paid
        // for), and the deployment's own timeout guards the silences between events. Before, the time left
        // before the deadline cut a started stream after its first partial image.
        try (FakeOpenAi paced = fake("sk-a").streamEventDelay(Duration.ofMillis(1300)); // gaps longer than 1 s
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                             deployment("img", "paced", "gpt-image-1.5", paced, "sk-a", "timeout: 30")),
                     "stream_timeout: 1", "num_retries: 0"), dataDir)) {
            HttpResponse<String> r = post(proxy, Form.simple("img").field("stream", "true")
                    .field("partial_images", "1"));

            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).contains("event: image_edit.partial_image").contains("event: image_edit.completed")
                    .doesNotContain("\"error\"");
        }
    }

    @Test
    void maxRetries_sameDeploymentRetriedBeforeTheRouterGivesUp() {
        try (FakeOpenAi flaky = fake("sk-a")) {
            flaky.enqueue(FakeResponse.serverError());
            flaky.enqueue(FakeResponse.serverError());
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("img", "flaky", "gpt-image-1.5", flaky, "sk-a", "max_retries: 2")),
                    "num_retries: 0", "allowed_fails: 1"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("img"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(flaky.requestCount()).isEqualTo(3);
                assertThat(header(r, "x-easel-attempted-retries")).isEqualTo("2");
                // the deployment's own retries are one failure for allowed_fails, and it succeeded: not rested
                HttpResponse<String> next = post(proxy, Form.simple("img"));
                assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
                assertThat(flaky.requestCount()).isEqualTo(4);
            }
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    /** Runs {@code n} requests at once (released together by a latch) and returns every answer. */
    static <T> List<T> concurrently(int n, Supplier<T> request) {
        CountDownLatch ready = new CountDownLatch(n);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<T>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                futures.add(pool.submit(() -> {
                    ready.countDown();
                    go.await();
                    return request.get();
                }));
            }
            try {
                assertThat(ready.await(10, TimeUnit.SECONDS)).isTrue();
                go.countDown();
                List<T> out = new ArrayList<>();
                for (Future<T> f : futures) {
                    out.add(f.get(60, TimeUnit.SECONDS));
                }
                return out;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }

    private static HttpResponse<String> send(HttpRequest request) {
        try {
            return RoutingFixtures.CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * rpm windows are calendar minutes: a burst that straddles one would be two windows. Waits (bounded) until
     * at least 5 s remain in this minute.
     */
    private static void awayFromMinuteBoundary() {
        while (Instant.now().getEpochSecond() % 60 >= 55) {
            LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        }
    }
}
