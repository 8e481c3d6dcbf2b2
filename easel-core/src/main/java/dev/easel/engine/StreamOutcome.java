package dev.easel.engine;

import dev.easel.ImageEditStream;
import dev.easel.catalog.ModelSpec;

/**
 * A started streamed edit plus where it went.
 *
 * @param stream       the events (close it to cancel the upstream call)
 * @param modelGroup   the model name serving it
 * @param deploymentId id of the deployment serving it
 * @param provider     provider serving it
 * @param retries      attempts beyond the first within model groups, before the stream started
 * @param fallbacks    model groups tried after the one asked for
 * @param lifecycle    the catalogue's deprecation and shutdown dates of the model serving it
 * @param warnings     what validation warned about (deprecation or shutdown notice, dropped parameters), in order
 */
public record StreamOutcome(ImageEditStream stream, String modelGroup, String deploymentId, String provider,
                            int retries, int fallbacks, ModelSpec.Lifecycle lifecycle,
                            java.util.List<String> warnings) {

    /** Checks that nothing is null and copies the warnings. */
    public StreamOutcome {
        java.util.Objects.requireNonNull(lifecycle, "lifecycle");
        warnings = java.util.List.copyOf(warnings);
    }

    /** An outcome without lifecycle dates or warnings. */
    public StreamOutcome(ImageEditStream stream, String modelGroup, String deploymentId, String provider,
                         int retries, int fallbacks) {
        this(stream, modelGroup, deploymentId, provider, retries, fallbacks, ModelSpec.Lifecycle.NONE,
                java.util.List.of());
    }
}
