package dev.easel.provider;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.easel.EaselException;
import dev.easel.ImageData;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.InternalServerException;
import dev.easel.ServiceUnavailableException;
import dev.easel.TimeoutException;
import dev.easel.catalog.ModelCatalog;
import dev.easel.http.HttpTransport;
import dev.easel.image.ImageInfo;
import dev.easel.image.ImageInspector;
import dev.easel.image.TestImages;
import dev.easel.internal.Blob;
import dev.easel.routing.Sleeper;
import dev.easel.testkit.Await;
import dev.easel.testkit.ManualClock;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The shared job runner with a tiny submit-then-poll provider of the test's own against a local HTTP server:
 * a failed poll is polled again while the job is submitted once, the deadline ends a pending job with a time-out
 * naming it, an expired result URL is a 502 naming the job, an interrupted caller stops the polling, and every
 * poll is reported for tracing.
 */
class JobRunnerTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final byte[] RESULT = TestImages.png(8, 8, false);

    HttpServer server;
    String base;
    final AtomicInteger submits = new AtomicInteger();
    final AtomicInteger polls = new AtomicInteger();
    final AtomicInteger cancels = new AtomicInteger();
    /** What the next polls answer, in order; {@code pending} once empty. */
    final ConcurrentLinkedQueue<String> script = new ConcurrentLinkedQueue<>();

    final ManualClock clock = new ManualClock(Instant.parse("2026-12-06T12:00:00Z"));
    final List<Duration> waits = new CopyOnWriteArrayList<>();
    final List<String> pollEvents = Collections.synchronizedList(new ArrayList<>());
    HttpTransport transport;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/v1/edit", ex -> {
            int n = submits.incrementAndGet();
            ex.getRequestBody().readAllBytes();
            reply(ex, 200, "{\"id\":\"job-" + n + "\",\"polling_url\":\"" + base + "/v1/poll?id=job-" + n + "\"}");
        });
        server.createContext("/v1/poll", ex -> {
            polls.incrementAndGet();
            String next = script.poll();
            String id = ex.getRequestURI().getQuery().substring(3);
            switch (next == null ? "pending" : next) {
                case "503" -> reply(ex, 503, "{\"detail\":\"busy\"}");
                case "ready" -> reply(ex, 200, "{\"id\":\"" + id + "\",\"status\":\"Ready\",\"result\":{\"sample\":\""
                        + base + "/results/" + id + ".png\"}}");
                case "expired" -> reply(ex, 200, "{\"id\":\"" + id + "\",\"status\":\"Ready\",\"result\":{\"sample\":\""
                        + base + "/results/expired.png\"}}");
                case "error" -> reply(ex, 200, "{\"id\":\"" + id + "\",\"status\":\"Error\"}");
                default -> reply(ex, 200, "{\"id\":\"" + id + "\",\"status\":\"Pending\"}");
            }
        });
        server.createContext("/v1/cancel", ex -> {
            cancels.incrementAndGet();
            ex.getRequestBody().readAllBytes();
            reply(ex, 200, "{}");
        });
        server.createContext("/results/", ex -> {
            if (ex.getRequestURI().getPath().endsWith("expired.png")) {
                reply(ex, 404, "<Error>expired</Error>");
                return;
            }
            ex.getResponseHeaders().add("Content-Type", "image/png");
            ex.sendResponseHeaders(200, RESULT.length);
            ex.getResponseBody().write(RESULT);
            ex.close();
        });
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
        transport = new HttpTransport();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }

    /** A sleeper that takes no time: it moves the test's clock instead. */
    Sleeper advancing() {
        return d -> {
            waits.add(d);
            clock.advance(d);
        };
    }

    ProviderContext context(Sleeper sleeper) {
        ResultDownloader downloader = ResultDownloader.guarded(transport);
        return new ProviderContext(transport, clock, sleeper, new JobRunner(clock, sleeper, downloader), downloader,
                ResponseMemory.shared());
    }

    EditCall call(Duration timeout) {
        byte[] png = TestImages.png(8, 8, false);
        ImageInfo info = ImageInspector.inspect(Blob.ofBytes(png));
        Deployment d = new Deployment("tinyjobs", "v1", "k-1", URI.create(base), null, timeout, Map.of());
        return new EditCall(d, ModelCatalog.permissive("v1", "tinyjobs"), "add a hat",
                List.of(new ImagePart(Blob.ofBytes(png), info, "image.png")), null, EditParams.NONE, false, Map.of(),
                timeout, timeout, (jobId, number, start, end, outcome) -> pollEvents.add(jobId + "#" + number + " "
                + outcome));
    }

    @Test
    void pollFailsOnce_isPolledAgain_andTheJobIsSubmittedExactlyOnce() {
        script.addAll(List.of("503", "pending", "ready"));
        ImageResponse r = new TinyJobs(context(advancing())).edit(call(Duration.ofSeconds(60)));

        assertThat(submits).hasValue(1);
        assertThat(polls).hasValue(3);
        assertThat(r.data()).hasSize(1);
        assertThat(r.data().get(0).bytes()).isEqualTo(RESULT);
        assertThat(pollEvents).containsExactly("job-1#1 error: 503 service_unavailable", "job-1#2 pending",
                "job-1#3 ready");
        // 0.5 s before the first poll, then growing by 2 up to the 2 s cap
        assertThat(waits).containsExactly(Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2));
    }

    @Test
    void pendingPastTheDeadline_isATimeoutNamingTheJob_bodySent_neverResubmitted() {
        assertThatThrownBy(() -> new TinyJobs(context(advancing())).edit(call(Duration.ofSeconds(5))))
                .isInstanceOfSatisfying(TimeoutException.class, e -> {
                    assertThat(e.bodySent()).isTrue();
                    assertThat(e.jobId()).contains("job-1");
                    assertThat(e.getMessage()).startsWith("tinyjobs job job-1 was still pending after 5000 ms (");
                });
        assertThat(submits).hasValue(1);
        // the waits never pass the deadline: 0.5 + 1 + 2 + 1.5 = 5 s
        assertThat(waits.stream().mapToLong(Duration::toMillis).sum()).isEqualTo(5000);
    }

    @Test
    void throughTheRouter_aPendingJobsTimeout_isNeverResubmitted_evenWithRetryOnTimeout() {
        // two deployments, retries and retry_on_timeout: a time-out of an ordinary call would be sent again
        String yaml = """
                model_list:
                  - model_name: edit
                    litellm_params: {model: tinyjobs/v1, api_base: "%1$s", timeout: 5}
                  - model_name: edit
                    litellm_params: {model: tinyjobs/v1, api_base: "%1$s", timeout: 5, rpm: 10}
                router_settings: {num_retries: 3, retry_on_timeout: true}
                """.formatted(base);
        var easel = dev.easel.Easel.builder().config(dev.easel.config.ConfigLoader.parse(yaml, Map.of(), "t.yaml"))
                .provider(new TinyJobs(context(advancing()))).clock(clock).sleeper(advancing()).build();

        assertThatThrownBy(() -> easel.imageEdit(dev.easel.ImageEditRequest.builder().model("edit").prompt("p")
                .image(TestImages.png(8, 8, false)).build()))
                .isInstanceOfSatisfying(TimeoutException.class, e -> assertThat(e.jobId()).contains("job-1"));
        assertThat(submits).hasValue(1);
    }

    @Test
    void expiredResultUrl_isBadUpstreamResponseNamingTheJob_notAHang() {
        script.add("expired");
        assertThatThrownBy(() -> new TinyJobs(context(advancing())).edit(call(Duration.ofSeconds(60))))
                .isInstanceOfSatisfying(InternalServerException.class, e -> {
                    assertThat(e.httpStatus()).isEqualTo(502);
                    assertThat(e.code()).contains("bad_upstream_response");
                    assertThat(e.jobId()).contains("job-1");
                    assertThat(e.getMessage()).isEqualTo("tinyjobs returned a result URL that is expired or gone "
                            + "(HTTP 404) for job job-1");
                });
        assertThat(submits).hasValue(1);
    }

    @Test
    void failedJob_isTheAdaptersError_markedWithTheJob() {
        script.add("error");
        assertThatThrownBy(() -> new TinyJobs(context(advancing())).edit(call(Duration.ofSeconds(60))))
                .isInstanceOfSatisfying(ServiceUnavailableException.class, e -> {
                    assertThat(e.jobId()).contains("job-1");
                    assertThat(e.getMessage()).isEqualTo("job job-1 failed");
                });
        assertThat(pollEvents).containsExactly("job-1#1 failed");
    }

    @Test
    void resultOnAHostTheProviderDoesNotDocument_isRefused() {
        ResultDownloader.Rules rules = new ResultDownloader.Rules(java.util.Set.of(".bfl.ai"), java.util.Set.of(),
                1024, Duration.ofSeconds(5), "tinyjobs");
        assertThat(rules.allows("delivery-eu1.bfl.ai")).isTrue();
        assertThat(rules.allows("bfl.ai.attacker.example")).isFalse();
        assertThatThrownBy(() -> ResultDownloader.guarded(transport).download(URI.create(base + "/results/x.png"),
                rules))
                .isInstanceOfSatisfying(InternalServerException.class, e -> assertThat(e.getMessage())
                        .isEqualTo("tinyjobs returned a result URL on host '127.0.0.1', which is neither one it "
                                + "documents nor the configured api_base"));
        ResultDownloader.Rules loopback = new ResultDownloader.Rules(java.util.Set.of("127.0.0.1"), java.util.Set.of(),
                1024, Duration.ofSeconds(5), "tinyjobs");
        assertThatThrownBy(() -> ResultDownloader.guarded(transport).download(URI.create(base + "/results/x.png"),
                loopback))
                .isInstanceOfSatisfying(InternalServerException.class, e -> assertThat(e.getMessage())
                        .contains("which resolves to a non-public address"));
    }

    @Test
    void interruptedCaller_stopsPolling_andCancelsTheJob() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        AtomicInteger sleeps = new AtomicInteger();
        Sleeper blocksOnSecondWait = d -> {
            clock.advance(d);
            if (sleeps.incrementAndGet() == 2) {
                never.await(); // stands for a long wait; only the interrupt ends it
            }
        };
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread caller = Thread.ofVirtual().start(() -> {
            try {
                new TinyJobs(context(blocksOnSecondWait)).edit(call(Duration.ofSeconds(60)));
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        Await.until("the caller to wait before its second poll", () -> sleeps.get() == 2);
        caller.interrupt();
        caller.join(Duration.ofSeconds(10));

        assertThat(caller.isAlive()).isFalse();
        assertThat(failure.get()).isInstanceOfSatisfying(EaselException.class, e -> {
            assertThat(e.code()).contains("client_closed");
            assertThat(e.jobId()).contains("job-1");
        });
        assertThat(polls).hasValue(1);
        assertThat(cancels).hasValue(1);
        assertThat(submits).hasValue(1);
    }

    /**
     * A tiny submit-then-poll provider: JSON submit returning an id and a polling URL, {@code Pending}/{@code Ready}
     * /{@code Error} polls, a result URL to download. Only its wire format is its own; the runner does the rest.
     */
    static final class TinyJobs implements ImageEditProvider {
        private final ProviderContext ctx;

        TinyJobs(ProviderContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public String name() {
            return "tinyjobs";
        }

        @Override
        public ImageResponse edit(EditCall call) {
            URI base = call.deployment().base().orElseThrow();
            JobRunner.Result result = ctx.jobs().run(call, new JobRunner.Job<JsonNode>() {
                @Override
                public JsonNode submit() {
                    String body = "{\"prompt\":\"" + call.prompt() + "\"}";
                    return send(HttpRequest.newBuilder(base.resolve("/v1/edit")), body);
                }

                @Override
                public String id(JsonNode submitted) {
                    return submitted.path("id").asText();
                }

                @Override
                public JobRunner.Poll poll(JsonNode submitted) {
                    var r = ctx.transport().get(HttpRequest.newBuilder(URI.create(submitted.path("polling_url")
                            .asText())), Duration.ofSeconds(5), name()).await();
                    JsonNode n = read(r);
                    return switch (n.path("status").asText()) {
                        case "Ready" -> JobRunner.Poll.ready(List.of(URI.create(n.path("result").path("sample")
                                .asText())));
                        case "Error" -> JobRunner.Poll.failed(new ServiceUnavailableException("job "
                                + id(submitted) + " failed", 503, "api_error", "job_failed", null, name(), null,
                                null));
                        default -> JobRunner.Poll.pending();
                    };
                }

                @Override
                public void cancel(JsonNode submitted) {
                    send(HttpRequest.newBuilder(base.resolve("/v1/cancel?id=" + id(submitted))), "{}");
                }

                @Override
                public JobRunner.Backoff backoff() {
                    return new JobRunner.Backoff(Duration.ofMillis(500), Duration.ofSeconds(2), 2);
                }
            });
            ImageResponse.Builder b = ImageResponse.builder().provider(name()).model(call.deployment().model())
                    .created(ctx.clock().instant().getEpochSecond());
            result.images().forEach(img -> b.addData(ImageData.ofBase64(Base64.getEncoder().encodeToString(img))));
            return b.build();
        }

        private JsonNode send(HttpRequest.Builder request, String json) {
            var r = ctx.transport().send(request.header("Content-Type", "application/json"),
                    HttpRequest.BodyPublishers.ofString(json), Duration.ofSeconds(5), name());
            return read(r);
        }

        private JsonNode read(java.net.http.HttpResponse<java.io.InputStream> r) {
            byte[] body = HttpTransport.readBody(r, 1 << 20, name());
            if (r.statusCode() == 503) {
                throw new ServiceUnavailableException("busy", 503, "api_error", "service_unavailable", null, name(),
                        null, null);
            }
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public ImageEditStream editStream(EditCall call) {
            throw new UnsupportedOperationException("tinyjobs does not stream");
        }
    }
}
