package dev.easel.routing;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * What the router remembers about deployments: requests in flight, recent latency, usage in the current
 * minute, recent failures and cooldowns. Keyed by deployment id; every method takes the time from the
 * caller, so an implementation holds no clock of its own and can live in a shared store (Redis) as well
 * as in memory.
 */
public interface RouterState {

    /** A request to {@code id} starts. */
    void begin(String id);

    /** A request to {@code id} ended. */
    void end(String id);

    /** Requests in flight to {@code id}. */
    int inflight(String id);

    /** Records the latency of a successful call, per image returned. */
    void recordLatency(String id, Duration perImage);

    /** Recent latency per image (a moving average), if any call has been recorded. */
    OptionalDouble latencyMillis(String id);

    /** Counts one request and its tokens in the minute of {@code now}. */
    void recordUsage(String id, long tokens, Instant now);

    /** Requests counted in the minute of {@code now}. */
    long requestsThisMinute(String id, Instant now);

    /** Tokens counted in the minute of {@code now}. */
    long tokensThisMinute(String id, Instant now);

    /** Records a failure; returns the failures within the minute before {@code now}, this one included. */
    int recordFailure(String id, Instant now);

    /** Forgets recorded failures (after a cooldown starts). */
    void clearFailures(String id);

    /** Rests {@code id} until {@code until} (keeps a later existing cooldown). */
    void cooldown(String id, Instant until);

    /** When {@code id}'s rest ends, if it is resting at {@code now}. */
    Optional<Instant> cooldownUntil(String id, Instant now);
}
