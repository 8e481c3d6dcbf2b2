package dev.easel.routing;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Money held against budgets before it is spent: one budget key (an end user's {@code end_user:alice}; issue 15
 * adds keys and teams) per window, with a maximum in USD. Every method takes the time from the caller, so an
 * implementation holds no clock and can live in a shared store (Redis) as well as in memory.
 *
 * <h2>The hold contract</h2>
 * Before a request is sent upstream its worst-case cost is {@link #hold held}: in one atomic step per window the
 * ledger frees the window's holds that expired at or before {@code now}, then grants the hold when
 * <pre>spent + held &lt; max  and  spent + held + estimate &le; max</pre>
 * and counts the estimate as held; when it refuses, nothing is held. {@code spent} is the window's spend: at least
 * the caller's {@code seed} (its own view: the spend log's total for the window plus its rows not yet written).
 * A ledger for one process keeps no spend of its own and reads the seed inside its atomic step, so a hold never
 * misses a cost the caller's log already holds. A shared ledger seeds the window from the first caller's seed and
 * from then on counts settlements itself, so every instance sees the others' holds and just-settled costs at
 * once; it still never reports less than the caller's seed.
 * <p>Every granted hold is ended exactly once by its holder, whatever happens to the request:
 * <ul>
 *   <li>{@link #settle} after the request's cost is known and recorded in the caller's log: the hold is freed
 *       and {@code actual} counts as spent in the hold's window;</li>
 *   <li>{@link #release} when nothing was spent (refused before the call, failed without a cost).</li>
 * </ul>
 * Ending a hold that has already ended does nothing. A hold that is never ended (its holder crashed) frees itself
 * at {@link Hold#expiresAt()}; a hold settled after it expired frees nothing twice, and a shared ledger still counts
 * its cost.
 *
 * <p>A ledger that cannot answer (a shared store unreachable) throws {@link LedgerUnavailableException} from
 * {@link #hold} and {@link #usage}; {@link #settle} and {@link #release} never throw for that reason (they run on
 * exit paths): a hold they could not end frees itself at its expiry.
 */
public interface BudgetLedger {

    /** The ledger of one process: {@link InMemoryBudgetLedger}. */
    static BudgetLedger inMemory() {
        return new InMemoryBudgetLedger();
    }

    /**
     * Atomically frees the window's expired holds and, when {@code estimate} fits (rule above), holds it until
     * {@code expiresAt}.
     *
     * @param window    the budget key and the window {@code now} falls in
     * @param max       the budget, USD, at least 0
     * @param estimate  the request's worst-case cost, USD, at least 0 (0 when unknown: the request then only needs
     *                  some of the budget to be uncommitted)
     * @param seed      the caller's view of the window's spend, USD, read by the ledger when it decides
     * @param now       the caller's time
     * @param expiresAt when the hold frees itself if it is never ended; after {@code now}
     * @throws LedgerUnavailableException when the ledger cannot decide
     */
    Reservation hold(Window window, BigDecimal max, BigDecimal estimate, Supplier<BigDecimal> seed, Instant now,
                     Instant expiresAt);

    /**
     * Ends a hold whose request has spent {@code actual} USD (already recorded in the caller's log): frees the
     * hold and counts {@code actual} in its window. Does nothing for a hold that has already ended.
     */
    void settle(Hold hold, BigDecimal actual, Instant now);

    /** Ends a hold whose request spent nothing: frees it. Does nothing for a hold that has already ended. */
    void release(Hold hold, Instant now);

    /**
     * The window's spend (at least {@code seed}) and what live holds hold at {@code now}, for information.
     *
     * @throws LedgerUnavailableException when the ledger cannot answer
     */
    Usage usage(Window window, Supplier<BigDecimal> seed, Instant now);

    /**
     * The argument checks of {@link #hold} every implementation makes, with the contract's messages.
     *
     * @throws NullPointerException     for a null argument
     * @throws IllegalArgumentException for a negative max or estimate, or an expiry not after {@code now}
     */
    static void checkHold(Window window, BigDecimal max, BigDecimal estimate, Supplier<BigDecimal> seed, Instant now,
                          Instant expiresAt) {
        Objects.requireNonNull(window, "window");
        Objects.requireNonNull(max, "max");
        Objects.requireNonNull(estimate, "estimate");
        Objects.requireNonNull(seed, "seed");
        Objects.requireNonNull(now, "now");
        Objects.requireNonNull(expiresAt, "expiresAt");
        if (max.signum() < 0) {
            throw new IllegalArgumentException("budget max must not be negative (was " + max.toPlainString() + ")");
        }
        if (estimate.signum() < 0) {
            throw new IllegalArgumentException("hold estimate must not be negative (was " + estimate.toPlainString()
                    + ")");
        }
        if (!expiresAt.isAfter(now)) {
            throw new IllegalArgumentException("hold must expire after now (was " + expiresAt + ", now " + now + ")");
        }
    }

    /**
     * One budget key's window.
     *
     * @param key   the budget's key, e.g. {@code end_user:alice}; not blank
     * @param start when the window began ({@link Instant#EPOCH} for a budget without a duration)
     * @param end   when it ends; empty for a budget that counts all time
     */
    record Window(String key, Instant start, Optional<Instant> end) {

        /** Checks that nothing is null, the key is not blank and the window does not end before it starts. */
        public Window {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(start, "start");
            Objects.requireNonNull(end, "end");
            if (key.isBlank()) {
                throw new IllegalArgumentException("budget key must not be blank");
            }
            if (end.isPresent() && !end.get().isAfter(start)) {
                throw new IllegalArgumentException("budget window must end after it starts (was " + start + " to "
                        + end.get() + ")");
            }
        }
    }

    /**
     * A granted hold.
     *
     * @param holdId    unique among the holds of the ledger that granted it
     * @param window    the window it counts in
     * @param amount    USD held (the estimate; a ledger counting in whole units rounds it up)
     * @param expiresAt when it frees itself if it is never ended
     */
    record Hold(String holdId, Window window, BigDecimal amount, Instant expiresAt) {

        /** Checks that nothing is null. */
        public Hold {
            Objects.requireNonNull(holdId, "holdId");
            Objects.requireNonNull(window, "window");
            Objects.requireNonNull(amount, "amount");
            Objects.requireNonNull(expiresAt, "expiresAt");
        }
    }

    /** The answer of {@link #hold}: a hold, or the amounts that refused it. */
    sealed interface Reservation {

        /** The estimate is held. */
        record Granted(Hold hold) implements Reservation {
            /** Checks that the hold is not null. */
            public Granted {
                Objects.requireNonNull(hold, "hold");
            }
        }

        /**
         * Nothing was held.
         *
         * @param spent the window's spend the ledger decided on, USD
         * @param held  what live holds held then, USD
         */
        record Refused(BigDecimal spent, BigDecimal held) implements Reservation {
            /** Checks that nothing is null. */
            public Refused {
                Objects.requireNonNull(spent, "spent");
                Objects.requireNonNull(held, "held");
            }
        }
    }

    /**
     * What {@link #usage} reads.
     *
     * @param spent the window's spend, USD (at least the caller's seed)
     * @param held  what live holds hold, USD
     */
    record Usage(BigDecimal spent, BigDecimal held) {
        /** Checks that nothing is null. */
        public Usage {
            Objects.requireNonNull(spent, "spent");
            Objects.requireNonNull(held, "held");
        }
    }

    /**
     * The largest budget this ledger counts exactly, if it has a limit (the Redis ledger counts whole nano-USD in
     * Redis's 53-bit exact integers). A budget above it is refused where it is defined, never at request time.
     */
    default Optional<BigDecimal> largestBudget() {
        return Optional.empty();
    }
}
