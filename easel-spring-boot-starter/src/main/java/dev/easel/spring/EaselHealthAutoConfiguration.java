package dev.easel.spring;

import dev.easel.DeploymentStatus;
import dev.easel.Easel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * Actuator health for the auto-configured client: a contributor {@code easel} with one indicator per model group
 * ({@code /actuator/health/easel/<model group>}), from the router's state (cooldowns, calls in flight, latency) and
 * the last failure of each deployment, without calling any provider. Off with
 * {@code management.health.easel.enabled=false}.
 */
@AutoConfiguration(after = EaselAutoConfiguration.class)
@ConditionalOnClass(HealthIndicator.class)
@ConditionalOnBean(EaselRuntime.class)
@ConditionalOnEnabledHealthIndicator("easel")
public final class EaselHealthAutoConfiguration {

    /** Created by Spring. */
    public EaselHealthAutoConfiguration() {
    }

    /**
     * The {@code easel} health contributor: one indicator per model group; without a config (model strings called
     * directly) a single UNKNOWN, since there is no group to report on.
     */
    @Bean
    HealthContributor easelHealthContributor(Easel easel, EaselRuntime runtime) {
        if (easel.deployments().isEmpty()) {
            return (HealthIndicator) () -> Health.unknown().withDetail("model_groups",
                    "none configured (easel.config or easel.model-list)").build();
        }
        Map<String, List<DeploymentStatus>> groups = new LinkedHashMap<>();
        for (DeploymentStatus d : easel.deployments()) {
            groups.computeIfAbsent(d.modelGroup(), g -> new ArrayList<>()).add(d);
        }
        Map<String, HealthIndicator> indicators = new LinkedHashMap<>();
        groups.forEach((group, list) -> indicators.put(group, new ModelGroupHealthIndicator(list, runtime)));
        return CompositeHealthContributor.fromMap(indicators);
    }
}
