package dev.easel.routing;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/** The answer of {@link RouterState#reserve}: a lease, or which limit refused it. */
public sealed interface Reservation {

    /** The limit that refused a reservation. */
    enum Limit {
        /** {@code rpm}: the minute window's requests are used up. */
        RPM,
        /** {@code tpm}: the minute window's tokens are used up. */
        TPM,
        /** {@code max_parallel_requests}: every slot is held. */
        PARALLEL
    }

    /** The slot was taken. */
    record Granted(Lease lease) implements Reservation {
        /** Checks that the lease is not null. */
        public Granted {
            Objects.requireNonNull(lease, "lease");
        }
    }

    /**
     * The slot was not taken, and nothing was counted.
     *
     * @param limit   which limit refused it
     * @param retryAt when that limit frees up by itself (the next minute window for {@code rpm}/{@code tpm});
     *                empty for {@code PARALLEL}, which frees when a holder ends its lease
     */
    record Refused(Limit limit, Optional<Instant> retryAt) implements Reservation {
        /** Checks that nothing is null. */
        public Refused {
            Objects.requireNonNull(limit, "limit");
            Objects.requireNonNull(retryAt, "retryAt");
        }
    }
}
