package dev.easel.proxy;

import static dev.easel.proxy.RoutingFixtures.config;
import static dev.easel.proxy.RoutingFixtures.deployment;
import static dev.easel.proxy.RoutingFixtures.edits;
import static dev.easel.proxy.RoutingFixtures.fake;
import static dev.easel.proxy.RoutingFixtures.header;
import static dev.easel.proxy.RoutingFixtures.post;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.proxy.RoutingFixtures.Form;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.ManualClock;
import dev.easel.testkit.RecordedPart;
import dev.easel.testkit.RecordedRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retries, rests after 429 and read time-outs, and replay of spooled uploads, through the real proxy.
 * Router waits are real here: same-deployment retries cost a ~0.5 s backoff, so they are used sparingly.
 */
class RoutingRetryTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dataDir;

    @Test
    void rateLimitedWithRetryAfter_restsDeployment_nextRequestGoesStraightToFallback() {
        try (FakeOpenAi limited = fake("sk-l"); FakeOpenAi backup = fake("sk-b")) {
            limited.enqueue(FakeResponse.rateLimited(30));
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("primary", "lim", "gpt-image-1.5", limited, "sk-l"),
                            deployment("backup", "bk", "gpt-image-1.5", backup, "sk-b")),
                    "num_retries: 2", "cooldown_time: 5",
                    "fallbacks: [{\"primary\": [\"backup\"]}]"), dataDir)) {
                long t0 = System.nanoTime();
                HttpResponse<String> first = post(proxy, Form.simple("primary"));
                assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
                assertThat(header(first, "x-easel-model-group")).isEqualTo("backup");
                assertThat(header(first, "x-easel-attempted-fallbacks")).isEqualTo("1");
                // the lone deployment rests at once: no same-deployment retry waiting out the Retry-After
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
                assertThat(limited.requestCount()).isEqualTo(1);

                for (int i = 0; i < 3; i++) {
                    HttpResponse<String> next = post(proxy, Form.simple("primary"));
                    assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
                    assertThat(header(next, "x-easel-model-group")).isEqualTo("backup");
                    assertThat(header(next, "x-easel-deployment")).isEqualTo("bk");
                    assertThat(header(next, "x-easel-attempted-fallbacks")).isEqualTo("1");
                }
                // rested for the Retry-After (30 s), not for cooldown_time (5 s): no new request reached it
                assertThat(limited.requestCount()).isEqualTo(1);
                assertThat(backup.requestCount()).isEqualTo(4);
            }
        }
    }

    @Test
    void rateLimitedDeploymentOfTwo_requestGoesToTheOther_withoutWaiting() {
        try (FakeOpenAi limited = fake("sk-l"); FakeOpenAi other = fake("sk-o")) {
            limited.enqueue(FakeResponse.rateLimited(20));
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("img", "lim", "gpt-image-1.5", limited, "sk-l", "order: 1"),
                            deployment("img", "other", "gpt-image-1.5", other, "sk-o", "order: 2")),
                    "num_retries: 1"), dataDir)) {
                long t0 = System.nanoTime();
                HttpResponse<String> r = post(proxy, Form.simple("img"));
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-deployment")).isEqualTo("other");
                assertThat(header(r, "x-easel-attempted-retries")).isEqualTo("1");
                // Retry-After is about the deployment that sent it: the other one is asked at once
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
                for (int i = 0; i < 5; i++) {
                    HttpResponse<String> next = post(proxy, Form.simple("img"));
                    assertThat(header(next, "x-easel-deployment")).isEqualTo("other");
                    assertThat(header(next, "x-easel-attempted-retries")).isEqualTo("0");
                }
                // the priority deployment rests for its Retry-After although it is the preferred one
                assertThat(limited.requestCount()).isEqualTo(1);
                assertThat(other.requestCount()).isEqualTo(6);
            }
        }
    }

    @Test
    void upstreamGarbageOrDroppedConnection_isRetriedOnAnotherDeployment() {
        try (FakeOpenAi flaky = fake("sk-f"); FakeOpenAi steady = fake("sk-s")) {
            flaky.enqueue(FakeResponse.malformedJson());
            flaky.enqueue(FakeResponse.dropConnection());
            flaky.enqueue(FakeResponse.error(502, "server_error", null, "Bad gateway"));
            flaky.enqueue(FakeResponse.error(503, "server_error", null, "Service unavailable"));
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("img", "flaky", "gpt-image-1.5", flaky, "sk-f", "order: 1"),
                            deployment("img", "steady", "gpt-image-1.5", steady, "sk-s", "order: 2")),
                    "num_retries: 1", "allowed_fails: 100"), dataDir)) {
                for (int i = 0; i < 4; i++) {
                    HttpResponse<String> r = post(proxy, Form.simple("img"));
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                    assertThat(header(r, "x-easel-deployment")).isEqualTo("steady");
                    assertThat(header(r, "x-easel-attempted-retries")).isEqualTo("1");
                }
                HttpResponse<String> healthy = post(proxy, Form.simple("img"));
                assertThat(header(healthy, "x-easel-deployment")).isEqualTo("flaky");
                assertThat(header(healthy, "x-easel-attempted-retries")).isEqualTo("0");
                assertThat(flaky.requestCount()).isEqualTo(5);
                assertThat(steady.requestCount()).isEqualTo(4);
            }
        }
    }

    @Test
    void badRequestFromUpstream_isNeitherRetriedNorSentToFallbacks() throws Exception {
        try (FakeOpenAi primary = fake("sk-p"); FakeOpenAi second = fake("sk-2"); FakeOpenAi backup = fake("sk-b")) {
            primary.enqueue(FakeResponse.error(400, "invalid_request_error", "invalid_value", "size",
                    "Invalid value: '999x999'."));
            second.enqueue(FakeResponse.error(400, "invalid_request_error", "invalid_value", "size",
                    "Invalid value: '999x999'."));
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("img", "p", "gpt-image-1.5", primary, "sk-p"),
                            deployment("img", "p2", "gpt-image-1.5", second, "sk-2"),
                            deployment("backup", "b", "gpt-image-1.5", backup, "sk-b")),
                    "num_retries: 2", "fallbacks: [{\"img\": [\"backup\"]}]"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("img"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
                JsonNode e = JSON.readTree(r.body()).get("error");
                assertThat(e.get("code").asText()).isEqualTo("invalid_value");
                assertThat(e.get("param").asText()).isEqualTo("size");
                assertThat(e.get("message").asText()).isEqualTo("Invalid value: '999x999'.");
                assertThat(primary.requestCount() + second.requestCount()).isEqualTo(1);
                assertThat(backup.requestCount()).isZero();
            }
        }
    }

    @Test
    void singleDeploymentGroup_isCooledDown_litellm40405() throws Exception {
        ManualClock clock = RoutingFixtures.midMinuteClock();
        try (FakeOpenAi limited = fake("sk-l")) {
            limited.enqueue(FakeResponse.rateLimited(30));
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("solo", "solo-dep", "gpt-image-1.5", limited, "sk-l")),
                    "num_retries: 2", "cooldown_time: 5"), dataDir, clock)) {
                HttpResponse<String> first = post(proxy, Form.simple("solo"));
                assertThat(first.statusCode()).as(first.body()).isEqualTo(429);
                assertThat(Long.parseLong(header(first, "Retry-After"))).isEqualTo(30);
                assertThat(limited.requestCount()).isEqualTo(1);

                clock.advance(Duration.ofMillis(1100)); // a second of the rest passes: the remaining time is shorter
                long t0 = System.nanoTime();
                HttpResponse<String> second = post(proxy, Form.simple("solo"));
                // answered at once, without calling the resting deployment or paying for retries
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
                assertThat(second.statusCode()).as(second.body()).isEqualTo(429);
                assertThat(limited.requestCount()).isEqualTo(1);
                long retryAfter = Long.parseLong(header(second, "Retry-After"));
                assertThat(retryAfter).isEqualTo(29L); // 28.9 s left, rounded up
                JsonNode e = JSON.readTree(second.body()).get("error");
                assertThat(e.get("code").asText()).isEqualTo("no_deployment_available");
                assertThat(e.get("type").asText()).isEqualTo("rate_limit_error");
                assertThat(e.get("message").asText()).contains("'solo'", "retry in " + retryAfter + " s");
            }
        }
    }

    @Test
    void readTimeout_isNotRetriedByDefault_norSentToFallbacks() throws Exception {
        try (FakeOpenAi slow = fake("sk-s"); FakeOpenAi backup = fake("sk-b")) {
            slow.holdAnswers(); // never answers: only the deployment's timeout ends the call
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("primary", "slow", "gpt-image-1.5", slow, "sk-s", "timeout: 0.5"),
                            deployment("backup", "bk", "gpt-image-1.5", backup, "sk-b")),
                    "num_retries: 2", "fallbacks: [{\"primary\": [\"backup\"]}]"), dataDir)) {
                long t0 = System.nanoTime();
                HttpResponse<String> r = post(proxy, Form.simple("primary"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(504);
                // the 0.5 s deployment timeout, not the default of 600 s (a wide bound: a busy machine is slow)
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
                // the upstream got the whole edit and may be working on it (and billing for it): exactly one call
                assertThat(slow.requestCount()).isEqualTo(1);
                assertThat(backup.requestCount()).isZero();
                JsonNode e = JSON.readTree(r.body()).get("error");
                assertThat(e.get("message").asText()).contains("timed out");
            }
        }
    }

    @Test
    void readTimeout_isRetried_withRetryOnTimeout() {
        try (FakeOpenAi slow = fake("sk-s")) {
            // scripted: the first answer never comes in time (close() cuts it); the retry is answered at once and
            // has a whole second, plenty even on a busy machine
            slow.enqueue(FakeResponse.defaultBehaviour().delay(Duration.ofSeconds(60)));
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("primary", "slow", "gpt-image-1.5", slow, "sk-s", "timeout: 1")),
                    "num_retries: 1", "retry_on_timeout: true"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("primary"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-attempted-retries")).isEqualTo("1");
                assertThat(header(r, "x-easel-deployment")).isEqualTo("slow");
                assertThat(slow.requestCount()).isEqualTo(2);
            }
        }
    }

    @Test
    void retry_resendsWholeSpooledBody_litellm26552() throws Exception {
        byte[] image1 = RoutingFixtures.noisePng(200, 200, 11);
        byte[] image2 = RoutingFixtures.noisePng(200, 200, 12);
        byte[] mask = RoutingFixtures.noiseMask(200, 200, 13);
        assertThat(image1.length).isGreaterThan(64 * 1024);
        assertThat(image2.length).isGreaterThan(64 * 1024);
        assertThat(mask.length).isGreaterThan(64 * 1024);
        try (FakeOpenAi primary = fake("sk-p"); FakeOpenAi backup = fake("sk-b")) {
            primary.enqueue(FakeResponse.serverError());
            primary.enqueue(FakeResponse.serverError());
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("primary", "p", "gpt-image-1.5", primary, "sk-p"),
                            deployment("backup", "b", "gpt-image-1", backup, "sk-b")),
                    "num_retries: 1", "allowed_fails: 100",
                    "fallbacks: [{\"primary\": [\"backup\"]}]"), dataDir)) {
                Form form = new Form().field("model", "primary").field("prompt", "blend them")
                        .file("image[]", "one.png", image1)
                        .file("image[]", "two.png", image2)
                        .file("mask", "mask.png", mask);
                HttpResponse<String> r = post(proxy, form);

                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-attempted-retries")).isEqualTo("1");
                assertThat(header(r, "x-easel-model-group")).isEqualTo("backup");
                List<RecordedRequest> sent = new java.util.ArrayList<>(edits(primary));
                sent.addAll(edits(backup));
                // the first attempt, the retry on the same deployment, and the fallback: the same body each time
                assertThat(sent).hasSize(3);
                for (RecordedRequest s : sent) {
                    assertThat(s.multipartError()).isEmpty();
                    List<RecordedPart> images = s.parts("image[]");
                    assertThat(images).hasSize(2);
                    assertThat(images.get(0).bytes()).isEqualTo(image1);
                    assertThat(images.get(1).bytes()).isEqualTo(image2);
                    assertThat(s.part("mask").bytes()).isEqualTo(mask);
                    assertThat(s.textField("prompt")).contains("blend them");
                }
            }
            // the spooled parts are deleted when the request ends (just after the response went out)
            assertThat(RoutingFixtures.awaitEmpty(dataDir.resolve("uploads"), Duration.ofSeconds(5))).isEmpty();
        }
    }
}
