package dev.easel.proxy.spend;

import java.math.BigDecimal;
import java.util.Optional;

/**
 * One group of {@code /global/spend/report}.
 *
 * @param key              the model group, end user ({@code empty} for requests without one) or day
 *                         ({@code 2026-11-01}, UTC)
 * @param spend            USD
 * @param requests         requests
 * @param failures         requests that failed
 * @param promptTokens     input tokens
 * @param completionTokens output tokens
 * @param totalTokens      all tokens
 * @param imagesOut        images returned
 */
public record SpendReportRow(Optional<String> key, BigDecimal spend, long requests, long failures,
                             long promptTokens, long completionTokens, long totalTokens, long imagesOut) {
}
