package dev.easel;

import java.util.Objects;
import java.util.Optional;

/**
 * A config deployment as a client sees it: whether it can be called at all. A deployment is unavailable when
 * its provider is not served by this client (for example {@code gemini/…} without a Gemini provider); the
 * router never picks it, and its group falls back or answers 501 {@code provider_not_served}.
 *
 * @param id                 deployment id ({@code model_info.id}, else derived from the provider and model)
 * @param modelGroup         its {@code model_name}
 * @param provider           its provider name
 * @param unavailableReason  why it cannot be called; empty when it can
 */
public record DeploymentStatus(String id, String modelGroup, String provider, Optional<String> unavailableReason) {

    /** Checks that nothing is null. */
    public DeploymentStatus {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(modelGroup, "modelGroup");
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(unavailableReason, "unavailableReason");
    }

    /** Whether the router may call it. */
    public boolean available() {
        return unavailableReason.isEmpty();
    }
}
