package dev.easel.callback;

import dev.easel.Usage;
import dev.easel.config.EaselConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code prometheus} integration: counts every edit into a Micrometer {@link MeterRegistry} (requests,
 * latency histograms, cost, tokens, images, upload bytes, attempts, retries, fallbacks). With a Prometheus
 * registry the names render as documented in {@code docs/metrics.md}, e.g. {@code easel_requests_total}.
 *
 * <pre>{@code
 * PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
 * Easel easel = Easel.builder().listener(new MetricsListener(registry, false)).build();
 * String text = registry.scrape();
 * }</pre>
 *
 * <p>Label values that are unknown (a request refused before a model group was chosen) are empty strings,
 * which Prometheus treats as an absent label. Gauges that need the proxy's state (requests in flight,
 * cooldowns, listener drops) are registered by the proxy, not here. Use one {@code MetricsListener} per
 * registry (two with different {@code endUserLabels} would clash on label names).
 */
public final class MetricsListener implements EaselListener {

    /** The callback name in {@code litellm_settings.callbacks}. */
    public static final String NAME = "prometheus";

    /** Bucket bounds (seconds) of the total and upstream latency histograms: image edits take seconds. */
    static final Duration[] LATENCY_BUCKETS = seconds(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 45, 60, 90, 120,
            180, 300, 600);
    /** Bucket bounds (seconds) of the overhead histogram: the gateway's own time should be milliseconds. */
    static final Duration[] OVERHEAD_BUCKETS = seconds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
            2.5, 5);

    private final MeterRegistry registry;
    private final boolean endUserLabels;

    /**
     * A listener counting into {@code registry}.
     *
     * @param registry      where the meters live (a {@code PrometheusMeterRegistry} for {@code /metrics})
     * @param endUserLabels whether cost and token counters get an {@code end_user} label (one series per end
     *                      user: only for a bounded set of end users)
     */
    public MetricsListener(MeterRegistry registry, boolean endUserLabels) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.endUserLabels = endUserLabels;
    }

    /**
     * The listener when {@code prometheus} is in {@code litellm_settings.callbacks}, {@code success_callback} or
     * {@code failure_callback} (it counts successes and failures either way: a request counter missing one of
     * them would mislead); the {@code end_user} label follows
     * {@code litellm_settings.enable_end_user_cost_tracking_prometheus_only}.
     */
    public static Optional<MetricsListener> fromConfig(EaselConfig config, MeterRegistry registry) {
        if (!config.litellmSettings().hasCallback(NAME)) {
            return Optional.empty();
        }
        return Optional.of(new MetricsListener(registry,
                config.litellmSettings().enableEndUserCostTrackingPrometheusOnly()));
    }

    /** The registry counted into. */
    public MeterRegistry registry() {
        return registry;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void onAttempt(AttemptEvent e) {
        Counter.builder("easel.attempts")
                .description("Provider attempts (retries and fallbacks included) by deployment and outcome")
                .tags("model_group", label(e.modelGroup()), "deployment", label(e.deploymentId()),
                        "outcome", e.ok() ? "ok" : label(e.errorType()), "http_status", Integer.toString(e.httpStatus()))
                .register(registry).increment();
    }

    @Override
    public void onSuccess(EditLogRecord record) {
        count(record);
    }

    @Override
    public void onFailure(EditLogRecord record) {
        count(record);
    }

    private void count(EditLogRecord r) {
        String group = label(r.modelGroup());
        Counter.builder("easel.requests")
                .description("Image edits answered, by model group, deployment, provider and outcome")
                .tags("model_group", group, "deployment", label(r.deploymentId()), "provider", label(r.provider()),
                        "status", label(r.status()), "http_status", Integer.toString(r.httpStatus()))
                .register(registry).increment();

        Tags timed = Tags.of("model_group", group, "status", label(r.status()));
        timer("easel.request.duration", "Total time of an edit, retries and fallbacks included", timed,
                LATENCY_BUCKETS).record(Duration.ofMillis(r.latencyMs()));
        if (!r.attempts().isEmpty()) {
            timer("easel.upstream.duration", "Time spent waiting for providers (all attempts of an edit)", timed,
                    LATENCY_BUCKETS).record(Duration.ofMillis(r.upstreamMs()));
        }
        timer("easel.overhead.duration", "The gateway's own time: total minus upstream", timed, OVERHEAD_BUCKETS)
                .record(Duration.ofMillis(r.overheadMs()));

        Tags byUser = endUserLabels ? Tags.of("model_group", group, "end_user", label(r.endUser()))
                : Tags.of("model_group", group);
        if (r.cost() != null) {
            Counter.builder("easel.cost.usd").description("Cost of successful edits in USD").tags(byUser)
                    .register(registry).increment(r.cost().doubleValue());
        }
        Usage u = r.usage();
        if (u != null) {
            tokens(byUser, "input_text", u.inputTextTokens());
            tokens(byUser, "input_image", u.inputImageTokens());
            tokens(byUser, "output_image", u.outputImageTokens());
            tokens(byUser, "output_text", u.outputTextTokens());
        }

        Tags byGroup = Tags.of("model_group", group);
        Counter.builder("easel.images.in").description("Input images received (masks not included)").tags(byGroup)
                .register(registry).increment(r.imagesIn().size());
        Counter.builder("easel.images.out").description("Images returned").tags(byGroup)
                .register(registry).increment(r.imagesOut());
        Counter.builder("easel.upload.bytes").description("Bytes of input images and masks received")
                .tags(byGroup).register(registry).increment(r.bytesIn());

        // retries and fallbacks belong to the group the caller asked for: the first one tried
        Tags asked = Tags.of("model_group", r.attempts().isEmpty() ? group : label(r.attempts().get(0).modelGroup()));
        Counter.builder("easel.retries").description("Attempts beyond the first within a model group")
                .tags(asked).register(registry).increment(r.retries());
        Counter.builder("easel.fallbacks").description("Model groups tried after the one asked for")
                .tags(asked).register(registry).increment(r.fallbacks());
    }

    private void tokens(Tags tags, String type, long n) {
        Counter.builder("easel.tokens").description("Tokens billed, by type").tags(tags).tag("type", type)
                .register(registry).increment(n);
    }

    private Timer timer(String name, String description, Tags tags, Duration[] buckets) {
        return Timer.builder(name).description(description).tags(tags).serviceLevelObjectives(buckets)
                .register(registry);
    }

    private static String label(String value) {
        return value == null ? "" : value;
    }

    private static Duration[] seconds(double... s) {
        return Arrays.stream(s).mapToObj(x -> Duration.ofNanos(Math.round(x * 1e9))).toArray(Duration[]::new);
    }
}
