package dev.easel.proxy.spend;

import dev.easel.config.GeneralSettings;
import dev.easel.routing.BudgetLedger;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How to run the spend log: where rows go, how often they are written, and the end-user budgets.
 * {@link #toString()} never shows the database URL (it may hold a password).
 *
 * @param databaseUrl    PostgreSQL ({@code postgresql://user:pass@host:port/db} or {@code jdbc:postgresql://…});
 *                       empty: the SQLite file
 * @param sqlitePath     the SQLite file used without a database URL ({@code <dataDir>/spend.db})
 * @param journalPath    the local journal ({@code <dataDir>/spend.journal}); sealed segments sit beside it
 * @param flushInterval  how often queued rows are written (default {@value #DEFAULT_FLUSH_MILLIS} ms)
 * @param batchSize      rows per INSERT transaction; a full batch also wakes the writer early
 * @param maxQueuedRows  rows held in memory while waiting; beyond it they wait in the journal only
 * @param endUserBudgets {@code general_settings.end_user_budgets} as written: {@code {alice: 1.0}} or
 *                       {@code {alice: {max_budget: 1.0, budget_duration: 30d}}}
 * @param clock          time source for budget windows
 * @param budgetLedger   where requests hold their estimated cost against budgets: this process's own ledger by
 *                       default, a shared one (Redis) for a fleet of replicas
 * @param budgetHoldExpiry how long a hold lasts when it is never ended (a crashed replica's holds free themselves);
 *                       longer than any request (default {@value #DEFAULT_HOLD_EXPIRY_MINUTES} minutes)
 */
public record SpendOptions(Optional<String> databaseUrl, Path sqlitePath, Path journalPath, Duration flushInterval,
                           int batchSize, int maxQueuedRows, Map<String, Object> endUserBudgets, Clock clock,
                           BudgetLedger budgetLedger, Duration budgetHoldExpiry) {

    /** Default flush interval in milliseconds. */
    public static final long DEFAULT_FLUSH_MILLIS = 500;
    /** Default rows per batch. */
    public static final int DEFAULT_BATCH_SIZE = 500;
    /** Default rows held in memory. */
    public static final int DEFAULT_MAX_QUEUED_ROWS = 10_000;
    /** Default budget hold expiry in minutes. */
    public static final long DEFAULT_HOLD_EXPIRY_MINUTES = 15;

    /** Checks the values. */
    public SpendOptions {
        Objects.requireNonNull(databaseUrl, "databaseUrl");
        Objects.requireNonNull(sqlitePath, "sqlitePath");
        Objects.requireNonNull(journalPath, "journalPath");
        Objects.requireNonNull(flushInterval, "flushInterval");
        Objects.requireNonNull(clock, "clock");
        if (flushInterval.isNegative() || flushInterval.isZero()) {
            throw new IllegalArgumentException("flushInterval must be positive (was " + flushInterval + ")");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1 (was " + batchSize + ")");
        }
        if (maxQueuedRows < 1) {
            throw new IllegalArgumentException("maxQueuedRows must be at least 1 (was " + maxQueuedRows + ")");
        }
        endUserBudgets = Map.copyOf(Objects.requireNonNull(endUserBudgets, "endUserBudgets"));
        Objects.requireNonNull(budgetLedger, "budgetLedger");
        Objects.requireNonNull(budgetHoldExpiry, "budgetHoldExpiry");
        if (budgetHoldExpiry.isNegative() || budgetHoldExpiry.isZero()) {
            throw new IllegalArgumentException("budgetHoldExpiry must be positive (was " + budgetHoldExpiry + ")");
        }
    }

    /** SQLite at {@code <dataDir>/spend.db}, journal {@code <dataDir>/spend.journal}, no budgets. */
    public static SpendOptions sqlite(Path dataDir) {
        return new SpendOptions(Optional.empty(), dataDir.resolve("spend.db"), dataDir.resolve("spend.journal"),
                Duration.ofMillis(DEFAULT_FLUSH_MILLIS), DEFAULT_BATCH_SIZE, DEFAULT_MAX_QUEUED_ROWS, Map.of(),
                Clock.systemUTC(), BudgetLedger.inMemory(), Duration.ofMinutes(DEFAULT_HOLD_EXPIRY_MINUTES));
    }

    /** From {@code general_settings}: {@code database_url} (else SQLite under {@code dataDir}) and the budgets. */
    public static SpendOptions of(GeneralSettings general, Path dataDir) {
        return sqlite(dataDir).withDatabaseUrl(general.databaseUrl()).withEndUserBudgets(general.endUserBudgets());
    }

    /** A copy writing to PostgreSQL (or back to SQLite with an empty value). */
    public SpendOptions withDatabaseUrl(Optional<String> url) {
        return new SpendOptions(url, sqlitePath, journalPath, flushInterval, batchSize, maxQueuedRows, endUserBudgets,
                clock, budgetLedger, budgetHoldExpiry);
    }

    /** A copy with another SQLite file. */
    public SpendOptions withSqlitePath(Path path) {
        return new SpendOptions(databaseUrl, path, journalPath, flushInterval, batchSize, maxQueuedRows,
                endUserBudgets, clock, budgetLedger, budgetHoldExpiry);
    }

    /** A copy with another journal file. */
    public SpendOptions withJournalPath(Path path) {
        return new SpendOptions(databaseUrl, sqlitePath, path, flushInterval, batchSize, maxQueuedRows,
                endUserBudgets, clock, budgetLedger, budgetHoldExpiry);
    }

    /** A copy with another flush interval. */
    public SpendOptions withFlushInterval(Duration interval) {
        return new SpendOptions(databaseUrl, sqlitePath, journalPath, interval, batchSize, maxQueuedRows,
                endUserBudgets, clock, budgetLedger, budgetHoldExpiry);
    }

    /** A copy with another batch size. */
    public SpendOptions withBatchSize(int size) {
        return new SpendOptions(databaseUrl, sqlitePath, journalPath, flushInterval, size, maxQueuedRows,
                endUserBudgets, clock, budgetLedger, budgetHoldExpiry);
    }

    /** A copy with another memory bound. */
    public SpendOptions withMaxQueuedRows(int rows) {
        return new SpendOptions(databaseUrl, sqlitePath, journalPath, flushInterval, batchSize, rows, endUserBudgets,
                clock, budgetLedger, budgetHoldExpiry);
    }

    /** A copy with other budgets (same shape as {@code general_settings.end_user_budgets}). */
    public SpendOptions withEndUserBudgets(Map<String, Object> budgets) {
        return new SpendOptions(databaseUrl, sqlitePath, journalPath, flushInterval, batchSize, maxQueuedRows, budgets,
                clock, budgetLedger, budgetHoldExpiry);
    }

    /** A copy with another clock. */
    public SpendOptions withClock(Clock newClock) {
        return new SpendOptions(databaseUrl, sqlitePath, journalPath, flushInterval, batchSize, maxQueuedRows,
                endUserBudgets, newClock, budgetLedger,
                budgetHoldExpiry);
    }

    /** A copy holding budgets in {@code ledger} (a shared one for a fleet of replicas). */
    public SpendOptions withBudgetLedger(BudgetLedger ledger) {
        return new SpendOptions(databaseUrl, sqlitePath, journalPath, flushInterval, batchSize, maxQueuedRows,
                endUserBudgets, clock, ledger, budgetHoldExpiry);
    }

    /** A copy whose budget holds last {@code expiry} when never ended. */
    public SpendOptions withBudgetHoldExpiry(Duration expiry) {
        return new SpendOptions(databaseUrl, sqlitePath, journalPath, flushInterval, batchSize, maxQueuedRows,
                endUserBudgets, clock, budgetLedger, expiry);
    }

    @Override
    public String toString() {
        return "SpendOptions[databaseUrl=" + databaseUrl.map(u -> "****") + ", sqlitePath=" + sqlitePath
                + ", journalPath=" + journalPath + ", flushInterval=" + flushInterval + ", batchSize=" + batchSize
                + ", maxQueuedRows=" + maxQueuedRows + ", endUserBudgets=" + endUserBudgets.keySet() + ", budgetLedger="
                + budgetLedger.getClass().getSimpleName() + ", budgetHoldExpiry=" + budgetHoldExpiry + "]";
    }
}
