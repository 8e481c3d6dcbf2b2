package dev.easel;

/**
 * A started streamed edit plus where it went.
 *
 * @param stream       the events (close it to cancel the upstream call)
 * @param modelGroup   the model name serving it
 * @param deploymentId id of the deployment serving it
 * @param provider     provider serving it
 * @param retries      attempts beyond the first within model groups, before the stream started
 * @param fallbacks    model groups tried after the one asked for
 */
public record StreamOutcome(ImageEditStream stream, String modelGroup, String deploymentId, String provider,
                            int retries, int fallbacks) {
}
