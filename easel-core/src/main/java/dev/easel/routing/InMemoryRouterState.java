package dev.easel.routing;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** {@link RouterState} for one process. Thread-safe. */
public final class InMemoryRouterState implements RouterState {

    private static final double EWMA_WEIGHT = 0.3;

    private final ConcurrentHashMap<String, AtomicInteger> inflight = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Double> latency = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Usage> usage = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Deque<Instant>> failures = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Instant> cooldowns = new ConcurrentHashMap<>();

    private static final class Usage {
        long minute = Long.MIN_VALUE;
        long requests;
        long tokens;
    }

    @Override
    public void begin(String id) {
        inflight.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
    }

    @Override
    public void end(String id) {
        inflight.computeIfAbsent(id, k -> new AtomicInteger()).updateAndGet(n -> Math.max(0, n - 1));
    }

    @Override
    public int inflight(String id) {
        AtomicInteger n = inflight.get(id);
        return n == null ? 0 : n.get();
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
    public void recordUsage(String id, long tokens, Instant now) {
        long minute = now.getEpochSecond() / 60;
        Usage u = usage.computeIfAbsent(id, k -> new Usage());
        synchronized (u) {
            if (u.minute != minute) {
                u.minute = minute;
                u.requests = 0;
                u.tokens = 0;
            }
            u.requests++;
            u.tokens += tokens;
        }
    }

    @Override
    public long requestsThisMinute(String id, Instant now) {
        Usage u = usage.get(id);
        if (u == null) {
            return 0;
        }
        synchronized (u) {
            return u.minute == now.getEpochSecond() / 60 ? u.requests : 0;
        }
    }

    @Override
    public long tokensThisMinute(String id, Instant now) {
        Usage u = usage.get(id);
        if (u == null) {
            return 0;
        }
        synchronized (u) {
            return u.minute == now.getEpochSecond() / 60 ? u.tokens : 0;
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
    public void cooldown(String id, Instant until) {
        cooldowns.merge(id, until, (a, b) -> a.isAfter(b) ? a : b);
    }

    @Override
    public Optional<Instant> cooldownUntil(String id, Instant now) {
        Instant until = cooldowns.get(id);
        return until != null && until.isAfter(now) ? Optional.of(until) : Optional.empty();
    }
}
