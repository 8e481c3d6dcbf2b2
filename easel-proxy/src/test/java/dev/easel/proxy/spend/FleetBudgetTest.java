package dev.easel.proxy.spend;

import dev.easel.config.RedisBudgetPolicy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.redis.budget.RedisBudgetLedger;
import dev.easel.routing.BudgetLedger;
import dev.easel.routing.LedgerUnavailableException;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.math.BigDecimal;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.embedded.RedisServer;

/**
 * Two spend services standing for two replicas, on one real PostgreSQL and one real Redis, each with its own
 * journal and its own Redis connection: one end-user budget holds for both.
 */
class FleetBudgetTest {

    private static EmbeddedPostgres pg;
    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static int redisPort;
    private static RedisServer redis;
    private static RedisClient client;

    @TempDir
    Path dir;

    private final List<SpendService> replicas = new ArrayList<>();
    private final List<StatefulRedisConnection<String, String>> connections = new ArrayList<>();

    @BeforeAll
    static void startServers() throws Exception {
        pg = EmbeddedPostgres.builder().start();
        try (ServerSocket s = new ServerSocket(0)) {
            redisPort = s.getLocalPort();
        }
        startRedis();
        client = RedisClient.create(RedisURI.builder().withHost("127.0.0.1").withPort(redisPort)
                .withTimeout(Duration.ofSeconds(2)).build());
        // fail fast while Redis is down, as the proxy's connection should
        client.setOptions(ClientOptions.builder()
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(2))).build());
    }

    /** (Re)starts Redis on its port, empty: no snapshot is kept. */
    private static void startRedis() throws Exception {
        redis = RedisServer.newRedisServer().bind("127.0.0.1").port(redisPort).setting("save \"\"")
                .setting("appendonly no").build();
        redis.start();
    }

    @AfterAll
    static void stopServers() throws Exception {
        if (client != null) {
            client.shutdown();
        }
        if (redis != null && redis.isActive()) {
            redis.stop();
        }
        if (pg != null) {
            pg.close();
        }
    }

    @AfterEach
    void closeReplicas() {
        replicas.forEach(SpendService::close);
        connections.forEach(StatefulRedisConnection::close);
    }

    private String freshDatabase() throws Exception {
        String db = "fleet_" + DATABASES.incrementAndGet();
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + db);
        }
        return "postgresql://postgres:secret@localhost:" + pg.getPort() + "/" + db;
    }

    /**
     * A replica: its own journal, its own Redis connection. The flush interval is an hour, so neither replica's
     * spend log ever sees the other's rows during the test: only the shared ledger can keep the budget.
     */
    private SpendService replica(String databaseUrl, String name, BudgetLedger ledger) {
        SpendService s = SpendService.start(SpendOptions.sqlite(dir.resolve(name))
                .withJournalPath(dir.resolve(name + ".journal")).withDatabaseUrl(Optional.of(databaseUrl))
                .withFlushInterval(Duration.ofHours(1)).withEndUserBudgets(Map.of("alice", "0.05"))
                .withBudgetLedger(ledger));
        replicas.add(s);
        return s;
    }

    private SpendService redisReplica(String databaseUrl, String name, RedisBudgetPolicy policy) {
        StatefulRedisConnection<String, String> c = client.connect();
        connections.add(c);
        return replica(databaseUrl, name, new RedisBudgetLedger(c::sync, policy));
    }

    @Test
    void twentyConcurrentRequestsOnTwoReplicas_spendNoMoreThanTheBudgetPlusOneRequest() throws Exception {
        String db = freshDatabase();
        redis(c -> c.flushall());
        List<SpendService> two = List.of(redisReplica(db, "a", RedisBudgetPolicy.REFUSE),
                redisReplica(db, "b", RedisBudgetPolicy.REFUSE));
        BigDecimal estimate = new BigDecimal("0.016");
        int threads = 20;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        AtomicInteger ids = new AtomicInteger();
        try {
            List<Future<Integer>> all = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                SpendService s = two.get(i % 2);
                all.add(pool.submit(() -> {
                    go.await();
                    int passed = 0;
                    // each thread keeps asking until refused: settled costs below the estimate free budget again
                    for (int n = 0; n < 10; n++) {
                        String id = "req-" + ids.incrementAndGet();
                        boolean[] refused = {false};
                        try (SpendService.BudgetHold h = s.holdBudget("alice", id, estimate, r -> refused[0] = true)) {
                            if (refused[0]) {
                                break;
                            }
                            // the actual cost, at most the estimate (n images at their price): 0.010 to 0.016
                            BigDecimal cost = new BigDecimal("0.010").add(new BigDecimal("0.002")
                                    .multiply(BigDecimal.valueOf(id.hashCode() & 3)));
                            s.record(SpendRecord.builder().requestId(id).startTime(java.time.Instant.now())
                                    .endTime(java.time.Instant.now()).status(SpendRecord.SUCCESS).endUser("alice")
                                    .spend(cost).build());
                            passed++;
                        } // closed after its row is recorded, as the proxy does: the row's cost settles the hold
                    }
                    return passed;
                }));
            }
            go.countDown();
            int passed = 0;
            for (Future<Integer> f : all) {
                passed += f.get(60, TimeUnit.SECONDS);
            }
            assertThat(passed).isPositive();
        } finally {
            pool.shutdownNow();
        }
        two.forEach(SpendService::flush);

        BigDecimal total = two.getFirst().endUserSpend("alice");
        assertThat(total).as("fleet spend").isLessThanOrEqualTo(new BigDecimal("0.05").add(estimate));
        // the budget was used up, not merely untouched: less than one request's cost is left
        assertThat(total).isGreaterThan(new BigDecimal("0.05").subtract(estimate));
        assertThat(two.get(1).endUserSpend("alice")).isEqualByComparingTo(total);
        assertThat(two.getFirst().heldBudget("alice")).isEqualByComparingTo("0");
    }

    @Test
    void aBudgetLargerThanRedisCountsExactly_isRefusedWhereItIsDefined_notAtRequestTime() throws Exception {
        String db = freshDatabase();
        StatefulRedisConnection<String, String> c = client.connect();
        connections.add(c);
        RedisBudgetLedger ledger = new RedisBudgetLedger(c::sync, RedisBudgetPolicy.REFUSE);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SpendService.start(SpendOptions.sqlite(dir.resolve("big"))
                        .withJournalPath(dir.resolve("big.journal")).withDatabaseUrl(Optional.of(db))
                        .withEndUserBudgets(Map.of("whale", "1000000000")).withBudgetLedger(ledger)))
                .isInstanceOf(dev.easel.config.ConfigException.class)
                .hasMessage("general_settings.end_user_budgets.whale.max_budget: 1000000000 USD is more than the shared"
                        + " budget ledger (Redis) counts exactly, at most 9007199.254740992 USD; leave max_budget out"
                        + " for no budget");
        SpendService s = replica(db, "ok", ledger);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.createEndUser("whale",
                        Optional.of(new java.math.BigDecimal("1e10")), Optional.empty()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("max_budget: 10000000000 USD is");
    }

    @Test
    void redisDown_refusePolicy_refusesEndUsersWithABudgetOnly() throws Exception {
        String db = freshDatabase();
        SpendService a = redisReplica(db, "a", RedisBudgetPolicy.REFUSE);
        redis.stop();
        try {
            assertThatThrownBy(() -> a.holdBudget("alice", "r1", new BigDecimal("0.01"), r -> {
                throw new AssertionError(r.message());
            })).isInstanceOfSatisfying(LedgerUnavailableException.class, e -> {
                assertThat(e.httpStatus()).isEqualTo(503);
                assertThat(e.getMessage()).startsWith("the budget end_user:alice cannot be checked: Redis is "
                        + "unavailable");
            });
            // bob has no budget: nothing to check, nothing refused
            a.holdBudget("bob", "r2", new BigDecimal("0.01"), r -> {
                throw new AssertionError(r.message());
            }).close();
        } finally {
            startRedis();
        }
    }

    @Test
    void redisDown_localPolicy_keepsTheBudgetOnTheReplicaAlone() throws Exception {
        String db = freshDatabase();
        SpendService a = redisReplica(db, "a", RedisBudgetPolicy.LOCAL);
        redis.stop();
        try {
            SpendService.BudgetHold h = a.holdBudget("alice", "r1", new BigDecimal("0.04"), r -> {
                throw new AssertionError(r.message());
            });
            BudgetRefusal[] refused = {null};
            a.holdBudget("alice", "r2", new BigDecimal("0.02"), r -> refused[0] = r).close();
            assertThat(refused[0]).isNotNull();
            assertThat(refused[0].held()).isEqualByComparingTo("0.04");
            h.close();
        } finally {
            startRedis();
        }
    }

    private static void redis(java.util.function.Consumer<io.lettuce.core.api.sync.RedisCommands<String, String>> op) {
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            op.accept(c.sync());
        }
    }
}
