package dev.easel.proxy;

import static dev.easel.proxy.RoutingFixtures.config;
import static dev.easel.proxy.RoutingFixtures.deployment;
import static dev.easel.proxy.RoutingFixtures.fake;
import static dev.easel.proxy.RoutingFixtures.header;
import static dev.easel.proxy.RoutingFixtures.post;
import static dev.easel.proxy.RoutingFixtures.withInfo;
import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.proxy.RoutingFixtures.Form;
import dev.easel.testkit.Await;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.ManualClock;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Routing strategies, priorities and per-deployment limits through the real proxy, one fake upstream
 * per deployment.
 */
class RoutingStrategyTest {

    @TempDir
    Path dataDir;

    @Test
    void order_lowerOrderServesWhileHealthy_thenTheNextTakesOver() {
        try (FakeOpenAi first = fake("sk-1"); FakeOpenAi second = fake("sk-2");
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                             deployment("img", "first", "gpt-image-1.5", first, "sk-1", "order: 1"),
                             deployment("img", "second", "gpt-image-1.5", second, "sk-2", "order: 2")),
                     "num_retries: 1", "allowed_fails: 1", "cooldown_time: 60"), dataDir)) {
            for (int i = 0; i < 10; i++) {
                HttpResponse<String> r = post(proxy, Form.simple("img"));
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-deployment")).isEqualTo("first");
            }
            assertThat(second.requestCount()).isZero();

            for (int i = 0; i < 5; i++) {
                first.enqueue(FakeResponse.serverError());
            }
            HttpResponse<String> failedOver = post(proxy, Form.simple("img"));
            assertThat(failedOver.statusCode()).as(failedOver.body()).isEqualTo(200);
            assertThat(header(failedOver, "x-easel-deployment")).isEqualTo("second");
            assertThat(header(failedOver, "x-easel-attempted-retries")).isEqualTo("1");
            for (int i = 0; i < 5; i++) {
                HttpResponse<String> r = post(proxy, Form.simple("img"));
                assertThat(header(r, "x-easel-deployment")).isEqualTo("second");
                assertThat(header(r, "x-easel-attempted-retries")).isEqualTo("0");
            }
            // the priority deployment rests after its failure: one failed call, none after it
            assertThat(first.requestCount()).isEqualTo(11);
            assertThat(second.requestCount()).isEqualTo(6);
        }
    }

    @Test
    void rpmLimit_deploymentAtItsLimitIsSkipped() {
        ManualClock clock = RoutingFixtures.midMinuteClock(); // all 12 requests in one minute, however slow
        try (FakeOpenAi limited = fake("sk-l"); FakeOpenAi other = fake("sk-o");
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("img", "limited", "gpt-image-1.5", limited, "sk-l", "rpm: 3", "weight: 1000"),
                     deployment("img", "other", "gpt-image-1.5", other, "sk-o", "weight: 1"))), dataDir, clock)) {
            for (int i = 0; i < 12; i++) {
                HttpResponse<String> r = post(proxy, Form.simple("img"));
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-attempted-retries")).isEqualTo("0");
            }
            assertThat(limited.requestCount()).isEqualTo(3);
            assertThat(other.requestCount()).isEqualTo(9);

            // the next minute: the limited deployment takes its 3 again
            clock.advance(Duration.ofSeconds(60));
            for (int i = 0; i < 12; i++) {
                assertThat(post(proxy, Form.simple("img")).statusCode()).isEqualTo(200);
            }
            assertThat(limited.requestCount()).isEqualTo(6);
            assertThat(other.requestCount()).isEqualTo(18);
        }
    }

    @Test
    void rpmLimit_loneDeploymentAtItsLimit_answers429UntilTheNextMinute() {
        ManualClock clock = RoutingFixtures.midMinuteClock(); // both requests in one minute, 30 s before the next
        try (FakeOpenAi limited = fake("sk-l");
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("img", "limited", "gpt-image-1.5", limited, "sk-l", "rpm: 1"))), dataDir, clock)) {
            HttpResponse<String> first = post(proxy, Form.simple("img"));
            assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
            HttpResponse<String> second = post(proxy, Form.simple("img"));

            assertThat(second.statusCode()).as(second.body()).isEqualTo(429);
            assertThat(header(second, "Retry-After")).isEqualTo("30");
            assertThat(second.body()).contains("no_deployment_available");
            assertThat(limited.requestCount()).isEqualTo(1);

            clock.advance(Duration.ofSeconds(30)); // the next minute
            HttpResponse<String> third = post(proxy, Form.simple("img"));
            assertThat(third.statusCode()).as(third.body()).isEqualTo(200);
            assertThat(limited.requestCount()).isEqualTo(2);
        }
    }

    @Test
    void leastBusy_concurrentRequestGoesToTheIdleDeployment() throws Exception {
        // closed last, after the fakes have cut whatever is still held
        try (var clients = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
             FakeOpenAi a = fake("sk-a"); FakeOpenAi b = fake("sk-b")) {
            a.holdAnswers(); // every request stays in flight until all four are routed
            b.holdAnswers();
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("img", "a", "gpt-image-1.5", a, "sk-a"),
                            deployment("img", "b", "gpt-image-1.5", b, "sk-b")),
                    "routing_strategy: least-busy"), dataDir)) {
                List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    // a thread each: a pool smaller than 4 would queue a call behind the held ones
                    calls.add(CompletableFuture.supplyAsync(() -> post(proxy, Form.simple("img")), clients));
                    int sent = i + 1;
                    // at an upstream means routed and counted in flight: only then is the next one routed
                    Await.until("request " + sent + " at an upstream",
                            () -> a.requestCount() + b.requestCount() == sent);
                }
                a.releaseAnswers();
                b.releaseAnswers();
                List<String> served = new ArrayList<>();
                for (var c : calls) {
                    HttpResponse<String> r = c.get();
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                    served.add(header(r, "x-easel-deployment"));
                }
                // 1st → either; 2nd → the idle one; 3rd and 4th → each has one in flight, then 2:1 → the other
                assertThat(served).containsOnly("a", "b");
                assertThat(a.requestCount()).isEqualTo(2);
                assertThat(b.requestCount()).isEqualTo(2);
                assertThat(served.get(1)).isNotEqualTo(served.get(0));
                assertThat(served.get(3)).isNotEqualTo(served.get(2));
            }
        }
    }

    @Test
    void latencyBased_fasterDeploymentServesOnceBothAreMeasured() throws Exception {
        // latencies measured on the proxy's clock: "slow" takes 300 ms of it (the test moves the clock while its
        // answer is held), "fast" none, however long either really takes on this machine
        ManualClock clock = RoutingFixtures.midMinuteClock();
        try (var clients = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
             FakeOpenAi slow = fake("sk-s"); FakeOpenAi fast = fake("sk-f")) {
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("img", "slow", "gpt-image-1.5", slow, "sk-s"),
                            deployment("img", "fast", "gpt-image-1.5", fast, "sk-f")),
                    "routing_strategy: latency-based-routing"), dataDir, clock)) {
                for (int i = 0; i < 10; i++) {
                    // held again only once the last answer is out: holding right after a release could catch the
                    // released answer before it left, and that call would wait for ever
                    slow.holdAnswers();
                    int sent = i + 1;
                    int slowBefore = slow.requestCount();
                    CompletableFuture<HttpResponse<String>> call = CompletableFuture.supplyAsync(
                            () -> post(proxy, Form.simple("img")), clients);
                    Await.until("request " + sent + " at an upstream",
                            () -> slow.requestCount() + fast.requestCount() == sent);
                    if (slow.requestCount() > slowBefore) { // held at "slow": 300 ms pass, then it answers
                        clock.advance(Duration.ofMillis(300));
                        slow.releaseAnswers();
                    }
                    HttpResponse<String> r = call.get(30, java.util.concurrent.TimeUnit.SECONDS);
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                }
                // each deployment is measured once, then the fast one takes everything
                assertThat(slow.requestCount()).isEqualTo(1);
                assertThat(fast.requestCount()).isEqualTo(9);
            }
        }
    }

    @Test
    void costBased_cheaperDeploymentServes_byConfiguredPrice() {
        try (FakeOpenAi dear = fake("sk-d"); FakeOpenAi cheap = fake("sk-c");
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                             withInfo(deployment("img", "dear", "gpt-image-1.5", dear, "sk-d"),
                                     "output_cost_per_image: 0.08"),
                             withInfo(deployment("img", "cheap", "gpt-image-1.5", cheap, "sk-c"),
                                     "output_cost_per_image: 0.02")),
                     "routing_strategy: cost-based-routing"), dataDir)) {
            for (int i = 0; i < 8; i++) {
                HttpResponse<String> r = post(proxy, Form.simple("img"));
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-deployment")).isEqualTo("cheap");
            }
            assertThat(dear.requestCount()).isZero();
            assertThat(cheap.requestCount()).isEqualTo(8);
        }
    }

    @Test
    void mixedOpenAiAndAzureGroup_failingOpenAiDeployment_azureAnswers() {
        try (FakeOpenAi openai = fake("sk-o"); FakeOpenAi azure = fake("az-key")) {
            for (int i = 0; i < 5; i++) {
                openai.enqueue(FakeResponse.serverError());
            }
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("img", "oai", "gpt-image-1.5", openai, "sk-o", "order: 1"),
                            withInfo(deployment("img", "az", "azure/edit-east", azure.azureBaseUrl(), "az-key",
                                    "order: 2"), "base_model: gpt-image-1.5")),
                    "num_retries: 1", "allowed_fails: 1", "cooldown_time: 60"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("img"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-deployment")).isEqualTo("az");
                assertThat(header(r, "x-easel-model-group")).isEqualTo("img");
                assertThat(header(r, "x-easel-attempted-retries")).isEqualTo("1");
                assertThat(openai.requestCount()).isEqualTo(1);
                var sent = azure.takeRequest();
                assertThat(sent.path()).isEqualTo("/openai/deployments/edit-east/images/edits");
                assertThat(sent.header("api-key")).contains("az-key");
                assertThat(sent.parts("image")).hasSize(1);
            }
        }
    }
}
