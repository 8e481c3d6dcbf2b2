package dev.easel.routing;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link RouterState} for one process. Thread-safe; each key's reservation, settlement and release is atomic
 * (one lock per key), so {@code rpm} and {@code max_parallel_requests} hold exactly under any concurrency.
 */
public final class InMemoryRouterState implements RouterState {

    private static final double EWMA_WEIGHT = 0.3;

    private final ConcurrentHashMap<String, Ledger> ledgers = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Double> latency = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Deque<Instant>> failures = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Instant> cooldowns = new ConcurrentHashMap<>();
    private final AtomicLong leaseIds = new AtomicLong();

    /** One key's minute window and live leases; guarded by itself. */
    private static final class Ledger {
        long minute = Long.MIN_VALUE;
        long requests;
        long tokens;
        final Map<String, Instant> live = new HashMap<>();

        void roll(long now) {
            if (minute != now) {
                minute = now;
                requests = 0;
                tokens = 0;
            }
        }

        void reap(Instant now) {
            for (Iterator<Instant> it = live.values().iterator(); it.hasNext(); ) {
                if (!it.next().isAfter(now)) {
                    it.remove();
                }
            }
        }
    }

    private Ledger ledger(String key) {
        return ledgers.computeIfAbsent(key, k -> new Ledger());
    }

    private static long minute(Instant t) {
        return Math.floorDiv(t.getEpochSecond(), 60);
    }

    private static Instant nextMinute(Instant t) {
        return Instant.ofEpochSecond((minute(t) + 1) * 60);
    }

    @Override
    public Reservation reserve(String key, Limits limits, Instant now, Instant expiresAt) {
        Ledger l = ledger(key);
        synchronized (l) {
            l.reap(now);
            l.roll(minute(now));
            if (limits.rpm().isPresent() && l.requests >= limits.rpm().getAsInt()) {
                return new Reservation.Refused(Reservation.Limit.RPM, Optional.of(nextMinute(now)));
            }
            if (limits.tpm().isPresent() && l.tokens >= limits.tpm().getAsLong()) {
                return new Reservation.Refused(Reservation.Limit.TPM, Optional.of(nextMinute(now)));
            }
            if (limits.maxParallel().isPresent() && l.live.size() >= limits.maxParallel().getAsInt()) {
                return new Reservation.Refused(Reservation.Limit.PARALLEL, Optional.empty());
            }
            l.requests++;
            String id = Long.toString(leaseIds.incrementAndGet());
            l.live.put(id, expiresAt);
            return new Reservation.Granted(new Lease(id, key, now, expiresAt));
        }
    }

    @Override
    public boolean renew(Lease lease, Instant expiresAt, Instant now) {
        Ledger l = ledger(lease.key());
        synchronized (l) {
            Instant current = l.live.get(lease.leaseId());
            if (current == null || !current.isAfter(now)) {
                l.live.remove(lease.leaseId());
                return false;
            }
            l.live.put(lease.leaseId(), expiresAt);
            return true;
        }
    }

    @Override
    public void settle(Lease lease, long tokens, Instant now) {
        Ledger l = ledger(lease.key());
        synchronized (l) {
            if (l.live.remove(lease.leaseId()) == null) {
                return;
            }
            l.roll(minute(now));
            l.tokens += Math.max(0, tokens);
        }
    }

    @Override
    public void release(Lease lease, Instant now) {
        Ledger l = ledger(lease.key());
        synchronized (l) {
            if (l.live.remove(lease.leaseId()) == null) {
                return;
            }
            if (l.minute == minute(lease.takenAt()) && minute(now) == l.minute && l.requests > 0) {
                l.requests--;
            }
        }
    }

    @Override
    public int inflight(String key) {
        Ledger l = ledgers.get(key);
        if (l == null) {
            return 0;
        }
        synchronized (l) {
            return l.live.size();
        }
    }

    @Override
    public void recordLatency(String id, Duration perImage) {
        double ms = perImage.toNanos() / 1e6;
        latency.merge(id, ms, (old, now) -> old * (1 - EWMA_WEIGHT) + now * EWMA_WEIGHT);
    }

    @Override
    public OptionalDouble latencyMillis(String id) {
        Double v = latency.get(id);
        return v == null ? OptionalDouble.empty() : OptionalDouble.of(v);
    }

    @Override
    public long requestsThisMinute(String id, Instant now) {
        Ledger l = ledgers.get(id);
        if (l == null) {
            return 0;
        }
        synchronized (l) {
            return l.minute == minute(now) ? l.requests : 0;
        }
    }

    @Override
    public long tokensThisMinute(String id, Instant now) {
        Ledger l = ledgers.get(id);
        if (l == null) {
            return 0;
        }
        synchronized (l) {
            return l.minute == minute(now) ? l.tokens : 0;
        }
    }

    @Override
    public int recordFailure(String id, Instant now) {
        Deque<Instant> q = failures.computeIfAbsent(id, k -> new ArrayDeque<>());
        synchronized (q) {
            q.addLast(now);
            Instant horizon = now.minusSeconds(60);
            while (!q.isEmpty() && q.peekFirst().isBefore(horizon)) {
                q.pollFirst();
            }
            return q.size();
        }
    }

    @Override
    public void clearFailures(String id) {
        Deque<Instant> q = failures.get(id);
        if (q != null) {
            synchronized (q) {
                q.clear();
            }
        }
    }

    @Override
    public void cooldown(String id, Instant until, Instant now) {
        cooldowns.merge(id, until, (a, b) -> a.isAfter(b) ? a : b);
    }

    @Override
    public Optional<Instant> cooldownUntil(String id, Instant now) {
        Instant until = cooldowns.get(id);
        return until != null && until.isAfter(now) ? Optional.of(until) : Optional.empty();
    }
}
