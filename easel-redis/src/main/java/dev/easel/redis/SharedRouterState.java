package dev.easel.redis;

import dev.easel.ServiceUnavailableException;
import dev.easel.config.RedisRateLimitPolicy;
import dev.easel.routing.InMemoryRouterState;
import dev.easel.routing.Lease;
import dev.easel.routing.Limits;
import dev.easel.routing.Reservation;
import dev.easel.routing.RouterState;
import io.lettuce.core.RedisException;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The router state of a proxy in a fleet: {@link RedisRouterState} while Redis answers, and an in-process state by
 * the configured policy while it does not, so the router never hangs or fails on a dead Redis.
 *
 * <table>
 *   <caption>While Redis is unavailable</caption>
 *   <tr><th>what</th><th>{@code divide} (default)</th><th>{@code refuse}</th></tr>
 *   <tr><td>rpm, tpm, max_parallel_requests</td><td>kept in process, each limit divided by the replicas last seen
 *       (rounded down, at least 1 where the limit is 1 or more)</td><td>a request with any such limit is refused:
 *       {@link ServiceUnavailableException}, 503 {@code redis_unavailable}</td></tr>
 *   <tr><td>cooldowns, failure counts, latency, usage</td><td colspan="2">kept in process</td></tr>
 * </table>
 *
 * A lease granted by the fallback is ended by the fallback (its id starts with {@code local:}); a lease granted by
 * Redis whose end cannot reach Redis frees at its expiry there. Once a probe of the {@link RedisLink} succeeds
 * again, everything goes back to Redis; cooldowns set locally meanwhile still count until they end (a
 * deployment rests if either says so). A change of state is logged once (by the link, and here once per outage
 * for the rate limits).
 */
public final class SharedRouterState implements RouterState {

    private static final Logger LOG = LoggerFactory.getLogger(SharedRouterState.class);
    private static final String LOCAL = "local:";

    private final RedisRouterState redis;
    private final RedisLink link;
    private final RedisFleet fleet;
    private final RedisRateLimitPolicy policy;
    private final InMemoryRouterState local = new InMemoryRouterState();
    private final AtomicLong fallbacks = new AtomicLong();
    private final AtomicLong warnedOutage = new AtomicLong();

    private SharedRouterState(RedisRouterState redis, RedisLink link, RedisFleet fleet, RedisRateLimitPolicy policy) {
        this.redis = redis;
        this.link = link;
        this.fleet = fleet;
        this.policy = policy;
    }

    /** {@code redis} on {@code link}, falling back by {@code policy}; {@code fleet} gives the replica count. */
    public static SharedRouterState of(RedisRouterState redis, RedisLink link, RedisFleet fleet,
                                       RedisRateLimitPolicy policy) {
        return new SharedRouterState(Objects.requireNonNull(redis, "redis"), Objects.requireNonNull(link, "link"),
                Objects.requireNonNull(fleet, "fleet"), Objects.requireNonNull(policy, "policy"));
    }

    /** Calls answered by the in-process state (or refused) because Redis was unavailable. */
    public long fallbacks() {
        return fallbacks.get();
    }

    /** The link this state uses. */
    public RedisLink link() {
        return link;
    }

    /** The fleet whose replica count divides limits while Redis is down. */
    public RedisFleet fleet() {
        return fleet;
    }

    /** Runs {@code shared} on Redis while it answers; a failure marks the link down and runs {@code fallback}. */
    private <T> T either(Supplier<T> shared, Supplier<T> fallback) {
        if (link.up()) {
            try {
                return shared.get();
            } catch (RedisException e) {
                link.markDown(e);
            }
        }
        fallbacks.incrementAndGet();
        return fallback.get();
    }

    private void either(Runnable shared, Runnable fallback) {
        either(() -> {
            shared.run();
            return null;
        }, () -> {
            fallback.run();
            return null;
        });
    }

    @Override
    public Reservation reserve(String key, Limits limits, Instant now, Instant expiresAt) {
        return either(() -> redis.reserve(key, limits, now, expiresAt), () -> reserveLocally(key, limits, now,
                expiresAt));
    }

    private Reservation reserveLocally(String key, Limits limits, Instant now, Instant expiresAt) {
        boolean limited = limits.rpm().isPresent() || limits.tpm().isPresent() || limits.maxParallel().isPresent();
        if (limited && policy == RedisRateLimitPolicy.REFUSE) {
            warnOnce("rate-limited requests are refused until it answers again");
            throw new ServiceUnavailableException("rate limits are shared through Redis, which is unavailable "
                    + "right now; requests a limit applies to are refused until it answers again "
                    + "(router_settings.redis_unavailable_rate_limits: refuse)", "redis_unavailable", null);
        }
        int replicas = fleet.replicas();
        if (limited) {
            warnOnce("rate limits are kept in this process until it answers again, each divided by " + replicas
                    + (replicas == 1 ? " replica" : " replicas") + " (router_settings.redis_unavailable_rate_limits: "
                    + "divide)");
        }
        Reservation r = local.reserve(key, divide(limits, replicas), now, expiresAt);
        if (r instanceof Reservation.Granted g) {
            Lease l = g.lease();
            return new Reservation.Granted(new Lease(LOCAL + l.leaseId(), l.key(), l.takenAt(), l.expiresAt()));
        }
        return r;
    }

