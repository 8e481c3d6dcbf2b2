package dev.easel.proxy.spend;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * The SQLite connections the pool is made of: WAL, a busy timeout, {@code synchronous=NORMAL}, IMMEDIATE
 * transactions (a transaction takes the write lock when it begins, so a read-then-write transaction never fails
 * on a snapshot another writer moved) and Easel's exact decimal functions registered on each new connection,
 * before the pool (or Flyway) sees it.
 */
final class SqliteConnections implements DataSource {

    static final int BUSY_TIMEOUT_MILLIS = 10_000;

    private final SQLiteDataSource sqlite;

    SqliteConnections(String jdbcUrl) {
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setBusyTimeout(BUSY_TIMEOUT_MILLIS);
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
        this.sqlite = new SQLiteDataSource(config);
        this.sqlite.setUrl(jdbcUrl);
    }

    @Override
    public Connection getConnection() throws SQLException {
        Connection c = sqlite.getConnection();
        try {
            SqliteDecimalSum.register(c);
            SqliteDecimalAdd.register(c);
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return getConnection(); // a file: no credentials
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        return sqlite.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        sqlite.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        sqlite.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        return sqlite.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        return sqlite.getParentLogger();
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        if (iface.isInstance(this)) {
            return iface.cast(this);
        }
        return sqlite.unwrap(iface);
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) throws SQLException {
        return iface.isInstance(this) || sqlite.isWrapperFor(iface);
    }
}
