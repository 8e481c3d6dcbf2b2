package dev.easel.redis.budget;

import dev.easel.config.RedisBudgetPolicy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.routing.BudgetLedger;
import dev.easel.routing.BudgetLedgerContract;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ledger contract on a real Redis, and what only a shared ledger does: several instances, each on its own
 * connection (standing for replicas), see each other's holds and settlements at once.
 */
class RedisBudgetLedgerTest extends BudgetLedgerContract {

    private static TestRedis redis;
    private static RedisCommands<String, String> admin;

    @BeforeAll
    static void startRedis() throws Exception {
        redis = new TestRedis();
        admin = redis.connect().sync();
    }

    @AfterAll
    static void stopRedis() throws Exception {
        if (redis != null) {
            redis.close();
        }
    }

    /** A "replica": a ledger on a connection of its own. */
    private static RedisBudgetLedger replica() {
        StatefulRedisConnection<String, String> c = redis.connect();
        return new RedisBudgetLedger(c::sync, RedisBudgetPolicy.REFUSE);
    }

    @Override
    protected BudgetLedger newLedger() {
        admin.flushall();
        return replica();
    }

    private static BudgetLedger.Reservation hold(BudgetLedger l, String max, String estimate, String seed) {
        return l.hold(ALICE, usd(max), usd(estimate), seed(seed), NOW, EXPIRES);
    }

