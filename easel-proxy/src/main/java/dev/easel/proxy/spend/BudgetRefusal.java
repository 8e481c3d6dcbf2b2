package dev.easel.proxy.spend;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Optional;

/**
 * Why a request is refused before anything is sent upstream: a budget (an end user's, a key's, a team's or a
 * user's) is used up, or this request would take it over. The proxy answers 400 with {@link #code()},
 * {@link #type()} and {@link #message()}.
 *
 * @param who       how the message names the budget's owner ({@code end user 'alice'}, {@code key 'mobile-app'})
 * @param spend     spend in the current window (unflushed rows included), USD
 * @param held      what requests in flight hold against the budget, USD (not spent yet)
 * @param maxBudget the budget, USD
 * @param estimate  the estimated cost of the refused request, or null when it is unpriced
 * @param resetAt   when the window's spend resets, or null for an all-time budget
 */
public record BudgetRefusal(String who, BigDecimal spend, BigDecimal held, BigDecimal maxBudget,
                            BigDecimal estimate, Instant resetAt) {

    /** An end user's refusal because the spend alone has used the budget up. */
    public BudgetRefusal(String endUser, BigDecimal spend, BigDecimal maxBudget) {
        this(Subject.endUser(endUser).describe(), spend, BigDecimal.ZERO, maxBudget, null, null);
    }

    /** An end user's refusal. */
    public BudgetRefusal(String endUser, BigDecimal spend, BigDecimal held, BigDecimal maxBudget,
                         BigDecimal estimate) {
        this(Subject.endUser(endUser).describe(), spend, held, maxBudget, estimate, null);
    }

    /** The error code: {@code budget_exceeded}. */
    public static final String CODE = "budget_exceeded";

    /** {@code budget_exceeded}. */
    public String code() {
        return CODE;
    }

    /** {@code invalid_request_error}, as OpenAI types a 400. */
    public String type() {
        return "invalid_request_error";
    }

    /** The HTTP status: 400. */
    public int status() {
        return 400;
    }

    /** When the budget resets, if it does. */
    public Optional<Instant> resets() {
        return Optional.ofNullable(resetAt);
    }

    /**
     * The message, naming the owner, the spend, what requests in flight hold (when they hold anything; it is
     * not spend: a request that fails gives it back), the budget and when it resets.
     */
    public String message() {
        String max = "max_budget " + maxBudget.toPlainString() + " USD";
        String reset = resetAt == null ? "" : "; the budget resets at " + resetAt;
        if (spend.compareTo(maxBudget) >= 0) {
            return who + " is over budget: spend " + spend.toPlainString() + " USD, " + max + reset;
        }
        String inFlight = held.signum() > 0 ? " + " + held.toPlainString() + " USD held by requests in flight" : "";
        if (spend.add(held).compareTo(maxBudget) >= 0 || estimate == null) {
            return who + " has no budget left: spend " + spend.toPlainString() + " USD" + inFlight + ", " + max
                    + reset;
        }
        return who + " would exceed the budget: spend " + spend.toPlainString() + " USD" + inFlight
                + " + this request (estimated " + estimate.toPlainString() + " USD) > " + max + reset;
    }
}
