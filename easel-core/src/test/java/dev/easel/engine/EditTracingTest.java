package dev.easel.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.BadRequestException;
import dev.easel.Easel;
import dev.easel.EaselException;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import dev.easel.callback.EaselListener;
import dev.easel.callback.EditLogRecord;
import dev.easel.callback.JobPollEvent;
import dev.easel.config.ConfigLoader;
import dev.easel.config.EaselConfig;
import dev.easel.image.TestImages;
import dev.easel.internal.Blob;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.validate.EditInput;
import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The spans an edit makes through the OpenTelemetry API, seen by an SDK with the in-memory exporter: the tree
 * (request SERVER span, a CLIENT span per attempt, job polls under their attempt), every attribute, status,
 * parents from {@code traceparent} or the current context, and the {@code traceparent} each provider received.
 */
class EditTracingTest {

    static final byte[] PNG = TestImages.png(64, 64, false);
    static final String PROMPT = "Add a red hat to the person in the image";
    static final Pattern TRACEPARENT = Pattern.compile("00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])");

    final InMemorySpanExporter exporter = InMemorySpanExporter.create();
    final OpenTelemetrySdk otel = sdk(exporter, Sampler.alwaysOn());
    final List<AutoCloseable> open = new ArrayList<>();

    static OpenTelemetrySdk sdk(InMemorySpanExporter exporter, Sampler sampler) {
        return OpenTelemetrySdk.builder().setTracerProvider(SdkTracerProvider.builder().setSampler(sampler)
                .addSpanProcessor(SimpleSpanProcessor.create(exporter)).build()).build();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
        otel.close();
    }

    <T extends AutoCloseable> T open(T c) {
        open.add(c);
        return c;
    }

    static EaselConfig config(String yaml) {
        return ConfigLoader.parse(yaml, Map.of(), "config.yaml");
    }

    List<SpanData> spans() {
        return exporter.getFinishedSpanItems();
    }

    static SpanData only(List<SpanData> spans, SpanKind kind) {
        List<SpanData> k = spans.stream().filter(s -> s.getKind() == kind).toList();
        assertThat(k).hasSize(1);
        return k.get(0);
    }

    static String str(SpanData s, String key) {
        return s.getAttributes().get(AttributeKey.stringKey(key));
    }

    static Long lng(SpanData s, String key) {
        return s.getAttributes().get(AttributeKey.longKey(key));
    }

    static Boolean bool(SpanData s, String key) {
        return s.getAttributes().get(AttributeKey.booleanKey(key));
    }

    static Double dbl(SpanData s, String key) {
        return s.getAttributes().get(AttributeKey.doubleKey(key));
    }

    static Set<String> keys(SpanData s) {
        Set<String> out = new TreeSet<>();
        s.getAttributes().forEach((k, v) -> out.add(k.getKey()));
        return out;
    }