    @Test
    void threeReplicas_thirtyConcurrentHolds_grantExactlyThree() throws Exception {
        List<RedisBudgetLedger> replicas = List.of(replica(), replica(), replica());
        int threads = 30;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<BudgetLedger.Reservation>> all = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                BudgetLedger l = replicas.get(i % 3);
                all.add(pool.submit(() -> {
                    go.await();
                    return hold(l, "0.05", "0.016", "0");
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
            for (RedisBudgetLedger l : replicas) {
                assertThat(l.usage(ALICE, seed("0"), NOW).held()).isEqualByComparingTo("0.048");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aSettleOnOneReplica_isSpentForTheOthersAtOnce_withoutTheirSpendLogKnowingIt() {
        BudgetLedger a = replica();
        BudgetLedger b = replica();
        BudgetLedger.Hold h = granted(hold(a, "0.05", "0.016", "0"));
        assertThat(b.usage(ALICE, seed("0"), NOW).held()).isEqualByComparingTo("0.016");

        a.settle(h, usd("0.012"), NOW.plusSeconds(1));

        // b's own log has not seen a's row (seed 0): Redis counted the settlement itself
        BudgetLedger.Usage u = b.usage(ALICE, seed("0"), NOW.plusSeconds(1));
        assertThat(u.spent()).isEqualByComparingTo("0.012");
        assertThat(u.held()).isEqualByComparingTo("0");
        granted(b.hold(ALICE, usd("0.05"), usd("0.038"), seed("0"), NOW.plusSeconds(2), EXPIRES));
        assertRefused(b.hold(ALICE, usd("0.05"), usd("0.000000001"), seed("0"), NOW.plusSeconds(2), EXPIRES),
                "0.012", "0.038");
    }

    @Test
    void aCrashedReplicasHold_freesItselfAtItsExpiry_forTheOthers() {
        StatefulRedisConnection<String, String> dying = redis.connect();
        new RedisBudgetLedger(dying::sync, RedisBudgetPolicy.REFUSE)
                .hold(ALICE, usd("0.05"), usd("0.04"), seed("0"), NOW, EXPIRES);
        dying.close(); // the replica is gone and never ends its hold
        BudgetLedger b = replica();

        assertRefused(b.hold(ALICE, usd("0.05"), usd("0.016"), seed("0"), EXPIRES.minusMillis(1),
                EXPIRES.plusSeconds(60)), "0", "0.04");
        granted(b.hold(ALICE, usd("0.05"), usd("0.016"), seed("0"), EXPIRES, EXPIRES.plusSeconds(60)));
    }

    @Test
    void afterAFlush_theWindowIsSeededAgainFromTheAskingReplicasView_andThenCountedInRedis() {
        BudgetLedger a = replica();
        BudgetLedger b = replica();
        a.settle(granted(hold(a, "0.05", "0.03", "0")), usd("0.03"), NOW);

        admin.flushall(); // Redis restarted without persistence, or flushed

        // b's view: the spend log has a's row by now
        assertRefused(b.hold(ALICE, usd("0.05"), usd("0.03"), seed("0.03"), NOW, EXPIRES), "0.03", "0");
        // seeded: a replica whose own view is behind still sees the 0.03
        assertRefused(a.hold(ALICE, usd("0.05"), usd("0.03"), seed("0"), NOW, EXPIRES), "0.03", "0");
        granted(a.hold(ALICE, usd("0.05"), usd("0.02"), seed("0"), NOW, EXPIRES));
    }

    @Test
    void aSettleOfAHoldRedisForgot_countsNothing_theSpendLogBringsTheCost() {
        BudgetLedger a = replica();
        BudgetLedger.Hold h = granted(hold(a, "0.05", "0.03", "0"));
        admin.flushall();

        a.settle(h, usd("0.03"), NOW); // Redis has no record of the hold: adding the cost could count it twice

        assertThat(a.usage(ALICE, seed("0"), NOW).spent()).isEqualByComparingTo("0");
        assertThat(a.usage(ALICE, seed("0.03"), NOW).spent()).isEqualByComparingTo("0.03");
    }

    @Test
    void aWindowsTwoKeys_areHashTaggedIntoOneSlot_andExpireWhenIdle() {
        BudgetLedger l = new RedisBudgetLedger(redis.connect()::sync, RedisBudgetPolicy.REFUSE,
                Duration.ofMinutes(30), Duration.ofMinutes(5));
        granted(hold(l, "0.05", "0.01", "0"));

        String base = "easel:{budget:end_user:alice}:" + T0.toEpochMilli();
        assertThat(RedisBudgetLedger.keys("easel:", ALICE)).containsExactly(base, base + ":holds");
        assertThat(SlotHash.getSlot(base)).isEqualTo(SlotHash.getSlot(base + ":holds"));
        assertThat(admin.hget(base, "held")).isEqualTo("10000000"); // nano-USD
        // kept while idle for 30 minutes, and past the hold's expiry (10 min) + its memory (5 min) in any case
        assertThat(admin.pttl(base)).isBetween(Duration.ofMinutes(29).toMillis(), Duration.ofMinutes(30).toMillis());
        assertThat(admin.pttl(base + ":holds")).isPositive();

        BudgetLedger longHolds = new RedisBudgetLedger(redis.connect()::sync, RedisBudgetPolicy.REFUSE,
                Duration.ofMinutes(1), Duration.ofMinutes(5));
        longHolds.hold(ALICE, usd("0.05"), usd("0.01"), seed("0"), NOW, NOW.plus(Duration.ofHours(2)));
        assertThat(admin.pttl(base)).isGreaterThan(Duration.ofHours(2).toMillis());
    }

    @Test
    void amounts_areCountedInWholeNanoUsd_estimatesRoundedUp_theMaxDown() {
        BudgetLedger l = replica();
        BudgetLedger.Hold h = granted(hold(l, "0.05", "0.0000000001", "0"));
        assertThat(h.amount()).isEqualByComparingTo("0.000000001");

        // 0.0500000009 counts as 0.05: 0.05 - 0.000000001 held leaves less than 0.05
        assertRefused(l.hold(ALICE, usd("0.0500000009"), usd("0.05"), seed("0"), NOW, EXPIRES), "0",
                "0.000000001");
        l.settle(h, usd("0.0000000004"), NOW); // rounds to 0
        assertThat(l.usage(ALICE, seed("0"), NOW).spent()).isEqualByComparingTo("0");
    }

    @Test
    void anAmountTooLargeToCountExactly_isRefusedNamingIt() {
        BudgetLedger l = replica();
        assertThatThrownBy(() -> hold(l, "10000000", "1", "0"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("budget max of 10000000 USD is more than the Redis budget ledger counts exactly (at most "
                        + "9007199.254740992 USD)");
    }

}
