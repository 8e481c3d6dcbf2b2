package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.images.ImageEditParams;
import com.openai.models.images.ImagesResponse;
import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.callback.EaselListener;
import dev.easel.config.ConfigException;
import dev.easel.config.ConfigLoader;
import dev.easel.config.EaselConfig;
import dev.easel.testkit.Await;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.RecordedRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code otel} integration: the OpenTelemetry SDK the proxy builds from the config and the {@code OTEL_*}
 * variables (handed to autoconfigure as a map: the process environment is not touched), exporting OTLP/HTTP
 * protobuf to a real receiver that decodes it; health from the export outcomes; flush on close.
 */
class OtelIntegrationTest {

    static final byte[] PNG = RoutingFixtures.smallPng();
    static final String MASTER_KEY = "sk-master-otel-7c1e";
    static final Pattern TRACEPARENT = Pattern.compile("00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})");

    @TempDir
    Path dir;

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

    static final EaselConfig OTEL = config("litellm_settings: {callbacks: [otel]}\n");

    /** The integration from {@code config} and {@code env}, closed after the test. */
    OtelIntegration otel(EaselConfig config, Map<String, String> env) {
        return open(OtelIntegration.fromConfig(config, env).orElseThrow());
    }

    /** An SDK client tracing through {@code otel}, editing with the in-process mock provider. */
    Easel easel(OtelIntegration otel) {
        return open(Easel.builder().openTelemetry(otel.openTelemetry()).tracePrompts(otel.prompts()).build());
    }

    static void edit(Easel easel) {
        easel.imageEdit(ImageEditRequest.builder().model("mock/edit").image(PNG).prompt("a hat").build());
    }

