package dev.easel.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * {@code router_settings}: how requests are spread over deployments, retried and failed over.
 * {@link #toString()} never shows the Redis password.
 *
 * @param routingStrategy        {@code routing_strategy}; default {@link RoutingStrategy#SIMPLE_SHUFFLE}
 * @param numRetries             {@code num_retries}: retries within a model group before fallbacks; unset means
 *                               {@code litellm_settings.num_retries}, else the router's default
 * @param retryAfter             {@code retry_after}: minimum wait before a retry; default 0
 * @param allowedFails           {@code allowed_fails}: failures per minute before a deployment cools down; default 3
 * @param cooldownTime           {@code cooldown_time}: how long a deployment cools down; default 5 s
 * @param timeout                {@code timeout}: time for a whole request, retries included
 * @param fallbacks              {@code fallbacks}: model group → groups to try next, in order
 * @param contentPolicyFallbacks {@code content_policy_fallbacks}: the same, for content-policy rejections
 * @param defaultFallbacks       {@code default_fallbacks}: groups to try when a group has no own fallbacks
 * @param retryOnTimeout         {@code retry_on_timeout}: whether a timed-out attempt is retried; default false (edits are not idempotent: a timed-out upstream may still be working and billing)
 * @param disableCooldowns       {@code disable_cooldowns}: never rest failing deployments; default false
 * @param redisHost              {@code redis_host}: the Redis that shares router state across replicas (unless
 *                               {@code redis_url} is set, which wins)
 * @param redisPort              {@code redis_port}; default 6379
 * @param redisPassword          {@code redis_password}
 * @param streamTimeout          {@code stream_timeout}: for streamed requests, time until the stream has started
 *                               (waits, retries, fallbacks included), instead of {@code timeout}
 * @param maxCooldownTime        {@code max_cooldown_time}: cap on the rest a provider's {@code Retry-After} asks
 *                               for; default 60 s
 * @param defaultMaxParallelRequests {@code default_max_parallel_requests}: {@code max_parallel_requests} of every
 *                               deployment that sets none
 * @param maxParallelWaiters     {@code max_parallel_waiters}: requests that may wait per model group when every
 *                               deployment is at its {@code max_parallel_requests}; default 100
 * @param maxParallelWait        {@code max_parallel_wait}: the longest such wait; default 30 s
 * @param redisUrl               {@code redis_url}: {@code redis://[user:password@]host[:port][/db]} or
 *                               {@code rediss://…} (TLS); wins over {@code redis_host}
 * @param redisKeyPrefix         {@code redis_key_prefix}: start of every key Easel writes; default {@code easel:}
 *                               (two fleets on one Redis set different ones)
 * @param redisUnavailableRateLimits {@code redis_unavailable_rate_limits}: rate limits while Redis is down;
 *                               default {@link RedisRateLimitPolicy#DIVIDE}
 * @param redisUnavailableBudgets {@code redis_unavailable_budgets}: budget holds while Redis is down; default
 *                               {@link RedisBudgetPolicy#REFUSE}
 */
public record RouterSettings(RoutingStrategy routingStrategy, OptionalInt numRetries, Duration retryAfter,
                             int allowedFails, Duration cooldownTime, Optional<Duration> timeout,
                             Map<String, List<String>> fallbacks, Map<String, List<String>> contentPolicyFallbacks,
                             List<String> defaultFallbacks, boolean retryOnTimeout, boolean disableCooldowns,
                             Optional<String> redisHost,
                             OptionalInt redisPort, Optional<String> redisPassword, Optional<Duration> streamTimeout,
                             Duration maxCooldownTime, OptionalInt defaultMaxParallelRequests, int maxParallelWaiters,
                             Duration maxParallelWait, Optional<String> redisUrl, String redisKeyPrefix,
                             RedisRateLimitPolicy redisUnavailableRateLimits,
                             RedisBudgetPolicy redisUnavailableBudgets) {

    /** Default {@code allowed_fails}. */
    public static final int DEFAULT_ALLOWED_FAILS = 3;
    /** Default {@code cooldown_time}. */
    public static final Duration DEFAULT_COOLDOWN_TIME = Duration.ofSeconds(5);
    /** Default {@code max_cooldown_time}: one rate-limit window. */
    public static final Duration DEFAULT_MAX_COOLDOWN_TIME = Duration.ofSeconds(60);
    /** Default {@code max_parallel_waiters}. */
    public static final int DEFAULT_MAX_PARALLEL_WAITERS = 100;
    /** Default {@code max_parallel_wait}: about one image edit. */
    public static final Duration DEFAULT_MAX_PARALLEL_WAIT = Duration.ofSeconds(30);
    /** Default {@code redis_key_prefix}. */
    public static final String DEFAULT_REDIS_KEY_PREFIX = "easel:";

    /** Checks that nothing is null and copies the collections (unmodifiable, order kept). */
    public RouterSettings {
        Objects.requireNonNull(routingStrategy, "routingStrategy");
        Objects.requireNonNull(numRetries, "numRetries");
        Objects.requireNonNull(retryAfter, "retryAfter");
        Objects.requireNonNull(cooldownTime, "cooldownTime");
        Objects.requireNonNull(timeout, "timeout");
        fallbacks = Copies.orderedListMap(fallbacks);
        contentPolicyFallbacks = Copies.orderedListMap(contentPolicyFallbacks);
        defaultFallbacks = List.copyOf(defaultFallbacks);
        Objects.requireNonNull(redisHost, "redisHost");
        Objects.requireNonNull(redisPort, "redisPort");
        Objects.requireNonNull(redisPassword, "redisPassword");
        Objects.requireNonNull(streamTimeout, "streamTimeout");
        Objects.requireNonNull(maxCooldownTime, "maxCooldownTime");
        Objects.requireNonNull(defaultMaxParallelRequests, "defaultMaxParallelRequests");
        Objects.requireNonNull(maxParallelWait, "maxParallelWait");
        Objects.requireNonNull(redisUrl, "redisUrl");
        Objects.requireNonNull(redisKeyPrefix, "redisKeyPrefix");
        Objects.requireNonNull(redisUnavailableRateLimits, "redisUnavailableRateLimits");
        Objects.requireNonNull(redisUnavailableBudgets, "redisUnavailableBudgets");
    }

    /** Whether a Redis is configured ({@code redis_url} or {@code redis_host}): router state is shared through it. */
    public boolean redisConfigured() {
        return redisUrl.isPresent() || redisHost.isPresent();
    }

    /** The settings used when the file has no {@code router_settings}. */
    public static RouterSettings defaults() {
        return new RouterSettings(RoutingStrategy.SIMPLE_SHUFFLE, OptionalInt.empty(), Duration.ZERO,
                DEFAULT_ALLOWED_FAILS, DEFAULT_COOLDOWN_TIME, Optional.empty(), Map.of(), Map.of(), List.of(), false,
                false, Optional.empty(), OptionalInt.empty(), Optional.empty(), Optional.empty(),
                DEFAULT_MAX_COOLDOWN_TIME, OptionalInt.empty(), DEFAULT_MAX_PARALLEL_WAITERS, DEFAULT_MAX_PARALLEL_WAIT,
                Optional.empty(), DEFAULT_REDIS_KEY_PREFIX, RedisRateLimitPolicy.DIVIDE, RedisBudgetPolicy.REFUSE);
    }

    @Override
    public String toString() {
        return "RouterSettings[routingStrategy=" + routingStrategy.wireName() + ", numRetries=" + numRetries
                + ", retryAfter=" + retryAfter + ", allowedFails=" + allowedFails + ", cooldownTime=" + cooldownTime
                + ", timeout=" + timeout + ", fallbacks=" + fallbacks + ", contentPolicyFallbacks="
                + contentPolicyFallbacks + ", defaultFallbacks=" + defaultFallbacks + ", retryOnTimeout="
                + retryOnTimeout + ", redisHost=" + redisHost + ", redisPort=" + redisPort + ", redisPassword="
                + Copies.mask(redisPassword) + ", streamTimeout=" + streamTimeout + ", maxCooldownTime="
                + maxCooldownTime + ", defaultMaxParallelRequests=" + defaultMaxParallelRequests
                + ", maxParallelWaiters=" + maxParallelWaiters + ", maxParallelWait=" + maxParallelWait
                + ", redisUrl=" + Copies.mask(redisUrl) + ", redisKeyPrefix=" + redisKeyPrefix
                + ", redisUnavailableRateLimits=" + redisUnavailableRateLimits.wireName()
                + ", redisUnavailableBudgets=" + redisUnavailableBudgets.wireName() + "]";
    }
}
