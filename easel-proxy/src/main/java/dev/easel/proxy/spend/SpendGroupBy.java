package dev.easel.proxy.spend;

import java.util.Locale;
import java.util.Optional;

/** How {@code /global/spend/report} groups rows. */
public enum SpendGroupBy {
    /** By model group. */
    MODEL,
    /** By end user. */
    END_USER,
    /** By the deployment that answered (LiteLLM's {@code model_id}). */
    DEPLOYMENT,
    /** By day of the start time, UTC. */
    DAY,
    /** By virtual key (its SHA-256 hex; LiteLLM's {@code api_key}); rows without a key are left out. */
    API_KEY,
    /** By the key's team; rows without a team are left out. */
    TEAM,
    /** By the key's user; rows without a user are left out. */
    USER;

    /**
     * The query-parameter value: {@code model}, {@code end_user}, {@code deployment}, {@code day}, {@code api_key},
     * {@code team}, {@code user}.
     */
    public String param() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a query-parameter value; {@code customer} (LiteLLM's name) means {@link #END_USER}. */
    public static Optional<SpendGroupBy> parse(String s) {
        return switch (s.strip().toLowerCase(Locale.ROOT)) {
            case "model", "model_group" -> Optional.of(MODEL);
            case "end_user", "customer", "end_user_id" -> Optional.of(END_USER);
            case "deployment", "deployment_id", "model_id" -> Optional.of(DEPLOYMENT);
            case "day", "date" -> Optional.of(DAY);
            case "api_key", "key", "key_hash" -> Optional.of(API_KEY);
            case "team", "team_id" -> Optional.of(TEAM);
            case "user", "user_id" -> Optional.of(USER);
            default -> Optional.empty();
        };
    }
}
