package dev.easel.config;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * {@code litellm_settings}: library-wide behaviour.
 *
 * @param dropParams      {@code drop_params}: drop request params the target model does not support instead of
 *                        refusing the request; default false
 * @param numRetries      {@code num_retries}: used when {@code router_settings.num_retries} is unset
 * @param requestTimeout  {@code request_timeout}: time allowed for one upstream call when the deployment sets none
 * @param callbacks       {@code callbacks}: loggers told about every request (e.g. {@code otel}, {@code prometheus})
 * @param successCallback {@code success_callback}: loggers told about successes only
 * @param failureCallback {@code failure_callback}: loggers told about failures only
 * @param jsonLogs        {@code json_logs}: log as JSON lines; default false
 * @param redactPrompts   {@code redact_prompts} (Easel's): keep prompts out of logs and callbacks; default false
 * @param enableEndUserCostTrackingPrometheusOnly {@code enable_end_user_cost_tracking_prometheus_only}: add an
 *                        {@code end_user} label to the Prometheus cost and token counters; default false
 *                        (one series per end user: mind the cardinality)
 * @param requireAuthForMetricsEndpoint {@code require_auth_for_metrics_endpoint}: {@code GET /metrics} needs the
 *                        master key; default false (open, as LiteLLM's)
 */
public record LitellmSettings(boolean dropParams, OptionalInt numRetries, Optional<Duration> requestTimeout,
                              List<String> callbacks, List<String> successCallback, List<String> failureCallback,
                              boolean jsonLogs, boolean redactPrompts, boolean enableEndUserCostTrackingPrometheusOnly,
                              boolean requireAuthForMetricsEndpoint) {

    /** Checks that nothing is null and copies the collections (unmodifiable, order kept). */
    public LitellmSettings {
        Objects.requireNonNull(numRetries, "numRetries");
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        callbacks = List.copyOf(callbacks);
        successCallback = List.copyOf(successCallback);
        failureCallback = List.copyOf(failureCallback);
    }

    /** Settings with the Prometheus options off. */
    public LitellmSettings(boolean dropParams, OptionalInt numRetries, Optional<Duration> requestTimeout,
                           List<String> callbacks, List<String> successCallback, List<String> failureCallback,
                           boolean jsonLogs, boolean redactPrompts) {
        this(dropParams, numRetries, requestTimeout, callbacks, successCallback, failureCallback, jsonLogs,
                redactPrompts, false, false);
    }

    /** Whether {@code name} is in {@code callbacks}, {@code success_callback} or {@code failure_callback}. */
    public boolean hasCallback(String name) {
        return callbacks.contains(name) || successCallback.contains(name) || failureCallback.contains(name);
    }

    /** The settings used when the file has no {@code litellm_settings}. */
    public static LitellmSettings defaults() {
        return new LitellmSettings(false, OptionalInt.empty(), Optional.empty(), List.of(), List.of(), List.of(),
                false, false, false, false);
    }
}
