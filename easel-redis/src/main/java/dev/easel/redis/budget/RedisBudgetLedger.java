package dev.easel.redis.budget;

import dev.easel.config.RedisBudgetPolicy;

import dev.easel.redis.RedisScript;
import dev.easel.routing.BudgetLedger;
import dev.easel.routing.LedgerUnavailableException;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.util.Optional;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link BudgetLedger} shared by every replica through Redis: each operation is one Lua script, so a check and its
 * hold are one atomic step for the whole fleet, and every replica sees the others' holds and settled costs at once.
 *
 * <h2>Keys</h2>
 * One window of one budget key is two keys in one hash slot (hash tag {@code {budget:<key>}}, so Redis Cluster
 * keeps them together): {@code easel:{budget:<key>}:<window start, epoch ms>}, a hash with the window's settled
 * spend, the amount held and one field per live hold, and {@code …:holds}, the hold ids by expiry. A hold that
 * is never ended (its replica crashed) frees itself at its expiry; its id is remembered a while longer so a late
 * settle still counts its cost without freeing anything twice. The keys expire after the window has been idle
 * for {@code idleExpiry} (and never before a hold they remember).
 *
 * <h2>Seeding, and a Redis restart</h2>
 * The window's spend is taken from the asking replica's {@code seed} (its spend log's total for the window plus
 * its rows not yet written) only when Redis has no record of the window: first use, idle expiry, or a Redis that
 * restarted or was flushed. From then on Redis counts settlements itself, and never reports less than the
 * caller's seed. After a restart the holds of requests in flight are forgotten and their costs reach Redis only
 * through the spend log; the re-seed does not see other replicas' rows not yet written. So at that moment the
 * budget can be overshot by the requests that were in flight plus the other replicas' unwritten rows (at most
 * one flush interval's worth each); within a flush interval every seed has them again.
 *
 * <h2>Money in Redis</h2>
 * Amounts are whole nano-USD ({@code HINCRBY} on integers): Redis has no decimal type and Lua numbers are doubles,
 * which add cents inexactly but count integers exactly below 2<sup>53</sup> (about 9 million USD). Estimates and
 * seeds are rounded up and the maximum down, so rounding can refuse a nano-dollar early but never admit one
 * late; actual costs are rounded to the nearest nano-USD.
 *
 * <h2>Redis unavailable</h2>
 * Any Lettuce error (connection refused or lost, time-out, a server error) counts as Redis unavailable; the
 * {@link RedisBudgetPolicy} decides: {@code REFUSE} throws {@link LedgerUnavailableException} from {@link #hold}
 * and {@link #usage}; {@code LOCAL} holds in this process's own {@link BudgetLedger#inMemory() ledger} instead.
 * Every operation tries Redis again, so the ledger returns to Redis by itself once it answers (holds granted
 * locally meanwhile stay local until they end). One line is logged per change of state. Give it a connection
 * that fails fast while Redis is down (a short command time-out, commands rejected while disconnected), or every
 * budgeted request waits out the time-out.
 */
public final class RedisBudgetLedger implements BudgetLedger {

    private static final Logger LOG = LoggerFactory.getLogger(RedisBudgetLedger.class);

    /** Default idle time after which Redis forgets a window (it is seeded again from the spend log). */
    public static final Duration DEFAULT_IDLE_EXPIRY = Duration.ofDays(1);
    /** Default time an expired hold's id is remembered, so its late settle still counts. */
    public static final Duration DEFAULT_EXPIRED_HOLD_MEMORY = Duration.ofHours(1);

    private static final int NANOS = 9;
    private static final long MAX_NANOS = 1L << 53;
    private static final String ID_PREFIX = "r-";

    private static final String WINDOW_LUA = text("window.lua");
    private static final RedisScript HOLD = script("hold.lua");
    private static final RedisScript SETTLE = script("settle.lua");
    private static final RedisScript RELEASE = script("release.lua");
    private static final RedisScript USAGE = script("usage.lua");

    private final Supplier<RedisCommands<String, String>> redis;
    private final RedisBudgetPolicy policy;
    private final Duration idleExpiry;
    private final Duration expiredHoldMemory;
    private final BudgetLedger local = BudgetLedger.inMemory();
    private final AtomicBoolean reachable = new AtomicBoolean(true);
    private final String keyPrefix;

    /**
     * A ledger on {@code redis} with the default idle expiry and expired-hold memory.
     *
     * @param redis  the commands of a Lettuce connection (e.g. {@code connection::sync}); called per operation
     * @param policy what to do while Redis cannot be reached
     */
    public RedisBudgetLedger(Supplier<RedisCommands<String, String>> redis, RedisBudgetPolicy policy) {
        this(redis, policy, DEFAULT_IDLE_EXPIRY, DEFAULT_EXPIRED_HOLD_MEMORY);
    }

    /**
     * A ledger on {@code redis}.
     *
     * @param idleExpiry        how long a window nobody uses is kept; longer than the spend log's flush interval
     * @param expiredHoldMemory how long an expired hold's id is kept so a late settle counts its cost
     */
    public RedisBudgetLedger(Supplier<RedisCommands<String, String>> redis, RedisBudgetPolicy policy,
                             Duration idleExpiry, Duration expiredHoldMemory) {
        this(redis, policy, idleExpiry, expiredHoldMemory, "easel:");
    }

    /**
     * A ledger on {@code redis} whose keys start with {@code keyPrefix} ({@code router_settings.redis_key_prefix},
     * so two fleets can share one Redis; the router state uses the same prefix).
     */
    public RedisBudgetLedger(Supplier<RedisCommands<String, String>> redis, RedisBudgetPolicy policy,
                             Duration idleExpiry, Duration expiredHoldMemory, String keyPrefix) {
        this.keyPrefix = Objects.requireNonNull(keyPrefix, "keyPrefix");
        this.redis = Objects.requireNonNull(redis, "redis");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.idleExpiry = positive(idleExpiry, "idleExpiry");
        this.expiredHoldMemory = positive(expiredHoldMemory, "expiredHoldMemory");
    }

    private static Duration positive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive (was " + d + ")");
        }
        return d;
    }

    /** A script: the shared start (window.lua) followed by the operation's own lines. */
    private static RedisScript script(String file) {
        return RedisScript.of(file, WINDOW_LUA + "\n" + text(file));
    }

    private static String text(String file) {
        try (InputStream in = RedisBudgetLedger.class.getResourceAsStream(file)) {
            if (in == null) {
                throw new IllegalStateException("missing Redis script resource " + file + " next to "
                        + RedisBudgetLedger.class.getName());
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read Redis script " + file, e);
        }
    }

    /** The policy applied while Redis cannot be reached. */
    public RedisBudgetPolicy policy() {
        return policy;
    }

    /** Whether the last operation reached Redis. */
    public boolean reachable() {
        return reachable.get();
    }

    @Override
    public Reservation hold(Window window, BigDecimal max, BigDecimal estimate, Supplier<BigDecimal> seed,
                            Instant now, Instant expiresAt) {
        BudgetLedger.checkHold(window, max, estimate, seed, now, expiresAt);
        long maxNanos = nanos(max, RoundingMode.FLOOR, "budget max");
        long estimateNanos = nanos(estimate, RoundingMode.CEILING, "hold estimate");
        String holdId = ID_PREFIX + UUID.randomUUID();
        List<Object> r;
        try {
            long seedNanos = nanos(Objects.requireNonNull(seed.get(), "seed"), RoundingMode.CEILING, "spend");
            r = HOLD.run(redis.get(), ScriptOutputType.MULTI, keys(window), args(now, "" + maxNanos,
                    "" + estimateNanos, "" + seedNanos, holdId, "" + expiresAt.toEpochMilli()));
        } catch (RedisException e) {
            down(e);
            if (policy == RedisBudgetPolicy.LOCAL) {
                return local.hold(window, max, estimate, seed, now, expiresAt);
            }
            throw unavailable(window, e);
        }
        up();
        BigDecimal spent = usd((Long) r.get(1));
        BigDecimal held = usd((Long) r.get(2));
        if ((Long) r.get(0) == 1L) {
            return new Reservation.Granted(new Hold(holdId, window, usd(estimateNanos), expiresAt));
        }
        return new Reservation.Refused(spent, held);
    }

    @Override
    public void settle(Hold hold, BigDecimal actual, Instant now) {
        Objects.requireNonNull(hold, "hold");
        Objects.requireNonNull(actual, "actual");
        Objects.requireNonNull(now, "now");
        if (!hold.holdId().startsWith(ID_PREFIX)) {
            local.settle(hold, actual, now);
            return;
        }
        long actualNanos = nanos(actual.max(BigDecimal.ZERO), RoundingMode.HALF_UP, "actual cost");
        end(SETTLE, hold, now, hold.holdId(), "" + actualNanos);
    }

    @Override
    public void release(Hold hold, Instant now) {
        Objects.requireNonNull(hold, "hold");
        Objects.requireNonNull(now, "now");
        if (!hold.holdId().startsWith(ID_PREFIX)) {
            local.release(hold, now);
            return;
        }
        end(RELEASE, hold, now, hold.holdId());
    }

    /** Settles or releases; an unreachable Redis is logged, never thrown (exit paths), the hold then expires. */
    private void end(RedisScript script, Hold hold, Instant now, String... rest) {
        try {
            script.run(redis.get(), ScriptOutputType.INTEGER, keys(hold.window()), args(now, rest));
            up();
        } catch (RedisException e) {
            down(e);
            LOG.debug("budget hold {} of {} not ended in Redis ({}); it frees itself at {}", hold.holdId(),
                    hold.window().key(), e.toString(), hold.expiresAt());
        }
    }

    @Override
    public Usage usage(Window window, Supplier<BigDecimal> seed, Instant now) {
        Objects.requireNonNull(window, "window");
        Objects.requireNonNull(seed, "seed");
        Objects.requireNonNull(now, "now");
        List<Object> r;
        try {
            long seedNanos = nanos(Objects.requireNonNull(seed.get(), "seed"), RoundingMode.CEILING, "spend");
            r = USAGE.run(redis.get(), ScriptOutputType.MULTI, keys(window), args(now, "" + seedNanos));
        } catch (RedisException e) {
            down(e);
            if (policy == RedisBudgetPolicy.LOCAL) {
                return local.usage(window, seed, now);
            }
            throw unavailable(window, e);
        }
        up();
        Usage own = local.usage(window, () -> BigDecimal.ZERO, now); // holds granted locally during an outage
        return new Usage(usd((Long) r.get(0)), usd((Long) r.get(1)).add(own.held()));
    }

    /** The window's two keys, hash-tagged on the budget key. */
    String[] keys(Window w) {
        return keys(keyPrefix, w);
    }

    /** The window's two keys under {@code prefix}. */
    static String[] keys(String prefix, Window w) {
        String base = prefix + "{budget:" + w.key() + "}:" + w.start().toEpochMilli();
        return new String[] {base, base + ":holds"};
    }

    /** ARGV[1..3] (now, expired-hold memory, idle expiry) followed by the script's own arguments. */
    private String[] args(Instant now, String... rest) {
        String[] args = new String[3 + rest.length];
        args[0] = Long.toString(now.toEpochMilli());
        args[1] = Long.toString(expiredHoldMemory.toMillis());
        args[2] = Long.toString(idleExpiry.toMillis());
        System.arraycopy(rest, 0, args, 3, rest.length);
        return args;
    }

    private static long nanos(BigDecimal usd, RoundingMode mode, String what) {
        BigDecimal n = usd.movePointRight(NANOS).setScale(0, mode);
        if (n.abs().compareTo(BigDecimal.valueOf(MAX_NANOS)) > 0) {
            throw new IllegalArgumentException(what + " of " + usd.toPlainString() + " USD is more than the Redis "
                    + "budget ledger counts exactly (at most " + usd(MAX_NANOS).toPlainString() + " USD)");
        }
        return n.longValueExact();
    }

    private static BigDecimal usd(long nanos) {
        BigDecimal d = BigDecimal.valueOf(nanos, NANOS).stripTrailingZeros();
        return d.scale() < 0 ? d.setScale(0) : d;
    }

    private LedgerUnavailableException unavailable(Window window, RedisException e) {
        return new LedgerUnavailableException("the budget " + window.key() + " cannot be checked: Redis is "
                + "unavailable (" + e.getMessage() + "); requests with a budget are refused until it answers", e);
    }

    private void down(RedisException e) {
        if (reachable.compareAndSet(true, false)) {
            LOG.warn("budget ledger: Redis unavailable ({}); {}", e.toString(), policy == RedisBudgetPolicy.REFUSE
                    ? "requests of end users with a budget are refused until it answers (policy refuse)"
                    : "budgets are held by this replica alone until it answers (policy local)");
        }
    }

    private void up() {
        if (reachable.compareAndSet(false, true)) {
            LOG.info("budget ledger: Redis reachable again; budgets are held fleet-wide in Redis");
        }
    }

    @Override
    public Optional<BigDecimal> largestBudget() {
        return Optional.of(usd(MAX_NANOS));
    }
}
