package dev.easel.redis;

import dev.easel.routing.Lease;
import dev.easel.routing.Limits;
import dev.easel.routing.Reservation;
import dev.easel.routing.RouterState;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link RouterState} in Redis, shared by every replica that points at the same Redis and key prefix. Each
 * check-and-take is one Lua script (resources next to this class), so limits hold exactly across replicas: a
 * reservation reaps expired leases, checks the minute window's requests ({@code rpm}) and settled tokens
 * ({@code tpm}) and the live leases ({@code max_parallel_requests}), and only then counts and takes, atomically.
 *
 * <h2>Keys</h2>
 * Every entry of one router key {@code k} is under {@code <prefix>{k}:} — the braces are a Redis Cluster hash
 * tag, so a script's keys are in one slot: {@code {k}:leases} (sorted set, lease id → expiry), {@code {k}:w:<minute>}
 * (hash {@code req}, {@code tok}; kept 2 minutes), {@code {k}:fails} (sorted set of failure times; 2 minutes),
 * {@code {k}:cooldown} (the rest's end; expires with it), {@code {k}:latency} (moving average; kept an hour
 * after the last call). The lease set expires a minute after its latest lease. Nothing grows forever.
 *
 * <h2>Time</h2>
 * Times come from the caller, as the interface says: windows are the callers' minutes and lease expiries the
 * callers' instants. Replicas must therefore keep their clocks synchronised (NTP, as every cloud host does): a
 * replica whose clock is ahead reaps the others' leases early and counts in a later window; skew of a few
 * hundred milliseconds shifts a window edge by as much, nothing more.
 *
 * <p>Failures are Lettuce's {@code RedisException}s (connection, time-out); {@link SharedRouterState} turns them
 * into the configured fallback.
 */
public final class RedisRouterState implements RouterState {

    /** How long a minute window's counts are kept (the current and the previous minute are read). */
    static final Duration WINDOW_TTL = Duration.ofMinutes(2);
    /** How long failure times are kept (one minute is read). */
    static final Duration FAILURES_TTL = Duration.ofMinutes(2);
    /** How long a latency average outlives its last call. */
    static final Duration LATENCY_TTL = Duration.ofHours(1);
    /** How long a lease set outlives its latest lease's expiry (slack for replicas' clocks). */
    static final Duration LEASES_SLACK = Duration.ofMinutes(1);
    /** Same weight as the in-process state's moving average. */
    static final double EWMA_WEIGHT = 0.3;
    /**
     * How often a waiter for a parallel slot looks again: a slot freed by another replica wakes nobody here. Short
     * next to an image edit, long enough that a hundred waiters cost Redis little.
     */
    static final Duration RECHECK = Duration.ofMillis(200);

    private static final RedisScript RESERVE = RedisScript.resource(RedisRouterState.class, "reserve.lua");
    private static final RedisScript RENEW = RedisScript.resource(RedisRouterState.class, "renew.lua");
    private static final RedisScript SETTLE = RedisScript.resource(RedisRouterState.class, "settle.lua");
    private static final RedisScript RELEASE = RedisScript.resource(RedisRouterState.class, "release.lua");
    private static final RedisScript LATENCY = RedisScript.resource(RedisRouterState.class, "latency.lua");
    private static final RedisScript FAILURE = RedisScript.resource(RedisRouterState.class, "failure.lua");
    private static final RedisScript COOLDOWN = RedisScript.resource(RedisRouterState.class, "cooldown.lua");

    private final RedisLink link;
    private final String prefix;
    /** Unique per instance: lease ids and failure entries of different replicas never collide. */
    private final String instanceId = RedisFleet.newId();
    private final AtomicLong sequence = new AtomicLong();

    private RedisRouterState(RedisLink link, String keyPrefix) {
        this.link = link;
        this.prefix = keyPrefix;
    }

    /**
     * A state on {@code link} under {@code keyPrefix} ({@code easel:} by default; two fleets on one Redis use
     * different ones). The prefix must not contain braces (they would move the hash tag).
     */
    public static RedisRouterState on(RedisLink link, String keyPrefix) {
        Objects.requireNonNull(link, "link");
        Objects.requireNonNull(keyPrefix, "keyPrefix");
        if (keyPrefix.indexOf('{') >= 0 || keyPrefix.indexOf('}') >= 0) {
            throw new IllegalArgumentException("keyPrefix must not contain '{' or '}' (was '" + keyPrefix + "')");
        }
        return new RedisRouterState(link, keyPrefix);
    }

    private RedisCommands<String, String> redis() {
        return link.commands();
    }

    private String key(String routerKey, String suffix) {
        return prefix + "{" + routerKey + "}:" + suffix;
    }

    private String window(String routerKey, Instant t) {
        return key(routerKey, "w:" + minute(t));
    }

    private static long minute(Instant t) {
        return Math.floorDiv(t.getEpochSecond(), 60);
    }

