package dev.easel.proxy;

import static dev.easel.proxy.EdgeSupport.MULTIPART;
import static dev.easel.proxy.EdgeSupport.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.testkit.FakeOpenAi;
import java.net.ConnectException;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ProxyServer#drain(Duration)}: readiness turns 503, new connections are refused, a request in
 * flight still completes, and the result tells whether the grace period was enough.
 */
class DrainTest {

    static FakeOpenAi fake;
    ProxyServer proxy;
    int port;

    @BeforeAll
    static void startFake() {
        fake = FakeOpenAi.start();
    }

    @AfterAll
    static void stopFake() {
        if (fake != null) {
            fake.close();
        }
    }

    @BeforeEach
    void start(@TempDir Path data) {
        fake.reset();
        proxy = EdgeSupport.start("model_list:\n" + EdgeSupport.openAiModel("gpt", fake.baseUrl(), "sk-up", ""), data);
        port = proxy.port();
    }

    @AfterEach
    void stop() {
        fake.releaseAnswers();
        proxy.close();
    }

    /** An edit whose upstream answer is held until the test calls {@code fake.releaseAnswers()}. */
    private CompletableFuture<HttpResponse<String>> slowEdit() {
        fake.holdAnswers();
        byte[] body = EdgeSupport.edit("gpt", EdgeSupport.smallPng());
        CompletableFuture<HttpResponse<String>> pending = EdgeSupport.HTTP.sendAsync(
                HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits")).header("Content-Type", MULTIPART)
                        .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        fake.takeRequest(); // the request has reached the upstream: it is in flight
        assertThat(proxy.inflight()).isEqualTo(1);
        return pending;
    }

    /** Drains on a thread of its own (as the CLI does from its main thread). */
    private CompletableFuture<Boolean> drainInBackground(Duration grace) {
        CompletableFuture<Boolean> result = new CompletableFuture<>();
        Thread.ofPlatform().name("drain").start(() -> result.complete(proxy.drain(grace)));
        return result;
    }

    @Test
    void drain_letsTheRequestInFlightFinish_refusesNewConnections_andReturnsTrue() throws Exception {
        try (var keepAlive = new EdgeSupport.Raw(proxy)) {
            var before = keepAlive.get("/health/readiness").read(Duration.ofSeconds(5));
            assertThat(before.status()).isEqualTo(200);
            CompletableFuture<HttpResponse<String>> pending = slowEdit();

            long t0 = System.nanoTime();
            CompletableFuture<Boolean> drained = drainInBackground(Duration.ofSeconds(10));
            await("draining", () -> proxy.state() == ProxyServer.State.DRAINING);

            // an open connection still reaches the server: readiness says 503, new edits are refused
            var readiness = keepAlive.get("/health/readiness").read(Duration.ofSeconds(5));
            assertThat(readiness.status()).isEqualTo(503);
            JsonNode health = EdgeSupport.json(readiness.body());
            assertThat(health.get("state").asText()).isEqualTo("draining");
            assertThat(health.get("inflight_requests").asInt()).isEqualTo(1);
            // new connections are refused
            assertThatThrownBy(() -> new Socket("127.0.0.1", port).close())
                    .isInstanceOf(ConnectException.class);
            assertThat(drained).isNotDone();

            fake.releaseAnswers(); // the upstream answers: the request in flight finishes, then the drain
            HttpResponse<String> r = pending.get(10, TimeUnit.SECONDS);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(EdgeSupport.json(r.body()).get("data").get(0).get("b64_json").asText()).isNotEmpty();
            assertThat(drained.get(10, TimeUnit.SECONDS)).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
            assertThat(proxy.state()).isEqualTo(ProxyServer.State.STOPPED);
        }
    }

    @Test
    void drain_newEditOnAnOpenConnection_is503() throws Exception {
        try (var keepAlive = new EdgeSupport.Raw(proxy)) {
            assertThat(keepAlive.get("/health/readiness").read(Duration.ofSeconds(5)).status()).isEqualTo(200);
            CompletableFuture<HttpResponse<String>> pending = slowEdit();
            CompletableFuture<Boolean> drained = drainInBackground(Duration.ofSeconds(10));
            await("draining", () -> proxy.state() == ProxyServer.State.DRAINING);

            byte[] body = EdgeSupport.edit("gpt", EdgeSupport.smallPng());
            keepAlive.head("/v1/images/edits", "Content-Type: " + MULTIPART, "Content-Length: " + body.length)
                    .send(body);
            var refused = keepAlive.read(Duration.ofSeconds(5));

            JsonNode e = refused.assertError(503);
            assertThat(e.get("code").asText()).isEqualTo("server_draining");
            assertThat(refused.header("retry-after")).isEqualTo("1");
            fake.releaseAnswers();
            assertThat(pending.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            assertThat(drained.get(10, TimeUnit.SECONDS)).isTrue();
            assertThat(fake.requestCount()).isEqualTo(1);
        }
    }

    @Test
    void drain_graceShorterThanTheRequest_returnsFalse() throws Exception {
        CompletableFuture<HttpResponse<String>> pending = slowEdit(); // never answered within the grace

        long t0 = System.nanoTime();
        boolean clean = proxy.drain(Duration.ofMillis(300));
        Duration took = Duration.ofNanos(System.nanoTime() - t0);

        assertThat(clean).isFalse();
        assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(300)).isLessThan(Duration.ofSeconds(4));
        assertThat(proxy.state()).isEqualTo(ProxyServer.State.STOPPED);
        pending.handle((r, t) -> null).get(10, TimeUnit.SECONDS); // cut off either way; it must not hang
    }

    @Test
    void drain_nothingInFlight_returnsTrueAtOnce() {
        long t0 = System.nanoTime();

        assertThat(proxy.drain(Duration.ofSeconds(10))).isTrue();

        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
        assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);
    }
}
