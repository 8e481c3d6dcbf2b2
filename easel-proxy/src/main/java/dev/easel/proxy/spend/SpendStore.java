package dev.easel.proxy.spend;

import dev.easel.proxy.spend.DatabaseTarget.Dialect;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import org.flywaydb.core.Flyway;

/**
 * JDBC access to the spend tables, for SQLite and PostgreSQL. The dialects differ in three places only: how a
 * time is stored (TIMESTAMPTZ vs fixed-width ISO text), how money is stored (NUMERIC vs decimal text) and how
 * it is summed exactly (SUM vs the {@code easel_decimal_sum} aggregate registered on each SQLite connection).
 */
final class SpendStore implements AutoCloseable {

    static final String LOGS = "easel_spend_logs";
    static final String END_USERS = "easel_end_users";

    private static final DateTimeFormatter SQLITE_TIME = DateTimeFormatter
            .ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);
    private static final String COLUMNS = "request_id, start_time, end_time, model_group, deployment_id, provider, "
            + "model, api_base, end_user, key_hash, status, http_status, error_type, error_code, spend, "
            + "prompt_tokens, completion_tokens, total_tokens, input_text_tokens, input_image_tokens, "
            + "output_image_tokens, output_text_tokens, images_in, images_out, bytes_in, bytes_out, latency_ms, "
            + "upstream_ms, attempts, fallback_used, client_request_id";
    private static final String INSERT = "INSERT INTO " + LOGS + " (" + COLUMNS + ") VALUES ("
            + "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            + " ON CONFLICT (request_id) DO NOTHING";

    private final DatabaseTarget target;
    private final BlockingQueue<Connection> idle = new ArrayBlockingQueue<>(4);

    /** Sums of one end user's rows. */
    record Totals(BigDecimal spend, long requests) {
    }

    @FunctionalInterface
    interface SqlWork<T> {
        T run(Connection c) throws SQLException;
    }

    SpendStore(DatabaseTarget target) {
        this.target = target;
    }

    DatabaseTarget target() {
        return target;
    }

    /** A new connection in auto-commit mode (SQLite: WAL, a busy timeout and the decimal sum registered). */
    Connection connect() throws SQLException {
        Properties p = new Properties();
        if (target.user() != null) {
            p.setProperty("user", target.user());
        }
        if (target.password() != null) {
            p.setProperty("password", target.password());
        }
        if (target.dialect() == Dialect.POSTGRESQL) {
            p.setProperty("connectTimeout", "5");
            p.setProperty("socketTimeout", "30");
        }
        Connection c = DriverManager.getConnection(target.jdbcUrl(), p);
        try {
            if (target.dialect() == Dialect.SQLITE) {
                try (Statement s = c.createStatement()) {
                    s.execute("PRAGMA journal_mode=WAL");
                    s.execute("PRAGMA busy_timeout=10000");
                    s.execute("PRAGMA synchronous=NORMAL");
                }
                SqliteDecimalSum.register(c);
            }
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** Creates the SQLite file's directory and brings the schema up to date with Flyway. */
    void migrate() throws SQLException {
        if (target.dialect() == Dialect.SQLITE && target.jdbcUrl().startsWith("jdbc:sqlite:")) {
            Path file = Path.of(target.jdbcUrl().substring("jdbc:sqlite:".length()));
            if (file.getParent() != null) {
                try {
                    Files.createDirectories(file.getParent());
                } catch (IOException e) {
                    throw new SQLException("cannot create " + file.getParent() + ": " + e.getMessage(), e);
                }
            }
        }
        try {
            Flyway.configure(SpendStore.class.getClassLoader())
                    .dataSource(target.jdbcUrl(), target.user(), target.password())
                    .locations("classpath:db/migration/" + (target.dialect() == Dialect.SQLITE ? "sqlite"
                            : "postgresql"))
                    .table("easel_schema_history")
                    .load()
                    .migrate();
        } catch (RuntimeException e) {
            throw new SQLException("schema migration failed: " + rootMessage(e), e);
        }
    }

    static String rootMessage(Throwable e) {
        if (e instanceof SQLException && e.getMessage() != null) {
            return e.getMessage();
        }
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /** Inserts rows, skipping request ids already there; the caller commits. Returns, per row, whether it was new. */
    boolean[] insert(Connection c, List<SpendRecord> rows) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(INSERT)) {
            for (SpendRecord r : rows) {
                int i = 0;
                ps.setString(++i, r.requestId());
                setTime(ps, ++i, r.startTime());
                setTime(ps, ++i, r.endTime());
                ps.setString(++i, r.modelGroup());
                ps.setString(++i, r.deploymentId());
                ps.setString(++i, r.provider());
                ps.setString(++i, r.model());
                ps.setString(++i, r.apiBase());
                ps.setString(++i, r.endUser());
                ps.setString(++i, r.keyHash());
                ps.setString(++i, r.status());
                ps.setInt(++i, r.httpStatus());
                ps.setString(++i, r.errorType());
                ps.setString(++i, r.errorCode());
                setMoney(ps, ++i, r.spend());
                ps.setLong(++i, r.promptTokens());
                ps.setLong(++i, r.completionTokens());
                ps.setLong(++i, r.totalTokens());
                ps.setLong(++i, r.inputTextTokens());
                ps.setLong(++i, r.inputImageTokens());
                ps.setLong(++i, r.outputImageTokens());
                ps.setLong(++i, r.outputTextTokens());
                ps.setInt(++i, r.imagesIn());
                ps.setInt(++i, r.imagesOut());
                ps.setLong(++i, r.bytesIn());
                ps.setLong(++i, r.bytesOut());
                ps.setLong(++i, r.latencyMs());
                ps.setLong(++i, r.upstreamMs());
                ps.setInt(++i, r.attempts());
                ps.setBoolean(++i, r.fallbackUsed());
                ps.setString(++i, r.clientRequestId());
                ps.addBatch();
            }
            int[] counts = ps.executeBatch();
            boolean[] inserted = new boolean[rows.size()];
            for (int i = 0; i < counts.length && i < inserted.length; i++) {
                inserted[i] = counts[i] > 0 || counts[i] == Statement.SUCCESS_NO_INFO;
            }
            return inserted;
        }
    }

    /**
     * Runs work on a pooled connection (auto-commit); a connection that failed is not reused. When a pooled
     * connection fails (the server restarted since), the pool is emptied and the work runs once more on a new
     * connection: the work is a query or an idempotent upsert.
     */
    <T> T with(SqlWork<T> work) throws SQLException {
        Connection c = idle.poll();
        if (c != null) {
            try {
                return run(c, work);
            } catch (SQLException e) {
                close();
            }
        }
        return run(connect(), work);
    }

    private <T> T run(Connection c, SqlWork<T> work) throws SQLException {
        boolean ok = false;
        try {
            T result = work.run(c);
            ok = true;
            return result;
        } finally {
            if (!ok || !idle.offer(c)) {
                closeQuietly(c);
            }
        }
    }

    boolean ping() {
        try {
            return with(c -> c.isValid(5));
        } catch (SQLException e) {
            return false;
        }
    }

    // ---------------------------------------------------------------- queries

    SpendPage logs(SpendQuery q) throws SQLException {
        List<Object> args = new ArrayList<>();
        String where = where(q.from(), q.to(), args)
                + filter("end_user", q.endUser(), args)
                + filter("model_group", q.model(), args)
                + filter("status", q.status(), args)
                + filter("request_id", q.requestId(), args)
                + filter("client_request_id", q.clientRequestId(), args);
        return with(c -> {
            long total;
            try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM " + LOGS + " WHERE " + where)) {
                bind(ps, args);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    total = rs.getLong(1);
                }
            }
            List<SpendRecord> rows = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM " + LOGS + " WHERE " + where
                    + " ORDER BY start_time DESC, request_id DESC LIMIT ? OFFSET ?")) {
                List<Object> all = new ArrayList<>(args);
                all.add(q.limit());
                all.add(q.offset());
                bind(ps, all);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows.add(row(rs));
                    }
                }
            }
            return new SpendPage(rows, total, q.offset(), q.limit());
        });
    }

    List<SpendReportRow> report(SpendGroupBy group, Optional<Instant> from, Optional<Instant> to)
            throws SQLException {
        String key = switch (group) {
            case MODEL -> "model_group";
            case END_USER -> "end_user";
            case DAY -> target.dialect() == Dialect.SQLITE ? "substr(start_time, 1, 10)"
                    : "to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
        };
        List<Object> args = new ArrayList<>();
        String where = where(from, to, args);
        String sql = "SELECT " + key + " AS k, " + sum() + ", COUNT(*), "
                + "SUM(CASE WHEN status = 'failure' THEN 1 ELSE 0 END), SUM(prompt_tokens), SUM(completion_tokens), "
                + "SUM(total_tokens), SUM(images_out) FROM " + LOGS + " WHERE " + where + " GROUP BY " + key
                + " ORDER BY " + key;
        return with(c -> {
            List<SpendReportRow> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                bind(ps, args);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new SpendReportRow(Optional.ofNullable(rs.getString(1)), money(rs, 2),
                                rs.getLong(3), rs.getLong(4), rs.getLong(5), rs.getLong(6), rs.getLong(7),
                                rs.getLong(8)));
                    }
                }
            }
            return out;
        });
    }

    /** Spend and request count of one end user since {@code from}. */
    Totals totals(String endUser, Instant from) throws SQLException {
        List<Object> args = new ArrayList<>();
        String where = where(Optional.of(from), Optional.empty(), args) + filter("end_user", Optional.of(endUser), args);
        return with(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + sum() + ", COUNT(*) FROM " + LOGS + " WHERE "
                    + where)) {
                bind(ps, args);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return new Totals(money(rs, 1), rs.getLong(2));
                }
            }
        });
    }

    Map<String, Budget> budgets() throws SQLException {
        return with(c -> {
            Map<String, Budget> out = new LinkedHashMap<>();
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT end_user_id, max_budget, budget_duration, budget_anchor FROM "
                         + END_USERS + " ORDER BY end_user_id")) {
                while (rs.next()) {
                    String duration = rs.getString(3);
                    out.put(rs.getString(1), new Budget(rs.getString(1), nullableMoney(rs, 2),
                            duration == null ? null : BudgetDuration.parse(duration), time(rs, 4)));
                }
            }
            return out;
        });
    }

    /** Inserts or replaces an end user's budget. */
    void upsert(Budget b, Instant now) throws SQLException {
        with(c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + END_USERS
                    + " (end_user_id, max_budget, budget_duration, budget_anchor, created_at, updated_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (end_user_id) DO UPDATE SET"
                    + " max_budget = excluded.max_budget, budget_duration = excluded.budget_duration,"
                    + " budget_anchor = excluded.budget_anchor, updated_at = excluded.updated_at")) {
                ps.setString(1, b.endUser());
                setMoney(ps, 2, b.maxBudget());
                ps.setString(3, b.duration() == null ? null : b.duration().text());
                setTime(ps, 4, b.anchor());
                setTime(ps, 5, now);
                setTime(ps, 6, now);
                ps.executeUpdate();
            }
            return null;
        });
    }

    // ---------------------------------------------------------------- dialect details

    private String sum() {
        return target.dialect() == Dialect.SQLITE ? "easel_decimal_sum(spend)" : "COALESCE(SUM(spend), 0)";
    }

    private String where(Optional<Instant> from, Optional<Instant> to, List<Object> args) {
        StringBuilder sb = new StringBuilder("1 = 1");
        from.ifPresent(t -> {
            sb.append(" AND start_time >= ?");
            args.add(t);
        });
        to.ifPresent(t -> {
            sb.append(" AND start_time < ?");
            args.add(t);
        });
        return sb.toString();
    }

    private static String filter(String column, Optional<String> value, List<Object> args) {
        if (value.isEmpty()) {
            return "";
        }
        args.add(value.get());
        return " AND " + column + " = ?";
    }

    private void bind(PreparedStatement ps, List<Object> args) throws SQLException {
        for (int i = 0; i < args.size(); i++) {
            Object a = args.get(i);
            switch (a) {
                case Instant t -> setTime(ps, i + 1, t);
                case String s -> ps.setString(i + 1, s);
                case Integer n -> ps.setInt(i + 1, n);
                case Long n -> ps.setLong(i + 1, n);
                default -> throw new IllegalArgumentException("cannot bind " + a.getClass());
            }
        }
    }

    private void setTime(PreparedStatement ps, int i, Instant t) throws SQLException {
        if (target.dialect() == Dialect.SQLITE) {
            ps.setString(i, SQLITE_TIME.format(t));
        } else {
            ps.setObject(i, OffsetDateTime.ofInstant(t, ZoneOffset.UTC));
        }
    }

    private Instant time(ResultSet rs, int i) throws SQLException {
        if (target.dialect() == Dialect.SQLITE) {
            return Instant.parse(rs.getString(i));
        }
        return rs.getObject(i, OffsetDateTime.class).toInstant();
    }

    private void setMoney(PreparedStatement ps, int i, BigDecimal v) throws SQLException {
        if (v == null) {
            ps.setNull(i, target.dialect() == Dialect.SQLITE ? Types.VARCHAR : Types.NUMERIC);
        } else if (target.dialect() == Dialect.SQLITE) {
            ps.setString(i, v.toPlainString());
        } else {
            ps.setBigDecimal(i, v);
        }
    }

    private BigDecimal nullableMoney(ResultSet rs, int i) throws SQLException {
        if (target.dialect() == Dialect.SQLITE) {
            String s = rs.getString(i);
            return s == null ? null : new BigDecimal(s);
        }
        return rs.getBigDecimal(i);
    }

    private BigDecimal money(ResultSet rs, int i) throws SQLException {
        BigDecimal v = nullableMoney(rs, i);
        return v == null ? BigDecimal.ZERO : v;
    }

    private SpendRecord row(ResultSet rs) throws SQLException {
        return new SpendRecord(rs.getString("request_id"), time(rs, 2), time(rs, 3), rs.getString("model_group"),
                rs.getString("deployment_id"), rs.getString("provider"), rs.getString("model"),
                rs.getString("api_base"), rs.getString("end_user"), rs.getString("key_hash"), rs.getString("status"),
                rs.getInt("http_status"), rs.getString("error_type"), rs.getString("error_code"),
                nullableMoney(rs, 15), rs.getLong("prompt_tokens"), rs.getLong("completion_tokens"),
                rs.getLong("total_tokens"), rs.getLong("input_text_tokens"), rs.getLong("input_image_tokens"),
                rs.getLong("output_image_tokens"), rs.getLong("output_text_tokens"), rs.getInt("images_in"),
                rs.getInt("images_out"), rs.getLong("bytes_in"), rs.getLong("bytes_out"), rs.getLong("latency_ms"),
                rs.getLong("upstream_ms"), rs.getInt("attempts"), rs.getBoolean("fallback_used"),
                rs.getString("client_request_id"));
    }

    static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing a broken connection; nothing to do
            }
        }
    }

    @Override
    public void close() {
        Connection c;
        while ((c = idle.poll()) != null) {
            closeQuietly(c);
        }
    }
}
