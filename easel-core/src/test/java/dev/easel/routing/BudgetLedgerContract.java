package dev.easel.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link BudgetLedger} contract every implementation keeps; a subclass gives a fresh, empty ledger per test.
 * Packaged in easel-core's test jar, so the Redis ledger (easel-redis) runs the very same tests.
 *
 * <p>Where a test settles a cost it also passes the caller's next seed with that cost in it, as the proxy does
 * (it records the spend row before it settles): a ledger for one process takes its spend from the seed alone.
 */
public abstract class BudgetLedgerContract {

    protected static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
    protected static final Instant NOW = T0.plus(Duration.ofHours(1));
    protected static final Instant EXPIRES = NOW.plus(Duration.ofMinutes(10));
    protected static final BudgetLedger.Window ALICE = new BudgetLedger.Window("end_user:alice", T0,
            Optional.of(T0.plus(Duration.ofDays(1))));

    private BudgetLedger ledger;

    /** A fresh ledger with nothing held and no window known. */
    protected abstract BudgetLedger newLedger() throws Exception;

    @BeforeEach
    void freshLedger() throws Exception {
        ledger = newLedger();
    }

    protected static BigDecimal usd(String v) {
        return new BigDecimal(v);
    }

    protected static Supplier<BigDecimal> seed(String v) {
        BigDecimal d = usd(v);
        return () -> d;
    }

    private BudgetLedger.Reservation hold(BudgetLedger.Window w, String max, String estimate, String seed, Instant now) {
        return ledger.hold(w, usd(max), usd(estimate), seed(seed), now, now.plus(Duration.ofMinutes(10)));
    }

    protected static BudgetLedger.Hold granted(BudgetLedger.Reservation r) {
        assertThat(r).isInstanceOf(BudgetLedger.Reservation.Granted.class);
        return ((BudgetLedger.Reservation.Granted) r).hold();
    }

    protected static void assertRefused(BudgetLedger.Reservation r, String spent, String held) {
        assertThat(r).isInstanceOf(BudgetLedger.Reservation.Refused.class);
        BudgetLedger.Reservation.Refused f = (BudgetLedger.Reservation.Refused) r;
        assertThat(f.spent()).as("spent").isEqualByComparingTo(spent);
        assertThat(f.held()).as("held").isEqualByComparingTo(held);
    }

    private void assertHeld(BudgetLedger.Window w, String seed, Instant now, String held) {
        BudgetLedger.Usage u = ledger.usage(w, seed(seed), now);
        assertThat(u.held()).as("held").isEqualByComparingTo(held);
    }

    @Test
    void hold_thatFits_isGrantedAndCountsAsHeld() {
        BudgetLedger.Hold h = granted(hold(ALICE, "0.05", "0.016", "0", NOW));

        assertThat(h.window()).isEqualTo(ALICE);
        assertThat(h.amount()).isEqualByComparingTo("0.016");
        assertThat(h.expiresAt()).isEqualTo(EXPIRES);
        BudgetLedger.Usage u = ledger.usage(ALICE, seed("0"), NOW);
        assertThat(u.spent()).isEqualByComparingTo("0");
        assertThat(u.held()).isEqualByComparingTo("0.016");
    }

    @Test
    void hold_thatWouldPassTheMax_isRefusedNamingSpentAndHeld_andHoldsNothing() {
        granted(hold(ALICE, "0.05", "0.016", "0.01", NOW));
        granted(hold(ALICE, "0.05", "0.016", "0.01", NOW));

        assertRefused(hold(ALICE, "0.05", "0.016", "0.01", NOW), "0.01", "0.032");
        assertHeld(ALICE, "0.01", NOW, "0.032");
    }

    @Test
    void hold_upToTheMaxExactly_isGranted_thenNothingMoreFits_evenAtNoCost() {
        granted(hold(ALICE, "0.05", "0.016", "0.034", NOW));

        assertRefused(hold(ALICE, "0.05", "0", "0.034", NOW), "0.034", "0.016");
        assertRefused(hold(ALICE, "0.05", "0.000000001", "0.034", NOW), "0.034", "0.016");
    }

    @Test
    void hold_whenTheSpendHasReachedTheMax_isRefused_andAZeroBudgetRefusesEverything() {
        assertRefused(hold(ALICE, "0.05", "0", "0.05", NOW), "0.05", "0");
        assertRefused(hold(ALICE, "0.05", "0.001", "0.07", NOW), "0.07", "0");
        BudgetLedger.Window zero = new BudgetLedger.Window("end_user:zero", T0, Optional.empty());
        assertRefused(hold(zero, "0", "0", "0", NOW), "0", "0");
    }

    @Test
    void hold_spendIsAtLeastTheSeed() {
        assertRefused(hold(ALICE, "0.05", "0.016", "0.04", NOW), "0.04", "0");
        BudgetLedger.Usage u = ledger.usage(ALICE, seed("0.03"), NOW);
        assertThat(u.spent()).isGreaterThanOrEqualTo(usd("0.03"));
    }

