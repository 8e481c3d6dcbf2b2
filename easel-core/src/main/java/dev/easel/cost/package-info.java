/**
 * What an edit costs: {@link dev.easel.cost.CostCalculator} turns a model's catalogue prices, a deployment's
 * custom prices ({@link dev.easel.cost.PriceOverrides}) and what the provider returned
 * ({@link dev.easel.cost.CostInput}) into a {@link dev.easel.cost.Cost}, exactly, in {@link java.math.BigDecimal}.
 * The rules are described in {@code docs/cost.md}.
 */
package dev.easel.cost;
