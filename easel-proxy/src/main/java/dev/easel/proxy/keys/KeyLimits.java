package dev.easel.proxy.keys;

import dev.easel.proxy.spend.BudgetDuration;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * What a key, a team or a user may spend and how fast, as LiteLLM names the fields. Empty means "no limit of its
 * own" (a key then has its team's, and the tighter of the two always wins).
 *
 * @param maxBudget           USD per budget window ({@code max_budget})
 * @param softBudget          USD at which an alert goes out, the request still served ({@code soft_budget})
 * @param budgetDuration      the window ({@code budget_duration}: {@code 30d}, {@code 1mo}…); empty: all time
 * @param budgetAnchor        when the first window began (the budget was set or its duration changed)
 * @param rpmLimit            requests per minute ({@code rpm_limit})
 * @param tpmLimit            tokens per minute ({@code tpm_limit}), against the tokens settled so far
 * @param maxParallelRequests requests in flight at once ({@code max_parallel_requests})
 */
public record KeyLimits(Optional<BigDecimal> maxBudget, Optional<BigDecimal> softBudget,
                        Optional<BudgetDuration> budgetDuration, Instant budgetAnchor, OptionalInt rpmLimit,
                        OptionalLong tpmLimit, OptionalInt maxParallelRequests) {

    /** Checks for nulls and negative limits. */
    public KeyLimits {
        Objects.requireNonNull(maxBudget, "maxBudget");
        Objects.requireNonNull(softBudget, "softBudget");
        Objects.requireNonNull(budgetDuration, "budgetDuration");
        Objects.requireNonNull(budgetAnchor, "budgetAnchor");
        Objects.requireNonNull(rpmLimit, "rpmLimit");
        Objects.requireNonNull(tpmLimit, "tpmLimit");
        Objects.requireNonNull(maxParallelRequests, "maxParallelRequests");
        if (maxBudget.isPresent() && maxBudget.get().signum() < 0
                || softBudget.isPresent() && softBudget.get().signum() < 0) {
            throw new IllegalArgumentException("budgets must not be negative");
        }
        if (rpmLimit.isPresent() && rpmLimit.getAsInt() < 0 || tpmLimit.isPresent() && tpmLimit.getAsLong() < 0
                || maxParallelRequests.isPresent() && maxParallelRequests.getAsInt() < 0) {
            throw new IllegalArgumentException("limits must not be negative");
        }
    }

    /** No limit at all, the budget window anchored at {@code anchor}. */
    public static KeyLimits none(Instant anchor) {
        return new KeyLimits(Optional.empty(), Optional.empty(), Optional.empty(), anchor, OptionalInt.empty(),
                OptionalLong.empty(), OptionalInt.empty());
    }

    /** The start of the budget window holding {@code now}; {@link Instant#EPOCH} without a duration. */
    public Instant windowStart(Instant now) {
        return budgetDuration.map(d -> d.windowStart(budgetAnchor, now)).orElse(Instant.EPOCH);
    }

    /** When the budget window holding {@code now} ends (its spend resets); empty without a duration. */
    public Optional<Instant> resetAt(Instant now) {
        return budgetDuration.map(d -> d.windowEnd(windowStart(now)));
    }
}
