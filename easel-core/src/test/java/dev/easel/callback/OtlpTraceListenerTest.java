package dev.easel.callback;

import static dev.easel.callback.OtlpReceiver.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.BadRequestException;
import dev.easel.Easel;
import dev.easel.EaselException;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import dev.easel.engine.Engine;
import dev.easel.engine.GatewayRequest;
import dev.easel.engine.RequestMeta;
import dev.easel.callback.OtlpReceiver.Span;
import dev.easel.config.ConfigException;
import dev.easel.config.ConfigLoader;
import dev.easel.config.EaselConfig;
import dev.easel.image.TestImages;
import dev.easel.internal.Blob;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.validate.EditInput;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OtlpTraceListenerTest {

    static final byte[] PNG = TestImages.png(64, 64, false);
    static final String PROMPT = "Add a red hat to the person in the image";
    static final Duration WAIT = Duration.ofSeconds(10);

    final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    <T extends AutoCloseable> T open(T c) {
        open.add(c);
        return c;
    }

    static EaselConfig config(String yaml) {
        return ConfigLoader.parse(yaml, Map.of(), "config.yaml");
    }

    /** Waits until the bus has handed every event to the listener, then until the listener exported it. */
    static void deliver(Easel easel, OtlpTraceListener otel) {
        deliver(easel.listeners(), otel);
    }

    static void deliver(Engine engine, OtlpTraceListener otel) {
        deliver(engine.listeners(), otel);
    }

    private static void deliver(ListenerBus bus, OtlpTraceListener otel) {
        assertThat(bus.drain(WAIT)).as("listener bus drained").isTrue();
        assertThat(otel.flush(WAIT)).as("spans flushed").isTrue();
    }

    static Span only(List<Span> spans, int kind) {
        List<Span> k = spans.stream().filter(s -> s.kind() == kind).toList();
        assertThat(k).hasSize(1);
        return k.get(0);
    }

    @Test
    void edit_retriedAndFellBack_exportsRequestSpanAndOneClientSpanPerAttempt() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        FakeOpenAi primary = open(FakeOpenAi.start());
        FakeOpenAi backup = open(FakeOpenAi.start());
        primary.enqueue(FakeResponse.serverError());
        primary.enqueue(FakeResponse.serverError());
        EaselConfig config = config("""
                model_list:
                  - model_name: primary
                    litellm_params:
                      model: openai/gpt-image-1
                      api_key: sk-primary-secret-1234
                      api_base: %s
                  - model_name: backup
                    litellm_params:
                      model: openai/gpt-image-1-mini
                      api_key: sk-backup-secret-5678
                      api_base: %s
                router_settings:
                  num_retries: 1
                  allowed_fails: 5
                  fallbacks: [{"primary": ["backup"]}]
                litellm_settings:
                  callbacks: ["otel"]
                general_settings:
                  otel_exporter_endpoint: %s
                """.formatted(primary.baseUrl(), backup.baseUrl(), collector.baseUrl()));
        OtlpTraceListener otel = open(OtlpTraceListener.fromConfig(config, Map.of("OTEL_SERVICE_NAME", "edits-gw"))
                .orElseThrow());
        Easel easel = Easel.builder().config(config).listener(otel).sleeper(d -> { }).build();

        ImageResponse response = easel.imageEdit(ImageEditRequest.builder().model("primary").image(PNG)
                .prompt(PROMPT).n(1).size("1024x1024").quality("low").user("user-42").build());
        assertThat(response.data()).hasSize(1);
        deliver(easel, otel);

        assertThat(collector.exports()).allSatisfy(e -> {
            assertThat(e.method()).isEqualTo("POST");
            assertThat(e.path()).isEqualTo("/v1/traces");
            assertThat(e.contentType()).isEqualTo("application/json");
        });
        List<Span> spans = collector.spans();
        assertThat(spans).hasSize(4);
        Span request = only(spans, 2);
        List<Span> attempts = spans.stream().filter(s -> s.kind() == 3).toList();
        assertThat(attempts).hasSize(3);

        // resource and scope
        assertThat(Span.attr(request.resource(), "service.name").orElseThrow().path("stringValue").asText())
                .isEqualTo("edits-gw");
        assertThat(request.scope().path("name").asText()).isEqualTo("dev.easel");

        // the request span: an SDK call starts its own trace
        assertThat(request.traceId()).matches("[0-9a-f]{32}");
        assertThat(request.spanId()).matches("[0-9a-f]{16}");
        assertThat(request.parentSpanId()).isNull();
        assertThat(request.name()).isEqualTo("image_edit primary");
        assertThat(request.statusCode()).isEqualTo(1);
        long start = Long.parseLong(request.span().path("startTimeUnixNano").asText());
        long end = Long.parseLong(request.span().path("endTimeUnixNano").asText());
        assertThat(request.span().path("startTimeUnixNano").isTextual()).isTrue();
        assertThat(end).isGreaterThanOrEqualTo(start);
        assertThat(start).isGreaterThan(Instant.parse("2020-01-01T00:00:00Z").toEpochMilli() * 1_000_000L);
        assertThat(request.string("gen_ai.operation.name")).isEqualTo("image_edit");
        assertThat(request.string("gen_ai.provider.name")).isEqualTo("openai");
        assertThat(request.string("gen_ai.system")).isEqualTo("openai");
        assertThat(request.string("gen_ai.request.model")).isEqualTo("primary");
        assertThat(request.string("gen_ai.response.model")).isEqualTo("gpt-image-1-mini");
        assertThat(request.string("gen_ai.output.type")).isEqualTo("image");
        assertThat(request.integer("gen_ai.request.choice.count")).isEqualTo(1L);
        dev.easel.Usage usage = response.usage().orElseThrow();
        assertThat(request.integer("gen_ai.usage.input_tokens")).isEqualTo(usage.inputTokens()).isPositive();
        assertThat(request.integer("gen_ai.usage.output_tokens")).isEqualTo(usage.outputTokens()).isPositive();
        assertThat(request.integer("http.response.status_code")).isEqualTo(200L);
        assertThat(request.string("easel.request_id")).startsWith("req_");
        assertThat(request.string("easel.source")).isEqualTo("sdk");
        assertThat(request.string("easel.model_group")).isEqualTo("backup");
        assertThat(request.string("easel.deployment")).isEqualTo("openai/gpt-image-1-mini");
        assertThat(request.string("easel.end_user")).isEqualTo("user-42");
        assertThat(request.integer("easel.attempts")).isEqualTo(3L);
        assertThat(request.integer("easel.retries")).isEqualTo(1L);
        assertThat(request.integer("easel.fallbacks")).isEqualTo(1L);
        assertThat(request.integer("easel.images_in")).isEqualTo(1L);
        assertThat(request.integer("easel.images_out")).isEqualTo(1L);
        assertThat(request.integer("easel.bytes_in")).isEqualTo((long) PNG.length);
        assertThat(request.string("easel.request.size")).isEqualTo("1024x1024");
        assertThat(request.string("easel.request.quality")).isEqualTo("low");
        assertThat(request.bool("easel.stream")).isFalse();
        assertThat(request.dbl("easel.cost_usd")).isEqualTo(response.cost().orElseThrow().doubleValue()).isPositive();
        assertThat(request.keys()).doesNotContain("error.type", "gen_ai.input.messages");

        // the attempts: children of the request span, in the same trace
        assertThat(attempts).allSatisfy(a -> {
            assertThat(a.traceId()).isEqualTo(request.traceId());
            assertThat(a.parentSpanId()).isEqualTo(request.spanId());
            assertThat(a.string("gen_ai.operation.name")).isEqualTo("image_edit");
            assertThat(a.string("gen_ai.provider.name")).isEqualTo("openai");
            assertThat(a.string("easel.request_id")).isEqualTo(request.string("easel.request_id"));
        });
        assertThat(attempts.stream().map(Span::spanId).distinct()).hasSize(3).doesNotContain(request.spanId());
        attempts = attempts.stream().sorted(java.util.Comparator.comparing(a -> a.integer("easel.attempt"))).toList();
        for (int i = 0; i < 2; i++) {
            Span a = attempts.get(i);
            assertThat(a.integer("easel.attempt")).isEqualTo(i + 1L);
            assertThat(a.name()).isEqualTo("image_edit gpt-image-1");
            assertThat(a.string("gen_ai.request.model")).isEqualTo("gpt-image-1");
            assertThat(a.string("easel.model_group")).isEqualTo("primary");
            assertThat(a.bool("easel.fallback")).isFalse();
            assertThat(a.statusCode()).isEqualTo(2);
            assertThat(a.statusMessage()).startsWith("500 ");
            assertThat(a.integer("http.response.status_code")).isEqualTo(500L);
            assertThat(a.string("error.type")).isNotBlank();
        }
        Span last = attempts.get(2);
        assertThat(last.integer("easel.attempt")).isEqualTo(3L);
        assertThat(last.name()).isEqualTo("image_edit gpt-image-1-mini");
        assertThat(last.string("gen_ai.request.model")).isEqualTo("gpt-image-1-mini");
        assertThat(last.string("gen_ai.response.model")).isEqualTo("gpt-image-1-mini");
        assertThat(last.string("easel.model_group")).isEqualTo("backup");
        assertThat(last.bool("easel.fallback")).isTrue();
        assertThat(last.statusCode()).isEqualTo(1);
        assertThat(last.integer("http.response.status_code")).isEqualTo(200L);
        assertThat(last.keys()).doesNotContain("error.type");

        // each attempt's span id is the one the provider received in traceparent
        List<String> upstream = new ArrayList<>();
        primary.requests().forEach(r -> upstream.add(r.header("traceparent").orElseThrow()));
        backup.requests().forEach(r -> upstream.add(r.header("traceparent").orElseThrow()));
        assertThat(upstream).containsExactly(attempts.stream()
                .map(a -> "00-" + request.traceId() + "-" + a.spanId() + "-01").toArray(String[]::new));

        // never the prompt, keys or image bytes
        String payload = String.join("\n", collector.exports().stream().map(OtlpReceiver.Export::body).toList());
        assertThat(payload).doesNotContain(PROMPT, "sk-primary-secret-1234", "sk-backup-secret-5678",
                Base64.getEncoder().encodeToString(PNG).substring(0, 40), "iVBORw0KGgo");
        assertThat(otel.droppedSpans()).isZero();
        assertThat(otel.exportedSpans()).isEqualTo(4);
        assertThat(otel.health().up()).isTrue();
    }

    @Test
    void gatewayRequest_withCallerTraceparent_continuesCallersTrace() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        FakeOpenAi fake = open(FakeOpenAi.start());
        OtlpTraceListener otel = open(OtlpTraceListener.builder().endpoint(collector.tracesUrl()).build());
        Engine easel = open(Easel.builder().apiKey("sk-test").apiBase(fake.baseUrl()).listener(otel).engine());
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        String callerSpan = "00f067aa0ba902b7";
        RequestMeta meta = new RequestMeta(RequestMeta.newRequestId(), Instant.now(), null, null, "proxy",
                "00-" + traceId + "-" + callerSpan + "-01");
        EditInput input = new EditInput(PROMPT, List.of(new EditInput.RawImage(Blob.ofBytes(PNG), "in.png", "image")),
                null, Map.of(), false);

        easel.execute(new GatewayRequest("gpt-image-1", input, Map.of(), null, meta));
        deliver(easel, otel);

        List<Span> spans = collector.spans();
        assertThat(spans).hasSize(2);
        Span request = only(spans, 2);
        Span attempt = only(spans, 3);
        assertThat(request.traceId()).isEqualTo(traceId);
        assertThat(request.parentSpanId()).isEqualTo(callerSpan);
        assertThat(request.spanId()).isNotEqualTo(callerSpan);
        assertThat(request.string("easel.source")).isEqualTo("proxy");
        assertThat(request.string("easel.request_id")).isEqualTo(meta.requestId());
        assertThat(attempt.traceId()).isEqualTo(traceId);
        assertThat(attempt.parentSpanId()).isEqualTo(request.spanId());
        assertThat(fake.lastRequest().header("traceparent"))
                .contains("00-" + traceId + "-" + attempt.spanId() + "-01");
    }

    @Test
    void collectorDown_healthDownEditsUnaffected_spansDeliveredWhenItIsBack() {
        int port = OtlpReceiver.freePort();
        OtlpTraceListener otel = open(OtlpTraceListener.builder().endpoint("http://127.0.0.1:" + port + "/v1/traces")
                .scheduleDelay(Duration.ofMillis(20)).retryBackoff(Duration.ofMillis(20), Duration.ofMillis(100))
                .timeout(Duration.ofMillis(500)).build());
        Easel easel = Easel.builder().listener(otel).build();

        for (int i = 0; i < 3; i++) {
            ImageResponse r = easel.imageEdit(ImageEditRequest.builder().model("mock/edit").image(PNG)
                    .prompt("edit " + i).build());
            assertThat(r.data()).hasSize(1);
        }
        assertThat(easel.listeners().drain(WAIT)).isTrue();
        await("health down", WAIT, () -> !otel.health().up());
        assertThat(otel.health().detail())
                .startsWith("otlp export to http://127.0.0.1:" + port + "/v1/traces failing: cannot reach the collector")
                .endsWith("(6 spans waiting, 0 dropped)");

        OtlpReceiver collector = open(OtlpReceiver.start(port));
        assertThat(otel.flush(WAIT)).isTrue();
        assertThat(collector.spans()).hasSize(6);
        assertThat(collector.spans().stream().filter(s -> s.kind() == 2)).hasSize(3);
        assertThat(otel.health()).isEqualTo(EaselListener.Health.UP);
        assertThat(otel.droppedSpans()).isZero();
    }

    @Test
    void collectorThrottles_batchRetriedAfterRetryAfter_deliveredOnce() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        collector.answer(503, "0");
        collector.answer(429, null);
        OtlpTraceListener otel = open(OtlpTraceListener.builder().endpoint(collector.tracesUrl())
                .retryBackoff(Duration.ofMillis(10), Duration.ofMillis(50)).build());
        Easel easel = Easel.builder().listener(otel).build();

        easel.imageEdit(ImageEditRequest.builder().model("mock/edit").image(PNG).prompt("hat").build());
        deliver(easel, otel);

        assertThat(collector.exports()).extracting(OtlpReceiver.Export::answered).containsExactly(503, 429, 200);
        assertThat(collector.exports().get(0).body()).isEqualTo(collector.exports().get(2).body());
        assertThat(collector.spans()).hasSize(2);
        assertThat(otel.health().up()).isTrue();
    }

    @Test
    void collectorRejects400_batchDroppedAndCounted_notRetried() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        collector.answer(400, null);
        OtlpTraceListener otel = open(OtlpTraceListener.builder().endpoint(collector.tracesUrl())
                .retryBackoff(Duration.ofMillis(10), Duration.ofMillis(50)).build());
        Easel easel = Easel.builder().listener(otel).build();

        easel.imageEdit(ImageEditRequest.builder().model("mock/edit").image(PNG).prompt("hat").build());
        deliver(easel, otel);

        assertThat(collector.exports()).hasSize(1);
        assertThat(otel.droppedSpans()).isEqualTo(2);
        assertThat(otel.health().up()).isFalse();
        assertThat(otel.health().detail()).contains("failing: collector answered 400: {\"message\":\"scripted 400\"}; "
                + "2 spans dropped");

        easel.imageEdit(ImageEditRequest.builder().model("mock/edit").image(PNG).prompt("hat").build());
        deliver(easel, otel);
        assertThat(collector.spans()).hasSize(2);
        assertThat(otel.health().up()).isTrue();
    }

    @Test
    void bufferFull_spansDroppedAndCounted() {
        int port = OtlpReceiver.freePort();
        // the whole record is offered at once: 1 request + 3 attempt spans into a buffer of 2
        OtlpTraceListener otel = open(OtlpTraceListener.builder().endpoint("http://127.0.0.1:" + port + "/v1/traces")
                .maxQueueSize(2).maxBatchSize(2).closeTimeout(Duration.ofMillis(200)).build());
        otel.onSuccess(record(3, "success"));
        assertThat(otel.droppedSpans()).isEqualTo(2);
    }

    @Test
    void failure_requestSpanHasErrorStatusAndType() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        EaselConfig config = config("""
                model_list:
                  - model_name: broken
                    litellm_params:
                      model: mock/edit
                      failure_rate: 1
                      failure_status: 400
                litellm_settings:
                  failure_callback: ["otel"]
                general_settings:
                  otel_exporter_endpoint: %s/v1/traces/
                """.formatted(collector.baseUrl()));
        OtlpTraceListener otel = open(OtlpTraceListener.fromConfig(config, Map.of()).orElseThrow());
        assertThat(otel.endpoint().toString()).isEqualTo(collector.tracesUrl());
        Easel easel = Easel.builder().config(config).listener(otel).build();

        assertThatThrownBy(() -> easel.imageEdit(ImageEditRequest.builder().model("broken").image(PNG)
                .prompt("hat").build())).isInstanceOf(EaselException.class);
        deliver(easel, otel);

        List<Span> spans = collector.spans();
        assertThat(spans).hasSize(2);
        Span request = only(spans, 2);
        assertThat(request.statusCode()).isEqualTo(2);
        assertThat(request.statusMessage()).contains("simulated failure");
        assertThat(request.string("error.type")).isEqualTo("invalid_request_error");
        assertThat(request.integer("http.response.status_code")).isEqualTo(400L);
        assertThat(request.keys()).doesNotContain("gen_ai.response.model", "easel.cost_usd");
        Span attempt = only(spans, 3);
        assertThat(attempt.statusCode()).isEqualTo(2);
        assertThat(attempt.string("gen_ai.provider.name")).isEqualTo("mock");
        assertThat(attempt.string("gen_ai.request.model")).isEqualTo("edit");
    }

    @Test
    void jobPolls_eachIsAClientSpanUnderItsAttempt_exportedWithTheRequest() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        EaselConfig config = config("""
                model_list:
                  - model_name: jobs
                    litellm_params: {model: polled/v1}
                litellm_settings:
                  callbacks: ["otel"]
                general_settings:
                  otel_exporter_endpoint: %s/v1/traces
                """.formatted(collector.baseUrl()));
        OtlpTraceListener otel = open(OtlpTraceListener.fromConfig(config, Map.of()).orElseThrow());
        // an adapter that reports its polls as the shared job runner does: pending, a failed poll, ready
        dev.easel.provider.ImageEditProvider polled = new dev.easel.provider.ImageEditProvider() {
            @Override
            public String name() {
                return "polled";
            }

            @Override
            public dev.easel.ImageResponse edit(dev.easel.provider.EditCall call) {
                java.time.Instant t = java.time.Instant.parse("2026-12-06T12:00:00Z");
                call.events().jobPoll("job-7", 1, t, t.plusMillis(5), "pending");
                call.events().jobPoll("job-7", 2, t.plusSeconds(1), t.plusSeconds(2), "error: 503 service_unavailable");
                call.events().jobPoll("job-7", 3, t.plusSeconds(3), t.plusSeconds(4), "ready");
                return dev.easel.ImageResponse.builder().created(1).provider("polled").model("v1")
                        .addData(dev.easel.ImageData.ofBase64(java.util.Base64.getEncoder().encodeToString(PNG)))
                        .build();
            }

            @Override
            public dev.easel.ImageEditStream editStream(dev.easel.provider.EditCall call) {
                throw new UnsupportedOperationException();
            }
        };
        Easel easel = Easel.builder().config(config).provider(polled).listener(otel).build();

        easel.imageEdit(ImageEditRequest.builder().model("jobs").image(PNG).prompt("hat").build());
        deliver(easel, otel);

        List<Span> spans = collector.spans();
        assertThat(spans).hasSize(5); // request, attempt, 3 polls
        Span attempt = spans.stream().filter(s -> s.kind() == 3 && s.name().startsWith("image_edit")).findFirst()
                .orElseThrow();
        List<Span> polls = spans.stream().filter(s -> s.name().equals("poll polled")).toList();
        assertThat(polls).hasSize(3).allSatisfy(p -> {
            assertThat(p.kind()).isEqualTo(3);
            assertThat(p.parentSpanId()).isEqualTo(attempt.spanId());
            assertThat(p.traceId()).isEqualTo(attempt.traceId());
            assertThat(p.string("easel.job.id")).isEqualTo("job-7");
        });
        assertThat(polls).extracting(p -> p.string("easel.job.outcome"))
                .containsExactly("pending", "error: 503 service_unavailable", "ready");
        assertThat(polls.get(1).statusCode()).isEqualTo(2); // the failed poll is an error span
    }

    @Test
    void successCallbackOnly_failuresNotExported() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        EaselConfig config = config("""
                litellm_settings:
                  success_callback: otel
                general_settings:
                  otel_exporter_endpoint: %s
                """.formatted(collector.baseUrl()));
        OtlpTraceListener otel = open(OtlpTraceListener.fromConfig(config, Map.of()).orElseThrow());
        otel.onFailure(record(1, "failure"));
        otel.onSuccess(record(0, "success"));
        assertThat(otel.flush(WAIT)).isTrue();
        assertThat(collector.spans()).singleElement().satisfies(s -> assertThat(s.statusCode()).isEqualTo(1));
    }

    @Test
    void prompt_exportedOnlyWhenIncluded_andNeverWhenRedacted() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        OtlpTraceListener with = open(OtlpTraceListener.builder().endpoint(collector.tracesUrl())
                .includePrompts(true).build());
        Easel easel = Easel.builder().listener(with).build();
        easel.imageEdit(ImageEditRequest.builder().model("mock/edit").image(PNG).prompt(PROMPT).build());
        deliver(easel, with);
        Span request = only(collector.spans(), 2);
        assertThat(request.string("gen_ai.input.messages")).isEqualTo(
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"" + PROMPT + "\"}]}]");

        OtlpReceiver collector2 = open(OtlpReceiver.start());
        OtlpTraceListener redacted = open(OtlpTraceListener.builder().endpoint(collector2.tracesUrl())
                .includePrompts(true).build());
        Easel easel2 = Easel.builder().listener(redacted).redactPrompts(true).build();
        easel2.imageEdit(ImageEditRequest.builder().model("mock/edit").image(PNG).prompt(PROMPT).build());
        deliver(easel2, redacted);
        assertThat(collector2.spans()).hasSize(2);
        assertThat(collector2.exports().get(0).body()).doesNotContain(PROMPT);
    }

    @Test
    void close_deliversBufferedSpans() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        OtlpTraceListener otel = OtlpTraceListener.builder().endpoint(collector.tracesUrl())
                .scheduleDelay(Duration.ofMinutes(5)).build();
        otel.onSuccess(record(2, "success"));
        otel.close();
        assertThat(collector.spans()).hasSize(3);
        otel.onSuccess(record(0, "success"));
        assertThat(otel.droppedSpans()).isEqualTo(1);
    }

    @Test
    void fromConfig_withoutOtelCallback_isEmpty() {
        assertThat(OtlpTraceListener.fromConfig(config("""
                litellm_settings:
                  callbacks: ["prometheus", "json_logs"]
                general_settings:
                  otel_exporter_endpoint: http://127.0.0.1:4318
                """), Map.of())).isEmpty();
    }

    @Test
    void fromConfig_readsStandardEnvironment() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        EaselConfig config = config("""
                litellm_settings:
                  callbacks: ["otel"]
                environment_variables:
                  OTEL_SERVICE_NAME: from-config
                """);
        OtlpTraceListener otel = open(OtlpTraceListener.fromConfig(config, Map.of(
                "OTEL_EXPORTER_OTLP_ENDPOINT", collector.baseUrl() + "/",
                "OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=s3cr%3Dt, x-tenant = acme+co",
                "OTEL_SERVICE_NAME", "from-env",
                "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test,service.name=ignored")).orElseThrow());
        assertThat(otel.endpoint().toString()).isEqualTo(collector.tracesUrl());
        otel.onSuccess(record(0, "success"));
        assertThat(otel.flush(WAIT)).isTrue();

        OtlpReceiver.Export export = collector.exports().get(0);
        assertThat(export.headers().get("X-collector-key")).containsExactly("s3cr=t");
        assertThat(export.headers().get("X-tenant")).containsExactly("acme+co");
        Span s = collector.spans().get(0);
        assertThat(Span.attr(s.resource(), "service.name").orElseThrow().path("stringValue").asText())
                .isEqualTo("from-config");
        assertThat(Span.attr(s.resource(), "deployment.environment.name").orElseThrow().path("stringValue").asText())
                .isEqualTo("test");
        assertThat(otel.health().detail()).doesNotContain("s3cr");
    }

    @Test
    void endpoint_resolution() {
        assertThat(endpoint(Map.of())).isEqualTo("http://localhost:4318/v1/traces");
        assertThat(endpoint(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/otlp")))
                .isEqualTo("http://c:4318/otlp/v1/traces");
        assertThat(endpoint(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://t:443/custom/path")))
                .isEqualTo("https://t:443/custom/path");
        assertThat(OtlpTraceListener.tracesUrl("http://c:4318/")).isEqualTo("http://c:4318/v1/traces");
        assertThat(OtlpTraceListener.tracesUrl("http://c:4318/v1/traces")).isEqualTo("http://c:4318/v1/traces");
    }

    private String endpoint(Map<String, String> env) {
        try (OtlpTraceListener l = OtlpTraceListener.builder().environment(env).build()) {
            return l.endpoint().toString();
        }
    }

    @Test
    void invalidSettings_areRefusedWithExactMessages() {
        EaselConfig config = config("""
                litellm_settings:
                  callbacks: ["otel"]
                """);
        assertThatThrownBy(() -> OtlpTraceListener.fromConfig(config, Map.of("OTEL_BSP_MAX_QUEUE_SIZE", "lots")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("OTEL_BSP_MAX_QUEUE_SIZE must be a positive integer (was 'lots')");
        assertThatThrownBy(() -> OtlpTraceListener.fromConfig(config,
                Map.of("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http(s) url (was 'collector:4318')");
        assertThatThrownBy(() -> OtlpTraceListener.fromConfig(config,
                Map.of("OTEL_EXPORTER_OTLP_HEADERS", "a=1,secret-without-equals")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("OTEL_EXPORTER_OTLP_HEADERS: entry 2 is not key=value");
        assertThatThrownBy(() -> OtlpTraceListener.builder().maxBatchSize(0))
                .hasMessage("maxBatchSize must be at least 1 (was 0)");
        assertThatThrownBy(() -> OtlpTraceListener.builder().endpoint("ftp://x/v1/traces"))
                .hasMessage("otel endpoint must be an http(s) url (was 'ftp://x/v1/traces')");
    }

    @Test
    void providerNames_followTheConvention() {
        assertThat(OtlpSpanMapper.providerName("openai")).isEqualTo("openai");
        assertThat(OtlpSpanMapper.providerName("azure")).isEqualTo("azure.ai.openai");
        assertThat(OtlpSpanMapper.providerName("mock")).isEqualTo("mock");
    }

    /** A record with {@code attempts} attempts, built by hand (no edit). */
    static EditLogRecord record(int attempts, String status) {
        String trace = "0af7651916cd43dd8448eb211c80319c";
        String span = "b7ad6b7169203331";
        Instant t = Instant.parse("2026-01-02T03:04:05.123456789Z");
        List<AttemptEvent> list = new ArrayList<>();
        for (int i = 1; i <= attempts; i++) {
            list.add(new AttemptEvent("req_1", i, "g", "openai/gpt-image-1", "openai", false, t, t.plusMillis(5),
                    "ok", 200, null, null, trace, "%016x".formatted(i), span));
        }
        boolean ok = status.equals("success");
        return new EditLogRecord("req_1", t, t.plusMillis(10), "sdk", "g", "g", "openai/gpt-image-1", "openai",
                "gpt-image-1", null, null, status, ok ? 200 : 500, ok ? null : "server_error", null,
                ok ? null : "boom", null, null, List.of(), null, 0, 0, null, null, Map.of(), false, list, 0, 0, 10,
                5, 5, "secret prompt", trace, span, null);
    }

    @Test
    void encoding_followsOtlpJsonRules() throws Exception {
        OtlpSpan s = new OtlpSpanMapper(false, Map.of()).spans(record(1, "success")).get(0);
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                OtlpJson.encode(Map.of("service.name", "easel"), "dev.easel", null, List.of(s)));
        var span = json.path("resourceSpans").get(0).path("scopeSpans").get(0).path("spans").get(0);
        assertThat(span.path("traceId").asText()).isEqualTo("0af7651916cd43dd8448eb211c80319c");
        assertThat(span.path("startTimeUnixNano").textValue()).isEqualTo("1767323045123456789");
        assertThat(span.path("endTimeUnixNano").textValue()).isEqualTo("1767323045133456789");
        assertThat(span.path("kind").isInt()).isTrue();
        assertThat(span.path("status").path("code").intValue()).isEqualTo(1);
        assertThat(span.has("parentSpanId")).isFalse();
        assertThat(json.toString()).doesNotContain("secret prompt", "trace_id", "span_id", "SPAN_KIND");
    }

    @Test
    void rejectedBadRequest_isOneServerSpanWithoutAttempts() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        OtlpTraceListener otel = open(OtlpTraceListener.builder().endpoint(collector.tracesUrl()).build());
        Engine easel = open(Easel.builder().listener(otel).engine());
        RequestMeta meta = RequestMeta.sdk(Instant.now(), null);
        easel.reportRejected(meta, "mock/edit", new BadRequestException("n must be at most 10 (was 11)",
                "invalid_value", "n"));
        deliver(easel, otel);
        Span request = only(collector.spans(), 2);
        assertThat(collector.spans()).hasSize(1);
        assertThat(request.statusCode()).isEqualTo(2);
        assertThat(request.statusMessage()).isEqualTo("n must be at most 10 (was 11)");
        assertThat(request.integer("easel.attempts")).isZero();
    }
}
