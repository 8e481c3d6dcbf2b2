package dev.easel.config;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * What budget holds do while the Redis that shares them is unavailable
 * ({@code router_settings.redis_unavailable_budgets}).
 */
public enum RedisBudgetPolicy {
    /** New spend against a budget is refused until Redis answers again: no replica can overspend (the default). */
    REFUSE("refuse"),
    /** Each replica checks budgets against what it holds itself: requests go on, the fleet may overspend. */
    LOCAL("local");

    private final String wireName;

    RedisBudgetPolicy(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in the YAML file. */
    public String wireName() {
        return wireName;
    }

    /** The policy with this YAML name, if any. */
    public static Optional<RedisBudgetPolicy> fromWireName(String name) {
        return Arrays.stream(values()).filter(p -> p.wireName.equals(name)).findFirst();
    }

    /** All YAML names, comma separated, for error messages. */
    static String wireNames() {
        return Arrays.stream(values()).map(RedisBudgetPolicy::wireName).collect(Collectors.joining(", "));
    }
}
