package dev.easel.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A clock that stands still until the test moves it: give it to the code under test where it measures time
 * (cool-downs, per-minute windows, budget windows, expiry), then {@link #advance} it instead of sleeping. Every
 * thread sees the same time; {@link #withZone} views share it.
 *
 * <pre>{@code
 * ManualClock clock = new ManualClock(Instant.parse("2026-11-01T10:00:30Z"));
 * // ... start the code under test with clock ...
 * clock.advance(Duration.ofSeconds(61)); // the next minute's window, at once
 * }</pre>
 */
public final class ManualClock extends Clock {

    private final AtomicReference<Instant> now;
    private final ZoneId zone;

    /** A clock at {@code start}, in UTC. */
    public ManualClock(Instant start) {
        this(new AtomicReference<>(Objects.requireNonNull(start, "start")), ZoneOffset.UTC);
    }

    private ManualClock(AtomicReference<Instant> now, ZoneId zone) {
        this.now = now;
        this.zone = zone;
    }

    /** Sets the time (it may go back, as a wall clock can). */
    public void set(Instant t) {
        now.set(Objects.requireNonNull(t, "t"));
    }

    /** Moves the time forward by {@code d} and returns the new time. */
    public Instant advance(Duration d) {
        Objects.requireNonNull(d, "d");
        if (d.isNegative()) {
            throw new IllegalArgumentException("advance must not be negative (was " + d + "); use set to go back");
        }
        return now.updateAndGet(t -> t.plus(d));
    }

    @Override
    public Instant instant() {
        return now.get();
    }

    @Override
    public ZoneId getZone() {
        return zone;
    }

    @Override
    public Clock withZone(ZoneId newZone) {
        return new ManualClock(now, Objects.requireNonNull(newZone, "zone"));
    }

    @Override
    public String toString() {
        return "ManualClock[" + now.get() + ", " + zone + "]";
    }
}
