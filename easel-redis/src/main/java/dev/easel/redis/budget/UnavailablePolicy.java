package dev.easel.redis.budget;

import dev.easel.config.ConfigException;
import java.util.Locale;

/**
 * What {@link RedisBudgetLedger} does while Redis cannot be reached. Either way end users without a budget are
 * never affected: they take no hold.
 */
public enum UnavailablePolicy {

    /**
     * The default: a hold is refused with {@link dev.easel.routing.LedgerUnavailableException} (the proxy answers
     * 503), so the fleet never spends what it cannot count.
     */
    REFUSE,

    /**
     * Holds fall back to this process's own ledger: each replica keeps the budget on its own (seeded from the
     * spend log), so a fleet of N can overspend by up to N − 1 budgets while Redis is down.
     */
    LOCAL;

    /**
     * Parses a config value ({@code refuse} or {@code local}, any case).
     *
     * @param path the config key, named in the error
     * @throws ConfigException for anything else
     */
    public static UnavailablePolicy parse(String value, String path) {
        String v = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "refuse" -> REFUSE;
            case "local" -> LOCAL;
            default -> throw new ConfigException(path + ": expected refuse or local (was '" + value + "')");
        };
    }

    /** The config spelling: {@code refuse} or {@code local}. */
    public String text() {
        return name().toLowerCase(Locale.ROOT);
    }
}
