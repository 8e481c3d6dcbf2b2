package dev.easel.proxy.spend;

import java.math.BigDecimal;

/**
 * Why a request is refused before anything is sent upstream: the end user has used up the budget. The proxy
 * answers 400 with {@link #code()}, {@link #type()} and {@link #message()}.
 *
 * @param endUser   end-user id
 * @param spend     spend in the current window (unflushed rows included), USD
 * @param maxBudget the budget, USD
 */
public record BudgetRefusal(String endUser, BigDecimal spend, BigDecimal maxBudget) {

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
        return "end user '" + endUser + "' is over budget: spend " + spend.toPlainString() + " USD, max_budget "
                + maxBudget.toPlainString() + " USD";
    }
}
