package dev.easel.proxy.spend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.EaselException;
import dev.easel.testkit.Await;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.math.BigDecimal;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PostgreSQL stopped for a while, then started again on the same data directory and port. */
class PostgresOutageTest {

    @TempDir
    Path dir;

    private EmbeddedPostgres pg;
    private SpendService spend;

    private EmbeddedPostgres startPostgres(int port) throws Exception {
        return EmbeddedPostgres.builder().setDataDirectory(dir.resolve("pgdata")).setCleanDataDirectory(false)
                .setPort(port).start();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (spend != null) {
            spend.close();
        }
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void databaseDown_thenBack_losesNoneAndDuplicatesNone() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        pg = startPostgres(port);
        spend = SpendService.start(SpendOptions.sqlite(dir.resolve("data"))
                .withDatabaseUrl(Optional.of("jdbc:postgresql://localhost:" + port + "/postgres?user=postgres"))
                .withFlushInterval(Duration.ofMillis(50)).withMaxQueuedRows(100).withBatchSize(40)
                .withEndUserBudgets(Map.of("alice", new BigDecimal("100"))));
        Instant t0 = Instant.parse("2026-11-01T10:00:00Z");
        for (int i = 0; i < 100; i++) {
            spend.record(SpendServiceContract.row("before-" + i, "alice", "gpt-image-1", "0.04443", t0));
        }
        spend.flush();
        assertThat(spend.health().reachable()).isTrue();

        pg.close();
        pg = null;
        for (int i = 0; i < 300; i++) { // more than the memory bound: most wait in the journal only
            spend.record(SpendServiceContract.row("during-" + i, "alice", "gpt-image-1", "0.04443", t0));
        }
        assertThatThrownBy(spend::flush).isInstanceOfSatisfying(EaselException.class, e -> {
            assertThat(e.code()).contains("spend_store_unavailable");
            assertThat(e.status()).hasValue(503);
        });
        SpendService.Health down = spend.health();
        assertThat(down.reachable()).isFalse();
        assertThat(down.lastError()).isPresent();
        assertThat(down.backlog()).isEqualTo(300);
        assertThat(down.journalBytes()).isPositive();
        assertThat(down.store()).doesNotContain("password");
        // the request path keeps working while the database is down: last known total + rows since
        assertThat(spend.checkBudget("alice")).isEmpty();
        assertThat(spend.endUserSpend("alice")).isEqualByComparingTo("17.772");

        pg = startPostgres(port);
        // the writer retries with back-off (at most 5 s)
        Await.until("the backlog written after the restart", () -> spend.health().backlog() == 0);
        assertThat(spend.health().reachable()).isTrue();
        SpendPage all = spend.logs(SpendQuery.all().withPaging(0, 1));
        assertThat(all.total()).isEqualTo(400);
        assertThat(spend.endUserInfo("alice").orElseThrow().spend()).isEqualByComparingTo("17.772");
        assertThat(spend.health().journalBytes()).isZero();
    }
}
