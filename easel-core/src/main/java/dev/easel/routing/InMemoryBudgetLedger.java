package dev.easel.routing;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * {@link BudgetLedger} for one process, the default. The window's spend is the caller's seed, read under the
 * window's lock, so the check and the hold are one step and a hold cannot miss a cost recorded (and settled) by a
 * concurrent request; holds live in memory, amounts are exact {@link BigDecimal}s. Thread-safe; windows of
 * different keys never wait for each other.
 */
public final class InMemoryBudgetLedger implements BudgetLedger {

    private final ConcurrentHashMap<Book.Id, Book> books = new ConcurrentHashMap<>();
    private final AtomicLong holdIds = new AtomicLong();

    /** The live holds of one window; guarded by itself. A book emptied of holds is dropped (and marked dead). */
    private static final class Book {
        record Id(String key, Instant start) {
        }

        final Map<String, Live> live = new HashMap<>();
        BigDecimal held = BigDecimal.ZERO;
        boolean dead;

        void reap(Instant now) {
            for (Iterator<Live> it = live.values().iterator(); it.hasNext(); ) {
                Live l = it.next();
                if (!l.expiresAt.isAfter(now)) {
                    held = held.subtract(l.amount);
                    it.remove();
                }
            }
        }

        void end(String holdId) {
            Live l = live.remove(holdId);
            if (l != null) {
                held = held.subtract(l.amount);
            }
        }
    }

    private record Live(BigDecimal amount, Instant expiresAt) {
    }

    /** Runs {@code op} under the window's lock; a book dropped meanwhile by another thread is replaced. */
    private <T> T withBook(Window w, boolean create, Function<Book, T> op, T absent) {
        Book.Id id = new Book.Id(w.key(), w.start());
        while (true) {
            Book b = create ? books.computeIfAbsent(id, k -> new Book()) : books.get(id);
            if (b == null) {
                return absent;
            }
            synchronized (b) {
                if (b.dead) {
                    continue;
                }
                try {
                    return op.apply(b);
                } finally {
                    if (b.live.isEmpty()) {
                        b.dead = true;
                        books.remove(id, b);
                    }
                }
            }
        }
    }

    @Override
    public Reservation hold(Window window, BigDecimal max, BigDecimal estimate, Supplier<BigDecimal> seed,
                            Instant now, Instant expiresAt) {
        BudgetLedger.checkHold(window, max, estimate, seed, now, expiresAt);
        return withBook(window, true, b -> {
            b.reap(now);
            BigDecimal spent = Objects.requireNonNull(seed.get(), "seed");
            BigDecimal committed = spent.add(b.held);
            if (committed.compareTo(max) >= 0 || committed.add(estimate).compareTo(max) > 0) {
                return new Reservation.Refused(spent, b.held);
            }
            String holdId = "m" + holdIds.incrementAndGet();
            b.live.put(holdId, new Live(estimate, expiresAt));
            b.held = b.held.add(estimate);
            return new Reservation.Granted(new Hold(holdId, window, estimate, expiresAt));
        }, null);
    }

    @Override
    public void settle(Hold hold, BigDecimal actual, Instant now) {
        // the caller's log holds the actual cost already, and the next seed brings it in
        release(hold, now);
    }

    @Override
    public void release(Hold hold, Instant now) {
        Objects.requireNonNull(hold, "hold");
        withBook(hold.window(), false, b -> {
            b.reap(now);
            b.end(hold.holdId());
            return null;
        }, null);
    }

    @Override
    public Usage usage(Window window, Supplier<BigDecimal> seed, Instant now) {
        Objects.requireNonNull(window, "window");
        Objects.requireNonNull(seed, "seed");
        BigDecimal held = withBook(window, false, b -> {
            b.reap(now);
            return b.held;
        }, BigDecimal.ZERO);
        return new Usage(Objects.requireNonNull(seed.get(), "seed"), held);
    }

    /** Windows with live holds (tests: a window with none left is forgotten). */
    int windows() {
        return books.size();
    }
}
