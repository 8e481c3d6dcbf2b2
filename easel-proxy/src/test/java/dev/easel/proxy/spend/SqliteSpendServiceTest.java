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
}
