package dev.easel.proxy.keys;

import java.math.BigDecimal;
import java.time.Instant;

/** What a key, a team or a user has spent, for the management endpoints' {@code spend} fields. */
@FunctionalInterface
public interface SpendLookup {

    /**
     * USD spent since {@code from} (the start of the current budget window; {@link Instant#EPOCH} for all time).
     *
     * @param dimension {@code key} (id: the token), {@code team} or {@code user}
     */
    BigDecimal spend(String dimension, String id, Instant from);
}