    private static Instant nextMinute(Instant t) {
        return Instant.ofEpochSecond((minute(t) + 1) * 60);
    }

    private String nextId() {
        return instanceId + "-" + sequence.incrementAndGet();
    }

    private static String ms(Instant t) {
        return Long.toString(t.toEpochMilli());
    }

    @Override
    public Reservation reserve(String key, Limits limits, Instant now, Instant expiresAt) {
        String id = nextId();
        Long answer = RESERVE.run(redis(), ScriptOutputType.INTEGER,
                new String[] {key(key, "leases"), window(key, now)}, ms(now), ms(expiresAt), id,
                Long.toString(limits.rpm().isPresent() ? limits.rpm().getAsInt() : -1),
                Long.toString(limits.tpm().isPresent() ? limits.tpm().getAsLong() : -1),
                Long.toString(limits.maxParallel().isPresent() ? limits.maxParallel().getAsInt() : -1),
                Long.toString(WINDOW_TTL.toMillis()), Long.toString(LEASES_SLACK.toMillis()));
        return switch (answer.intValue()) {
            case 0 -> new Reservation.Granted(new Lease(id, key, now, expiresAt));
            case 1 -> new Reservation.Refused(Reservation.Limit.RPM, Optional.of(nextMinute(now)));
            case 2 -> new Reservation.Refused(Reservation.Limit.TPM, Optional.of(nextMinute(now)));
            case 3 -> new Reservation.Refused(Reservation.Limit.PARALLEL, Optional.empty());
            default -> throw new IllegalStateException("reserve.lua answered " + answer);
        };
    }

    @Override
    public boolean renew(Lease lease, Instant expiresAt, Instant now) {
        Long answer = RENEW.run(redis(), ScriptOutputType.INTEGER, new String[] {key(lease.key(), "leases")},
                ms(now), ms(expiresAt), lease.leaseId(), Long.toString(LEASES_SLACK.toMillis()));
        return answer == 1L;
    }

    @Override
    public void settle(Lease lease, long tokens, Instant now) {
        SETTLE.run(redis(), ScriptOutputType.INTEGER,
                new String[] {key(lease.key(), "leases"), window(lease.key(), now)}, lease.leaseId(),
                Long.toString(Math.max(0, tokens)), Long.toString(WINDOW_TTL.toMillis()));
    }

    @Override
    public void release(Lease lease, Instant now) {
        boolean sameWindow = minute(now) == minute(lease.takenAt());
        RELEASE.run(redis(), ScriptOutputType.INTEGER,
                new String[] {key(lease.key(), "leases"), window(lease.key(), lease.takenAt())}, lease.leaseId(),
                sameWindow ? "1" : "0");
    }

    @Override
    public int inflight(String key) {
        return Math.toIntExact(redis().zcard(key(key, "leases")));
    }

    @Override
    public void recordLatency(String id, Duration perImage) {
        double ms = perImage.toNanos() / 1e6;
        LATENCY.run(redis(), ScriptOutputType.VALUE, new String[] {key(id, "latency")}, Double.toString(ms),
                Double.toString(EWMA_WEIGHT), Long.toString(LATENCY_TTL.toMillis()));
    }

    @Override
    public OptionalDouble latencyMillis(String id) {
        String v = redis().get(key(id, "latency"));
        return v == null ? OptionalDouble.empty() : OptionalDouble.of(Double.parseDouble(v));
    }

    @Override
    public long requestsThisMinute(String id, Instant now) {
        return count(redis().hget(window(id, now), "req"));
    }

    @Override
    public long tokensThisMinute(String id, Instant now) {
        return count(redis().hget(window(id, now), "tok"));
    }

    private static long count(String v) {
        return v == null ? 0 : Math.max(0, Long.parseLong(v));
    }

    @Override
    public int recordFailure(String id, Instant now) {
        Long n = FAILURE.run(redis(), ScriptOutputType.INTEGER, new String[] {key(id, "fails")}, ms(now), nextId(),
                ms(now.minusSeconds(60)), Long.toString(FAILURES_TTL.toMillis()));
        return n.intValue();
    }

    @Override
    public void clearFailures(String id) {
        redis().del(key(id, "fails"));
    }

    @Override
    public void cooldown(String id, Instant until, Instant now) {
        COOLDOWN.run(redis(), ScriptOutputType.INTEGER, new String[] {key(id, "cooldown")}, ms(until), ms(now));
    }

    @Override
    public Optional<Instant> cooldownUntil(String id, Instant now) {
        String v = redis().get(key(id, "cooldown"));
        if (v == null) {
            return Optional.empty();
        }
        Instant until = Instant.ofEpochMilli(Long.parseLong(v));
        return until.isAfter(now) ? Optional.of(until) : Optional.empty();
    }

    @Override
    public Optional<Duration> recheckInterval() {
        return Optional.of(RECHECK);
    }

    @Override
    public String toString() {
        return "RedisRouterState[" + link + ", prefix=" + prefix + "]";
    }
}
