package dev.easel.redis.budget;

import dev.easel.config.RedisBudgetPolicy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.routing.BudgetLedger;
import dev.easel.routing.LedgerUnavailableException;
import dev.easel.testkit.Await;
import io.lettuce.core.api.StatefulRedisConnection;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Redis stopped under the ledger, then started again: each policy does what its Javadoc says. */
class RedisBudgetLedgerOutageTest {

    static final Instant NOW = Instant.parse("2026-11-01T01:00:00Z");
    static final Instant EXPIRES = NOW.plus(Duration.ofMinutes(10));
    static final BudgetLedger.Window ALICE = new BudgetLedger.Window("end_user:alice", Instant.EPOCH,
            Optional.empty());

    private TestRedis redis;

    @BeforeEach
    void startRedis() throws Exception {
        redis = new TestRedis();
    }

    @AfterEach
    void stopRedis() throws Exception {
        redis.close();
    }

    private static Supplier<BigDecimal> seed(String v) {
        BigDecimal d = new BigDecimal(v);
        return () -> d;
    }

    private static BudgetLedger.Reservation hold(BudgetLedger l, String estimate) {
        return l.hold(ALICE, new BigDecimal("0.05"), new BigDecimal(estimate), seed("0"), NOW, EXPIRES);
    }

    private RedisBudgetLedger ledger(RedisBudgetPolicy policy) {
        StatefulRedisConnection<String, String> c = redis.connect();
        return new RedisBudgetLedger(c::sync, policy);
    }

    @Test
    void refuse_whileRedisIsDown_holdsAndReadsAreRefusedWith503_endsDoNotThrow_andItComesBack() {
        RedisBudgetLedger l = ledger(RedisBudgetPolicy.REFUSE);
        BudgetLedger.Hold before = ((BudgetLedger.Reservation.Granted) hold(l, "0.01")).hold();

        redis.stop();

        assertThatThrownBy(() -> hold(l, "0.01")).isInstanceOfSatisfying(LedgerUnavailableException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(503);
            assertThat(e.code()).hasValue("ledger_unavailable");
            assertThat(e.getMessage()).startsWith("the budget end_user:alice cannot be checked: Redis is "
                    + "unavailable (").endsWith("); requests with a budget are refused until it answers");
        });
        assertThat(l.reachable()).isFalse();
        assertThatThrownBy(() -> l.usage(ALICE, seed("0"), NOW)).isInstanceOf(LedgerUnavailableException.class);
        l.settle(before, new BigDecimal("0.01"), NOW); // an exit path: logged, the hold would expire
        l.release(before, NOW);

        redis.start(); // empty: a Redis without persistence
        Await.until("the connection is back", () -> {
            try {
                return hold(l, "0.01") instanceof BudgetLedger.Reservation.Granted;
            } catch (LedgerUnavailableException e) {
                return false;
            }
        });
        assertThat(l.reachable()).isTrue();
    }

    @Test
    void local_whileRedisIsDown_holdsInThisProcess_thenRedisAgain() {
        RedisBudgetLedger l = ledger(RedisBudgetPolicy.LOCAL);
        redis.stop();

        BudgetLedger.Reservation first = hold(l, "0.03");
        assertThat(first).isInstanceOf(BudgetLedger.Reservation.Granted.class);
        assertThat(l.reachable()).isFalse();
        // the local ledger keeps the budget for this replica
        assertThat(hold(l, "0.03")).isInstanceOfSatisfying(BudgetLedger.Reservation.Refused.class,
                r -> assertThat(r.held()).isEqualByComparingTo("0.03"));
        assertThat(l.usage(ALICE, seed("0"), NOW).held()).isEqualByComparingTo("0.03");

        redis.start();
        Await.until("the connection is back", () -> {
            l.usage(ALICE, seed("0"), NOW);
            return l.reachable();
        });
        // the hold granted locally is still counted by this replica, and ends locally
        assertThat(l.usage(ALICE, seed("0"), NOW).held()).isEqualByComparingTo("0.03");
        l.release(((BudgetLedger.Reservation.Granted) first).hold(), NOW);
        assertThat(l.usage(ALICE, seed("0"), NOW).held()).isEqualByComparingTo("0");
        assertThat(hold(l, "0.05")).isInstanceOf(BudgetLedger.Reservation.Granted.class);
    }
}
