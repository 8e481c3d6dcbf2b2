package dev.easel.proxy.spend;

import java.math.BigDecimal;

/**
 * Why a request is refused before anything is sent upstream: the end user's budget is used up, or this request
 * would take it over. The proxy answers 400 with {@link #code()}, {@link #type()} and {@link #message()}.
 *
 * @param endUser   end-user id
 * @param spend     spend in the current window (unflushed rows included), USD
 * @param held      what requests in flight hold against the budget, USD (not spent yet)
 * @param maxBudget the budget, USD
 * @param estimate  the estimated cost of the refused request, or null when it is unpriced
 */
public record BudgetRefusal(String endUser, BigDecimal spend, BigDecimal held, BigDecimal maxBudget,
                            BigDecimal estimate) {

    /** A refusal because the spend alone has used the budget up. */
    public BudgetRefusal(String endUser, BigDecimal spend, BigDecimal maxBudget) {
        this(endUser, spend, BigDecimal.ZERO, maxBudget, null);
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

    /**
     * The message, naming the end user, the spend, what requests in flight hold (when they hold anything; it is
     * not spend: a request that fails gives it back) and the budget.
     */
    public String message() {
        String who = "end user '" + endUser + "'";
        String max = "max_budget " + maxBudget.toPlainString() + " USD";
        if (spend.compareTo(maxBudget) >= 0) {
            return who + " is over budget: spend " + spend.toPlainString() + " USD, " + max;
        }
        String inFlight = held.signum() > 0 ? " + " + held.toPlainString() + " USD held by requests in flight" : "";
        if (spend.add(held).compareTo(maxBudget) >= 0 || estimate == null) {
            return who + " has no budget left: spend " + spend.toPlainString() + " USD" + inFlight + ", " + max;
        }
        return who + " would exceed the budget: spend " + spend.toPlainString() + " USD" + inFlight
                + " + this request (estimated " + estimate.toPlainString() + " USD) > " + max;
    }
}
