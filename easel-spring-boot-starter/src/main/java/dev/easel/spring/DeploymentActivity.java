package dev.easel.spring;

import dev.easel.callback.AttemptEvent;
import dev.easel.callback.EaselListener;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Remembers, per deployment, the last attempt that failed and the last that succeeded, for the health indicator:
 * what the router's state does not keep. Fed by the listener bus, so it lags the edits by a moment.
 */
final class DeploymentActivity implements EaselListener {

    /** One failed attempt. */
    record Failure(Instant at, int status, String type, String outcome) {
    }

    private final Map<String, Failure> lastFailure = new ConcurrentHashMap<>();
    private final Map<String, Instant> lastSuccess = new ConcurrentHashMap<>();

    @Override
    public String name() {
        return "spring_health";
    }

    @Override
    public void onAttempt(AttemptEvent e) {
        if (e.deploymentId() == null) {
            return;
        }
        if (e.ok()) {
            lastSuccess.merge(e.deploymentId(), e.end(), (a, b) -> a.isAfter(b) ? a : b);
        } else {
            lastFailure.merge(e.deploymentId(), new Failure(e.end(), e.httpStatus(), e.errorType(), e.outcome()),
                    (a, b) -> a.at().isAfter(b.at()) ? a : b);
        }
    }

    Optional<Failure> lastFailure(String deploymentId) {
        return Optional.ofNullable(lastFailure.get(deploymentId));
    }

    Optional<Instant> lastSuccess(String deploymentId) {
        return Optional.ofNullable(lastSuccess.get(deploymentId));
    }
}
