package dev.easel.proxy.spend;

import java.math.BigDecimal;

/**
 * Why a request is refused before anything is sent upstream: the end user has used up the budget. The proxy
 * answers 400 with {@link #code()}, {@link #type()} and {@link #message()}.
 *
 * @param endUser   end-user id
 * @param spend     spend in the current window (unflushed rows included), USD
 * @param maxBudget the budget, USD
 * @param estimate  the estimated cost of the refused request when that is what tips it over, else null
 */
public record BudgetRefusal(String endUser, BigDecimal spend, BigDecimal maxBudget, BigDecimal estimate) {

    /** A refusal because the budget is used up. */
    public BudgetRefusal(String endUser, BigDecimal spend, BigDecimal maxBudget) {
        this(endUser, spend, maxBudget, null);
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

    /** The message, naming the end user, the spend and the budget. */
    public String message() {
        if (estimate != null && spend.compareTo(maxBudget) < 0) {
            return "end user '" + endUser + "' would exceed the budget: spend " + spend.toPlainString()
                    + " USD + this request (estimated " + estimate.toPlainString() + " USD) > max_budget "
                    + maxBudget.toPlainString() + " USD";
        }
        return "end user '" + endUser + "' is over budget: spend " + spend.toPlainString() + " USD, max_budget "
                + maxBudget.toPlainString() + " USD";
    }
}