    @Test
    void settle_freesTheHold_andTheCostCountsAsSpent() {
        BudgetLedger.Hold h = granted(hold(ALICE, "0.05", "0.016", "0", NOW));

        ledger.settle(h, usd("0.012"), NOW.plusSeconds(5));

        // the caller's log now has the 0.012 row: its seed says so
        BudgetLedger.Usage u = ledger.usage(ALICE, seed("0.012"), NOW.plusSeconds(5));
        assertThat(u.spent()).isEqualByComparingTo("0.012");
        assertThat(u.held()).isEqualByComparingTo("0");
        granted(hold(ALICE, "0.05", "0.038", "0.012", NOW.plusSeconds(6)));
        assertRefused(hold(ALICE, "0.05", "0.000000001", "0.012", NOW.plusSeconds(6)), "0.012", "0.038");
    }

    @Test
    void release_freesTheHold() {
        BudgetLedger.Hold big = granted(hold(ALICE, "0.05", "0.04", "0", NOW));
        assertRefused(hold(ALICE, "0.05", "0.016", "0", NOW), "0", "0.04");

        ledger.release(big, NOW.plusSeconds(1));

        assertHeld(ALICE, "0", NOW.plusSeconds(1), "0");
        granted(hold(ALICE, "0.05", "0.016", "0", NOW.plusSeconds(1)));
    }

    @Test
    void endingAHoldTwice_doesNothing() {
        BudgetLedger.Hold a = granted(hold(ALICE, "0.05", "0.016", "0", NOW));
        granted(hold(ALICE, "0.05", "0.016", "0", NOW));

        ledger.settle(a, usd("0.01"), NOW.plusSeconds(1));
        ledger.settle(a, usd("0.01"), NOW.plusSeconds(2));
        ledger.release(a, NOW.plusSeconds(3));

        assertHeld(ALICE, "0.01", NOW.plusSeconds(3), "0.016");
    }

    @Test
    void aHoldNeverEnded_freesItselfAtItsExpiry() {
        ledger.hold(ALICE, usd("0.05"), usd("0.04"), seed("0"), NOW, EXPIRES);

        assertRefused(hold(ALICE, "0.05", "0.016", "0", EXPIRES.minusMillis(1)), "0", "0.04");
        assertHeld(ALICE, "0", EXPIRES, "0");
        granted(hold(ALICE, "0.05", "0.016", "0", EXPIRES));
    }

    @Test
    void aHoldEndedAfterItExpired_freesNothingTwice() {
        BudgetLedger.Hold late = granted(ledger.hold(ALICE, usd("0.05"), usd("0.02"), seed("0"), NOW, EXPIRES));
        Instant after = EXPIRES.plusSeconds(1);
        granted(hold(ALICE, "0.05", "0.03", "0", after));

        ledger.settle(late, usd("0.02"), after);
        ledger.release(late, after);

        assertHeld(ALICE, "0.02", after, "0.03");
    }

    @Test
    void windowsAndKeys_areCountedApart() {
        granted(hold(ALICE, "0.05", "0.05", "0", NOW));
        assertRefused(hold(ALICE, "0.05", "0.01", "0", NOW), "0", "0.05");

        BudgetLedger.Window nextDay = new BudgetLedger.Window("end_user:alice", T0.plus(Duration.ofDays(1)),
                Optional.of(T0.plus(Duration.ofDays(2))));
        granted(hold(nextDay, "0.05", "0.05", "0", NOW.plus(Duration.ofDays(1))));
        BudgetLedger.Window bob = new BudgetLedger.Window("end_user:bob", T0, ALICE.end());
        granted(hold(bob, "0.05", "0.05", "0", NOW));
        assertHeld(ALICE, "0", NOW, "0.05");
    }

    @Test
    void concurrentHolds_grantExactlyWhatFits() throws Exception {
        // 30 at once against 0.05 at 0.016 each: three fit (0.048), the rest are refused
        int threads = 30;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<BudgetLedger.Reservation>> all = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                all.add(pool.submit(() -> {
                    go.await();
                    return hold(ALICE, "0.05", "0.016", "0", NOW);
                }));
            }
            go.countDown();
            int granted = 0;
            for (Future<BudgetLedger.Reservation> f : all) {
                if (f.get(30, TimeUnit.SECONDS) instanceof BudgetLedger.Reservation.Granted) {
                    granted++;
                }
            }
            assertThat(granted).isEqualTo(3);
            assertHeld(ALICE, "0", NOW, "0.048");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void badArguments_areRefusedNamingTheValue() {
        assertThatThrownBy(() -> hold(ALICE, "-1", "0", "0", NOW)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("budget max must not be negative (was -1)");
        assertThatThrownBy(() -> hold(ALICE, "1", "-0.5", "0", NOW)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("hold estimate must not be negative (was -0.5)");
        assertThatThrownBy(() -> ledger.hold(ALICE, usd("1"), usd("0.1"), seed("0"), NOW, NOW))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("hold must expire after now (was " + NOW + ", now " + NOW + ")");
        assertHeld(ALICE, "0", NOW, "0");
    }
}
