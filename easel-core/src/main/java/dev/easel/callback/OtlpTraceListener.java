package dev.easel.callback;

import dev.easel.config.ConfigException;
import dev.easel.config.EaselConfig;
import dev.easel.config.LitellmSettings;
import dev.easel.config.ModelEntry;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code otel} integration: OpenTelemetry traces over OTLP/HTTP (JSON encoding), without the OpenTelemetry
 * SDK. Each edit becomes a SERVER span ({@code image_edit <model>}) with a CLIENT child span per provider attempt
 * (retries and fallbacks included), carrying the GenAI semantic-convention attributes and Easel's own (see
 * {@code docs/tracing.md}). The span ids are the ones Easel already uses on the wire: the request continues the
 * caller's {@code traceparent}, and each attempt's span id is the one sent upstream in {@code traceparent}.
 *
 * <pre>{@code
 * OtlpTraceListener otel = OtlpTraceListener.builder().endpoint("http://collector:4318/v1/traces").build();
 * Easel easel = Easel.builder().apiKey(key).listener(otel).build();
 * // at shutdown, after the last edit:
 * otel.close();
 * }</pre>
 *
 * <p>Spans are exported in batches from a background thread through a bounded buffer: a collector that is
 * slow or down never delays an edit; it turns {@link #health()} down, spans wait (and are retried with backoff)
 * until the buffer is full, and what does not fit is dropped and counted. The prompt is never exported unless
 * {@link Builder#includePrompts(boolean)} is on (and {@code redact_prompts} is off); keys and image bytes
 * never are.
 */
public final class OtlpTraceListener implements EaselListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OtlpTraceListener.class);

    /** The callback name in {@code litellm_settings.callbacks}. */
    public static final String NAME = "otel";

    /** Where spans go when nothing is configured: the standard local collector. */
    public static final URI DEFAULT_ENDPOINT = URI.create("http://localhost:4318/v1/traces");

    /** Instrumentation scope name. */
    static final String SCOPE = "dev.easel";

    private final OtlpExporter exporter;
    private final OtlpSpanMapper mapper;
    private final boolean successes;
    private final boolean failures;

    private OtlpTraceListener(Builder b, URI endpoint, Map<String, String> headers, Map<String, Object> resource) {
        this.mapper = new OtlpSpanMapper(b.includePrompts, b.deploymentModels);
        this.successes = b.successes;
        this.failures = b.failures;
        this.exporter = new OtlpExporter(endpoint, headers, resource, SCOPE,
                OtlpTraceListener.class.getPackage().getImplementationVersion(),
                new OtlpExporter.Settings(b.timeout, b.scheduleDelay, b.maxBatchSize, b.maxQueueSize,
                        b.initialBackoff, b.maxBackoff, b.closeTimeout));
    }

    /** A builder: endpoint {@link #DEFAULT_ENDPOINT} and service name {@code easel} unless set. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The listener a LiteLLM-format config asks for: present when {@code otel} is in
     * {@code litellm_settings.callbacks} (successes and failures), {@code success_callback} or
     * {@code failure_callback}. The endpoint is {@code general_settings.otel_exporter_endpoint} (a collector's
     * base URL; {@code /v1/traces} is appended unless already there), else the standard {@code OTEL_*} variables
     * of {@code env} (see {@link Builder#environment(Map)}), which the config's {@code environment_variables}
     * override, as they do for {@code os.environ/}.
     *
     * @throws ConfigException when a setting is invalid (the message names it)
     */
    public static Optional<OtlpTraceListener> fromConfig(EaselConfig config, Map<String, String> env) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(env, "env");
        LitellmSettings ls = config.litellmSettings();
        boolean all = named(ls.callbacks());
        boolean onSuccess = all || named(ls.successCallback());
        boolean onFailure = all || named(ls.failureCallback());
        if (!onSuccess && !onFailure) {
            return Optional.empty();
        }
        Map<String, String> merged = new HashMap<>(env);
        merged.putAll(config.environmentVariables());
        try {
            Builder b = builder().environment(merged);
            config.generalSettings().otelExporterEndpoint().ifPresent(u -> b.endpoint(tracesUrl(u.toString())));
            b.successes = onSuccess;
            b.failures = onFailure;
            b.deploymentModels = deploymentModels(config);
            OtlpTraceListener l = b.build();
            LOG.info("otel: exporting traces to {}", l.exporter.shownEndpoint());
            return Optional.of(l);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    /**
     * Job polls of requests still running, by request id: their spans go out with the request's own, and only when the
     * request's outcome is traced. Bounded: a request whose record never comes cannot keep its polls forever.
     */
    private final java.util.LinkedHashMap<String, List<OtlpSpan>> polls = new java.util.LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<String, List<OtlpSpan>> eldest) {
            return size() > MAX_REQUESTS_WITH_POLLS;
        }
    };

    /** Requests whose poll spans are held until their outcome. */
    static final int MAX_REQUESTS_WITH_POLLS = 10_000;
    /** Poll spans held per request (a job polled more often keeps its last ones). */
    static final int MAX_POLLS_PER_REQUEST = 1_000;

    @Override
    public void onJobPoll(JobPollEvent event) {
        OtlpSpan span = mapper.pollSpan(event);
        if (span == null) {
            return;
        }
        synchronized (polls) {
            List<OtlpSpan> list = polls.computeIfAbsent(event.requestId(), k -> new java.util.ArrayList<>());
            if (list.size() >= MAX_POLLS_PER_REQUEST) {
                list.remove(0);
            }
            list.add(span);
        }
    }

    @Override
    public void onSuccess(EditLogRecord record) {
        List<OtlpSpan> held = heldPolls(record);
        if (successes) {
            exporter.offer(withPolls(mapper.spans(record), held));
        }
    }

    @Override
    public void onFailure(EditLogRecord record) {
        List<OtlpSpan> held = heldPolls(record);
        if (failures) {
            exporter.offer(withPolls(mapper.spans(record), held));
        }
    }

    private List<OtlpSpan> heldPolls(EditLogRecord record) {
        synchronized (polls) {
            List<OtlpSpan> held = polls.remove(record.requestId());
            return held == null ? List.of() : held;
        }
    }

    private static List<OtlpSpan> withPolls(List<OtlpSpan> spans, List<OtlpSpan> held) {
        if (held.isEmpty() || spans.isEmpty()) {
            return spans;
        }
        List<OtlpSpan> all = new java.util.ArrayList<>(spans);
        all.addAll(held);
        return all;
    }

    /** Down while the collector cannot be reached or refuses spans, with why; up again after the next export. */
    @Override
    public Health health() {
        String failure = exporter.failure();
        if (failure == null) {
            return Health.UP;
        }
        return Health.down("otlp export to " + exporter.shownEndpoint() + " failing: " + failure + " ("
                + exporter.pending() + " spans waiting, " + exporter.dropped() + " dropped)");
    }

    /** Where spans are sent. */
    public URI endpoint() {
        return exporter.endpoint();
    }

    /** Spans the collector accepted so far. */
    public long exportedSpans() {
        return exporter.exported();
    }

    /** Spans dropped so far (buffer full, refused by the collector, or undelivered at close). */
    public long droppedSpans() {
        return exporter.dropped();
    }

    /** Sends the spans buffered now; true when all were settled (exported or dropped) within {@code timeout}. */
    public boolean flush(Duration timeout) {
        return exporter.flush(timeout);
    }

    /**
     * Sends what is buffered (retrying for at most the close time-out, 5 s by default) and stops the exporter
     * thread; spans still undelivered then are dropped and counted. Close after the {@code Easel}'s listener
     * bus has drained.
     */
    @Override
    public void close() {
        exporter.close();
    }

    private static boolean named(List<String> callbacks) {
        return callbacks.stream().anyMatch(c -> NAME.equalsIgnoreCase(c.trim()));
    }

    /** {@code base} + {@code /v1/traces}, unless it already ends so. */
    static String tracesUrl(String base) {
        String b = base.strip();
        while (b.endsWith("/")) {
            b = b.substring(0, b.length() - 1);
        }
        return b.endsWith("/v1/traces") ? b : b + "/v1/traces";
    }

    /** Provider model per deployment id (explicit {@code model_info.id}, else the default id's base). */
    private static Map<String, String> deploymentModels(EaselConfig config) {
        Map<String, String> m = new LinkedHashMap<>();
        for (ModelEntry e : config.modelList()) {
            String id = e.modelInfo().id().orElse(e.params().provider() + "/" + e.params().providerModel());
            m.putIfAbsent(id, e.params().providerModel());
        }
        return m;
    }

    /** Builder for {@link OtlpTraceListener}; explicit settings win over {@link #environment(Map)}. */
    public static final class Builder {
        private URI endpoint;
        private final Map<String, String> headers = new LinkedHashMap<>();
        private String serviceName;
        private final Map<String, Object> resourceAttributes = new LinkedHashMap<>();
        private Boolean includePromptsSet;
        private boolean includePrompts;
        private Duration timeout;
        private Duration scheduleDelay;
        private Integer maxBatchSize;
        private Integer maxQueueSize;
        private Duration initialBackoff = Duration.ofSeconds(1);
        private Duration maxBackoff = Duration.ofSeconds(30);
        private Duration closeTimeout = Duration.ofSeconds(5);
        private Map<String, String> env = Map.of();
        private boolean successes = true;
        private boolean failures = true;
        private Map<String, String> deploymentModels = Map.of();

        private Builder() {
        }

        /** The full traces URL, e.g. {@code http://collector:4318/v1/traces} (nothing is appended). */
        public Builder endpoint(String url) {
            this.endpoint = httpUrl(url, "otel endpoint");
            return this;
        }

        /** Adds a header to every export request (e.g. a collector's API key; never logged). */
        public Builder header(String name, String value) {
            headers.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** {@code service.name} of the resource (default: {@code OTEL_SERVICE_NAME}, else {@code easel}). */
        public Builder serviceName(String name) {
            this.serviceName = Objects.requireNonNull(name, "name");
            return this;
        }

        /** Adds a resource attribute (e.g. {@code deployment.environment.name}). */
        public Builder resourceAttribute(String key, String value) {
            resourceAttributes.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /**
         * Records the prompt on the request span as {@code gen_ai.input.messages} (default off; a prompt removed
         * by {@code redact_prompts} is never exported).
         */
        public Builder includePrompts(boolean include) {
            this.includePromptsSet = include;
            return this;
        }

        /** Time allowed for one export request, connecting included (default 10 s). */
        public Builder timeout(Duration timeout) {
            this.timeout = positive(timeout, "timeout");
            return this;
        }

        /** Longest time a span waits before its batch is sent (default 1 s). */
        public Builder scheduleDelay(Duration delay) {
            this.scheduleDelay = positive(delay, "scheduleDelay");
            return this;
        }

        /** Most spans in one export request (default 512). */
        public Builder maxBatchSize(int size) {
            this.maxBatchSize = atLeastOne(size, "maxBatchSize");
            return this;
        }

        /** Most spans buffered; more are dropped and counted (default 2048). */
        public Builder maxQueueSize(int size) {
            this.maxQueueSize = atLeastOne(size, "maxQueueSize");
            return this;
        }

        /** Backoff between retries of a failed export: doubling from {@code initial} up to {@code max} (1 s, 30 s). */
        public Builder retryBackoff(Duration initial, Duration max) {
            this.initialBackoff = positive(initial, "initial backoff");
            this.maxBackoff = positive(max, "max backoff");
            if (max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("max backoff must be at least the initial backoff (was "
                        + max.toMillis() + " ms < " + initial.toMillis() + " ms)");
            }
            return this;
        }

        /** How long {@link OtlpTraceListener#close()} keeps trying to deliver buffered spans (default 5 s). */
        public Builder closeTimeout(Duration timeout) {
            this.closeTimeout = positive(timeout, "closeTimeout");
            return this;
        }

        /**
         * Reads the standard OpenTelemetry variables from {@code env} for whatever is not set explicitly:
         * {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT} (full URL) or {@code OTEL_EXPORTER_OTLP_ENDPOINT}
         * ({@code /v1/traces} appended), {@code OTEL_EXPORTER_OTLP_HEADERS} and
         * {@code OTEL_EXPORTER_OTLP_TRACES_HEADERS} ({@code k=v,k2=v2}), {@code OTEL_EXPORTER_OTLP_TIMEOUT} and
         * {@code OTEL_EXPORTER_OTLP_TRACES_TIMEOUT} (ms), {@code OTEL_SERVICE_NAME},
         * {@code OTEL_RESOURCE_ATTRIBUTES}, {@code OTEL_BSP_SCHEDULE_DELAY} (ms), {@code OTEL_BSP_MAX_QUEUE_SIZE},
         * {@code OTEL_BSP_MAX_EXPORT_BATCH_SIZE} and {@code OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT}.
         */
        public Builder environment(Map<String, String> env) {
            this.env = Map.copyOf(Objects.requireNonNull(env, "env"));
            return this;
        }

        /**
         * The listener, its exporter thread started.
         *
         * @throws IllegalArgumentException when an environment variable is invalid (the message names it)
         */
        public OtlpTraceListener build() {
            String protocol = firstSet("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL");
            if (protocol != null && !protocol.equalsIgnoreCase("http/json")) {
                LOG.warn("otel: easel exports OTLP http/json only; protocol '{}' ignored", protocol);
            }
            URI url = endpoint;
            if (url == null && env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != null) {
                url = httpUrl(env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
            }
            if (url == null && env("OTEL_EXPORTER_OTLP_ENDPOINT") != null) {
                String base = env("OTEL_EXPORTER_OTLP_ENDPOINT").strip();
                url = httpUrl((base.endsWith("/") ? base : base + "/") + "v1/traces", "OTEL_EXPORTER_OTLP_ENDPOINT");
            }
            if (url == null) {
                url = DEFAULT_ENDPOINT;
            }
            Map<String, String> h = new LinkedHashMap<>();
            h.putAll(parseList("OTEL_EXPORTER_OTLP_HEADERS"));
            h.putAll(parseList("OTEL_EXPORTER_OTLP_TRACES_HEADERS"));
            h.putAll(headers);
            Map<String, Object> resource = new LinkedHashMap<>();
            resource.put("service.name", "easel");
            resource.putAll(parseList("OTEL_RESOURCE_ATTRIBUTES"));
            resource.putAll(resourceAttributes);
            String service = serviceName != null ? serviceName : env("OTEL_SERVICE_NAME");
            if (service != null) {
                resource.put("service.name", service);
            }
            includePrompts = includePromptsSet != null ? includePromptsSet
                    : "true".equalsIgnoreCase(env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"));
            long envTimeout = millis(firstSetName("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"),
                    10_000);
            timeout = timeout != null ? timeout : Duration.ofMillis(envTimeout);
            scheduleDelay = scheduleDelay != null ? scheduleDelay
                    : Duration.ofMillis(millis("OTEL_BSP_SCHEDULE_DELAY", 1_000));
            maxQueueSize = maxQueueSize != null ? maxQueueSize : (int) millis("OTEL_BSP_MAX_QUEUE_SIZE", 2048);
            maxBatchSize = maxBatchSize != null ? maxBatchSize
                    : (int) Math.min(millis("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512), maxQueueSize);
            return new OtlpTraceListener(this, url, h, resource);
        }

        private String env(String name) {
            String v = env.get(name);
            return v == null || v.isBlank() ? null : v;
        }

        private String firstSet(String a, String b) {
            return env(a) != null ? env(a) : env(b);
        }

        private String firstSetName(String a, String b) {
            return env(a) != null ? a : b;
        }

        /** A positive whole number from {@code name} (ms for durations), or {@code dflt} when unset. */
        private long millis(String name, long dflt) {
            String v = env(name);
            if (v == null) {
                return dflt;
            }
            try {
                long n = Long.parseLong(v.strip());
                if (n > 0 && n <= Integer.MAX_VALUE) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException(name + " must be a positive integer (was '" + v + "')");
        }

        /** {@code k=v,k2=v2} with percent-encoded values; messages never show a value (headers hold keys). */
        private Map<String, String> parseList(String name) {
            Map<String, String> out = new LinkedHashMap<>();
            String v = env(name);
            if (v == null) {
                return out;
            }
            int i = 0;
            for (String entry : v.split(",")) {
                i++;
                if (entry.isBlank()) {
                    continue;
                }
                int eq = entry.indexOf('=');
                if (eq <= 0 || entry.substring(0, eq).isBlank()) {
                    throw new IllegalArgumentException(name + ": entry " + i + " is not key=value");
                }
                String key = entry.substring(0, eq).strip();
                String value = entry.substring(eq + 1).strip();
                try {
                    value = URLDecoder.decode(value.replace("+", "%2B"), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(name + ": entry " + i + " ('" + key
                            + "') has a malformed percent-encoding");
                }
                out.put(key, value);
            }
            return out;
        }

        private static URI httpUrl(String url, String what) {
            Objects.requireNonNull(url, what);
            try {
                URI u = new URI(url.strip());
                String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
                if ((scheme.equals("http") || scheme.equals("https")) && u.getHost() != null) {
                    return u;
                }
            } catch (URISyntaxException e) {
                // reported below
            }
            throw new IllegalArgumentException(what + " must be an http(s) url (was '" + url + "')");
        }

        private static Duration positive(Duration d, String what) {
            Objects.requireNonNull(d, what);
            if (d.isZero() || d.isNegative()) {
                throw new IllegalArgumentException(what + " must be positive (was " + d + ")");
            }
            return d;
        }

        private static int atLeastOne(int n, String what) {
            if (n < 1) {
                throw new IllegalArgumentException(what + " must be at least 1 (was " + n + ")");
            }
            return n;
        }
    }
}
