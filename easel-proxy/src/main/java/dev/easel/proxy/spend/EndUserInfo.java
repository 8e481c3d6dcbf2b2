package dev.easel.proxy.spend;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Optional;

/**
 * What {@code /end_user/info} answers. Spend and requests count the current budget window (all time without
 * a {@code budget_duration}), unflushed rows included; the totals count all time.
 *
 * @param endUserId      end-user id
 * @param spend          USD in the current window
 * @param requests       requests in the current window
 * @param totalSpend     USD, all time
 * @param totalRequests  requests, all time
 * @param maxBudget      budget, if any
 * @param budgetDuration window, as written ({@code 30d}), if any
 * @param budgetResetAt  when the current window ends, if there is a window
 * @param blocked        whether the end user's requests are refused ({@code POST /customer/block})
 */
public record EndUserInfo(String endUserId, BigDecimal spend, long requests, BigDecimal totalSpend,
                          long totalRequests, Optional<BigDecimal> maxBudget, Optional<String> budgetDuration,
                          Optional<Instant> budgetResetAt, boolean blocked) {
}
