package dev.easel.testkit;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Waits in a test for something another thread does: polls until the condition holds, returning as soon as it
 * does, or fails naming what it waited for once a deadline passes. Use it instead of a fixed sleep, which is too
 * long on an idle machine and too short on a busy one.
 *
 * <pre>{@code
 * Await.until("the spend rows are written", () -> spend.health().backlog() == 0);
 * JsonNode rows = Await.value("2 rows in /spend/logs", () -> logs(query), r -> r.size() >= 2);
 * }</pre>
 */
public final class Await {

    /**
     * How long a wait lasts by default. Generous: it only matters when the test is failing anyway, and a loaded
     * CI machine can be many times slower than a laptop.
     */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private static final long FIRST_PAUSE_NANOS = TimeUnit.MICROSECONDS.toNanos(200);
    private static final long MAX_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private Await() {
    }

    /**
     * Waits up to {@link #DEFAULT_TIMEOUT} for {@code condition}.
     *
     * @throws AssertionError naming {@code what} when it does not hold in time
     */
    public static void until(String what, BooleanSupplier condition) {
        until(what, DEFAULT_TIMEOUT, condition);
    }

    /**
     * Waits up to {@code timeout} for {@code condition}.
     *
     * @throws AssertionError naming {@code what} when it does not hold in time
     */
    public static void until(String what, Duration timeout, BooleanSupplier condition) {
        Objects.requireNonNull(condition, "condition");
        value(what, timeout, condition::getAsBoolean, Boolean::booleanValue);
    }

    /**
     * Probes until {@code done} accepts a value, waiting up to {@link #DEFAULT_TIMEOUT}; returns that value.
     *
     * @throws AssertionError naming {@code what} and the last value probed when none is accepted in time
     */
    public static <T> T value(String what, Supplier<? extends T> probe, Predicate<? super T> done) {
        return value(what, DEFAULT_TIMEOUT, probe, done);
    }

    /**
     * Probes until {@code done} accepts a value, waiting up to {@code timeout}; returns that value. An exception
     * from the probe ends the wait at once (it is the test's failure, not a reason to keep trying).
     *
     * @throws AssertionError naming {@code what} and the last value probed when none is accepted in time
     */
    public static <T> T value(String what, Duration timeout, Supplier<? extends T> probe, Predicate<? super T> done) {
        Objects.requireNonNull(what, "what");
        Objects.requireNonNull(probe, "probe");
        Objects.requireNonNull(done, "done");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative (was " + timeout + ")");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = FIRST_PAUSE_NANOS;
        while (true) {
            T v = probe.get();
            if (done.test(v)) {
                return v;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what
                        + (v instanceof Boolean ? "" : " (last: " + v + ")"));
            }
            try {
                // the one pause between probes; short at first, so a condition that is about to hold costs little
                TimeUnit.NANOSECONDS.sleep(Math.min(pause, left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
            pause = Math.min(pause * 2, MAX_PAUSE_NANOS);
        }
    }
}