    @Test
    void edit_retriedAndFellBack_requestSpanAndOneClientSpanPerAttempt() {
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
                """.formatted(primary.baseUrl(), backup.baseUrl()));
        Easel easel = open(Easel.builder().config(config).openTelemetry(otel).sleeper(d -> { }).build());

        ImageResponse response = easel.imageEdit(ImageEditRequest.builder().model("primary").image(PNG)
                .prompt(PROMPT).n(1).size("1024x1024").quality("low").user("user-42").build());
        assertThat(response.data()).hasSize(1);

        List<SpanData> spans = spans();
        assertThat(spans).hasSize(4);
        SpanData request = only(spans, SpanKind.SERVER);
        List<SpanData> attempts = spans.stream().filter(s -> s.getKind() == SpanKind.CLIENT)
                .sorted(Comparator.comparing(a -> lng(a, "easel.attempt"))).toList();
        assertThat(attempts).hasSize(3);
        assertThat(request.getInstrumentationScopeInfo().getName()).isEqualTo("dev.easel");

        // the request span: an SDK call without a current span starts its own trace
        assertThat(request.getTraceId()).matches("[0-9a-f]{32}");
        assertThat(request.getSpanId()).matches("[0-9a-f]{16}");
        assertThat(request.getParentSpanContext().isValid()).isFalse();
        assertThat(request.getName()).isEqualTo("image_edit primary");
        assertThat(request.getStatus().getStatusCode()).isEqualTo(StatusCode.OK);
        assertThat(request.getEndEpochNanos()).isGreaterThanOrEqualTo(request.getStartEpochNanos());
        assertThat(request.getStartEpochNanos())
                .isGreaterThan(Instant.parse("2020-01-01T00:00:00Z").toEpochMilli() * 1_000_000L);
        assertThat(str(request, "gen_ai.operation.name")).isEqualTo("image_edit");
        assertThat(str(request, "gen_ai.provider.name")).isEqualTo("openai");
        assertThat(str(request, "gen_ai.system")).isEqualTo("openai");
        assertThat(str(request, "gen_ai.request.model")).isEqualTo("primary");
        assertThat(str(request, "gen_ai.response.model")).isEqualTo("gpt-image-1-mini");
        assertThat(str(request, "gen_ai.output.type")).isEqualTo("image");
        assertThat(lng(request, "gen_ai.request.choice.count")).isEqualTo(1L);
        dev.easel.Usage usage = response.usage().orElseThrow();
        assertThat(lng(request, "gen_ai.usage.input_tokens")).isEqualTo(usage.inputTokens()).isPositive();
        assertThat(lng(request, "gen_ai.usage.output_tokens")).isEqualTo(usage.outputTokens()).isPositive();
        assertThat(lng(request, "http.response.status_code")).isEqualTo(200L);
        assertThat(str(request, "easel.request_id")).startsWith("req_");
        assertThat(str(request, "easel.source")).isEqualTo("sdk");
        assertThat(str(request, "easel.model_group")).isEqualTo("backup");
        assertThat(str(request, "easel.deployment")).isEqualTo("openai/gpt-image-1-mini");
        assertThat(str(request, "easel.end_user")).isEqualTo("user-42");
        assertThat(lng(request, "easel.attempts")).isEqualTo(3L);
        assertThat(lng(request, "easel.retries")).isEqualTo(1L);
        assertThat(lng(request, "easel.fallbacks")).isEqualTo(1L);
        assertThat(lng(request, "easel.images_in")).isEqualTo(1L);
        assertThat(lng(request, "easel.images_out")).isEqualTo(1L);
        assertThat(lng(request, "easel.bytes_in")).isEqualTo((long) PNG.length);
        assertThat(lng(request, "easel.bytes_out")).isPositive();
        assertThat(str(request, "easel.request.size")).isEqualTo("1024x1024");
        assertThat(str(request, "easel.request.quality")).isEqualTo("low");
        assertThat(bool(request, "easel.stream")).isFalse();
        assertThat(dbl(request, "easel.cost_usd")).isEqualTo(response.cost().orElseThrow().doubleValue()).isPositive();
        assertThat(lng(request, "easel.latency.upstream_ms")).isNotNull();
        assertThat(lng(request, "easel.latency.overhead_ms")).isNotNull();
        // every attribute the hand-written mapper set for such an edit, and no other
        assertThat(keys(request)).containsExactlyInAnyOrder("gen_ai.operation.name", "gen_ai.provider.name",
                "gen_ai.system", "gen_ai.request.model", "gen_ai.output.type", "gen_ai.request.choice.count",
                "gen_ai.response.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
                "easel.cost_usd", "http.response.status_code", "easel.request_id", "easel.source",
                "easel.model_group", "easel.deployment", "easel.end_user", "easel.stream", "easel.attempts",
                "easel.retries", "easel.fallbacks", "easel.images_in", "easel.images_out", "easel.bytes_in",
                "easel.bytes_out", "easel.request.size", "easel.request.quality", "easel.output.size",
                "easel.output.format", "easel.latency.upstream_ms", "easel.latency.overhead_ms");

        // the attempts: children of the request span, in the same trace
        assertThat(attempts).allSatisfy(a -> {
            assertThat(a.getTraceId()).isEqualTo(request.getTraceId());
            assertThat(a.getParentSpanId()).isEqualTo(request.getSpanId());
            assertThat(str(a, "gen_ai.operation.name")).isEqualTo("image_edit");
            assertThat(str(a, "gen_ai.provider.name")).isEqualTo("openai");
            assertThat(str(a, "gen_ai.system")).isEqualTo("openai");
            assertThat(str(a, "easel.request_id")).isEqualTo(str(request, "easel.request_id"));
            assertThat(a.getStartEpochNanos()).isGreaterThanOrEqualTo(request.getStartEpochNanos());
            assertThat(a.getEndEpochNanos()).isLessThanOrEqualTo(request.getEndEpochNanos());
        });
        assertThat(attempts.stream().map(SpanData::getSpanId).distinct()).hasSize(3)
                .doesNotContain(request.getSpanId());
        for (int i = 0; i < 2; i++) {
            SpanData a = attempts.get(i);
            assertThat(lng(a, "easel.attempt")).isEqualTo(i + 1L);
            assertThat(a.getName()).isEqualTo("image_edit gpt-image-1");
            assertThat(str(a, "gen_ai.request.model")).isEqualTo("gpt-image-1");
            assertThat(str(a, "easel.model_group")).isEqualTo("primary");
            assertThat(str(a, "easel.deployment")).isEqualTo("openai/gpt-image-1");
            assertThat(bool(a, "easel.fallback")).isFalse();
            assertThat(a.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
            assertThat(a.getStatus().getDescription()).startsWith("500 ");
            assertThat(lng(a, "http.response.status_code")).isEqualTo(500L);
            assertThat(str(a, "error.type")).isEqualTo("server_error");
            assertThat(keys(a)).doesNotContain("gen_ai.response.model");
        }
        SpanData last = attempts.get(2);
        assertThat(lng(last, "easel.attempt")).isEqualTo(3L);
        assertThat(last.getName()).isEqualTo("image_edit gpt-image-1-mini");
        assertThat(str(last, "gen_ai.request.model")).isEqualTo("gpt-image-1-mini");
        assertThat(str(last, "gen_ai.response.model")).isEqualTo("gpt-image-1-mini");
        assertThat(str(last, "easel.model_group")).isEqualTo("backup");
        assertThat(bool(last, "easel.fallback")).isTrue();
        assertThat(last.getStatus().getStatusCode()).isEqualTo(StatusCode.OK);
        assertThat(lng(last, "http.response.status_code")).isEqualTo(200L);
        assertThat(keys(last)).containsExactlyInAnyOrder("gen_ai.operation.name", "gen_ai.provider.name",
                "gen_ai.system", "gen_ai.request.model", "gen_ai.response.model", "http.response.status_code",
                "easel.request_id", "easel.model_group", "easel.deployment", "easel.attempt", "easel.fallback");

        // each attempt's span is the parent the provider received in traceparent
        List<String> upstream = new ArrayList<>();
        primary.requests().forEach(r -> upstream.add(r.header("traceparent").orElseThrow()));
        backup.requests().forEach(r -> upstream.add(r.header("traceparent").orElseThrow()));
        assertThat(upstream).containsExactly(attempts.stream().map(EditTracingTest::traceparent).toArray(String[]::new));
        assertThat(attempts).allSatisfy(a -> assertThat(a.getSpanContext().isSampled()).isTrue());

        // never the prompt, keys or image bytes
        String all = spans.stream().map(s -> s.getAttributes().toString() + s.getStatus()).reduce("", String::concat);
        assertThat(all).doesNotContain(PROMPT, "sk-primary-secret-1234", "sk-backup-secret-5678", "iVBORw0KGgo");
    }

    @Test
    void record_carriesTheSpanIds_listenersSeeThem() throws Exception {
        FakeOpenAi fake = open(FakeOpenAi.start());
        List<EditLogRecord> records = new CopyOnWriteArrayList<>();
        Easel easel = open(Easel.builder().apiKey("sk-test").apiBase(fake.baseUrl()).openTelemetry(otel)
                .recordSink(records::add).build());
        easel.imageEdit(ImageEditRequest.builder().model("gpt-image-1").image(PNG).prompt(PROMPT).build());

        SpanData request = only(spans(), SpanKind.SERVER);
        SpanData attempt = only(spans(), SpanKind.CLIENT);
        EditLogRecord r = records.get(0);
        assertThat(r.traceId()).isEqualTo(request.getTraceId());
        assertThat(r.spanId()).isEqualTo(request.getSpanId());
        assertThat(r.parentSpanId()).isNull();
        assertThat(r.attempts()).singleElement().satisfies(a -> {
            assertThat(a.spanId()).isEqualTo(attempt.getSpanId());
            assertThat(a.parentSpanId()).isEqualTo(request.getSpanId());
        });
    }

    @Test
    void gatewayRequest_withCallerTraceparent_continuesCallersTrace() {
        FakeOpenAi fake = open(FakeOpenAi.start());
        Engine easel = open(Easel.builder().apiKey("sk-test").apiBase(fake.baseUrl()).openTelemetry(otel).engine());
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        String callerSpan = "00f067aa0ba902b7";
        RequestMeta meta = new RequestMeta(RequestMeta.newRequestId(), Instant.now(), null, null, "proxy",
                "00-" + traceId + "-" + callerSpan + "-01");

        easel.execute(new GatewayRequest("gpt-image-1", input(), Map.of(), null, meta));

        List<SpanData> spans = spans();
        assertThat(spans).hasSize(2);
        SpanData request = only(spans, SpanKind.SERVER);
        SpanData attempt = only(spans, SpanKind.CLIENT);
        assertThat(request.getTraceId()).isEqualTo(traceId);
        assertThat(request.getParentSpanId()).isEqualTo(callerSpan);
        assertThat(request.getParentSpanContext().isRemote()).isTrue();
        assertThat(request.getSpanId()).isNotEqualTo(callerSpan);
        assertThat(str(request, "easel.source")).isEqualTo("proxy");
        assertThat(str(request, "easel.request_id")).isEqualTo(meta.requestId());
        assertThat(attempt.getTraceId()).isEqualTo(traceId);
        assertThat(attempt.getParentSpanId()).isEqualTo(request.getSpanId());
        assertThat(fake.lastRequest().header("traceparent"))
                .contains("00-" + traceId + "-" + attempt.getSpanId() + "-01");
    }

    @Test
    void callerNotSampled_noSpansExported_upstreamToldNotSampled() {
        FakeOpenAi fake = open(FakeOpenAi.start());
        InMemorySpanExporter sampled = InMemorySpanExporter.create();
        OpenTelemetrySdk parentBased = open(sdk(sampled, Sampler.parentBased(Sampler.alwaysOn())));
        Engine easel = open(Easel.builder().apiKey("sk-test").apiBase(fake.baseUrl()).openTelemetry(parentBased)
                .engine());
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        RequestMeta meta = new RequestMeta(RequestMeta.newRequestId(), Instant.now(), null, null, "proxy",
                "00-" + traceId + "-00f067aa0ba902b7-00");

        easel.execute(new GatewayRequest("gpt-image-1", input(), Map.of(), null, meta));

        assertThat(sampled.getFinishedSpanItems()).isEmpty();
        Matcher m = TRACEPARENT.matcher(fake.lastRequest().header("traceparent").orElseThrow());
        assertThat(m.matches()).isTrue();
        assertThat(m.group(1)).isEqualTo(traceId);
        assertThat(m.group(2)).isNotEqualTo("00f067aa0ba902b7");
        assertThat(m.group(3)).isEqualTo("00");
    }

    @Test
    void sdkCall_insideTheApplicationsSpan_isItsChild() {
        FakeOpenAi fake = open(FakeOpenAi.start());
        Easel easel = open(Easel.builder().apiKey("sk-test").apiBase(fake.baseUrl()).openTelemetry(otel).build());
        Span app = otel.getTracer("app").spanBuilder("handle upload").startSpan();
        try (Scope ignored = app.makeCurrent()) {
            easel.imageEdit(ImageEditRequest.builder().model("gpt-image-1").image(PNG).prompt(PROMPT).build());
        } finally {
            app.end();
        }
        SpanData request = only(spans().stream().filter(s -> s.getName().startsWith("image_edit")).toList(),
                SpanKind.SERVER);
        assertThat(request.getTraceId()).isEqualTo(app.getSpanContext().getTraceId());
        assertThat(request.getParentSpanId()).isEqualTo(app.getSpanContext().getSpanId());
    }

    @Test
    void withoutOpenTelemetry_globalIsUsed_registeredAfterTheClientWasBuilt() {
        FakeOpenAi fake = open(FakeOpenAi.start());
        GlobalOpenTelemetry.resetForTest();
        try {
            Easel easel = open(Easel.builder().apiKey("sk-test").apiBase(fake.baseUrl()).build());
            easel.imageEdit(ImageEditRequest.builder().model("gpt-image-1").image(PNG).prompt(PROMPT).build());
            assertThat(spans()).isEmpty();
            assertThat(GlobalOpenTelemetry.isSet()).as("building a client does not fix the global").isFalse();

            GlobalOpenTelemetry.set(otel);
            easel.imageEdit(ImageEditRequest.builder().model("gpt-image-1").image(PNG).prompt(PROMPT).build());
            assertThat(spans()).hasSize(2);
            SpanData attempt = only(spans(), SpanKind.CLIENT);
            assertThat(fake.lastRequest().header("traceparent")).contains(traceparent(attempt));
        } finally {
            GlobalOpenTelemetry.resetForTest();
        }
    }

    @Test
    void noSdk_traceContextStillPropagated_withIdsOfEasel() {
        FakeOpenAi fake = open(FakeOpenAi.start());
        List<EditLogRecord> records = new CopyOnWriteArrayList<>();
        Engine easel = open(Easel.builder().apiKey("sk-test").apiBase(fake.baseUrl()).openTelemetry(OpenTelemetry.noop())
                .recordSink(records::add).engine());
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        String callerSpan = "00f067aa0ba902b7";
        RequestMeta meta = new RequestMeta(RequestMeta.newRequestId(), Instant.now(), null, null, "proxy",
                "00-" + traceId + "-" + callerSpan + "-01");

        easel.execute(new GatewayRequest("gpt-image-1", input(), Map.of(), null, meta));
        easel.execute(new GatewayRequest("gpt-image-1", input(), Map.of(), null,
                new RequestMeta(RequestMeta.newRequestId(), Instant.now(), null, null, "proxy", null)));

        EditLogRecord continued = records.get(0);
        assertThat(continued.traceId()).isEqualTo(traceId);
        assertThat(continued.parentSpanId()).isEqualTo(callerSpan);
        assertThat(continued.spanId()).matches("[0-9a-f]{16}").isNotEqualTo(callerSpan);
        String attemptSpan = continued.attempts().get(0).spanId();
        assertThat(attemptSpan).matches("[0-9a-f]{16}").isNotEqualTo(continued.spanId());
        assertThat(fake.requests().get(0).header("traceparent")).contains("00-" + traceId + "-" + attemptSpan + "-01");

        EditLogRecord fresh = records.get(1);
        assertThat(fresh.traceId()).matches("[0-9a-f]{32}").isNotEqualTo(traceId);
        assertThat(fresh.parentSpanId()).isNull();
        assertThat(fake.requests().get(1).header("traceparent"))
                .contains("00-" + fresh.traceId() + "-" + fresh.attempts().get(0).spanId() + "-01");
    }

    @Test
    void failure_requestSpanHasErrorStatusAndType() {
        EaselConfig config = config("""
                model_list:
                  - model_name: broken
                    litellm_params:
                      model: mock/edit
                      failure_rate: 1
                      failure_status: 400
                """);
        Easel easel = open(Easel.builder().config(config).openTelemetry(otel).build());

        assertThatThrownBy(() -> easel.imageEdit(ImageEditRequest.builder().model("broken").image(PNG)
                .prompt("hat").build())).isInstanceOf(EaselException.class);

        List<SpanData> spans = spans();
        assertThat(spans).hasSize(2);
        SpanData request = only(spans, SpanKind.SERVER);
        assertThat(request.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(request.getStatus().getDescription()).contains("simulated failure");
        assertThat(str(request, "error.type")).isEqualTo("invalid_request_error");
        assertThat(lng(request, "http.response.status_code")).isEqualTo(400L);
        assertThat(keys(request)).doesNotContain("gen_ai.response.model", "easel.cost_usd");
        SpanData attempt = only(spans, SpanKind.CLIENT);
        assertThat(attempt.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(str(attempt, "gen_ai.provider.name")).isEqualTo("mock");
        assertThat(str(attempt, "gen_ai.request.model")).isEqualTo("edit");
        assertThat(str(attempt, "error.type")).isEqualTo("invalid_request_error");
    }

    @Test
    void jobPolls_eachIsAClientSpanUnderItsAttempt_endedWithTheRequest() {
        EaselConfig config = config("""
                model_list:
                  - model_name: jobs
                    litellm_params: {model: polled/v1}
                """);
        List<JobPollEvent> events = new CopyOnWriteArrayList<>();
        EaselListener listener = new EaselListener() {
            @Override
            public void onJobPoll(JobPollEvent event) {
                events.add(event);
            }
        };
        // an adapter that reports its polls as the shared job runner does: pending, a failed poll, ready
        dev.easel.provider.ImageEditProvider polled = new dev.easel.provider.ImageEditProvider() {
            @Override
            public String name() {
                return "polled";
            }

            @Override
            public ImageResponse edit(dev.easel.provider.EditCall call) {
                Instant t = Instant.parse("2026-12-06T12:00:00Z");
                call.events().jobPoll("job-7", 1, t, t.plusMillis(5), "pending");
                call.events().jobPoll("job-7", 2, t.plusSeconds(1), t.plusSeconds(2), "error: 503 service_unavailable");
                call.events().jobPoll("job-7", 3, t.plusSeconds(3), t.plusSeconds(4), "ready");
                assertThat(spans()).as("no span ends before the request").isEmpty();
                return ImageResponse.builder().created(1).provider("polled").model("v1")
                        .addData(dev.easel.ImageData.ofBase64(java.util.Base64.getEncoder().encodeToString(PNG)))
                        .build();
            }

            @Override
            public dev.easel.ImageEditStream editStream(dev.easel.provider.EditCall call) {
                throw new UnsupportedOperationException();
            }
        };
        Easel easel = open(Easel.builder().config(config).provider(polled).listener(listener).openTelemetry(otel)
                .build());

        easel.imageEdit(ImageEditRequest.builder().model("jobs").image(PNG).prompt("hat").build());

        List<SpanData> spans = spans();
        assertThat(spans).hasSize(5); // request, attempt, 3 polls
        SpanData attempt = spans.stream().filter(s -> s.getName().startsWith("image_edit")
                && s.getKind() == SpanKind.CLIENT).findFirst().orElseThrow();
        List<SpanData> polls = spans.stream().filter(s -> s.getName().equals("poll polled"))
                .sorted(Comparator.comparing(p -> lng(p, "easel.job.poll"))).toList();
        assertThat(polls).hasSize(3).allSatisfy(p -> {
            assertThat(p.getKind()).isEqualTo(SpanKind.CLIENT);
            assertThat(p.getParentSpanId()).isEqualTo(attempt.getSpanId());
            assertThat(p.getTraceId()).isEqualTo(attempt.getTraceId());
            assertThat(str(p, "easel.job.id")).isEqualTo("job-7");
            assertThat(str(p, "gen_ai.provider.name")).isEqualTo("polled");
            assertThat(lng(p, "easel.attempt")).isEqualTo(1L);
            assertThat(str(p, "easel.request_id")).isEqualTo(str(attempt, "easel.request_id"));
            assertThat(str(p, "easel.deployment")).isEqualTo(str(attempt, "easel.deployment"));
        });
        assertThat(polls).extracting(p -> str(p, "easel.job.outcome"))
                .containsExactly("pending", "error: 503 service_unavailable", "ready");
        assertThat(polls).extracting(p -> p.getStatus().getStatusCode())
                .containsExactly(StatusCode.UNSET, StatusCode.ERROR, StatusCode.UNSET);
        Instant t = Instant.parse("2026-12-06T12:00:00Z");
        assertThat(polls.get(1).getStartEpochNanos()).isEqualTo(nanos(t.plusSeconds(1)));
        assertThat(polls.get(1).getEndEpochNanos()).isEqualTo(nanos(t.plusSeconds(2)));
        // the listeners' poll events name the exported spans
        assertThat(easel.listeners().drain(Duration.ofSeconds(10))).isTrue();
        assertThat(events).extracting(JobPollEvent::spanId).containsExactlyElementsOf(
                polls.stream().map(SpanData::getSpanId).toList());
        assertThat(events).extracting(JobPollEvent::parentSpanId).containsOnly(attempt.getSpanId());
    }

    /** The W3C {@code traceparent} naming {@code span}, its flags as the SDK set them (sampled, maybe random). */
    static String traceparent(SpanData span) {
        return "00-" + span.getTraceId() + "-" + span.getSpanId() + "-" + span.getSpanContext().getTraceFlags().asHex();
    }

    static long nanos(Instant i) {
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }

    @Test
    void successCallbackOnly_failuresNotTraced() {
        EaselConfig config = config("""
                model_list:
                  - model_name: ok
                    litellm_params: {model: mock/edit}
                  - model_name: broken
                    litellm_params: {model: mock/edit, failure_rate: 1, failure_status: 500}
                litellm_settings:
                  success_callback: otel
                """);
        Easel easel = open(Easel.builder().config(config).openTelemetry(otel).build());
        assertThatThrownBy(() -> easel.imageEdit(ImageEditRequest.builder().model("broken").image(PNG)
                .prompt("hat").build())).isInstanceOf(EaselException.class);
        assertThat(spans()).isEmpty();
        easel.imageEdit(ImageEditRequest.builder().model("ok").image(PNG).prompt("hat").build());
        assertThat(spans()).hasSize(2).allSatisfy(s -> assertThat(s.getStatus().getStatusCode())
                .isEqualTo(StatusCode.OK));
    }

    @Test
    void failureCallbackOnly_successesNotTraced() {
        EaselConfig config = config("""
                model_list:
                  - model_name: ok
                    litellm_params: {model: mock/edit}
                  - model_name: broken
                    litellm_params: {model: mock/edit, failure_rate: 1, failure_status: 500}
                litellm_settings:
                  failure_callback: [otel]
                """);
        Easel easel = open(Easel.builder().config(config).openTelemetry(otel).build());
        easel.imageEdit(ImageEditRequest.builder().model("ok").image(PNG).prompt("hat").build());
        assertThat(spans()).isEmpty();
        assertThatThrownBy(() -> easel.imageEdit(ImageEditRequest.builder().model("broken").image(PNG)
                .prompt("hat").build())).isInstanceOf(EaselException.class);
        assertThat(spans()).isNotEmpty().allSatisfy(s -> assertThat(s.getStatus().getStatusCode())
                .isEqualTo(StatusCode.ERROR));
    }

    @Test
    void prompt_tracedOnlyWhenAsked_andNeverWhenRedacted() {
        Easel plain = open(Easel.builder().openTelemetry(otel).build());
        plain.imageEdit(ImageEditRequest.builder().model("mock/edit").image(PNG).prompt(PROMPT).build());
        assertThat(keys(only(spans(), SpanKind.SERVER))).doesNotContain("gen_ai.input.messages");
        exporter.reset();

        Easel with = open(Easel.builder().openTelemetry(otel).tracePrompts(true).build());
        with.imageEdit(ImageEditRequest.builder().model("mock/edit").image(PNG).prompt(PROMPT).build());
        assertThat(str(only(spans(), SpanKind.SERVER), "gen_ai.input.messages")).isEqualTo(
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"" + PROMPT + "\"}]}]");
        exporter.reset();

        Easel redacted = open(Easel.builder().openTelemetry(otel).tracePrompts(true).redactPrompts(true).build());
        redacted.imageEdit(ImageEditRequest.builder().model("mock/edit").image(PNG).prompt(PROMPT).build());
        assertThat(spans()).hasSize(2);
        assertThat(spans().toString()).doesNotContain(PROMPT);
    }

    @Test
    void rejectedBadRequest_isOneServerSpanWithoutAttempts() {
        Engine easel = open(Easel.builder().openTelemetry(otel).engine());
        RequestMeta meta = RequestMeta.sdk(Instant.now(), null);
        easel.reportRejected(meta, "mock/edit", new BadRequestException("n must be at most 10 (was 11)",
                "invalid_value", "n"));
        SpanData request = only(spans(), SpanKind.SERVER);
        assertThat(spans()).hasSize(1);
        assertThat(request.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(request.getStatus().getDescription()).isEqualTo("n must be at most 10 (was 11)");
        assertThat(lng(request, "easel.attempts")).isZero();
        assertThat(str(request, "easel.error.code")).isEqualTo("invalid_value");
        assertThat(request.getStartEpochNanos()).isEqualTo(nanos(meta.receivedAt()));
    }

    @Test
    void validationRefusal_isNoAttemptSpan() {
        Easel easel = open(Easel.builder().openTelemetry(otel).build());
        assertThatThrownBy(() -> easel.imageEdit(ImageEditRequest.builder().model("mock/edit").image(PNG)
                .prompt("hat").n(99).build())).isInstanceOf(BadRequestException.class);
        assertThat(spans()).singleElement().satisfies(s -> {
            assertThat(s.getKind()).isEqualTo(SpanKind.SERVER);
            assertThat(lng(s, "easel.attempts")).isZero();
            assertThat(lng(s, "http.response.status_code")).isEqualTo(400L);
        });
    }

    @Test
    void providerNames_followTheConvention() {
        assertThat(SpanAttributes.providerName("openai")).isEqualTo("openai");
        assertThat(SpanAttributes.providerName("azure")).isEqualTo("azure.ai.openai");
        assertThat(SpanAttributes.providerName("gemini")).isEqualTo("gcp.gemini");
        assertThat(SpanAttributes.providerName("mock")).isEqualTo("mock");
    }

    static EditInput input() {
        return new EditInput(PROMPT, List.of(new EditInput.RawImage(Blob.ofBytes(PNG), "in.png", "image")),
                null, Map.of(), false);
    }
}