    private void warnOnce(String what) {
        long outage = link.outages();
        if (warnedOutage.getAndSet(outage) != outage) {
            LOG.warn("redis unavailable: {}", what);
        }
    }

    /** Each limit divided by {@code replicas}, rounded down, at least 1 where the limit is 1 or more. */
    static Limits divide(Limits limits, int replicas) {
        int n = Math.max(1, replicas);
        OptionalInt rpm = limits.rpm().isPresent() ? OptionalInt.of(share(limits.rpm().getAsInt(), n))
                : OptionalInt.empty();
        OptionalLong tpm = limits.tpm().isPresent() ? OptionalLong.of(share(limits.tpm().getAsLong(), n))
                : OptionalLong.empty();
        OptionalInt parallel = limits.maxParallel().isPresent()
                ? OptionalInt.of(share(limits.maxParallel().getAsInt(), n)) : OptionalInt.empty();
        return new Limits(rpm, tpm, parallel);
    }

    private static int share(int limit, int n) {
        return (int) share((long) limit, n);
    }

    private static long share(long limit, int n) {
        return limit == 0 ? 0 : Math.max(1, limit / n);
    }

    private static boolean isLocal(Lease lease) {
        return lease.leaseId().startsWith(LOCAL);
    }

    private static Lease unwrap(Lease lease) {
        return new Lease(lease.leaseId().substring(LOCAL.length()), lease.key(), lease.takenAt(), lease.expiresAt());
    }

    /**
     * Renews in the state that granted the lease. A Redis lease that cannot be renewed because Redis is down is
     * reported renewed: the call goes on, and its slot in Redis frees at its old expiry.
     */
    @Override
    public boolean renew(Lease lease, Instant expiresAt, Instant now) {
        if (isLocal(lease)) {
            return local.renew(unwrap(lease), expiresAt, now);
        }
        return either(() -> redis.renew(lease, expiresAt, now), () -> true);
    }

    @Override
    public void settle(Lease lease, long tokens, Instant now) {
        if (isLocal(lease)) {
            local.settle(unwrap(lease), tokens, now);
            return;
        }
        either(() -> redis.settle(lease, tokens, now), () -> { }); // unreachable: the lease frees at its expiry
    }

    @Override
    public void release(Lease lease, Instant now) {
        if (isLocal(lease)) {
            local.release(unwrap(lease), now);
            return;
        }
        either(() -> redis.release(lease, now), () -> { });
    }

    /** In flight in Redis (every replica's) plus those the fallback granted here. */
    @Override
    public int inflight(String key) {
        int here = local.inflight(key);
        return either(() -> redis.inflight(key) + here, () -> here);
    }

    @Override
    public void recordLatency(String id, Duration perImage) {
        either(() -> redis.recordLatency(id, perImage), () -> local.recordLatency(id, perImage));
    }

    @Override
    public OptionalDouble latencyMillis(String id) {
        return either(() -> redis.latencyMillis(id), () -> local.latencyMillis(id));
    }

    @Override
    public long requestsThisMinute(String id, Instant now) {
        return either(() -> redis.requestsThisMinute(id, now), () -> local.requestsThisMinute(id, now));
    }

    @Override
    public long tokensThisMinute(String id, Instant now) {
        return either(() -> redis.tokensThisMinute(id, now), () -> local.tokensThisMinute(id, now));
    }

    @Override
    public int recordFailure(String id, Instant now) {
        return either(() -> redis.recordFailure(id, now), () -> local.recordFailure(id, now));
    }

    @Override
    public void clearFailures(String id) {
        local.clearFailures(id);
        either(() -> redis.clearFailures(id), () -> { });
    }

    @Override
    public void cooldown(String id, Instant until, Instant now) {
        either(() -> redis.cooldown(id, until, now), () -> local.cooldown(id, until, now));
    }

    /** The later of Redis's rest and one set here while Redis was down. */
    @Override
    public Optional<Instant> cooldownUntil(String id, Instant now) {
        Optional<Instant> here = local.cooldownUntil(id, now);
        Optional<Instant> shared = either(() -> redis.cooldownUntil(id, now), () -> here);
        if (here.isEmpty()) {
            return shared;
        }
        return shared.isPresent() && shared.get().isAfter(here.get()) ? shared : here;
    }

    @Override
    public Optional<Duration> recheckInterval() {
        return redis.recheckInterval();
    }

    @Override
    public String toString() {
        return "SharedRouterState[" + link + ", unavailable: " + policy.wireName() + "]";
    }
}
