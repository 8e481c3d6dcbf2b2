package dev.easel.routing;

import java.time.Instant;
import java.util.Objects;

/**
 * A slot taken by {@link RouterState#reserve}: one request counted in the minute window of {@link #takenAt}
 * and one of the key's parallel slots, until the lease is {@link RouterState#settle settled} or
 * {@link RouterState#release released}, or until it expires. Ending a lease twice is harmless.
 *
 * @param leaseId   unique among the leases of the state that granted it
 * @param key       what it was taken on (a deployment id, or a proxy-wide key)
 * @param takenAt   when it was taken: its request counts in this instant's minute window
 * @param expiresAt when the state may free its slot by itself (a holder that crashed never ends it)
 */
public record Lease(String leaseId, String key, Instant takenAt, Instant expiresAt) {

    /** Checks that nothing is null. */
    public Lease {
        Objects.requireNonNull(leaseId, "leaseId");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(takenAt, "takenAt");
        Objects.requireNonNull(expiresAt, "expiresAt");
    }
}
