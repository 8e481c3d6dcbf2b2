package dev.easel.spring;

import dev.easel.DeploymentStatus;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The health of one model group, from what the router already knows (no call is made to a provider): UP while
 * some deployment of the group can be called now, DOWN when every one is cooling down or is not served by this
 * client. Details per deployment: its state, when its cooldown ends, the last failure and success, calls in flight,
 * the recent latency.
 */
final class ModelGroupHealthIndicator implements HealthIndicator {

    private final List<DeploymentStatus> deployments;
    private final EaselRuntime runtime;

    ModelGroupHealthIndicator(List<DeploymentStatus> deployments, EaselRuntime runtime) {
        this.deployments = List.copyOf(deployments);
        this.runtime = runtime;
    }

    @Override
    public Health health() {
        Instant now = runtime.clock().instant();
        boolean callable = false;
        Map<String, Object> details = new LinkedHashMap<>();
        for (DeploymentStatus d : deployments) {
            Map<String, Object> detail = new LinkedHashMap<>();
            detail.put("provider", d.provider());
            Optional<Instant> until = runtime.routerState().cooldownUntil(d.id(), now);
            if (!d.available()) {
                detail.put("state", "unavailable");
                detail.put("reason", d.unavailableReason().orElseThrow());
            } else if (until.isPresent()) {
                detail.put("state", "cooling_down");
                detail.put("cooldown_until", until.get().toString());
            } else {
                detail.put("state", "healthy");
                callable = true;
            }
            detail.put("in_flight", runtime.routerState().inflight(d.id()));
            runtime.routerState().latencyMillis(d.id())
                    .ifPresent(ms -> detail.put("latency_ms_per_image", Math.round(ms)));
            runtime.activity().lastFailure(d.id()).ifPresent(f -> {
                Map<String, Object> failure = new LinkedHashMap<>();
                failure.put("at", f.at().toString());
                failure.put("status", f.status());
                failure.put("type", f.type());
                failure.put("outcome", f.outcome());
                detail.put("last_failure", failure);
            });
            runtime.activity().lastSuccess(d.id()).ifPresent(t -> detail.put("last_success", t.toString()));
            details.put(d.id(), detail);
        }
        return (callable ? Health.up() : Health.down()).withDetail("deployments", details).build();
    }
}
