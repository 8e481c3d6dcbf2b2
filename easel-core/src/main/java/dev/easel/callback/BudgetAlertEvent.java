package dev.easel.callback;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A budget crossed its alert threshold ({@code soft_budget}): the request that crossed it was served; later ones
 * still are until {@code max_budget}. Sent once per crossing, as LiteLLM's {@code soft_budget_crossed} webhook event.
 *
 * @param eventGroup {@code key}, {@code team} or {@code user}: whose budget
 * @param id         the key's hash, the team id or the user id
 * @param label      how to name it to a person: the key's alias (never the key), the team or user id
 * @param spend      spend in the current window, USD, with the crossing request
 * @param softBudget the threshold, USD
 * @param maxBudget  the hard budget, if there is one
 * @param resetAt    when the window's spend resets, if it does
 * @param at         when it was crossed
 */
public record BudgetAlertEvent(String eventGroup, String id, String label, BigDecimal spend, BigDecimal softBudget,
                               Optional<BigDecimal> maxBudget, Optional<Instant> resetAt, Instant at) {

    /** LiteLLM's event name. */
    public static final String EVENT = "soft_budget_crossed";

    /** Checks for nulls. */
    public BudgetAlertEvent {
        Objects.requireNonNull(eventGroup, "eventGroup");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(spend, "spend");
        Objects.requireNonNull(softBudget, "softBudget");
        Objects.requireNonNull(maxBudget, "maxBudget");
        Objects.requireNonNull(resetAt, "resetAt");
        Objects.requireNonNull(at, "at");
    }

    /** A one-line description. */
    public String message() {
        return eventGroup + " '" + label + "' crossed its soft_budget of " + softBudget.toPlainString()
                + " USD: spend " + spend.toPlainString() + " USD"
                + maxBudget.map(m -> ", max_budget " + m.toPlainString() + " USD").orElse("")
                + resetAt.map(r -> "; resets at " + r).orElse("");
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();

    /** The webhook body, LiteLLM's {@code WebhookEvent} fields. */
    public String toJson() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("event", EVENT);
        m.put("event_group", eventGroup);
        m.put("event_message", message());
        m.put("spend", spend);
        m.put("soft_budget", softBudget);
        m.put("max_budget", maxBudget.orElse(null));
        switch (eventGroup) {
            case "key" -> {
                m.put("token", id);
                m.put("key_alias", label);
            }
            case "team" -> m.put("team_id", id);
            default -> m.put("user_id", id);
        }
        resetAt.ifPresent(r -> m.put("budget_reset_at", r.toString()));
        m.put("timestamp", at.toString());
        try {
            return JSON.writeValueAsString(m);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
