package dev.easel.callback;

import java.time.Instant;

/**
 * A provider attempt is starting: the request passed validation for this deployment and is about to be sent.
 * Its end is reported as an {@link AttemptEvent} with the same {@code number}.
 *
 * @param requestId    the request id
 * @param number       1 for the first attempt
 * @param modelGroup   the group tried
 * @param deploymentId the deployment tried
 * @param provider     its provider
 * @param fallback     whether the group is a fallback (not the group the caller asked for)
 * @param start        when the attempt started
 */
public record AttemptStartEvent(String requestId, int number, String modelGroup, String deploymentId,
                                String provider, boolean fallback, Instant start) {
}