    static Map<String, String> env(String... pairs) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put(pairs[i], pairs[i + 1]);
        }
        return m;
    }

    @Test
    void proxyEdit_officialClient_traceparentIn_protobufSpansOut_sameTraceUpstream() throws Exception {
        OtlpReceiver collector = open(OtlpReceiver.start());
        FakeOpenAi fake = open(FakeOpenAi.builder().apiKey("sk-upstream-otel").start());
        EaselConfig config = config("""
                model_list:
                  - model_name: edits
                    litellm_params: {model: openai/gpt-image-1, api_key: sk-upstream-otel, api_base: "%s"}
                    model_info: {id: up}
                litellm_settings:
                  callbacks: [otel]
                general_settings:
                  master_key: %s
                  otel_exporter_endpoint: "%s"
                environment_variables:
                  OTEL_BSP_SCHEDULE_DELAY: "20"
                """.formatted(fake.baseUrl(), MASTER_KEY, collector.baseUrl()));
        ProxyServer proxy = open(ProxyServer.start(ProxyOptions.of(config).listen("127.0.0.1", 0)
                .withDataDir(dir.resolve("data"))));
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(proxy.baseUri() + "/v1").apiKey(MASTER_KEY)
                .maxRetries(0).timeout(Duration.ofSeconds(20)).build();
        open(client::close);
        String callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
        String callerSpan = "00f067aa0ba902b7";
        Path image = Files.write(dir.resolve("cat.png"), PNG);
        long before = nanos(Instant.now());

        ImagesResponse response = client.images().edit(ImageEditParams.builder().model("edits").image(image)
                .prompt("add a hat").putAdditionalHeader("traceparent", "00-" + callerTrace + "-" + callerSpan + "-01")
                .build());
        long after = nanos(Instant.now());
        assertThat(response.data().orElseThrow()).hasSize(1);

        // upstream: the caller's trace, a span of Easel's as parent
        RecordedRequest sent = RoutingFixtures.edits(fake).get(0);
        Matcher upstream = TRACEPARENT.matcher(sent.header("traceparent").orElseThrow());
        assertThat(upstream.matches()).isTrue();
        assertThat(upstream.group(1)).isEqualTo(callerTrace);
        assertThat(upstream.group(3)).isEqualTo("01");

        Await.until("2 spans at the receiver", () -> collector.spans().size() >= 2);
        assertThat(collector.exports()).allSatisfy(e -> {
            assertThat(e.method()).isEqualTo("POST");
            assertThat(e.path()).isEqualTo("/v1/traces");
            assertThat(e.headers().get("content-type")).isEqualTo("application/x-protobuf");
            assertThat(e.request()).as("decodes as ExportTraceServiceRequest").isNotNull();
        });
        List<OtlpReceiver.Span> spans = collector.spans().stream()
                .sorted(Comparator.comparing(OtlpReceiver.Span::kind)).toList();
        assertThat(spans).hasSize(2);
        OtlpReceiver.Span request = spans.get(0);
        OtlpReceiver.Span attempt = spans.get(1);
        assertThat(request.kind()).isEqualTo(2);
        assertThat(attempt.kind()).isEqualTo(3);
        assertThat(request.resource("service.name")).isEqualTo("easel");
        assertThat(request.scope()).isEqualTo("dev.easel");
        assertThat(request.traceId()).isEqualTo(callerTrace);
        assertThat(request.parentSpanId()).isEqualTo(callerSpan);
        assertThat(request.name()).isEqualTo("image_edit edits");
        assertThat(request.statusCode()).isEqualTo(1);
        assertThat(request.startNanos()).isBetween(before - 1_000_000_000L, after);
        assertThat(request.endNanos()).isBetween(request.startNanos(), after);
        assertThat(request.string("gen_ai.operation.name")).isEqualTo("image_edit");
        assertThat(request.string("gen_ai.provider.name")).isEqualTo("openai");
        assertThat(request.string("gen_ai.request.model")).isEqualTo("edits");
        assertThat(request.string("gen_ai.response.model")).isEqualTo("gpt-image-1");
        assertThat(request.integer("gen_ai.usage.input_tokens")).isPositive();
        assertThat(request.integer("http.response.status_code")).isEqualTo(200L);
        assertThat(request.string("easel.source")).isEqualTo("proxy");
        assertThat(request.string("easel.deployment")).isEqualTo("up");
        assertThat(request.dbl("easel.cost_usd")).isPositive();
        assertThat(request.bool("easel.stream")).isFalse();
        assertThat(request.keys()).doesNotContain("gen_ai.input.messages");
        assertThat(attempt.traceId()).isEqualTo(callerTrace);
        assertThat(attempt.parentSpanId()).isEqualTo(request.spanId());
        assertThat(attempt.spanId()).isEqualTo(upstream.group(2));
        assertThat(attempt.name()).isEqualTo("image_edit gpt-image-1");
        assertThat(attempt.integer("easel.attempt")).isEqualTo(1L);
        assertThat(attempt.string("easel.request_id")).isEqualTo(request.string("easel.request_id")).startsWith("req_");
        assertThat(attempt.startNanos()).isBetween(request.startNanos(), request.endNanos());
        assertThat(collector.exports()).allSatisfy(e -> assertThat(e.text()).doesNotContain("sk-upstream-otel",
                MASTER_KEY, "iVBORw0KGgo"));
    }

    @Test
    void proxyWithoutOtelCallback_exportsNothing_evenWithOtelVariables_butPropagates() throws Exception {
        OtlpReceiver collector = open(OtlpReceiver.start());
        FakeOpenAi fake = open(FakeOpenAi.builder().apiKey("sk-upstream-otel").start());
        EaselConfig config = config("""
                model_list:
                  - model_name: edits
                    litellm_params: {model: openai/gpt-image-1, api_key: sk-upstream-otel, api_base: "%s"}
                litellm_settings:
                  callbacks: [json_logs]
                general_settings:
                  master_key: %s
                  otel_exporter_endpoint: "%s"
                environment_variables:
                  OTEL_EXPORTER_OTLP_ENDPOINT: "%s"
                  OTEL_BSP_SCHEDULE_DELAY: "20"
                  EASEL_JSON_LOGS_FILE: "%s"
                """.formatted(fake.baseUrl(), MASTER_KEY, collector.baseUrl(), collector.baseUrl(),
                dir.resolve("requests.log")));
        assertThat(OtelIntegration.fromConfig(config, Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", collector.baseUrl())))
                .isEmpty();
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        try (ProxyServer proxy = ProxyServer.start(ProxyOptions.of(config).listen("127.0.0.1", 0)
                .withDataDir(dir.resolve("data")))) {
            var r = EdgeSupport.HTTP.send(java.net.http.HttpRequest.newBuilder(proxy.baseUri()
                            .resolve("/v1/images/edits")).header("Authorization", "Bearer " + MASTER_KEY)
                    .header("traceparent", "00-" + traceId + "-00f067aa0ba902b7-01")
                    .header("Content-Type", "multipart/form-data; boundary=" + EdgeSupport.BOUNDARY)
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(EdgeSupport.form().text("model", "edits")
                            .text("prompt", "hat").file("image", "a.png", PNG).bytes())).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        } // closed: anything buffered would have been sent by now
        assertThat(collector.exports()).isEmpty();
        Matcher upstream = TRACEPARENT.matcher(RoutingFixtures.edits(fake).get(0).header("traceparent").orElseThrow());
        assertThat(upstream.matches()).isTrue();
        assertThat(upstream.group(1)).isEqualTo(traceId);
        assertThat(upstream.group(2)).isNotEqualTo("00f067aa0ba902b7");
    }

    @Test
    void standardVariables_configureTheSdk_configWinsOverTheEnvironment() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        OtelIntegration otel = otel(OTEL, env(
                "OTEL_EXPORTER_OTLP_ENDPOINT", collector.baseUrl() + "/",
                "OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=s3cr%3Dt,x-tenant=acme co",
                "OTEL_SERVICE_NAME", "edits-gw",
                "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test",
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true",
                "OTEL_BSP_SCHEDULE_DELAY", "20",
                "PATH", "/usr/bin"));
        assertThat(otel.endpoint()).isEqualTo(collector.tracesUrl());
        assertThat(otel.prompts()).isTrue();
        edit(easel(otel));

        Await.until("spans", () -> collector.spans().size() == 2);
        OtlpReceiver.Export export = collector.exports().get(0);
        assertThat(export.headers()).containsEntry("x-collector-key", "s3cr=t").containsEntry("x-tenant", "acme co");
        OtlpReceiver.Span s = collector.spans().get(0);
        assertThat(s.resource("service.name")).isEqualTo("edits-gw");
        assertThat(s.resource("deployment.environment.name")).isEqualTo("test");
        assertThat(collector.spans()).anySatisfy(sp -> assertThat(sp.string("gen_ai.input.messages"))
                .contains("a hat"));
        assertThat(otel.health().detail()).doesNotContain("s3cr");

        // the config's otel_exporter_endpoint wins over OTEL_EXPORTER_OTLP_ENDPOINT; /v1/traces is appended
        EaselConfig withEndpoint = config("""
                litellm_settings: {success_callback: [otel]}
                general_settings: {otel_exporter_endpoint: "http://collector.example:4318/"}
                """);
        assertThat(otel(withEndpoint, env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318")).endpoint())
                .isEqualTo("http://collector.example:4318/v1/traces");
        assertThat(otel(OTEL, env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://t:443/custom/path",
                "OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")).endpoint()).isEqualTo("https://t:443/custom/path");
        assertThat(otel(OTEL, env()).endpoint()).isEqualTo("http://localhost:4318/v1/traces");
        assertThat(OtelIntegration.tracesUrl("http://c:4318/v1/traces")).isEqualTo("http://c:4318/v1/traces");
        assertThat(OtelIntegration.tracesUrl("http://c:4318/otlp//")).isEqualTo("http://c:4318/otlp/v1/traces");
    }

    @Test
    void sampler_fromTheEnvironment_dropsSpans_upstreamToldNotSampled() throws Exception {
        OtlpReceiver collector = open(OtlpReceiver.start());
        FakeOpenAi fake = open(FakeOpenAi.start());
        OtelIntegration otel = otel(OTEL, env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.baseUrl(),
                "OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG", "0",
                "OTEL_BSP_SCHEDULE_DELAY", "20"));
        Easel easel = open(Easel.builder().apiKey("sk-test").apiBase(fake.baseUrl())
                .openTelemetry(otel.openTelemetry()).build());
        easel.imageEdit(ImageEditRequest.builder().model("gpt-image-1").image(PNG).prompt("a hat").build());
        otel.close();
        assertThat(collector.exports()).isEmpty();
        Matcher m = TRACEPARENT.matcher(fake.lastRequest().header("traceparent").orElseThrow());
        assertThat(m.matches()).isTrue();
        assertThat(Integer.parseInt(m.group(3), 16) & 1).as("sampled flag").isZero();
    }

    @Test
    void httpJsonProtocol_takenAsProtobuf_grpcRefused() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        OtelIntegration otel = otel(OTEL, env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.baseUrl(),
                "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "OTEL_BSP_SCHEDULE_DELAY", "20"));
        edit(easel(otel));
        Await.until("spans", () -> collector.spans().size() == 2);

        assertThatThrownBy(() -> OtelIntegration.fromConfig(OTEL, env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("otel: OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf (was 'grpc'): the proxy exports "
                        + "OTLP over HTTP; point it at the collector's OTLP/HTTP port (4318)");
        assertThatThrownBy(() -> OtelIntegration.fromConfig(OTEL, env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("otel: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be http/protobuf (was 'grpc')");
    }

    @Test
    void invalidVariables_refusedNamingThem_neverShowingAHeaderValue() {
        assertThatThrownBy(() -> OtelIntegration.fromConfig(OTEL, env("OTEL_BSP_MAX_QUEUE_SIZE", "lots")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("otel: ").hasMessageContaining("otel.bsp.max.queue.size").hasMessageContaining("lots");
        assertThatThrownBy(() -> OtelIntegration.fromConfig(OTEL,
                env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("otel: ").hasMessageContaining("collector:4318");
        assertThatThrownBy(() -> OtelIntegration.fromConfig(OTEL,
                env("OTEL_EXPORTER_OTLP_HEADERS", "a=1,secret-without-equals")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("otel: ").hasMessageContaining("otel.exporter.otlp.headers")
                .hasMessageNotContaining("secret");
        assertThatThrownBy(() -> OtelIntegration.fromConfig(OTEL, env("OTEL_EXPORTER_OTLP_HEADERS", "a=s3cr%zzt")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("otel: ").hasMessageNotContaining("s3cr");
        assertThatThrownBy(() -> OtelIntegration.fromConfig(OTEL, env("OTEL_TRACES_SAMPLER", "sometimes")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("otel: ").hasMessageContaining("sometimes");
    }

    @Test
    void collectorDown_healthDown_editsUnaffected_upAgainOnceItAnswers() {
        int port = OtlpReceiver.freePort();
        OtelIntegration otel = otel(OTEL, env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + port,
                "OTEL_BSP_SCHEDULE_DELAY", "20"));
        Easel easel = easel(otel);
        assertThat(otel.health()).isEqualTo(EaselListener.Health.UP);

        long t0 = System.nanoTime();
        edit(easel);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
        // the SDK's exporter retries a refused connection with backoff (about 8 s in all), then gives up
        Await.until("health down", () -> !otel.health().up());
        assertThat(otel.health().detail())
                .startsWith("otlp export to http://127.0.0.1:" + port + "/v1/traces failing: cannot reach the collector: ")
                .endsWith("spans dropped");

        OtlpReceiver collector = open(OtlpReceiver.start(port));
        edit(easel);
        Await.until("spans of the edit after", () -> collector.spans().size() >= 2);
        Await.until("health up", () -> otel.health().up());
        assertThat(otel.health()).isEqualTo(EaselListener.Health.UP);
    }

    @Test
    void collectorRefuses400_batchDroppedNotRetried_healthDownUntilTheNextExport() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        collector.answer(400);
        OtelIntegration otel = otel(OTEL, env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.baseUrl(),
                "OTEL_BSP_SCHEDULE_DELAY", "20"));
        Easel easel = easel(otel);
        edit(easel);
        Await.until("health down", () -> !otel.health().up());
        // the request's two spans end together, but a batch may close between them
        assertThat(otel.health().detail()).matches(Pattern.quote("otlp export to " + collector.tracesUrl()
                + " failing: the collector refused the export (its answer is in the log); ") + "(1 span|2 spans) dropped");
        assertThat(collector.exports().get(0).answered()).isEqualTo(400);
        int refused = collector.exports().get(0).request().getResourceSpans(0).getScopeSpans(0).getSpansCount();

        edit(easel);
        Await.until("the second edit's spans", () -> collector.spans().size() == 4 - refused);
        Await.until("health up", () -> otel.health().up());
        assertThat(collector.exports()).extracting(OtlpReceiver.Export::answered).containsOnlyOnce(400)
                .startsWith(400); // not retried
    }

    @Test
    void collectorThrottles503_batchRetried_deliveredOnce() {
        OtlpReceiver collector = open(OtlpReceiver.start());
        collector.answer(503);
        OtelIntegration otel = otel(OTEL, env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.baseUrl(),
                "OTEL_BSP_SCHEDULE_DELAY", "20"));
        edit(easel(otel));
        Await.until("the retried export", () -> collector.exports().size() == 2);
        List<OtlpReceiver.Export> exports = collector.exports();
        assertThat(exports).extracting(OtlpReceiver.Export::answered).containsExactly(503, 200);
        assertThat(exports.get(1).body()).isEqualTo(exports.get(0).body());
        assertThat(collector.spans()).hasSize(2);
        Await.until("health up", () -> otel.health().up());
    }

    @Test
    void close_sendsWhatIsBuffered() throws Exception {
        OtlpReceiver collector = open(OtlpReceiver.start());
        OtelIntegration otel = OtelIntegration.fromConfig(OTEL, env("OTEL_EXPORTER_OTLP_ENDPOINT",
                collector.baseUrl(), "OTEL_BSP_SCHEDULE_DELAY", "600000")).orElseThrow();
        try (Easel easel = Easel.builder().openTelemetry(otel.openTelemetry()).build()) {
            edit(easel);
            edit(easel);
        }
        assertThat(collector.exports()).isEmpty();
        otel.close();
        assertThat(collector.spans()).hasSize(4);
        otel.close(); // idempotent
    }

    @Test
    void fromConfig_withoutOtelCallback_isEmpty() {
        assertThat(OtelIntegration.fromConfig(config("""
                litellm_settings:
                  callbacks: ["prometheus", "json_logs"]
                general_settings:
                  otel_exporter_endpoint: http://127.0.0.1:4318
                """), env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"))).isEmpty();
        assertThat(OtelIntegration.fromConfig(config("litellm_settings: {failure_callback: [otel]}\n"), env()))
                .hasValueSatisfying(o -> {
                    assertThat(o.name()).isEqualTo("otel");
                    o.close();
                });
    }

    static long nanos(Instant i) {
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }
}
