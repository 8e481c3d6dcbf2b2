package dev.easel.proxy.spend;

import java.math.BigDecimal;
import java.time.Instant;

/**
 * An end user's budget: at most {@code maxBudget} USD per window of {@code duration} counted from
 * {@code anchor} (when the budget was set); without a duration the window is all time.
 *
 * @param endUser   end-user id
 * @param maxBudget USD, null for "tracked, no limit"
 * @param duration  window, null for all time
 * @param anchor    start of the first window
 */
record Budget(String endUser, BigDecimal maxBudget, BudgetDuration duration, Instant anchor) {

    /** The start of the window holding {@code now}; {@link Instant#EPOCH} when there is no duration. */
    Instant windowStart(Instant now) {
        return duration == null ? Instant.EPOCH : duration.windowStart(anchor, now);
    }

    /** When the current window ends, or null without a duration. */
    Instant resetAt(Instant now) {
        return duration == null ? null : duration.windowEnd(windowStart(now));
    }

    /** Same limit and window (the anchor is not compared). */
    boolean sameTerms(Budget o) {
        return o != null && (maxBudget == null ? o.maxBudget == null
                : o.maxBudget != null && maxBudget.compareTo(o.maxBudget) == 0)
                && (duration == null ? o.duration == null : o.duration != null && duration.text().equals(o.duration.text()));
    }
}
