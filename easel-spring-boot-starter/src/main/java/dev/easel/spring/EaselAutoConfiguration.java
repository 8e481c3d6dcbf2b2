package dev.easel.spring;

import dev.easel.Easel;
import dev.easel.callback.MetricsListener;
import dev.easel.config.EaselConfig;
import dev.easel.routing.InMemoryRouterState;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.core.io.ResourceLoader;

/**
 * Auto-configures an {@link Easel} client from {@code easel.config} (a LiteLLM config file) or the {@code easel.*}
 * properties, unless the application defines its own {@code Easel} bean. The client is closed with the context.
 * Its edits are counted into the application's {@code MeterRegistry} when there is one
 * ({@code easel.metrics.enabled}); Actuator gets a health indicator per model group
 * ({@link EaselHealthAutoConfiguration}).
 */
@AutoConfiguration
@ConditionalOnClass(Easel.class)
@EnableConfigurationProperties(EaselProperties.class)
public final class EaselAutoConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(EaselAutoConfiguration.class);

    /** The callback the starter acts on: {@code prometheus} means the application's registry here. */
    private static final Set<String> ACTED_ON = Set.of(MetricsListener.NAME);

    /** Created by Spring. */
    public EaselAutoConfiguration() {
    }

    /** The client and what the starter keeps beside it, when the application has no {@code Easel} of its own. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnMissingBean(Easel.class)
    static class ClientConfiguration {

        @Bean
        EaselRuntime easelRuntime(EaselProperties properties, ResourceLoader resources) {
            Optional<EaselConfig> config = ConfigSource.load(properties, resources, System.getenv());
            config.ifPresent(c -> {
                String from = properties.getConfig() != null ? properties.getConfig() : "easel.* properties";
                c.warnings().forEach(w -> LOG.warn("easel config ({}): {}", from, w));
                Set<String> callbacks = new LinkedHashSet<>();
                callbacks.addAll(c.litellmSettings().callbacks());
                callbacks.addAll(c.litellmSettings().successCallback());
                callbacks.addAll(c.litellmSettings().failureCallback());
                callbacks.stream().filter(n -> !ACTED_ON.contains(n)).forEach(n -> LOG.warn(
                        "easel config ({}): litellm_settings callback '{}' is not acted on by the Spring Boot "
                                + "starter (ignored): add a listener with an EaselBuilderCustomizer", from, n));
            });
            return new EaselRuntime(config, new InMemoryRouterState(), new DeploymentActivity(), Clock.systemUTC());
        }

        @Bean(destroyMethod = "close")
        Easel easel(EaselRuntime runtime, Environment environment, ObjectProvider<EaselMetrics> metrics,
                    ObjectProvider<EaselBuilderCustomizer> customizers,
                    ObjectProvider<io.opentelemetry.api.OpenTelemetry> openTelemetry) {
            // Spans go to the application's OpenTelemetry (Boot's tracing auto-configuration makes one), else
            // nowhere. Given explicitly, never looked up in GlobalOpenTelemetry: Boot manages an older
            // opentelemetry-api than Easel's build (1.55 in Boot 4.0.7), which has no getOrNoop()
            Easel.Builder builder = Easel.builder().routerState(runtime.routerState()).clock(runtime.clock())
                    .listener(runtime.activity())
                    .openTelemetry(openTelemetry.getIfAvailable(io.opentelemetry.api.OpenTelemetry::noop));
            if (runtime.config().isPresent()) {
                builder.config(runtime.config().get());
            } else {
                // no config: one client like the official SDKs, for model strings such as openai/gpt-image-2
                String key = environment.getProperty("OPENAI_API_KEY");
                if (key != null && !key.isBlank()) {
                    builder.apiKey(key);
                }
                String base = environment.getProperty("OPENAI_BASE_URL");
                if (base != null && !base.isBlank()) {
                    builder.apiBase(base);
                }
            }
            metrics.ifAvailable(m -> m.bind(builder, runtime.config()));
            customizers.orderedStream().forEach(c -> c.customize(builder));
            Easel easel = builder.build();
            easel.warnings().forEach(w -> LOG.warn("easel: {}", w));
            return easel;
        }
    }

    /** Metrics, when Micrometer is on the class path. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(MeterRegistry.class)
    static class MetricsConfiguration {

        @Bean
        EaselMetrics easelMetrics(ObjectProvider<MeterRegistry> registry, EaselProperties properties) {
            return (builder, config) -> {
                MeterRegistry r = registry.getIfUnique();
                if (r == null || !properties.getMetrics().isEnabled()) {
                    return;
                }
                boolean endUsers = config.map(c -> c.litellmSettings().enableEndUserCostTrackingPrometheusOnly())
                        .orElse(false);
                builder.listener(new MetricsListener(r, endUsers));
            };
        }
    }

    /** Binds the client's metrics to the application's registry; its signature keeps Micrometer optional. */
    @FunctionalInterface
    interface EaselMetrics {
        void bind(Easel.Builder builder, Optional<EaselConfig> config);
    }
}
