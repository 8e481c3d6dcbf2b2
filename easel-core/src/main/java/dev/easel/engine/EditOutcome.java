package dev.easel.engine;

import dev.easel.ImageResponse;
import dev.easel.catalog.ModelSpec;
import java.time.Duration;

/**
 * An edit's result plus what the gateway needs to report about it.
 *
 * @param response     what the client gets (already in the requested {@code response_format})
 * @param modelGroup   the model name that answered (the config's {@code model_name}, or the model string)
 * @param deploymentId id of the deployment that answered ({@code model_info.id}, else {@code provider/model})
 * @param provider     provider that answered
 * @param upstreamTime time spent waiting for the provider (the successful attempt)
 * @param retries      attempts beyond the first within model groups
 * @param fallbacks    model groups tried after the one asked for
 * @param attempts     what was tried, in order ({@code deployment: outcome})
 * @param lifecycle    the catalogue's deprecation and shutdown dates of the model that answered (none for a model
 *                     the catalogue does not know); its warnings are in {@link ImageResponse#warnings()}
 */
public record EditOutcome(ImageResponse response, String modelGroup, String deploymentId, String provider,
                          Duration upstreamTime, int retries, int fallbacks, java.util.List<String> attempts,
                          ModelSpec.Lifecycle lifecycle) {

    /** Checks that the lifecycle is not null. */
    public EditOutcome {
        java.util.Objects.requireNonNull(lifecycle, "lifecycle");
    }

    /** An outcome without lifecycle dates. */
    public EditOutcome(ImageResponse response, String modelGroup, String deploymentId, String provider,
                       Duration upstreamTime, int retries, int fallbacks, java.util.List<String> attempts) {
        this(response, modelGroup, deploymentId, provider, upstreamTime, retries, fallbacks, attempts,
                ModelSpec.Lifecycle.NONE);
    }
}
