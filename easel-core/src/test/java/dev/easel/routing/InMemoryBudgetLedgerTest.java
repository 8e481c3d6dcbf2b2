package dev.easel.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.testkit.Await;
import java.math.BigDecimal;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class InMemoryBudgetLedgerTest extends BudgetLedgerContract {

    private InMemoryBudgetLedger ledger;

    @Override
    protected BudgetLedger newLedger() {
        ledger = new InMemoryBudgetLedger();
        return ledger;
    }

    /**
     * The in-process ledger has no spend of its own: the seed (the caller's log) must be read in the same step as
     * the holds, or a request that records its cost and ends its hold between the two is counted nowhere. Here
     * the release of the first hold waits while the second hold reads its seed.
     */
    @Test
    void theSeedIsReadInTheSameStepAsTheHolds_soAReleaseWaitsForIt() throws Exception {
        BudgetLedger.Hold first = granted(ledger.hold(ALICE, usd("0.05"), usd("0.03"), seed("0"), NOW, EXPIRES));
        CountDownLatch reading = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        AtomicReference<BudgetLedger.Reservation> second = new AtomicReference<>();
        Thread holder = Thread.ofPlatform().start(() -> second.set(ledger.hold(ALICE, usd("0.05"), usd("0.03"), () -> {
            reading.countDown();
            try {
                answer.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return BigDecimal.ZERO; // the first request's cost is not in the log yet
        }, NOW, EXPIRES)));
        reading.await();
        Thread releaser = Thread.ofPlatform().start(() -> ledger.release(first, NOW));

        Await.until("the release waits for the hold being decided", () -> releaser.getState() == Thread.State.BLOCKED);
        answer.countDown();
        holder.join();
        releaser.join();

        // decided while the first hold was still in force
        assertRefused(second.get(), "0", "0.03");
        assertThat(ledger.usage(ALICE, seed("0"), NOW).held()).isEqualByComparingTo("0");
    }

    @Test
    void aWindowWithNoHoldLeft_isForgotten() {
        BudgetLedger.Hold h = granted(ledger.hold(ALICE, usd("0.05"), usd("0.01"), seed("0"), NOW, EXPIRES));
        assertThat(ledger.windows()).isEqualTo(1);

        ledger.settle(h, usd("0.01"), NOW);
        ledger.hold(ALICE, usd("0.05"), usd("0.05"), seed("0.01"), NOW, EXPIRES); // refused: holds nothing

        assertThat(ledger.windows()).isZero();
    }
}
