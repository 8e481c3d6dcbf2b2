package dev.easel.proxy.spend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.testkit.Await;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.math.BigDecimal;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three writers (replicas, each with its own journal) on one real PostgreSQL, many threads recording at once, some
 * request ids recorded by two replicas (a replay): the log holds each request once and every counter equals the sum
 * of the log, through a 20-second outage of the database too.
 */
class PostgresReplicasTest {

    private static final int REPLICAS = 3;
    private static final int THREADS_PER_REPLICA = 4;
    private static final int ROWS_PER_THREAD = 150;
    private static final Duration OUTAGE = Duration.ofSeconds(20);
    private static final Instant T0 = Instant.parse("2026-11-01T22:00:00Z");

    @TempDir
    Path dir;

    private EmbeddedPostgres pg;
    private final List<SpendService> replicas = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        replicas.forEach(SpendService::close);
        if (pg != null) {
            pg.close();
        }
    }

    private EmbeddedPostgres startPostgres(int port) throws Exception {
        return EmbeddedPostgres.builder().setDataDirectory(dir.resolve("pgdata")).setCleanDataDirectory(false)
                .setPort(port).start();
    }

    private static SpendRecord row(String id, int n) {
        // start times cross a UTC midnight, so day counters of two days are written
        return SpendServiceContract.row(id, "user-" + (n % 7), "model-" + (n % 3), "0.0" + (n % 9) + "1",
                T0.plusSeconds(31L * n)).toBuilder().deploymentId("dep-" + (n % 5)).build();
    }

    /** Records rows from many threads on every replica; the second half of each thread's ids is recorded twice. */
    private void recordConcurrently(String phase, Map<String, SpendRecord> distinct) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int r = 0; r < REPLICAS; r++) {
            for (int t = 0; t < THREADS_PER_REPLICA; t++) {
                SpendService mine = replicas.get(r);
                SpendService other = replicas.get((r + 1) % REPLICAS);
                String prefix = phase + "-" + r + "-" + t + "-";
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < ROWS_PER_THREAD; i++) {
                            SpendRecord row = row(prefix + i, i);
                            distinct.put(row.requestId(), row);
                            mine.record(row);
                            if (i % 2 == 1) {
                                other.record(row); // the same request id from a second replica
                            }
                        }
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                }));
            }
        }
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertThat(failure.get()).isNull();
    }

    private void awaitDelivered() {
        Await.until("every replica's backlog written", Duration.ofSeconds(90),
                () -> replicas.stream().allMatch(s -> s.health().backlog() == 0));
    }

    /** Counters and the log as the database has them, compared with the distinct rows recorded. */
    private void assertExact(Map<String, SpendRecord> distinct) throws Exception {
        SpendStore store = replicas.getFirst().store();
        long rows = store.with(c -> {
            try (ResultSet rs = c.createStatement().executeQuery("SELECT COUNT(*), COUNT(DISTINCT request_id) FROM "
                    + SpendStore.LOGS)) {
                rs.next();
                assertThat(rs.getLong(2)).isEqualTo(rs.getLong(1));
                return rs.getLong(1);
            }
        });
        assertThat(rows).isEqualTo(distinct.size());
        // the counters from scratch over the distinct requests, and as the log's own GROUP BY sums them
        assertThat(SpendServiceContract.plain(store.counters()))
                .isEqualTo(SpendServiceContract.plain(SpendServiceContract.expectedCounters(distinct.values())));
        Map<List<String>, SpendStore.Totals> fromLog = store.with(c -> {
            Map<List<String>, SpendStore.Totals> out = new LinkedHashMap<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT end_user, COALESCE(SUM(spend), 0), COUNT(*) FROM "
                    + SpendStore.LOGS + " GROUP BY end_user ORDER BY end_user");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(List.of(SpendStore.DIM_END_USER, SpendStore.ALL, rs.getString(1)),
                            new SpendStore.Totals(rs.getBigDecimal(2), rs.getLong(3)));
                }
            }
            return out;
        });
        Map<List<String>, SpendStore.Totals> endUserCounters = new LinkedHashMap<>();
        store.counters().forEach((k, v) -> {
            if (k.get(0).equals(SpendStore.DIM_END_USER) && k.get(1).equals(SpendStore.ALL)) {
                endUserCounters.put(k, v);
            }
        });
        assertThat(SpendServiceContract.plain(endUserCounters)).isEqualTo(SpendServiceContract.plain(fromLog));
        // and every replica answers the same budget reads
        for (SpendService s : replicas) {
            EndUserInfo info = s.endUserInfo("user-3").orElseThrow();
            SpendStore.Totals expected = fromLog.get(List.of(SpendStore.DIM_END_USER, SpendStore.ALL, "user-3"));
            assertThat(info.totalSpend()).isEqualByComparingTo(expected.spend());
            assertThat(info.totalRequests()).isEqualTo(expected.requests());
            assertThat(info.spend()).isEqualByComparingTo(expected.spend()); // 30-day window holding every row
        }
    }

    @Test
    void threeReplicas_concurrentAndReplayed_thenAnOutage_loseNoneAndCountNoneTwice() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        pg = startPostgres(port);
        String url = "jdbc:postgresql://localhost:" + port + "/postgres?user=postgres";
        for (int r = 0; r < REPLICAS; r++) {
            replicas.add(SpendService.start(SpendOptions.sqlite(dir.resolve("replica-" + r))
                    .withDatabaseUrl(Optional.of(url)).withFlushInterval(Duration.ofMillis(20)).withBatchSize(25)
                    .withMaxQueuedRows(200).withClock(Clock.fixed(T0.minus(Duration.ofHours(1)), ZoneOffset.UTC))
                    .withEndUserBudgets(Map.of("user-3", Map.of("max_budget", 1000, "budget_duration", "30d")))));
        }
        Map<String, SpendRecord> distinct = new ConcurrentHashMap<>();
        recordConcurrently("up", distinct);
        awaitDelivered();
        assertExact(distinct);

        pg.close();
        pg = null;
        long down = System.nanoTime();
        recordConcurrently("down", distinct);
        // the outage lasts while every replica keeps failing to write; the rows wait in the journals
        Await.until("a 20 s outage seen by every replica", OUTAGE.plusSeconds(30),
                () -> System.nanoTime() - down >= OUTAGE.toNanos()
                        && replicas.stream().allMatch(s -> !s.health().reachable() && s.health().backlog() > 0));
        for (SpendService s : replicas) {
            assertThat(s.health().journalBytes()).isPositive();
        }
        pg = startPostgres(port);
        awaitDelivered();
        assertExact(distinct);
        assertThat(distinct).hasSize(2 * REPLICAS * THREADS_PER_REPLICA * ROWS_PER_THREAD);
        assertThat(replicas).allSatisfy(s -> assertThat(s.health().lostRows()).isZero());
        BigDecimal total = distinct.values().stream().map(SpendRecord::spend).reduce(BigDecimal.ZERO,
                BigDecimal::add);
        assertThat(replicas.get(2).report(SpendGroupBy.DAY, Optional.empty(), Optional.empty()).stream()
                .map(SpendReportRow::spend).reduce(BigDecimal.ZERO, BigDecimal::add)).isEqualByComparingTo(total);
    }
}
