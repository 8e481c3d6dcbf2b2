package dev.easel.routing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * A bounded, first-come-first-served line of requests waiting for a slot that something else holds (a
 * deployment's or the proxy's {@code max_parallel_requests}). Waiters sleep on a condition and are woken by
 * {@link #wake()} when a holder in this process frees a slot: each wake gives every waiter, oldest first, one
 * try. A waiter whose try says when to look again (a cooldown ending, a minute window turning, or the recheck
 * interval of a state shared with other replicas, whose frees wake nobody here) also wakes then.
 *
 * <p>Tries run under the queue's lock, so a slot freed between a try and the wait cannot be missed: the holder's
 * {@code wake()} takes the same lock.
 */
public final class WaitQueue {

    /** What one try to take a slot found. */
    public sealed interface Try<T> {
        /** The slot was taken. */
        record Got<T>(T value) implements Try<T> {
        }

        /** Every slot is held: worth waiting, and worth looking again by itself after {@code recheck}, if set. */
        record Busy<T>(Optional<Duration> recheck) implements Try<T> {
        }

        /** Waiting would not help (say the rest is at its rpm or resting): give up now. */
        record NotWaiting<T>() implements Try<T> {
        }
    }

    /** How an {@link #acquire} ended. */
    public sealed interface Outcome<T> {
        /** A try took the slot. */
        record Got<T>(T value) implements Outcome<T> {
        }

        /** A try said waiting would not help. */
        record NotWaiting<T>() implements Outcome<T> {
        }

        /** The line was full: {@code waiting} requests were already in it. */
        record Full<T>(int waiting) implements Outcome<T> {
        }

        /** No slot freed within the wait allowed. */
        record Expired<T>() implements Outcome<T> {
        }
    }

    private static final class Waiter {
        final Condition condition;
        long seen;
        boolean recheck; // whether recheckAt is set (nanoTime values have no free sentinel: they may be negative)
        long recheckAt;

        Waiter(Condition condition, long seen) {
            this.condition = condition;
            this.seen = seen;
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final List<Waiter> line = new ArrayList<>();
    private final int maxWaiters;
    private long generation;

    /** A line of at most {@code maxWaiters} waiting requests (0: nobody waits, a busy slot is refused at once). */
    public WaitQueue(int maxWaiters) {
        if (maxWaiters < 0) {
            throw new IllegalArgumentException("maxWaiters must not be negative (was " + maxWaiters + ")");
        }
        this.maxWaiters = maxWaiters;
    }

    /**
     * Tries to take a slot with {@code take}; while it finds every slot busy, waits in line (at most {@code
     * maxWait}) and tries again each time a slot may have freed. A request arriving while others wait joins the
     * line behind them instead of taking a slot first.
     *
     * @throws InterruptedException when the waiting thread is interrupted (it leaves the line)
     */
    public <T> Outcome<T> acquire(Supplier<Try<T>> take, Duration maxWait) throws InterruptedException {
        Objects.requireNonNull(take, "take");
        lock.lock();
        try {
            Try<T> first = null;
            if (line.isEmpty()) {
                first = take.get();
                if (first instanceof Try.Got<T> g) {
                    return new Outcome.Got<>(g.value());
                }
                if (first instanceof Try.NotWaiting<T>) {
                    return new Outcome.NotWaiting<>();
                }
            }
            if (line.size() >= maxWaiters) {
                return new Outcome.Full<>(line.size());
            }
            if (maxWait.isZero() || maxWait.isNegative()) {
                return new Outcome.Expired<>();
            }
            long deadline = System.nanoTime() + maxWait.toNanos();
            // A newcomer behind others does not try first: in the usual line everyone wants the same slots, and a
            // slot the oldest waiter could not take, the newcomer cannot take either.
            Waiter me = new Waiter(lock.newCondition(), generation);
            schedule(me, first);
            line.add(me);
            try {
                while (true) {
                    long now = System.nanoTime();
                    boolean due = me.recheck && now - me.recheckAt >= 0;
                    if (me.seen != generation || due) {
                        if (me.seen == generation) {
                            generation++; // a rest ended or a minute turned: those behind look again too
                        }
                        me.seen = generation;
                        me.recheck = false;
                        Try<T> t = take.get();
                        if (t instanceof Try.Got<T> g) {
                            return new Outcome.Got<>(g.value());
                        }
                        if (t instanceof Try.NotWaiting<T>) {
                            return new Outcome.NotWaiting<>();
                        }
                        schedule(me, t);
                        passOn(me); // the one behind gets its try in this round
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return new Outcome.Expired<>();
                    }
                    long wait = !me.recheck ? left : Math.min(left, Math.max(0, me.recheckAt - System.nanoTime()));
                    me.condition.await(Math.max(1, wait), TimeUnit.NANOSECONDS);
                }
            } finally {
                passOn(me); // whatever this waiter did, the next one looks at the slots it left
                line.remove(me);
            }
        } finally {
            lock.unlock();
        }
    }

    private static <T> void schedule(Waiter me, Try<T> t) {
        if (t instanceof Try.Busy<T> b && b.recheck().isPresent()) {
            me.recheck = true;
            me.recheckAt = System.nanoTime() + Math.max(0, b.recheck().get().toNanos());
        }
    }

    /** Gives the waiter behind {@code me} its try for the current round. */
    private void passOn(Waiter me) {
        int i = line.indexOf(me);
        if (i >= 0 && i + 1 < line.size()) {
            line.get(i + 1).condition.signal();
        }
    }

    /** Tells the line a slot may have freed: the oldest waiter tries first, then each one behind it. */
    public void wake() {
        lock.lock();
        try {
            generation++;
            if (!line.isEmpty()) {
                line.get(0).condition.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Requests waiting now. */
    public int waiting() {
        lock.lock();
        try {
            return line.size();
        } finally {
            lock.unlock();
        }
    }
}
