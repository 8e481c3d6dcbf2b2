package dev.easel.proxy.spend;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The spend contract on a real SQLite file. */
class SqliteSpendServiceTest extends SpendServiceContract {

    @Override
    SpendOptions freshOptions(Path dataDir) {
        return SpendOptions.sqlite(dataDir.resolve("data"));
    }

    @Test
    void start_createsTheFileInWalMode_underTheDataDir() throws Exception {
        SpendService s = start(options);
        assertThat(s.health().store()).isEqualTo("sqlite:" + dir.resolve("data/spend.db").toAbsolutePath());
        assertThat(s.health().reachable()).isTrue();
        try (var c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("data/spend.db"));
             ResultSet rs = c.createStatement().executeQuery("PRAGMA journal_mode")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualToIgnoringCase("wal");
        }
    }

    @Test
    void databaseUrl_jdbcSqlite_isAccepted() {
        Path file = dir.resolve("elsewhere/x.db");
        SpendService s = start(options.withDatabaseUrl(Optional.of("jdbc:sqlite:" + file)));
        s.record(row("1", "a", "m", "1", T0));
        s.flush();
        assertThat(count(s)).isEqualTo(1);
        assertThat(file).exists();
    }

    @Test
    void unwritableDatabase_rowsWaitInTheJournal_untilItIsFixed() throws Exception {
        Path blocker = dir.resolve("blocked");
        java.nio.file.Files.writeString(blocker, "a file where a directory should be");
        SpendOptions bad = options.withSqlitePath(blocker.resolve("spend.db"));
        SpendService s = start(bad);
        s.record(row("w1", "amy", "m", "0.5", T0));
        assertThat(s.health().reachable()).isFalse();
        assertThat(s.health().lastError()).isPresent();
        assertThat(s.checkBudget("amy")).isEmpty();
        assertThat(s.endUserSpend("amy")).isEqualByComparingTo("0.5");
        s.close(); // cannot write: the row stays in the journal

        java.nio.file.Files.delete(blocker);
        SpendService fixed = start(bad);
        assertThat(count(fixed)).isEqualTo(1);
    }

    /**
     * Rows the database never got: the gauges say so while it is down, and shutdown reports them in one log line
     * (how many, where they wait, the database's state).
     */
    @Test
    void undeliveredRows_areInTheMetrics_andReportedAtShutdown() throws Exception {
        Path blocker = dir.resolve("blocked");
        java.nio.file.Files.writeString(blocker, "a file where a directory should be");
        SpendService s = start(options.withSqlitePath(blocker.resolve("spend.db")));
        io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry =
                new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
                        io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
        s.bindMetrics(registry);
        for (int i = 0; i < 3; i++) {
            s.record(row("u" + i, "amy", "m", "0.5", T0));
        }
        String scrape = registry.scrape();
        assertThat(scrape).contains("easel_spend_backlog_rows 3.0", "easel_spend_lost_rows_total 0.0",
                "easel_spend_store_up 0.0", "hikaricp_connections_max{pool=\"easel-spend\"} 4.0");
        assertThat(registry.get("easel.spend.journal.bytes").gauge().value()).isPositive();

        ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(SpendService.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> seen =
                new ch.qos.logback.core.read.ListAppender<>();
        seen.start();
        log.addAppender(seen);
        try {
            s.close();
        } finally {
            log.detachAppender(seen);
        }
        assertThat(seen.list).filteredOn(e -> e.getFormattedMessage().startsWith("spend: "))
                .singleElement().satisfies(e -> {
                    assertThat(e.getLevel()).isEqualTo(ch.qos.logback.classic.Level.WARN);
                    assertThat(e.getFormattedMessage()).startsWith("spend: 3 rows not delivered to sqlite:"
                            + blocker.resolve("spend.db").toAbsolutePath() + " (database unreachable: cannot create ")
                            .contains("3 wait in the journal " + options.journalPath().toAbsolutePath() + " (")
                            .endsWith("0 rows lost in all (held only in memory, the journal not writable)");
                });
    }
}
