package dev.easel.proxy;

import dev.easel.callback.EaselListener;
import dev.easel.config.ConfigException;
import dev.easel.config.EaselConfig;
import dev.easel.config.LitellmSettings;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.net.URI;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code otel} integration: the OpenTelemetry SDK, configured by its autoconfiguration from the standard
 * {@code OTEL_*} variables (process environment, overridden by the config's {@code environment_variables}) and
 * {@code general_settings.otel_exporter_endpoint}, exporting OTLP over HTTP (protobuf) with the JDK's
 * {@code HttpClient}. The engine makes the spans as edits run (see {@code docs/tracing.md}); this owns the SDK,
 * reports whether exports succeed ({@link #health()}, shown in readiness and {@code easel_listener_up}) and
 * flushes what is buffered when closed.
 */
final class OtelIntegration implements EaselListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OtelIntegration.class);

    /** The callback name in {@code litellm_settings.callbacks}. */
    static final String NAME = "otel";

    /** How long {@link #close()} waits for buffered spans to be sent. */
    static final long CLOSE_SECONDS = 10;

    private static final String PROTOCOL = "http/protobuf";
    private static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");

    private final OpenTelemetrySdk sdk;
    private final String endpoint;
    private final Watched watched;
    private final boolean prompts;

    private OtelIntegration(OpenTelemetrySdk sdk, String endpoint, Watched watched, boolean prompts) {
        this.sdk = sdk;
        this.endpoint = endpoint;
        this.watched = watched;
        this.prompts = prompts;
    }

    /**
     * The integration a LiteLLM-format config asks for: present when {@code otel} is in
     * {@code litellm_settings.callbacks}, {@code success_callback} or {@code failure_callback}.
     *
     * @param env the proxy's environment (the config's {@code environment_variables} included)
     * @throws ConfigException when a setting is invalid (the message names it)
     */
    static Optional<OtelIntegration> fromConfig(EaselConfig config, Map<String, String> env) {
        LitellmSettings ls = config.litellmSettings();
        if (!named(ls.callbacks()) && !named(ls.successCallback()) && !named(ls.failureCallback())) {
            return Optional.empty();
        }
        Map<String, String> overrides = new HashMap<>();
        env.forEach((k, v) -> {
            // the name autoconfigure gives an environment variable; a system property of that name still wins
            String key = k.toLowerCase(Locale.ROOT).replace('_', '.');
            if (k.startsWith("OTEL_") && v != null && System.getProperty(key) == null) {
                overrides.put(key, v);
            }
        });
        config.generalSettings().otelExporterEndpoint()
                .ifPresent(u -> overrides.put("otel.exporter.otlp.traces.endpoint", tracesUrl(u.toString())));
        String[] shown = new String[1];
        Watched[] watched = new Watched[1];
        OpenTelemetrySdk sdk;
        try {
            sdk = AutoConfiguredOpenTelemetrySdk.builder()
                    .addPropertiesSupplier(() -> Map.of(
                            "otel.exporter.otlp.protocol", PROTOCOL,
                            // Easel's metrics are Prometheus at /metrics and its logs go through SLF4J
                            "otel.metrics.exporter", "none",
                            "otel.logs.exporter", "none"))
                    .addPropertiesCustomizer(c -> overrides)
                    .addPropertiesCustomizer(OtelIntegration::protocol)
                    .addResourceCustomizer(OtelIntegration::serviceName)
                    .addSpanExporterCustomizer((exporter, c) -> {
                        shown[0] = shownEndpoint(c);
                        watched[0] = new Watched(exporter, shown[0]);
                        return watched[0];
                    })
                    .disableShutdownHook() // the proxy closes it, after its last edit
                    .build().getOpenTelemetrySdk();
        } catch (ConfigurationException e) {
            throw new ConfigException("otel: " + e.getMessage());
        }
        boolean prompts = "true".equalsIgnoreCase(
                overrides.getOrDefault("otel.instrumentation.genai.capture.message.content", "").strip());
        LOG.info("otel: exporting traces to {}", shown[0] == null ? "nowhere (OTEL_TRACES_EXPORTER=none)" : shown[0]);
        return Optional.of(new OtelIntegration(sdk, shown[0], watched[0], prompts));
    }

    /** The OpenTelemetry the engine makes its spans with. */
    OpenTelemetry openTelemetry() {
        return sdk;
    }

    /** Whether request spans carry the prompt ({@code OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT}). */
    boolean prompts() {
        return prompts;
    }

    /** Where spans go (the traces URL, without credentials or query), or null when exporting nowhere. */
    String endpoint() {
        return endpoint;
    }

    @Override
    public String name() {
        return NAME;
    }

    /** Down from a failed export (after the SDK's retries) until the next one succeeds, with why. */
    @Override
    public Health health() {
        String failure = watched == null ? null : watched.failure;
        return failure == null ? Health.UP : Health.down("otlp export to " + endpoint + " failing: " + failure);
    }

    /** Sends what is buffered and stops the SDK (waiting up to {@link #CLOSE_SECONDS}). Idempotent. */
    @Override
    public void close() {
        CompletableResultCode done = sdk.shutdown().join(CLOSE_SECONDS, TimeUnit.SECONDS);
        if (!done.isSuccess()) {
            LOG.warn("otel: spans still buffered at shutdown could not all be sent to {}", endpoint);
        }
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

    /**
     * OTLP over HTTP with protobuf is what the proxy sends: {@code http/json} (what Easel sent before it used the
     * SDK) is taken as it, since collectors take both on the same port; {@code grpc} needs a gRPC sender the
     * proxy does not ship, so it is refused rather than sending to a port that speaks another protocol.
     */
    private static Map<String, String> protocol(ConfigProperties c) {
        Map<String, String> out = new HashMap<>();
        for (String key : List.of("otel.exporter.otlp.protocol", "otel.exporter.otlp.traces.protocol")) {
            String p = c.getString(key);
            if (p == null || p.strip().equalsIgnoreCase(PROTOCOL)) {
                continue;
            }
            String variable = key.toUpperCase(Locale.ROOT).replace('.', '_');
            if (p.strip().equalsIgnoreCase("http/json")) {
                LOG.warn("otel: {}=http/json: the proxy sends OTLP/HTTP as protobuf", variable);
                out.put(key, PROTOCOL);
            } else {
                throw new ConfigurationException(variable + " must be " + PROTOCOL + " (was '" + p + "'): the proxy "
                        + "exports OTLP over HTTP; point it at the collector's OTLP/HTTP port (4318)");
            }
        }
        return out;
    }

    /** {@code service.name} is {@code easel} unless set ({@code OTEL_SERVICE_NAME}, {@code OTEL_RESOURCE_ATTRIBUTES}). */
    private static Resource serviceName(Resource r, ConfigProperties c) {
        String name = r.getAttribute(SERVICE_NAME);
        if (name == null || name.startsWith("unknown_service")) {
            return r.toBuilder().put(SERVICE_NAME, "easel").build();
        }
        return r;
    }

    /** The traces URL the OTLP/HTTP exporter posts to, as autoconfigure works it out, without userinfo or query. */
    static String shownEndpoint(ConfigProperties c) {
        String url = c.getString("otel.exporter.otlp.traces.endpoint");
        if (url == null) {
            String base = c.getString("otel.exporter.otlp.endpoint", "http://localhost:4318");
            url = (base.endsWith("/") ? base : base + "/") + "v1/traces";
        }
        try {
            URI u = URI.create(url.strip());
            return u.getScheme() + "://" + u.getHost() + (u.getPort() < 0 ? "" : ":" + u.getPort())
                    + (u.getRawPath() == null ? "" : u.getRawPath());
        } catch (IllegalArgumentException e) {
            return "an invalid url";
        }
    }

    /** The exporter, with the outcome of its last export remembered for {@link #health()}. */
    private static final class Watched implements SpanExporter {
        private final SpanExporter delegate;
        private final String endpoint;
        private volatile String failure;

        Watched(SpanExporter delegate, String endpoint) {
            this.delegate = delegate;
            this.endpoint = endpoint;
        }

        @Override
        public CompletableResultCode export(Collection<SpanData> spans) {
            CompletableResultCode r = delegate.export(spans);
            r.whenComplete(() -> {
                if (r.isSuccess()) {
                    if (failure != null) {
                        LOG.info("otlp export to {} works again", endpoint);
                    }
                    failure = null;
                } else {
                    failure = describe(r.getFailureThrowable(), spans.size());
                }
            });
            return r;
        }

        /** Why an export failed: the exporter fails with the I/O error as cause, or without one for an HTTP answer. */
        private static String describe(Throwable t, int spans) {
            Throwable cause = t == null ? null : t.getCause();
            String what = cause != null ? "cannot reach the collector: " + cause.getClass().getSimpleName()
                    + (cause.getMessage() == null ? "" : " (" + cause.getMessage() + ")")
                    : "the collector refused the export (its answer is in the log)";
            return what + "; " + spans + (spans == 1 ? " span" : " spans") + " dropped";
        }

        @Override
        public CompletableResultCode flush() {
            return delegate.flush();
        }

        @Override
        public CompletableResultCode shutdown() {
            return delegate.shutdown();
        }

        @Override
        public String toString() {
            return "Watched{" + delegate + "}";
        }
    }
}
