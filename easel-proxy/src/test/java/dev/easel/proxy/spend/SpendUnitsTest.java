package dev.easel.proxy.spend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.config.ConfigException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Parsing and the journal, without a database. */
class SpendUnitsTest {

    @TempDir
    Path dir;

    @Test
    void databaseUrl_litellmForm_keepsThePasswordOutOfTheUrl() {
        DatabaseTarget t = DatabaseTarget.parse("postgresql://easel:p%40ss+w@db.local:5433/spend?sslmode=require");
        assertThat(t.dialect()).isEqualTo(DatabaseTarget.Dialect.POSTGRESQL);
        assertThat(t.jdbcUrl()).isEqualTo("jdbc:postgresql://db.local:5433/spend?sslmode=require");
        assertThat(t.user()).isEqualTo("easel");
        assertThat(t.password()).isEqualTo("p@ss+w");
        assertThat(t.display()).isEqualTo("postgresql://easel@db.local:5433/spend");
        assertThat(DatabaseTarget.parse("jdbc:postgresql://h/db?password=x").display())
                .isEqualTo("jdbc:postgresql://h/db");
        assertThat(DatabaseTarget.parse("postgres://h/db").jdbcUrl()).isEqualTo("jdbc:postgresql://h/db");
    }

    @Test
    void databaseUrl_otherScheme_isRefusedWithoutEchoingIt() {
        assertThatThrownBy(() -> DatabaseTarget.parse("mysql://root:hunter2@h/db"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("general_settings.database_url: expected postgresql://user:password@host:port/database,"
                        + " jdbc:postgresql://… or jdbc:sqlite:path (was a URL with scheme 'mysql')");
    }

    @Test
    void budgetDuration_formsAndWindows() {
        Instant anchor = Instant.parse("2026-01-31T12:00:00Z");
        BudgetDuration d = BudgetDuration.parse("30d");
        assertThat(d.windowStart(anchor, anchor.plus(Duration.ofDays(65)))).isEqualTo(anchor.plus(Duration.ofDays(60)));
        assertThat(BudgetDuration.parse("2h").fixed()).isEqualTo(Duration.ofHours(2));
        assertThat(BudgetDuration.parse("1w").fixed()).isEqualTo(Duration.ofDays(7));
        assertThat(BudgetDuration.parse((Object) 600).fixed()).isEqualTo(Duration.ofMinutes(10));
        BudgetDuration month = BudgetDuration.parse("1mo");
        Instant mar = month.windowStart(anchor, Instant.parse("2026-03-30T00:00:00Z"));
        assertThat(mar).isEqualTo(Instant.parse("2026-02-28T12:00:00Z"));
        assertThat(month.windowEnd(mar)).isEqualTo(Instant.parse("2026-03-28T12:00:00Z"));
        assertThat(BudgetDuration.parse("soon")).isNull();
        assertThat(BudgetDuration.parse("0d")).isNull();
        assertThat(BudgetDuration.parse((Object) 1.5)).isNull();
    }

    @Test
    void budgets_config_bothShapes() {
        Instant now = Instant.parse("2026-11-01T00:00:00Z");
        Map<String, Budget> b = SpendService.parseBudgets(Map.of("alice", new BigDecimal("1.5"), "bob",
                Map.of("max_budget", 2, "budget_duration", "30d"), "carol", Map.of("budget_duration", "1h")), now);
        assertThat(b.get("alice").maxBudget()).isEqualByComparingTo("1.5");
        assertThat(b.get("alice").duration()).isNull();
        assertThat(b.get("bob").maxBudget()).isEqualByComparingTo("2");
        assertThat(b.get("bob").resetAt(now)).isEqualTo(Instant.parse("2026-12-01T00:00:00Z"));
        assertThat(b.get("carol").maxBudget()).isNull();
    }

    @Test
    void budgets_config_errorsNameThePath() {
        Instant now = Instant.EPOCH;
        assertThatThrownBy(() -> SpendService.parseBudgets(Map.of("alice", "lots"), now))
                .isInstanceOf(ConfigException.class)
                .hasMessage("general_settings.end_user_budgets.alice: expected a budget in USD, a number >= 0 "
                        + "(was 'lots')");
        assertThatThrownBy(() -> SpendService.parseBudgets(Map.of("bob", Map.of("max_budget", -1)), now))
                .hasMessage("general_settings.end_user_budgets.bob.max_budget: expected a budget in USD, a number "
                        + ">= 0 (was '-1')");
        assertThatThrownBy(() -> SpendService.parseBudgets(Map.of("bob", Map.of("budget_duration", "often")), now))
                .hasMessage("general_settings.end_user_budgets.bob.budget_duration: expected a duration like 30s, "
                        + "30m, 24h, 30d, 1w or 1mo (was 'often')");
        assertThatThrownBy(() -> SpendService.parseBudgets(Map.of("bob", Map.of("budget", 1)), now))
                .hasMessage("general_settings.end_user_budgets.bob: unknown key 'budget' (expected max_budget, "
                        + "budget_duration)");
    }

    @Test
    void journal_roundTripsRows_andSkipsACutLastLine() throws Exception {
        Path active = dir.resolve("j/spend.journal");
        SpendRecord r = SpendServiceContract.row("a", "alice", "m", "0.000000000000000001", Instant.EPOCH);
        Path sealed;
        try (Journal j = new Journal(active)) {
            j.append(SpendJson.toJson(r));
            j.append("{\"request_id\":\"b\"");
            sealed = j.seal();
            assertThat(j.seal()).isNull(); // nothing new
        }
        assertThat(sealed.getFileName().toString()).isEqualTo("spend.journal.000000000001");
        Journal.Contents c = Journal.read(sealed);
        assertThat(c.rows()).containsExactly(r);
        assertThat(c.badLines()).isEqualTo(1); // complete but not a row
        Files.writeString(sealed, SpendJson.toJson(r) + "\n{\"request_id\":\"cut");
        assertThat(Journal.read(sealed).rows()).containsExactly(r);
        assertThat(Journal.read(sealed).badLines()).isZero();
        assertThat(SpendJson.toJson(r)).contains("\"spend\":0.000000000000000001,");
    }

    @Test
    void spendRecord_rejectsBadStatus() {
        assertThatThrownBy(() -> SpendRecord.builder().requestId("x").startTime(Instant.EPOCH)
                .endTime(Instant.EPOCH).status("ok").build())
                .hasMessage("status must be 'success' or 'failure' (was 'ok')");
    }
}
