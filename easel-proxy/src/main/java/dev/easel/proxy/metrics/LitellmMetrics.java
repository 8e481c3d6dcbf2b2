package dev.easel.proxy.metrics;

import dev.easel.Usage;
import dev.easel.callback.AttemptEvent;
import dev.easel.callback.EaselListener;
import dev.easel.callback.EditLogRecord;
import dev.easel.engine.DeploymentInfo;
import dev.easel.routing.DeploymentHealth;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The {@code prometheus} integration under LiteLLM's metric names, types and labels (LiteLLM's
 * {@code integrations/prometheus.py}), beside Easel's own {@code easel_*} meters, so a dashboard built for LiteLLM
 * works unchanged: {@code litellm_requests_metric_total}, {@code litellm_spend_metric_total},
 * {@code litellm_proxy_total_requests_metric_total}, {@code litellm_proxy_failed_requests_metric_total},
 * {@code litellm_request_total_latency_metric}, {@code litellm_llm_api_latency_metric}, the token counters, the
 * {@code litellm_deployment_*} counters of provider calls, and, read from the router before each scrape,
 * {@code litellm_deployment_state}, {@code litellm_remaining_requests_metric}, {@code litellm_remaining_tokens_metric},
 * {@code litellm_deployment_rpm_limit}, {@code litellm_deployment_tpm_limit} and
 * {@code litellm_deployment_cooled_down_total}. Every series carries every label LiteLLM gives it; a label Easel has
 * no value for (team and user aliases and e-mails, client IP) is empty, which Prometheus treats as absent. A request
 * made with a virtual key carries the first 12 characters of the key's hash, its alias, team and user.
 *
 * <p>Register it as a listener when the engine is built, then {@link #bind} it to the engine's deployments.
 */
public final class LitellmMetrics implements EaselListener {

    /** LiteLLM's latency buckets, seconds ({@code LATENCY_BUCKETS} without {@code +Inf}, which is implicit). */
    static final double[] LATENCY_BUCKETS = {0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0,
        3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0, 15.0, 20.0, 25.0, 30.0, 60.0, 120.0,
        180.0, 240.0, 300.0};

    // LiteLLM's label sets, in its order (litellm/types/integrations/prometheus.py, PrometheusMetricLabels)
    private static final List<String> REQUESTS = List.of("end_user", "hashed_api_key", "api_key_alias", "model",
            "team", "team_alias", "user", "user_email", "client_ip", "user_agent", "model_id");
    private static final List<String> TOKENS = List.of("end_user", "hashed_api_key", "api_key_alias", "model", "team",
            "team_alias", "user", "user_email", "requested_model", "model_id");
    private static final List<String> PROXY_TOTAL = List.of("end_user", "hashed_api_key", "api_key_alias",
            "requested_model", "team", "team_alias", "user", "status_code", "user_email", "route", "client_ip",
            "user_agent", "model_id");
    private static final List<String> PROXY_FAILED = List.of("end_user", "hashed_api_key", "api_key_alias",
            "requested_model", "team", "team_alias", "user", "user_email", "exception_status", "exception_class",
            "route", "client_ip", "user_agent", "model_id");
    private static final List<String> TOTAL_LATENCY = List.of("end_user", "hashed_api_key", "api_key_alias",
            "requested_model", "team", "team_alias", "user", "model", "model_id");
    private static final List<String> API_LATENCY = List.of("model", "hashed_api_key", "api_key_alias", "team",
            "team_alias", "requested_model", "end_user", "user", "model_id");
    private static final List<String> DEPLOYMENT_CALLS = List.of("requested_model", "litellm_model_name", "model_id",
            "api_base", "api_provider", "hashed_api_key", "api_key_alias", "team", "team_alias", "client_ip",
            "user_agent");
    private static final List<String> DEPLOYMENT_FAILURES = List.of("requested_model", "litellm_model_name",
            "model_id", "api_base", "api_provider", "exception_status", "exception_class", "hashed_api_key",
            "api_key_alias", "team", "team_alias", "client_ip", "user_agent");
    private static final List<String> FALLBACKS = List.of("requested_model", "fallback_model", "hashed_api_key",
            "api_key_alias", "team", "team_alias", "exception_status", "exception_class", "model_id");
    private static final List<String> DEPLOYMENT = List.of("litellm_model_name", "model_id", "api_base",
            "api_provider");
    private static final List<String> REMAINING = List.of("model_group", "api_provider", "api_base",
            "litellm_model_name", "hashed_api_key", "api_key_alias", "model_id");

    /** The listener's name (the {@code prometheus} integration's second listener). */
    public static final String NAME = "prometheus_litellm";

    private final MeterRegistry registry;
    private final boolean endUserLabels;
    /** Deployment id → its labels; filled by {@link #bind}. */
    private final Map<String, Deployment> deployments = new ConcurrentHashMap<>();
    /** {@code model_id|exception_status} of the cooled-down counters registered so far. */
    private final Set<String> cooledDown = ConcurrentHashMap.newKeySet();
    private volatile List<DeploymentInfo> bound = List.of();
    private volatile Function<String, Optional<DeploymentHealth>> health = id -> Optional.empty();
    private final MultiGauge state;
    private final MultiGauge remainingRequests;
    private final MultiGauge remainingTokens;
    private final MultiGauge rpmLimit;
    private final MultiGauge tpmLimit;

    /**
     * Meters in {@code registry}.
     *
     * @param registry      where they live (the proxy's Prometheus registry)
     * @param endUserLabels whether {@code end_user} gets a value
     *                      ({@code litellm_settings.enable_end_user_cost_tracking_prometheus_only}, as in LiteLLM)
     */
    public LitellmMetrics(MeterRegistry registry, boolean endUserLabels) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.endUserLabels = endUserLabels;
        this.state = MultiGauge.builder("litellm_deployment_state").description("LLM Deployment Analytics - The state "
                + "of the deployment: 0 = healthy, 1 = partial outage, 2 = complete outage").register(registry);
        this.remainingRequests = MultiGauge.builder("litellm_remaining_requests_metric").description("LLM Deployment "
                + "Analytics - remaining requests for model: the deployment's rpm minus this minute's requests")
                .register(registry);
        this.remainingTokens = MultiGauge.builder("litellm_remaining_tokens_metric").description("remaining tokens for "
                + "model: the deployment's tpm minus this minute's tokens").register(registry);
        this.rpmLimit = MultiGauge.builder("litellm_deployment_rpm_limit").description("Deployment RPM limit found in "
                + "config").register(registry);
        this.tpmLimit = MultiGauge.builder("litellm_deployment_tpm_limit").description("Deployment TPM limit found in "
                + "config").register(registry);
    }

    /**
     * Gives the meters the engine's deployments (for their labels) and the router's view of them (read before every
     * scrape of {@code endpoint}).
     *
     * @param endpoint    the {@code /metrics} endpoint
     * @param deployments every config deployment ({@code Engine.deploymentInfo()})
     * @param health      the router's view of a deployment ({@code Engine::health})
     */
    public void bind(PrometheusEndpoint endpoint, List<DeploymentInfo> deployments,
                     Function<String, Optional<DeploymentHealth>> health) {
        Objects.requireNonNull(endpoint, "endpoint");
        this.health = Objects.requireNonNull(health, "health");
        for (DeploymentInfo d : deployments) {
            this.deployments.putIfAbsent(d.status().id(), new Deployment(d.status().modelGroup(),
                    d.entry().params().providerModel(), d.status().provider(),
                    d.entry().params().apiBaseForDisplay().orElse("")));
        }
        this.bound = List.copyOf(deployments);
        endpoint.beforeScrape(this::refresh);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void onAttempt(AttemptEvent e) {
        Deployment d = deployment(e.deploymentId());
        List<String> common = List.of(label(e.modelGroup()), d.model(), label(e.deploymentId()), d.apiBase(),
                d.provider());
        counter("litellm_deployment_total_requests", "LLM Deployment Analytics - Total number of LLM API calls via "
                + "litellm - success + failure", DEPLOYMENT_CALLS, with(common, "", "", "", "", "", "")).increment();
        if (e.ok()) {
            counter("litellm_deployment_success_responses", "LLM Deployment Analytics - Total number of successful "
                    + "LLM API calls via litellm", DEPLOYMENT_CALLS, with(common, "", "", "", "", "", ""))
                    .increment();
        } else {
            counter("litellm_deployment_failure_responses", "LLM Deployment Analytics - Total number of failed LLM "
                    + "API calls for a specific LLM deployment. exception_status is the status of the exception from "
                    + "the llm api", DEPLOYMENT_FAILURES, with(common, Integer.toString(e.httpStatus()),
                    exceptionClass(e.provider(), e.errorType(), e.errorCode(), e.httpStatus()), "", "", "", "", "",
                    "")).increment();
        }
    }

    /**
     * {@code hashed_api_key}, {@code api_key_alias}, {@code team}, {@code user} of a request made with a virtual
     * key: the first 12 characters of its hash (never more of it), its alias, team and user; empty otherwise.
     */
    private record Caller(String hash, String alias, String team, String user) {
        static Caller of(EditLogRecord r) {
            if (r.keyAlias() == null && r.teamId() == null && r.userId() == null) {
                return new Caller("", "", "", ""); // the master key or an open proxy: no key to tell apart
            }
            String h = r.keyHash() == null ? "" : r.keyHash().substring(0, Math.min(12, r.keyHash().length()));
            return new Caller(h, label(r.keyAlias()), label(r.teamId()), label(r.userId()));
        }
    }

    @Override
    public void onSuccess(EditLogRecord r) {
        String endUser = endUserLabels ? label(r.endUser()) : "";
        String model = label(r.providerModel());
        String id = label(r.deploymentId());
        String asked = asked(r);
        Caller k = Caller.of(r);
        counter("litellm_requests_metric", "Total number of LLM calls to litellm - track total per API Key, team, "
                + "user", REQUESTS, List.of(endUser, k.hash(), k.alias(), model, k.team(), "", k.user(), "", "", "",
                id)).increment();
        if (r.cost() != null) {
            counter("litellm_spend_metric", "Total spend on LLM requests", REQUESTS, List.of(endUser, k.hash(),
                    k.alias(), model, k.team(), "", k.user(), "", "", "", id)).increment(r.cost().doubleValue());
        }
        Usage u = r.usage();
        if (u != null) {
            List<String> tokens = List.of(endUser, k.hash(), k.alias(), model, k.team(), "", k.user(), "", asked, id);
            long in = u.inputTextTokens() + u.inputImageTokens();
            long out = u.outputImageTokens() + u.outputTextTokens();
            counter("litellm_input_tokens_metric", "Total number of input tokens from LLM requests", TOKENS, tokens)
                    .increment(in);
            counter("litellm_output_tokens_metric", "Total number of output tokens from LLM requests", TOKENS, tokens)
                    .increment(out);
            counter("litellm_total_tokens_metric", "Total number of input + output tokens from LLM requests", TOKENS,
                    tokens).increment(in + out);
        }
        histogram("litellm_request_total_latency_metric", "Total latency (seconds) for a request to LiteLLM",
                TOTAL_LATENCY, List.of(endUser, k.hash(), k.alias(), asked, k.team(), "", k.user(), model, id))
                .record(r.latencyMs() / 1000.0);
        // the call that answered: the last attempt
        if (!r.attempts().isEmpty()) {
            AttemptEvent last = r.attempts().getLast();
            histogram("litellm_llm_api_latency_metric", "Total latency (seconds) for a models LLM API call",
                    API_LATENCY, List.of(model, k.hash(), k.alias(), k.team(), "", asked, endUser, k.user(), id))
                    .record(java.time.Duration.between(last.start(), last.end()).toNanos() / 1e9);
        }
        proxyTotal(r, endUser, asked, id);
        fallback(r, "litellm_deployment_successful_fallbacks", "LLM Deployment Analytics - Number of successful "
                + "fallback requests from primary model -> fallback model");
    }

    @Override
    public void onFailure(EditLogRecord r) {
        String endUser = endUserLabels ? label(r.endUser()) : "";
        String asked = asked(r);
        String id = label(r.deploymentId());
        Caller k = Caller.of(r);
        counter("litellm_proxy_failed_requests_metric", "Total number of failed responses from proxy - the client did "
                + "not get a success response from litellm proxy", PROXY_FAILED, List.of(endUser, k.hash(), k.alias(),
                asked, k.team(), "", k.user(), "", Integer.toString(r.httpStatus()), exceptionClass(r.provider(),
                r.errorType(), r.errorCode(), r.httpStatus()), "", "", "", id)).increment();
        proxyTotal(r, endUser, asked, id);
        fallback(r, "litellm_deployment_failed_fallbacks", "LLM Deployment Analytics - Number of failed fallback "
                + "requests from primary model -> fallback model");
    }

    private void proxyTotal(EditLogRecord r, String endUser, String asked, String id) {
        Caller k = Caller.of(r);
        counter("litellm_proxy_total_requests_metric", "Total number of requests made to the proxy server - track "
                + "number of client side requests", PROXY_TOTAL, List.of(endUser, k.hash(), k.alias(), asked, k.team(),
                "", k.user(), Integer.toString(r.httpStatus()), "", "", "", "", id)).increment();
    }

    /** One count per edit that left the group it asked for, labelled with the first failure that made it leave. */
    private void fallback(EditLogRecord r, String name, String description) {
        if (r.fallbacks() == 0 || r.attempts().isEmpty()) {
            return;
        }
        String first = label(r.attempts().getFirst().modelGroup());
        AttemptEvent cause = r.attempts().stream().filter(a -> !a.ok()).findFirst().orElse(r.attempts().getFirst());
        String fallbackModel = r.attempts().stream().map(AttemptEvent::modelGroup).filter(g -> !first.equals(g))
                .reduce((a, b) -> b).orElse("");
        counter(name, description, FALLBACKS, List.of(first, label(fallbackModel), "", "", "", "",
                cause.ok() ? "" : Integer.toString(cause.httpStatus()),
                cause.ok() ? "" : exceptionClass(cause.provider(), cause.errorType(), cause.errorCode(),
                        cause.httpStatus()), label(r.deploymentId()))).increment();
    }

    /** Re-reads the router's view of every deployment (before every scrape). */
    void refresh() {
        List<MultiGauge.Row<?>> states = new ArrayList<>();
        List<MultiGauge.Row<?>> requests = new ArrayList<>();
        List<MultiGauge.Row<?>> tokens = new ArrayList<>();
        List<MultiGauge.Row<?>> rpm = new ArrayList<>();
        List<MultiGauge.Row<?>> tpm = new ArrayList<>();
        for (DeploymentInfo info : bound) {
            String id = info.status().id();
            Deployment d = deployment(id);
            Tags deployment = tags(DEPLOYMENT, List.of(d.model(), id, d.apiBase(), d.provider()));
            Tags remaining = tags(REMAINING, List.of(d.group(), d.provider(), d.apiBase(), d.model(), "", "", id));
            Optional<DeploymentHealth> h = info.status().available() ? health.apply(id) : Optional.empty();
            // a deployment whose provider is not served can take no call at all: a complete outage
            states.add(MultiGauge.Row.of(deployment, h.map(x -> x.state().value()).orElse(2)));
            info.entry().params().rpm().ifPresent(v -> rpm.add(MultiGauge.Row.of(deployment, v)));
            info.entry().params().tpm().ifPresent(v -> tpm.add(MultiGauge.Row.of(deployment, v)));
            h.ifPresent(x -> {
                x.remainingRequests().ifPresent(v -> requests.add(MultiGauge.Row.of(remaining, v)));
                x.remainingTokens().ifPresent(v -> tokens.add(MultiGauge.Row.of(remaining, v)));
                x.cooldowns().keySet().forEach(cause -> cooledDownCounter(id, d, cause));
            });
        }
        state.register(states, true);
        remainingRequests.register(requests, true);
        remainingTokens.register(tokens, true);
        rpmLimit.register(rpm, true);
        tpmLimit.register(tpm, true);
    }

    /** A counter of the rests the router started for {@code id} for {@code cause}, read from the router. */
    private void cooledDownCounter(String id, Deployment d, String cause) {
        if (!cooledDown.add(id + "|" + cause)) {
            return;
        }
        FunctionCounter.builder("litellm_deployment_cooled_down", this, m -> m.health.apply(id)
                        .map(x -> x.cooldowns().getOrDefault(cause, 0L)).orElse(0L).doubleValue())
                .description("LLM Deployment Analytics - Number of times a deployment has been cooled down by LiteLLM "
                        + "load balancing logic. exception_status is the status of the exception that caused the "
                        + "deployment to be cooled down")
                .tags(tags(List.of("litellm_model_name", "model_id", "api_base", "api_provider", "exception_status"),
                        List.of(d.model(), id, d.apiBase(), d.provider(), cause)))
                .register(registry);
    }

    private Counter counter(String name, String description, List<String> keys, List<String> values) {
        return Counter.builder(name).description(description).tags(tags(keys, values)).register(registry);
    }

    private DistributionSummary histogram(String name, String description, List<String> keys, List<String> values) {
        // a summary without a base unit: the name stays LiteLLM's (a Timer would add _seconds)
        return DistributionSummary.builder(name).description(description).tags(tags(keys, values))
                .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
    }

    private static Tags tags(List<String> keys, List<String> values) {
        if (keys.size() != values.size()) {
            throw new IllegalArgumentException(keys.size() + " labels, " + values.size() + " values");
        }
        Tags t = Tags.empty();
        for (int i = 0; i < keys.size(); i++) {
            t = t.and(keys.get(i), values.get(i));
        }
        return t;
    }

    private static List<String> with(List<String> head, String... tail) {
        List<String> out = new ArrayList<>(head);
        out.addAll(List.of(tail));
        return out;
    }

    private Deployment deployment(String id) {
        Deployment d = id == null ? null : deployments.get(id);
        return d == null ? Deployment.UNKNOWN : d;
    }

    /** The group the caller asked for (the first one tried); never the raw model name, which a client chooses. */
    private static String asked(EditLogRecord r) {
        return r.attempts().isEmpty() ? label(r.modelGroup()) : label(r.attempts().getFirst().modelGroup());
    }

    /**
     * LiteLLM's {@code exception_class}: the provider, capitalised, a dot, and the class LiteLLM raises for that
     * failure ({@code Openai.RateLimitError}); no provider when the gateway itself refused.
     */
    static String exceptionClass(String provider, String type, String code, int status) {
        String cls;
        if ("content_policy_violation".equals(code)) {
            cls = "ContentPolicyViolationError";
        } else if (type == null) {
            cls = "APIError";
        } else {
            cls = switch (type) {
                case "rate_limit_error" -> "RateLimitError";
                case "authentication_error" -> "AuthenticationError";
                case "permission_error" -> "PermissionDeniedError";
                case "not_found_error" -> "NotFoundError";
                case "timeout_error" -> "Timeout";
                case "connection_error" -> "APIConnectionError";
                case "invalid_request_error" -> status == 404 ? "NotFoundError" : status == 401
                        ? "AuthenticationError" : status == 429 ? "RateLimitError" : "BadRequestError";
                default -> switch (status) {
                    case 503 -> "ServiceUnavailableError";
                    case 502 -> "BadGatewayError";
                    case 504, 408 -> "Timeout";
                    default -> "InternalServerError";
                };
            };
        }
        if (provider == null || provider.isEmpty()) {
            return cls;
        }
        return Character.toUpperCase(provider.charAt(0)) + provider.substring(1) + "." + cls;
    }

    private static String label(String value) {
        return value == null ? "" : value;
    }

    /** A deployment's static labels. */
    private record Deployment(String group, String model, String provider, String apiBase) {
        static final Deployment UNKNOWN = new Deployment("", "", "", "");
    }
}
