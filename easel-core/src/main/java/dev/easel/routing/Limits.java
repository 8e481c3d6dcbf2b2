package dev.easel.routing;

import java.util.Objects;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * What a {@link RouterState#reserve reservation} must respect for one key (a deployment id, or a proxy-wide
 * key): requests per minute, tokens per minute and calls in flight at once. The caller passes them with every
 * reservation, so a state implementation holds no configuration and a shared one applies the limits of whoever
 * asks.
 *
 * @param rpm         requests per minute window (empty: unlimited)
 * @param tpm         tokens per minute window (empty: unlimited); checked against the tokens settled so far
 * @param maxParallel leases held at once (empty: unlimited)
 */
public record Limits(OptionalInt rpm, OptionalLong tpm, OptionalInt maxParallel) {

    private static final Limits NONE = new Limits(OptionalInt.empty(), OptionalLong.empty(), OptionalInt.empty());

    /** Checks that nothing is null and that every limit is positive or zero. */
    public Limits {
        Objects.requireNonNull(rpm, "rpm");
        Objects.requireNonNull(tpm, "tpm");
        Objects.requireNonNull(maxParallel, "maxParallel");
        if (rpm.isPresent() && rpm.getAsInt() < 0 || tpm.isPresent() && tpm.getAsLong() < 0
                || maxParallel.isPresent() && maxParallel.getAsInt() < 0) {
            throw new IllegalArgumentException("limits must not be negative (was " + rpm + ", " + tpm + ", "
                    + maxParallel + ")");
        }
    }

    /** No limit at all: a reservation always succeeds (and still counts the request). */
    public static Limits none() {
        return NONE;
    }

    /** Only a limit on leases held at once. */
    public static Limits parallel(int maxParallel) {
        return new Limits(OptionalInt.empty(), OptionalLong.empty(), OptionalInt.of(maxParallel));
    }
}
