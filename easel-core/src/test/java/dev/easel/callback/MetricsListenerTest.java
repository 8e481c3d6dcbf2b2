package dev.easel.callback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import dev.easel.InternalServerException;
import dev.easel.NotFoundException;
import dev.easel.Usage;
import dev.easel.config.ConfigLoader;
import dev.easel.config.EaselConfig;
import dev.easel.image.TestImages;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MetricsListenerTest {

    private static final byte[] PNG = TestImages.png(64, 64, false);

    private FakeOpenAi fake;
    private PrometheusMeterRegistry registry;
    private final List<EditLogRecord> records = new CopyOnWriteArrayList<>();
    private Easel easel;

    @BeforeEach
    void start() {
        fake = FakeOpenAi.start();
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    }

    @AfterEach
    void stop() {
        if (easel != null) {
            easel.listeners().close();
        }
        fake.close();
        registry.close();
    }

    /**
     * {@code primary} always fails (503) and falls back to {@code backup}; {@code openai} is the fake OpenAI
     * server; {@code backup} (a mock) is priced per image; one retry per group, no cooldowns, no waiting between retries.
     */
    private EaselConfig config(String litellmSettings) {
        return ConfigLoader.parse("""
                model_list:
                  - model_name: primary
                    litellm_params: {model: mock/edit, failure_rate: 1, failure_status: 503}
                    model_info: {id: primary-1}
                  - model_name: backup
                    litellm_params: {model: mock/edit}
                    model_info: {id: backup-1, input_cost_per_token: 5.0e-06, output_cost_per_image: 0.01}
                  - model_name: openai
                    litellm_params: {model: openai/gpt-image-1, api_key: sk-test, api_base: %s}
                    model_info: {id: openai-1}
                router_settings:
                  num_retries: 1
                  fallbacks: [{primary: [backup]}]
                  disable_cooldowns: true
                litellm_settings:
                %s
                """.formatted(fake.baseUrl(), litellmSettings.indent(2)), Map.of(), "config.yaml");
    }

    private Easel easel(EaselConfig config, MetricsListener listener) {
        easel = Easel.builder().config(config).sleeper(d -> { }).listener(listener).recordSink(records::add).build();
        return easel;
    }

    private PromText scrape() {
        assertThat(easel.listeners().drain(Duration.ofSeconds(10))).isTrue();
        return PromText.parse(registry.scrape());
    }

    private static ImageEditRequest.Builder edit(String model) {
        return ImageEditRequest.builder().model(model).image(PNG).prompt("add a hat");
    }

    @Test
    void edits_retriedFellBackAndFailed_countersMoveByExactAmounts() {
        easel(config("callbacks: [prometheus]"), new MetricsListener(registry, false));
        List<ImageResponse> ok = new ArrayList<>();
        ok.add(easel.imageEdit(edit("primary").build()));           // 503, 503, then backup answers
        ok.add(easel.imageEdit(edit("backup").n(2).build()));        // first try, two images
        fake.enqueue(FakeResponse.serverError());
        ok.add(easel.imageEdit(edit("openai").build()));             // 500, then the retry answers
        fake.enqueue(FakeResponse.serverError());
        fake.enqueue(FakeResponse.serverError());
        assertThatThrownBy(() -> easel.imageEdit(edit("openai").build()))   // 500, 500: gives up
                .isInstanceOf(InternalServerException.class);

        PromText m = scrape();

        // requests, by outcome and by who answered
        assertThat(m.sum("easel_requests_total")).isEqualTo(4);
        assertThat(m.sum("easel_requests_total", "status", "success", "http_status", "200")).isEqualTo(3);
        assertThat(m.sum("easel_requests_total", "model_group", "backup", "deployment", "backup-1",
                "provider", "mock", "status", "success")).isEqualTo(2);
        assertThat(m.sum("easel_requests_total", "model_group", "openai", "deployment", "openai-1",
                "provider", "openai", "status", "failure", "http_status", "500")).isEqualTo(1);

        // attempts: primary-1 failed twice, backup-1 answered twice, openai-1 failed three times and answered once
        assertThat(m.sum("easel_attempts_total")).isEqualTo(8);
        assertThat(m.sum("easel_attempts_total", "deployment", "primary-1", "outcome", "api_error",
                "http_status", "503")).isEqualTo(2);
        assertThat(m.sum("easel_attempts_total", "deployment", "backup-1", "outcome", "ok")).isEqualTo(2);
        assertThat(m.sum("easel_attempts_total", "deployment", "openai-1", "outcome", "ok")).isEqualTo(1);
        assertThat(m.sum("easel_attempts_total", "deployment", "openai-1", "http_status", "500")).isEqualTo(3);
        assertThat(m.sum("easel_retries_total", "model_group", "primary")).isEqualTo(1);
        assertThat(m.sum("easel_retries_total", "model_group", "openai")).isEqualTo(2);
        assertThat(m.sum("easel_retries_total")).isEqualTo(3);
        assertThat(m.sum("easel_fallbacks_total", "model_group", "primary")).isEqualTo(1);
        assertThat(m.sum("easel_fallbacks_total")).isEqualTo(1);

        // cost and tokens: exactly what the responses said
        BigDecimal cost = ok.stream().map(r -> r.cost().orElseThrow()).reduce(BigDecimal.ZERO, BigDecimal::add);
        assertThat(cost).isPositive();
        assertThat(m.sum("easel_cost_usd_total")).isCloseTo(cost.doubleValue(), within(1e-12));
        assertThat(m.sum("easel_cost_usd_total", "model_group", "openai"))
                .isCloseTo(ok.get(2).cost().orElseThrow().doubleValue(), within(1e-12));
        List<Usage> usages = ok.stream().map(r -> r.usage().orElseThrow()).toList();
        assertThat(m.sum("easel_tokens_total", "type", "input_text"))
                .isEqualTo(usages.stream().mapToLong(Usage::inputTextTokens).sum());
        assertThat(m.sum("easel_tokens_total", "type", "input_image"))
                .isEqualTo(usages.stream().mapToLong(Usage::inputImageTokens).sum());
        assertThat(m.sum("easel_tokens_total", "type", "output_image"))
                .isEqualTo(usages.stream().mapToLong(Usage::outputImageTokens).sum());
        assertThat(m.sum("easel_tokens_total", "type", "output_text"))
                .isEqualTo(usages.stream().mapToLong(Usage::outputTextTokens).sum());
        assertThat(m.sum("easel_tokens_total", "model_group", "openai", "type", "output_image")).isEqualTo(1056);

        // images and bytes: four requests of one image each; 1 + 2 + 1 images back
        assertThat(m.sum("easel_images_in_total")).isEqualTo(4);
        assertThat(m.sum("easel_images_out_total")).isEqualTo(4);
        assertThat(m.sum("easel_images_out_total", "model_group", "backup")).isEqualTo(3);
        assertThat(m.sum("easel_upload_bytes_total")).isEqualTo(4.0 * PNG.length);

        // histograms: one observation per request; the +Inf bucket holds them all
        for (String h : List.of("easel_request_duration_seconds", "easel_upstream_duration_seconds",
                "easel_overhead_duration_seconds")) {
            assertThat(m.sum(h + "_count")).as(h).isEqualTo(4);
            assertThat(m.sum(h + "_bucket", "le", "+Inf")).as(h).isEqualTo(4);
            assertThat(m.all(h + "_bucket").stream().map(s -> s.labels().get("le")).distinct().count()).as(h)
                    .isGreaterThan(10);
        }
        assertThat(m.sum("easel_request_duration_seconds_count", "model_group", "openai", "status", "failure"))
                .isEqualTo(1);
        double latency = records.stream().mapToLong(EditLogRecord::latencyMs).sum() / 1000.0;
        assertThat(m.sum("easel_request_duration_seconds_sum")).isCloseTo(latency, within(1e-9));

        // and the records agree (the metrics count what the standard record says)
        assertThat(records).hasSize(4);
        assertThat(m.sum("easel_retries_total")).isEqualTo(records.stream().mapToInt(EditLogRecord::retries).sum());
        assertThat(m.sum("easel_attempts_total")).isEqualTo(records.stream().mapToInt(r -> r.attempts().size()).sum());
    }

    @Test
    void scrape_rendersTheDocumentedNames() {
        easel(config("callbacks: [prometheus]"), new MetricsListener(registry, false));
        easel.imageEdit(edit("backup").build());

        assertThat(scrape().names()).containsAll(List.of("easel_requests_total", "easel_attempts_total",
                "easel_retries_total", "easel_fallbacks_total", "easel_cost_usd_total", "easel_tokens_total",
                "easel_images_in_total", "easel_images_out_total", "easel_upload_bytes_total",
                "easel_request_duration_seconds_bucket", "easel_request_duration_seconds_count",
                "easel_request_duration_seconds_sum", "easel_request_duration_seconds_max",
                "easel_upstream_duration_seconds_bucket", "easel_overhead_duration_seconds_bucket"));
        assertThat(registry.scrape()).contains("# TYPE easel_request_duration_seconds histogram",
                "# TYPE easel_requests_total counter");
    }

    @Test
    void edit_endUserLabelsOn_costAndTokensPerEndUser() {
        easel(config("callbacks: [prometheus]"), new MetricsListener(registry, true));
        ImageResponse alice = easel.imageEdit(edit("backup").user("alice").build());
        ImageResponse bob = easel.imageEdit(edit("openai").user("bob").build());
        easel.imageEdit(edit("openai").user("bob").build());

        PromText m = scrape();

        assertThat(m.sum("easel_cost_usd_total", "end_user", "alice"))
                .isCloseTo(alice.cost().orElseThrow().doubleValue(), within(1e-12));
        assertThat(m.sum("easel_cost_usd_total", "end_user", "bob"))
                .isCloseTo(2 * bob.cost().orElseThrow().doubleValue(), within(1e-12));
        assertThat(m.sum("easel_tokens_total", "end_user", "bob", "type", "output_image")).isEqualTo(2 * 1056);
        // requests stay per group: no end_user label there
        assertThat(m.all("easel_requests_total")).allSatisfy(s -> assertThat(s.labels()).doesNotContainKey("end_user"));
    }

    @Test
    void edit_endUserLabelsOff_noEndUserLabelAnywhere() {
        easel(config("callbacks: [prometheus]"), new MetricsListener(registry, false));
        easel.imageEdit(edit("backup").user("alice").build());

        PromText m = scrape();

        assertThat(m.sum("easel_cost_usd_total")).isPositive();
        assertThat(m.samples()).allSatisfy(s -> assertThat(s.labels()).doesNotContainKey("end_user"));
    }

    @Test
    void edit_unknownModel_countedWithEmptyGroupAndNoAttempt() {
        easel(config("callbacks: [prometheus]"), new MetricsListener(registry, false));
        assertThatThrownBy(() -> easel.imageEdit(edit("nope").build())).isInstanceOf(NotFoundException.class);

        PromText m = scrape();

        assertThat(m.sum("easel_requests_total", "model_group", "", "deployment", "", "status", "failure",
                "http_status", "404")).isEqualTo(1);
        assertThat(m.sum("easel_attempts_total")).isZero();
        assertThat(m.sum("easel_upstream_duration_seconds_count")).isZero();
        assertThat(m.sum("easel_request_duration_seconds_count")).isEqualTo(1);
        assertThat(m.sum("easel_images_in_total")).isEqualTo(1);
        assertThat(m.sum("easel_cost_usd_total")).isZero();
    }

    @Test
    void fromConfig_prometheusInAnyCallbackList_returnsListenerWithEndUserSetting() {
        assertThat(MetricsListener.fromConfig(config("callbacks: [otel]"), registry)).isEmpty();
        assertThat(MetricsListener.fromConfig(config("failure_callback: prometheus"), registry)).isPresent();
        MetricsListener l = MetricsListener.fromConfig(config("""
                success_callback: [prometheus]
                enable_end_user_cost_tracking_prometheus_only: true"""), registry).orElseThrow();
        assertThat(l.name()).isEqualTo("prometheus");
        assertThat(l.registry()).isSameAs(registry);

        easel(config("callbacks: [prometheus]"), l);
        easel.imageEdit(edit("backup").user("carol").build());
        assertThat(scrape().sum("easel_images_out_total", "model_group", "backup")).isEqualTo(1);
        assertThat(PromText.parse(registry.scrape()).sum("easel_tokens_total", "end_user", "carol")).isPositive();
    }

    @Test
    void listener_throwingRegistryNeverFailsTheEdit() {
        // a registry that refuses every meter: the bus isolates the listener, the edit still succeeds
        io.micrometer.core.instrument.simple.SimpleMeterRegistry refusing =
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        refusing.config().meterFilter(new io.micrometer.core.instrument.config.MeterFilter() {
            @Override
            public io.micrometer.core.instrument.Meter.Id map(io.micrometer.core.instrument.Meter.Id id) {
                throw new IllegalStateException("no meters today");
            }
        });
        easel(config("callbacks: [prometheus]"), new MetricsListener(refusing, false));

        ImageResponse r = easel.imageEdit(edit("backup").build());

        assertThat(r.data()).hasSize(1);
        assertThat(easel.listeners().drain(Duration.ofSeconds(10))).isTrue();
        assertThat(easel.listeners().errors().get("prometheus")).isPositive();
    }
}
