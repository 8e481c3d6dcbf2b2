package dev.easel.proxy.spend;

import static org.assertj.core.api.Assertions.assertThat;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every query the spend API and the budgets run, EXPLAINed on a real PostgreSQL holding 30,000 rows (ANALYZEd):
 * none reads {@code easel_spend_logs} sequentially, and a page is read in index order, deep cursor pages included
 * (a sort only of a small index range, see {@link #MAX_SORTED_ROWS}). The statements are the store's own ({@code SpendStore#pageSql} and friends), not copies.
 */
class PostgresQueryPlanTest {

    private static final int ROWS = 30_000;
    /**
     * A page may be sorted only when its index range is small: for an end user's few dozen rows the planner rightly
     * prefers a bitmap read of the range and a sort of those rows to an ordered index walk.
     */
    private static final long MAX_SORTED_ROWS = 1_000;
    private static final Instant T0 = Instant.parse("2026-10-01T00:00:00Z");

    @TempDir
    static Path dir;

    private static EmbeddedPostgres pg;
    private static SpendService spend;

    @BeforeAll
    static void load() throws Exception {
        pg = EmbeddedPostgres.builder().start();
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE plans");
        }
        spend = SpendService.start(SpendOptions.sqlite(dir).withFlushInterval(Duration.ofHours(1)).withBatchSize(1000)
                .withDatabaseUrl(Optional.of("postgresql://postgres@localhost:" + pg.getPort() + "/plans")));
        for (int i = 0; i < ROWS; i++) {
            // 300 end users, 6 model groups, 20 deployments, 2 % failures, 30 days
            spend.record(SpendServiceContract.row("req-" + i, "user-" + (i % 300), "model-" + (i % 6), "0.04443",
                    T0.plusSeconds(86L * i)).toBuilder().deploymentId("dep-" + (i % 20))
                    .status(i % 50 == 0 ? "failure" : "success").clientRequestId("client-" + i).build());
        }
        spend.flush();
        spend.store().with(c -> {
            try (Statement s = c.createStatement()) {
                s.execute("ANALYZE");
            }
            return null;
        });
    }

    @AfterAll
    static void stop() throws Exception {
        if (spend != null) {
            spend.close();
        }
        if (pg != null) {
            pg.close();
        }
    }

    /** The statements, by what they answer. */
    private static Map<String, SpendStore.Sql> queries() {
        SpendStore store = spend.store();
        Instant mid = T0.plus(Duration.ofDays(15)).plusSeconds(4321);
        SpendCursor deep = new SpendCursor(T0.plus(Duration.ofDays(2)), "req-2000");
        Map<String, SpendStore.Sql> q = new LinkedHashMap<>();
        q.put("first page", store.pageSql(SpendQuery.all()));
        q.put("deep cursor page", store.pageSql(SpendQuery.all().withCursor(deep, 50)));
        q.put("time range page", store.pageSql(SpendQuery.all().withRange(Optional.of(mid),
                Optional.of(mid.plus(Duration.ofHours(5))))));
        q.put("end user page", store.pageSql(SpendQuery.all().withEndUser("user-7")));
        q.put("end user cursor page", store.pageSql(SpendQuery.all().withEndUser("user-7").withCursor(deep, 50)));
        q.put("end user + range page", store.pageSql(SpendQuery.all().withEndUser("user-7")
                .withRange(Optional.of(mid), Optional.empty())));
        q.put("model group cursor page", store.pageSql(SpendQuery.all().withModel("model-2").withCursor(deep, 50)));
        q.put("deployment cursor page", store.pageSql(SpendQuery.all().withDeploymentId("dep-3")
                .withCursor(deep, 50)));
        q.put("failures page", store.pageSql(SpendQuery.all().withStatus("failure")));
        q.put("failures cursor page", store.pageSql(SpendQuery.all().withStatus("failure").withCursor(deep, 50)));
        q.put("request id", store.pageSql(SpendQuery.all().withRequestId("req-123")));
        q.put("client request id", store.pageSql(SpendQuery.all().withClientRequestId("client-123")));
        q.put("count: end user + model", store.countSql(SpendQuery.all().withEndUser("user-7").withModel("model-1")));
        q.put("count: end user + arbitrary range", store.countSql(SpendQuery.all().withEndUser("user-7")
                .withRange(Optional.of(mid), Optional.empty())));
        q.put("count: failures of a deployment in an arbitrary range", store.countSql(SpendQuery.all()
                .withStatus("failure").withDeploymentId("dep-3").withRange(Optional.of(mid), Optional.empty())));
        q.put("count: client request id", store.countSql(SpendQuery.all().withClientRequestId("client-9")));
        q.put("count: from counters", store.counterCountSql(SpendQuery.all().withModel("model-1")).orElseThrow());
        q.put("budget window made from the log", store.windowSumSql(Subject.endUser("user-7"), mid, Optional.of(mid.plus(
                Duration.ofDays(1)))));
        q.put("budget window read", store.windowSql(Subject.endUser("user-7"), mid, mid.plus(Duration.ofDays(1))));
        q.put("all-time total", store.allTimeSql(Subject.endUser("user-7")));
        q.put("report by model, from counters", store.reportSql(SpendGroupBy.MODEL, Optional.empty(),
                Optional.empty()));
        q.put("report by day, whole days", store.reportSql(SpendGroupBy.DAY, Optional.of(T0.plus(Duration.ofDays(3))),
                Optional.of(T0.plus(Duration.ofDays(5)))));
        q.put("report by end user, arbitrary range", store.reportSql(SpendGroupBy.END_USER, Optional.of(mid),
                Optional.of(mid.plus(Duration.ofHours(6)))));
        return q;
    }

    @Test
    void everyApiQuery_readsAnIndex_neverTheWholeLog() throws Exception {
        List<String> bad = new ArrayList<>();
        for (Map.Entry<String, SpendStore.Sql> e : queries().entrySet()) {
            String plan = explain(e.getValue());
            if (plan.contains("Seq Scan on " + SpendStore.LOGS)) {
                bad.add(e.getKey() + ":\n" + plan);
            }
            if (e.getKey().endsWith("page") && largestSort(plan) > MAX_SORTED_ROWS) {
                bad.add(e.getKey() + " sorts a large range instead of reading in index order:\n" + plan);
            }
        }
        assertThat(bad).as("plans reading the whole log or sorting a page").isEmpty();
    }

    @Test
    void thePlansAnswerRight_onTheSameData() {
        // the plans above are only worth checking if the statements answer: spot checks on the loaded rows
        assertThat(spend.logs(SpendQuery.all().withPaging(0, 1)).total()).isEqualTo(ROWS);
        assertThat(spend.logs(SpendQuery.all().withEndUser("user-7")).total()).isEqualTo(ROWS / 300);
        assertThat(spend.logs(SpendQuery.all().withStatus("failure")).total()).isEqualTo(ROWS / 50);
        assertThat(spend.report(SpendGroupBy.MODEL, Optional.empty(), Optional.empty())).hasSize(6)
                .allSatisfy(r -> assertThat(r.spend()).isEqualByComparingTo(
                        new BigDecimal("0.04443").multiply(BigDecimal.valueOf(ROWS / 6))));
    }

    /** The largest row estimate of a Sort node in the plan, 0 without one. */
    private static long largestSort(String plan) {
        long max = 0;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("Sort {2}\\(cost=[0-9.]+ rows=(\\d+)").matcher(plan);
        while (m.find()) {
            max = Math.max(max, Long.parseLong(m.group(1)));
        }
        return max;
    }

    private static String explain(SpendStore.Sql sql) throws SQLException {
        return spend.store().with(c -> {
            StringBuilder plan = new StringBuilder();
            try (PreparedStatement ps = c.prepareStatement("EXPLAIN " + sql.text())) {
                spend.store().bind(ps, sql.args());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        plan.append(rs.getString(1)).append('\n');
                    }
                }
            }
            return plan.toString();
        });
    }
}
