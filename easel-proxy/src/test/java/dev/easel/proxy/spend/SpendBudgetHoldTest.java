package dev.easel.proxy.spend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.routing.BudgetLedger;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SpendService#holdBudget} through its {@link BudgetLedger}: what a refusal says, and how a hold ends (the
 * cost of its request's rows settles it, no row releases it).
 */
class SpendBudgetHoldTest {

    static final Instant NOW = Instant.parse("2026-11-02T10:00:00Z");

    @TempDir
    Path dir;

    private final SpendServiceContract.MutableClock clock = new SpendServiceContract.MutableClock(NOW);
    private final Recording ledger = new Recording();
    private SpendService spend;

    /** The in-process ledger, recording how each hold ended. */
    static final class Recording implements BudgetLedger {
        final BudgetLedger inner = BudgetLedger.inMemory();
        final List<String> ends = new ArrayList<>();

        @Override
        public Reservation hold(Window w, BigDecimal max, BigDecimal estimate, Supplier<BigDecimal> seed, Instant now,
                                Instant expiresAt) {
            return inner.hold(w, max, estimate, seed, now, expiresAt);
        }

        @Override
        public synchronized void settle(Hold hold, BigDecimal actual, Instant now) {
            ends.add("settle " + hold.window().key() + " " + hold.amount().toPlainString() + " -> "
                    + actual.toPlainString() + " expiring " + hold.expiresAt());
            inner.settle(hold, actual, now);
        }

        @Override
        public synchronized void release(Hold hold, Instant now) {
            ends.add("release " + hold.window().key() + " " + hold.amount().toPlainString());
            inner.release(hold, now);
        }

        @Override
        public Usage usage(Window w, Supplier<BigDecimal> seed, Instant now) {
            return inner.usage(w, seed, now);
        }
    }

    private SpendService start() {
        spend = SpendService.start(SpendOptions.sqlite(dir).withFlushInterval(Duration.ofHours(1)).withClock(clock)
                .withBudgetLedger(ledger).withBudgetHoldExpiry(Duration.ofMinutes(7))
                .withEndUserBudgets(Map.of("alice", "0.05")));
        return spend;
    }

    @AfterEach
    void close() {
        if (spend != null) {
            spend.close();
        }
    }

    private static SpendRecord row(String id, String endUser, String cost) {
        return SpendRecord.builder().requestId(id).startTime(NOW).endTime(NOW).status(SpendRecord.SUCCESS)
                .endUser(endUser).spend(cost == null ? null : new BigDecimal(cost)).build();
    }

    private static BudgetRefusal refusedBy(SpendService s, String endUser, String requestId, String estimate) {
        AtomicReference<BudgetRefusal> refused = new AtomicReference<>();
        s.holdBudget(endUser, requestId, estimate == null ? null : new BigDecimal(estimate), refused::set).close();
        assertThat(refused.get()).as("refused").isNotNull();
        return refused.get();
    }

    @Test
    void aRefusal_namesTheSpendAndWhatRequestsInFlightHold_apart() {
        SpendService s = start();
        s.record(row("old", "alice", "0.01"));
        SpendService.BudgetHold inFlight = s.holdBudget("alice", "r1", new BigDecimal("0.03"), r -> {
            throw new AssertionError(r.message());
        });

        BudgetRefusal r = refusedBy(s, "alice", "r2", "0.02");
        assertThat(r.spend()).isEqualByComparingTo("0.01");
        assertThat(r.held()).isEqualByComparingTo("0.03");
        assertThat(r.message()).isEqualTo("end user 'alice' would exceed the budget: spend 0.01 USD + 0.03 USD held "
                + "by requests in flight + this request (estimated 0.02 USD) > max_budget 0.05 USD");
        assertThat(s.heldBudget("alice")).isEqualByComparingTo("0.03");

        SpendService.BudgetHold rest = s.holdBudget("alice", "r3", new BigDecimal("0.01"), x -> {
            throw new AssertionError(x.message());
        });
        assertThat(refusedBy(s, "alice", "r4", null).message()).isEqualTo("end user 'alice' has no budget left: "
                + "spend 0.01 USD + 0.04 USD held by requests in flight, max_budget 0.05 USD");
        inFlight.close();
        rest.close();
        s.record(row("big", "alice", "0.04"));
        assertThat(refusedBy(s, "alice", "r5", "0.01").message())
                .isEqualTo("end user 'alice' is over budget: spend 0.05 USD, max_budget 0.05 USD");
    }

    @Test
    void aHoldIsSettledWithTheCostOfItsRequestsRows_orReleasedWhenNoneWasRecorded() {
        SpendService s = start();
        SpendService.BudgetHold spent = s.holdBudget("alice", "req-1", new BigDecimal("0.016"), r -> { });
        SpendService.BudgetHold failed = s.holdBudget("alice", "req-2", new BigDecimal("0.016"), r -> { });
        SpendService.BudgetHold unpriced = s.holdBudget("alice", "req-3", null, r -> { });

        s.record(row("req-1", "alice", "0.012"));
        s.record(row("other", "alice", "0.001")); // not this hold's request
        spent.close();
        spent.close(); // idempotent
        failed.close();
        s.record(row("req-3", "alice", null));
        unpriced.close();
        s.record(row("req-1", "alice", "0.5")); // after the close: counted in the log, not in the ended hold

        String expiry = NOW.plus(Duration.ofMinutes(7)).toString();
        assertThat(ledger.ends).containsExactly(
                "settle end_user:alice 0.016 -> 0.012 expiring " + expiry,
                "release end_user:alice 0.016",
                "settle end_user:alice 0 -> 0 expiring " + expiry);
        assertThat(s.heldBudget("alice")).isEqualByComparingTo("0");
    }

    @Test
    void endUsersWithoutABudget_takeNoHold() {
        SpendService s = start();
        assertThat(s.holdBudget("bob", "r1", new BigDecimal("9"), r -> {
            throw new AssertionError(r.message());
        })).isNotNull();
        s.holdBudget(null, "r2", new BigDecimal("9"), r -> {
            throw new AssertionError(r.message());
        }).close();
        assertThat(s.heldBudget("bob")).isEqualByComparingTo("0");
        assertThat(ledger.ends).isEmpty();
    }
}
