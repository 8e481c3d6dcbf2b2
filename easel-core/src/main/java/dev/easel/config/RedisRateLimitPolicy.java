package dev.easel.config;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * What the router does with rate limits ({@code rpm}, {@code tpm}, {@code max_parallel_requests}) while the Redis
 * that shares them is unavailable ({@code router_settings.redis_unavailable_rate_limits}).
 */
public enum RedisRateLimitPolicy {
    /**
     * Each replica keeps the limits in process, each limit divided by the number of replicas last seen in Redis
     * (rounded down, at least 1 where the limit is 1 or more), so the fleet together stays within it (the default).
     */
    DIVIDE("divide"),
    /** A request that a rate limit applies to is refused (503) until Redis answers again. */
    REFUSE("refuse");

    private final String wireName;

    RedisRateLimitPolicy(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in the YAML file. */
    public String wireName() {
        return wireName;
    }

    /** The policy with this YAML name, if any. */
    public static Optional<RedisRateLimitPolicy> fromWireName(String name) {
        return Arrays.stream(values()).filter(p -> p.wireName.equals(name)).findFirst();
    }

    /** All YAML names, comma separated, for error messages. */
    static String wireNames() {
        return Arrays.stream(values()).map(RedisRateLimitPolicy::wireName).collect(Collectors.joining(", "));
    }
}
