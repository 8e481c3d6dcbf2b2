package dev.easel.proxy;

import static dev.easel.proxy.RoutingFixtures.config;
import static dev.easel.proxy.RoutingFixtures.deployment;
import static dev.easel.proxy.RoutingFixtures.edits;
import static dev.easel.proxy.RoutingFixtures.fake;
import static dev.easel.proxy.RoutingFixtures.header;
import static dev.easel.proxy.RoutingFixtures.post;
import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.proxy.RoutingFixtures.Form;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.ManualClock;
import dev.easel.testkit.RecordedRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Load spread and cooldowns through the real proxy, with one fake upstream per deployment (each with its
 * own key, so a request that reached the wrong one would fail with 401).
 */
class RoutingLoadTest {

    @TempDir
    Path dataDir;

    @Test
    void equalWeights_spreadRequestsOverBothDeployments() {
        try (FakeOpenAi a = fake("sk-a"); FakeOpenAi b = fake("sk-b");
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("img", "dep-a", "gpt-image-1.5", a, "sk-a", "weight: 1"),
                     deployment("img", "dep-b", "gpt-image-1.5", b, "sk-b", "weight: 1"))), dataDir)) {
            Map<String, Integer> byHeader = sendMany(proxy, "img", 40);

            // 40 fair coin flips: fewer than 8 on one side has a probability below 1e-4
            assertThat(a.requestCount()).isGreaterThanOrEqualTo(8);
            assertThat(b.requestCount()).isGreaterThanOrEqualTo(8);
            assertThat(a.requestCount() + b.requestCount()).isEqualTo(40);
            assertThat(byHeader).containsEntry("dep-a", a.requestCount()).containsEntry("dep-b", b.requestCount());
            for (RecordedRequest r : edits(a)) {
                assertThat(r.header("Authorization")).contains("Bearer sk-a");
                assertThat(r.textField("model")).contains("gpt-image-1.5");
            }
            for (RecordedRequest r : edits(b)) {
                assertThat(r.header("Authorization")).contains("Bearer sk-b");
            }
        }
    }

    @Test
    void heavierWeight_getsMoreRequests() {
        try (FakeOpenAi heavy = fake("sk-heavy"); FakeOpenAi light = fake("sk-light");
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("img", "heavy", "gpt-image-1.5", heavy, "sk-heavy", "weight: 3"),
                     deployment("img", "light", "gpt-image-1.5", light, "sk-light", "weight: 1"))), dataDir)) {
            Map<String, Integer> byHeader = sendMany(proxy, "img", 60);

            // expected 45 : 15; fewer than 30 (twice the light one's share) has a probability below 1e-5
            assertThat(heavy.requestCount()).isGreaterThanOrEqualTo(30);
            assertThat(light.requestCount()).isGreaterThanOrEqualTo(1);
            assertThat(heavy.requestCount() + light.requestCount()).isEqualTo(60);
            assertThat(byHeader).containsEntry("heavy", heavy.requestCount())
                    .containsEntry("light", light.requestCount());
        }
    }

    @Test
    void failingDeployment_requestsStillSucceed_andItGetsNothingDuringCooldown() {
        try (FakeOpenAi good = fake("sk-good"); FakeOpenAi bad = fake("sk-bad")) {
            for (int i = 0; i < 30; i++) {
                bad.enqueue(FakeResponse.serverError());
            }
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("img", "good", "gpt-image-1.5", good, "sk-good"),
                            deployment("img", "bad", "gpt-image-1.5", bad, "sk-bad")),
                    "num_retries: 1", "allowed_fails: 1", "cooldown_time: 60"), dataDir)) {
                int retried = 0;
                for (int i = 0; i < 20; i++) {
                    int badBefore = bad.requestCount();
                    HttpResponse<String> r = post(proxy, Form.simple("img"));
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                    assertThat(header(r, "x-easel-deployment")).isEqualTo("good");
                    assertThat(header(r, "x-easel-model-group")).isEqualTo("img");
                    assertThat(header(r, "x-easel-attempted-fallbacks")).isEqualTo("0");
                    boolean hitBad = bad.requestCount() > badBefore;
                    // the request that met the failing deployment was retried on the healthy one
                    assertThat(header(r, "x-easel-attempted-retries")).isEqualTo(hitBad ? "1" : "0");
                    retried += hitBad ? 1 : 0;
                }
                // one failure (allowed_fails: 1) rests it for 60 s: it is tried once, then never again;
                // never picked in 20 fair draws has a probability of 1e-6
                assertThat(bad.requestCount()).isEqualTo(1);
                assertThat(retried).isEqualTo(1);
                assertThat(good.requestCount()).isEqualTo(20);
            }
        }
    }

    @Test
    void refusedConnection_deploymentIsRested_andTheOtherServes() {
        int closed = RoutingFixtures.closedPort();
        try (FakeOpenAi good = fake("sk-good");
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                             deployment("img", "good", "gpt-image-1.5", good, "sk-good"),
                             deployment("img", "down", "gpt-image-1.5", "http://127.0.0.1:" + closed + "/v1", "sk-x")),
                     "num_retries: 1", "allowed_fails: 1", "cooldown_time: 60"), dataDir)) {
            int retried = 0;
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> r = post(proxy, Form.simple("img"));
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-deployment")).isEqualTo("good");
                retried += Integer.parseInt(header(r, "x-easel-attempted-retries"));
            }
            // the refused deployment cost at most one retry, then rested for the rest of the test
            assertThat(retried).isEqualTo(1);
            assertThat(good.requestCount()).isEqualTo(20);
        }
    }

    @Test
    void deploymentWithRevokedKey_isRestedAtOnce_afterItsOne401_andItsTwinServesThatRequest() throws Exception {
        try (FakeOpenAi good = fake("sk-good"); FakeOpenAi revoked = fake("sk-current")) {
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("img", "good", "gpt-image-1.5", good, "sk-good"),
                            deployment("img", "revoked", "gpt-image-1.5", revoked, "sk-revoked-1234")),
                    "num_retries: 1", "cooldown_time: 60"), dataDir)) {
                int movedOn = 0;
                for (int i = 0; i < 20; i++) {
                    int before = revoked.requestCount();
                    HttpResponse<String> r = post(proxy, Form.simple("img"));
                    // a 401 from one deployment goes to the other deployment of the group (docs/routing.md)
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                    assertThat(header(r, "x-easel-deployment")).isEqualTo("good");
                    if (revoked.requestCount() > before) {
                        assertThat(header(r, "x-easel-attempted-retries")).isEqualTo("1");
                        movedOn++;
                    }
                }
                // rested at once after its 401 (no allowed_fails needed): asked once, never again;
                // never picked in 20 fair draws has a probability of 1e-6
                assertThat(revoked.requestCount()).isEqualTo(1);
                assertThat(movedOn).isEqualTo(1);
                assertThat(good.requestCount()).isEqualTo(20);
            }
        }
    }

    @Test
    void onlyDeploymentWithRevokedKey_clientGets401_withoutRetry() throws Exception {
        try (FakeOpenAi revoked = fake("sk-current")) {
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("img", "revoked", "gpt-image-1.5", revoked, "sk-revoked-1234")),
                    "num_retries: 2"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("img"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(401);
                assertThat(r.body()).contains("invalid_api_key").doesNotContain("sk-revoked-1234");
                assertThat(revoked.requestCount()).isEqualTo(1);
            }
        }
    }

    @Test
    void restedDeployment_servesAgainAfterCooldownTime() throws Exception {
        ManualClock clock = RoutingFixtures.midMinuteClock(); // the rest lasts until the test moves the clock
        try (FakeOpenAi first = fake("sk-1"); FakeOpenAi second = fake("sk-2")) {
            first.enqueue(FakeResponse.serverError());
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("img", "first", "gpt-image-1.5", first, "sk-1", "order: 1"),
                            deployment("img", "second", "gpt-image-1.5", second, "sk-2", "order: 2")),
                    "num_retries: 1", "allowed_fails: 1", "cooldown_time: 1"), dataDir, clock)) {
                HttpResponse<String> failedOver = post(proxy, Form.simple("img"));
                assertThat(header(failedOver, "x-easel-deployment")).isEqualTo("second");
                clock.advance(Duration.ofMillis(900));
                HttpResponse<String> resting = post(proxy, Form.simple("img"));
                assertThat(header(resting, "x-easel-deployment")).isEqualTo("second");
                assertThat(first.requestCount()).isEqualTo(1);

                clock.advance(Duration.ofMillis(200)); // 1.1 s after the failure: the 1 s rest is over
                HttpResponse<String> back = post(proxy, Form.simple("img"));
                assertThat(back.statusCode()).as(back.body()).isEqualTo(200);
                assertThat(header(back, "x-easel-deployment")).isEqualTo("first");
                assertThat(header(back, "x-easel-attempted-retries")).isEqualTo("0");
                assertThat(first.requestCount()).isEqualTo(2);
                assertThat(second.requestCount()).isEqualTo(2);
            }
        }
    }

    /** Sends {@code n} edits, checks each succeeded, and counts the {@code x-easel-deployment} headers. */
    private static Map<String, Integer> sendMany(ProxyServer proxy, String model, int n) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = post(proxy, Form.simple(model));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).contains("\"b64_json\"");
            assertThat(header(r, "x-easel-attempted-retries")).isEqualTo("0");
            counts.merge(header(r, "x-easel-deployment"), 1, Integer::sum);
        }
        return counts;
    }
}
