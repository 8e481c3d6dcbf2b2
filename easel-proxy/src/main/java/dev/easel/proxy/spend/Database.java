package dev.easel.proxy.spend;

import java.math.BigDecimal;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import javax.sql.DataSource;

/**
 * The spend log's database, for the other stores that live beside it (keys, teams, users): its connection pool,
 * its dialect and the way it stores times and money. One schema, migrated by one Flyway history
 * ({@code db/migration/sqlite|postgresql}); {@link #ready()} brings it up to date before first use.
 */
public final class Database {

    private final SpendStore store;
    private final SqlCheck ready;

    /** Brings the schema up to date (idempotent). */
    @FunctionalInterface
    interface SqlCheck {
        void run() throws SQLException;
    }

    Database(SpendStore store, SqlCheck ready) {
        this.store = store;
        this.ready = ready;
    }

    /** Connections (pooled; close each when done). */
    public DataSource dataSource() {
        return store.pool();
    }

    /** True for SQLite (the embedded default), false for PostgreSQL. */
    public boolean sqlite() {
        return store.target().dialect() == DatabaseTarget.Dialect.SQLITE;
    }

    /** Where it is, without a password (for logs and errors). */
    public String display() {
        return store.target().display();
    }

    /**
     * Migrates the schema if this process has not yet.
     *
     * @throws SQLException when the database cannot be reached or migrated
     */
    public void ready() throws SQLException {
        ready.run();
    }

    /** Binds a time: ISO-8601 text with microseconds on SQLite, {@code timestamptz} on PostgreSQL. */
    public void setTime(PreparedStatement ps, int i, Instant t) throws SQLException {
        store.setTime(ps, i, t);
    }

    /** Reads a time written by {@link #setTime}. */
    public Instant time(ResultSet rs, int i) throws SQLException {
        return store.time(rs, i);
    }

    /** Binds an amount of money (null: SQL NULL): exact decimal text on SQLite, {@code numeric} on PostgreSQL. */
    public void setMoney(PreparedStatement ps, int i, BigDecimal v) throws SQLException {
        store.setMoney(ps, i, v);
    }

    /** Reads an amount written by {@link #setMoney}; null for SQL NULL. */
    public BigDecimal money(ResultSet rs, int i) throws SQLException {
        return store.nullableMoney(rs, i);
    }
}
