package dev.easel.proxy.spend;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;
import dev.easel.proxy.spend.DatabaseTarget.Dialect;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.flywaydb.core.Flyway;

/**
 * JDBC access to the spend tables, for SQLite and PostgreSQL, through a HikariCP pool. The dialects differ in
 * how a time is stored (TIMESTAMPTZ vs fixed-width ISO text), how money is stored (NUMERIC vs decimal text) and
 * added exactly ({@code +}/SUM vs the {@code easel_decimal_add}/{@code easel_decimal_sum} functions registered on
 * each SQLite connection), and how a budget window is guarded (an advisory lock vs SQLite's single writer).
 *
 * <p>Every batch of rows is written in one transaction together with the counters it adds to
 * ({@code easel_spend_counters}: per end user, model group, deployment and everything, all time and per UTC day)
 * and the budget windows it falls in ({@code easel_budget_windows}), only for the rows actually inserted: a row
 * whose request id is already there (a journal replay, a second replica) adds nothing.
 */
final class SpendStore implements AutoCloseable {

    static final String LOGS = "easel_spend_logs";
    static final String END_USERS = "easel_end_users";
    static final String COUNTERS = "easel_spend_counters";
    static final String WINDOWS = "easel_budget_windows";

    /** PostgreSQL connections per proxy: one writer, budget reads and the spend API; none is held across a call. */
    static final int POSTGRES_POOL_SIZE = 10;
    /** SQLite connections: WAL readers beside the one writer SQLite allows at a time. */
    static final int SQLITE_POOL_SIZE = 4;
    /** How long a caller waits for a pooled connection (the database down: the request path does not wait). */
    static final long CONNECTION_TIMEOUT_MILLIS = 5_000;
    /** PostgreSQL: seconds to open a socket, and for any one statement's answer. */
    static final int CONNECT_TIMEOUT_SECONDS = 5;
    static final int SOCKET_TIMEOUT_SECONDS = 30;

    static final String ALL = "all";
    static final String DIM_ALL = "all";
    static final String DIM_END_USER = "end_user";
    static final String DIM_MODEL = "model_group";
    static final String DIM_DEPLOYMENT = "deployment";

    private static final DateTimeFormatter SQLITE_TIME = DateTimeFormatter
            .ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter DAY = DateTimeFormatter.ISO_LOCAL_DATE.withZone(ZoneOffset.UTC);
    private static final String COLUMNS = "request_id, start_time, end_time, model_group, deployment_id, provider, "
            + "model, api_base, end_user, key_hash, status, http_status, error_type, error_code, spend, "
            + "prompt_tokens, completion_tokens, total_tokens, input_text_tokens, input_image_tokens, "
            + "output_image_tokens, output_text_tokens, images_in, images_out, bytes_in, bytes_out, latency_ms, "
            + "upstream_ms, attempts, fallback_used, client_request_id, key_alias, team_id, user_id";
    private static final String INSERT = "INSERT INTO " + LOGS + " (" + COLUMNS + ") VALUES ("
            + "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            + " ON CONFLICT (request_id) DO NOTHING";
    private static final String ORDER = " ORDER BY start_time DESC, request_id DESC";

    private final DatabaseTarget target;
    private final HikariDataSource pool;

    /** Sums of one end user's rows. */
    record Totals(BigDecimal spend, long requests) {
    }

    /** A statement and its arguments (times as {@link Instant}, text, numbers). */
    record Sql(String text, List<Object> args) {
        Sql {
            args = List.copyOf(args);
        }
    }

    @FunctionalInterface
    interface SqlWork<T> {
        T run(Connection c) throws SQLException;
    }

    @FunctionalInterface
    interface SqlAction {
        void run() throws SQLException;
    }

    /** Runs around a batch's commit: {@code commit} commits; {@code inserted} says, per row, whether it was new. */
    @FunctionalInterface
    interface AroundCommit {
        void run(SqlAction commit, boolean[] inserted) throws SQLException;
    }

    SpendStore(DatabaseTarget target) {
        this.target = target;
        HikariConfig hc = new HikariConfig();
        hc.setPoolName("easel-spend");
        // a database down at start must not stop the proxy: rows wait in the journal until it is back
        hc.setInitializationFailTimeout(-1);
        hc.setConnectionTimeout(CONNECTION_TIMEOUT_MILLIS);
        hc.setValidationTimeout(2_000);
        if (target.dialect() == Dialect.SQLITE) {
            // the pragmas and Easel's decimal functions on every connection, before Hikari or Flyway uses it
            hc.setDataSource(new SqliteConnections(target.jdbcUrl()));
            hc.setMaximumPoolSize(SQLITE_POOL_SIZE);
            hc.setMinimumIdle(1);
        } else {
            hc.setJdbcUrl(target.jdbcUrl());
            if (target.user() != null) {
                hc.setUsername(target.user());
            }
            if (target.password() != null) {
                hc.setPassword(target.password());
            }
            hc.addDataSourceProperty("connectTimeout", Integer.toString(CONNECT_TIMEOUT_SECONDS));
            hc.addDataSourceProperty("socketTimeout", Integer.toString(SOCKET_TIMEOUT_SECONDS));
            hc.addDataSourceProperty("tcpKeepAlive", "true");
            hc.setMaximumPoolSize(POSTGRES_POOL_SIZE);
            hc.setMinimumIdle(2);
        }
        this.pool = new HikariDataSource(hc);
    }

    DatabaseTarget target() {
        return target;
    }

    /** The connection pool (the key store shares it). */
    javax.sql.DataSource pool() {
        return pool;
    }

    /** Publishes the pool's metrics ({@code hikaricp_connections_*{pool="easel-spend"}}) on {@code registry}. */
    void bindMetrics(MeterRegistry registry) {
        pool.setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(registry));
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
            flyway(Optional.empty()).migrate();
        } catch (RuntimeException e) {
            throw new SQLException("schema migration failed: " + rootMessage(e), e);
        }
    }

    /** Flyway on the pool (SQLite migrations call the decimal functions), up to {@code version} if given. */
    Flyway flyway(Optional<String> version) {
        var config = Flyway.configure(SpendStore.class.getClassLoader())
                .dataSource(pool)
                .locations("classpath:db/migration/" + (target.dialect() == Dialect.SQLITE ? "sqlite" : "postgresql"))
                .table("easel_schema_history");
        version.ifPresent(config::target);
        return config.load();
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

    // ---------------------------------------------------------------- connections

    /**
     * Runs work on a pooled connection (auto-commit). A connection that fails with a connection error (the server
     * restarted since it was opened) is evicted and the work runs once more on a fresh one: every work given here
     * is a query, or a transaction that is rolled back whole and whose writes are idempotent.
     */
    <T> T with(SqlWork<T> work) throws SQLException {
        for (int attempt = 1; ; attempt++) {
            Connection c = pool.getConnection();
            try {
                return work.run(c);
            } catch (SQLException e) {
                if (!broken(e)) {
                    throw e;
                }
                pool.evictConnection(c);
                c = null;
                if (attempt > 1) {
                    throw e;
                }
            } catch (RuntimeException | Error e) { // pgjdbc may throw AssertionError on a dead socket
                pool.evictConnection(c);
                c = null;
                throw e;
            } finally {
                closeQuietly(c);
            }
        }
    }

    /** Runs work in one transaction; rolled back when it throws. */
    <T> T inTransaction(SqlWork<T> work) throws SQLException {
        return with(c -> {
            c.setAutoCommit(false);
            try {
                return work.run(c);
            } catch (SQLException | RuntimeException | Error e) {
                try {
                    c.rollback();
                } catch (SQLException ignored) {
                    // the connection is broken: the server rolls back on its own
                }
                throw e;
            }
        });
    }

    /** A connection-level failure (class 08, PostgreSQL shutting down), not a failure of the statement itself. */
    static boolean broken(SQLException e) {
        for (SQLException x = e; x != null; x = x.getNextException()) {
            String state = x.getSQLState();
            if (x instanceof SQLRecoverableException || x instanceof SQLNonTransientConnectionException
                    || x instanceof SQLTransientConnectionException
                    || (state != null && (state.startsWith("08") || state.startsWith("57P")))) {
                return true;
            }
        }
        return false;
    }

    boolean ping() {
        try {
            return with(c -> c.isValid(5));
        } catch (SQLException e) {
            return false;
        }
    }

    // ---------------------------------------------------------------- writing

    /** Inserts log rows only, skipping request ids already there; the caller commits. Per row, whether it was new. */
    boolean[] insert(Connection c, List<SpendRecord> rows) throws SQLException {
        return insert(c, rows, true);
    }

    /** Tests of the migrations: {@link #insert} into a schema before V5 (no key alias, team or user columns). */
    boolean[] insertBeforeV5(Connection c, List<SpendRecord> rows) throws SQLException {
        return insert(c, rows, false);
    }

    private boolean[] insert(Connection c, List<SpendRecord> rows, boolean attribution) throws SQLException {
        String sql = attribution ? INSERT : "INSERT INTO " + LOGS + " ("
                + COLUMNS.replace(", key_alias, team_id, user_id", "") + ") VALUES ("
                + "?, ".repeat(30) + "?) ON CONFLICT (request_id) DO NOTHING";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
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
                if (attribution) {
                    ps.setString(++i, r.keyAlias());
                    ps.setString(++i, r.teamId());
                    ps.setString(++i, r.userId());
                }
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
     * Writes a batch in one transaction: the rows (skipping request ids already there), then the counters and
     * budget windows of the rows that were new. {@code around} runs the commit, so the caller can make "committed"
     * and its own bookkeeping one step. Returns, per row of {@code rows}, whether it was new.
     *
     * <p>Several writers (replicas) on one PostgreSQL lock in one order — end-user advisory locks by key, then rows
     * by request id, then counters by key — so two batches never wait on each other in a cycle.
     */
    boolean[] write(List<SpendRecord> rows, AroundCommit around) throws SQLException {
        Integer[] order = new Integer[rows.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, Comparator.comparing(i -> rows.get(i).requestId()));
        List<SpendRecord> sorted = new ArrayList<>(rows.size());
        for (Integer i : order) {
            sorted.add(rows.get(i));
        }
        return inTransaction(c -> {
            if (target.dialect() == Dialect.POSTGRESQL) {
                lockSubjects(c, sorted);
            }
            boolean[] news = insert(c, sorted);
            List<SpendRecord> fresh = new ArrayList<>();
            boolean[] inserted = new boolean[rows.size()];
            for (int k = 0; k < news.length; k++) {
                inserted[order[k]] = news[k];
                if (news[k]) {
                    fresh.add(sorted.get(k));
                }
            }
            addToCounters(c, fresh);
            addToWindows(c, fresh);
            around.run(c::commit, inserted);
            return inserted;
        });
    }

    /**
     * PostgreSQL: the transaction-scoped advisory lock of each end user in the batch, in key order. A budget window
     * is made from the log under the same lock, so no batch can commit rows of that end user between the window's
     * SUM and its insert (which would leave those rows out of it for good).
     */
    private void lockSubjects(Connection c, List<SpendRecord> rows) throws SQLException {
        TreeSet<Long> keys = new TreeSet<>();
        for (SpendRecord r : rows) {
            for (Subject s : Subject.of(r)) {
                keys.add(lockKey(s));
            }
        }
        if (keys.isEmpty()) {
            return;
        }
        // a function scan over the array takes the locks in array order
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(k) FROM unnest(?) AS k")) {
            ps.setArray(1, c.createArrayOf("bigint", keys.toArray()));
            ps.execute();
        }
    }

    /** The advisory-lock key of a subject: the first 8 bytes of a SHA-256 (a collision only serializes more). */
    static long lockKey(Subject subject) {
        String name = subject.dimension().equals(Subject.END_USER) ? "easel-end-user:" + subject.id()
                : "easel-" + subject.dimension() + ":" + subject.id();
        try {
            byte[] h = MessageDigest.getInstance("SHA-256")
                    .digest(name.getBytes(StandardCharsets.UTF_8));
            long k = 0;
            for (int i = 0; i < 8; i++) {
                k = (k << 8) | (h[i] & 0xff);
            }
            return k;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    }

    /** One counter row: what {@code (dimension, period, key)} adds up. */
    private record CounterKey(String dimension, String period, String key) implements Comparable<CounterKey> {
        private static final Comparator<CounterKey> ORDER = Comparator.comparing(CounterKey::dimension)
                .thenComparing(CounterKey::period).thenComparing(CounterKey::key);

        @Override
        public int compareTo(CounterKey o) {
            return ORDER.compare(this, o);
        }
    }

    private static final class Delta {
        BigDecimal spend = BigDecimal.ZERO;
        long requests;
        long failures;
        long promptTokens;
        long completionTokens;
        long totalTokens;
        long imagesOut;

        void add(SpendRecord r) {
            if (r.spend() != null) {
                spend = spend.add(r.spend());
            }
            requests++;
            failures += SpendRecord.FAILURE.equals(r.status()) ? 1 : 0;
            promptTokens += r.promptTokens();
            completionTokens += r.completionTokens();
            totalTokens += r.totalTokens();
            imagesOut += r.imagesOut();
        }
    }

    /** The counters a row adds to: 4 dimensions, all time and its UTC day. */
    static List<String[]> counterKeys(SpendRecord r) {
        String day = DAY.format(r.startTime());
        List<String[]> out = new ArrayList<>(8);
        for (String period : new String[] {ALL, day}) {
            out.add(new String[] {DIM_ALL, period, ""});
            out.add(new String[] {DIM_END_USER, period, r.endUser() == null ? "" : r.endUser()});
            out.add(new String[] {DIM_MODEL, period, r.modelGroup()});
            out.add(new String[] {DIM_DEPLOYMENT, period, r.deploymentId()});
            for (Subject s : Subject.of(r)) {
                if (!s.dimension().equals(Subject.END_USER)) { // the end user's is above, '' included
                    out.add(new String[] {s.dimension(), period, s.id()});
                }
            }
        }
        return out;
    }

    private void addToCounters(Connection c, List<SpendRecord> fresh) throws SQLException {
        if (fresh.isEmpty()) {
            return;
        }
        TreeMap<CounterKey, Delta> deltas = new TreeMap<>(); // key order: the lock order between writers
        for (SpendRecord r : fresh) {
            for (String[] k : counterKeys(r)) {
                deltas.computeIfAbsent(new CounterKey(k[0], k[1], k[2]), x -> new Delta()).add(r);
            }
        }
        String plus = target.dialect() == Dialect.SQLITE ? "easel_decimal_add(" + COUNTERS + ".spend, excluded.spend)"
                : COUNTERS + ".spend + excluded.spend";
        String sql = "INSERT INTO " + COUNTERS + " (dimension, period, key, spend, requests, failures, prompt_tokens,"
                + " completion_tokens, total_tokens, images_out) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                + " ON CONFLICT (dimension, period, key) DO UPDATE SET spend = " + plus + ","
                + " requests = " + COUNTERS + ".requests + excluded.requests,"
                + " failures = " + COUNTERS + ".failures + excluded.failures,"
                + " prompt_tokens = " + COUNTERS + ".prompt_tokens + excluded.prompt_tokens,"
                + " completion_tokens = " + COUNTERS + ".completion_tokens + excluded.completion_tokens,"
                + " total_tokens = " + COUNTERS + ".total_tokens + excluded.total_tokens,"
                + " images_out = " + COUNTERS + ".images_out + excluded.images_out";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (Map.Entry<CounterKey, Delta> e : deltas.entrySet()) {
                CounterKey k = e.getKey();
                Delta d = e.getValue();
                ps.setString(1, k.dimension());
                ps.setString(2, k.period());
                ps.setString(3, k.key());
                setMoney(ps, 4, d.spend);
                ps.setLong(5, d.requests);
                ps.setLong(6, d.failures);
                ps.setLong(7, d.promptTokens);
                ps.setLong(8, d.completionTokens);
                ps.setLong(9, d.totalTokens);
                ps.setLong(10, d.imagesOut);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /** Adds new rows to the budget windows (already made) that hold their start time. */
    private void addToWindows(Connection c, List<SpendRecord> fresh) throws SQLException {
        record Hit(Subject subject, SpendRecord row) {
        }
        List<Hit> hits = new ArrayList<>();
        for (SpendRecord r : fresh) {
            for (Subject s : Subject.of(r)) {
                hits.add(new Hit(s, r));
            }
        }
        if (hits.isEmpty()) {
            return;
        }
        // one order for every writer: the row locks are taken in it
        hits.sort(Comparator.comparing((Hit h) -> h.subject().dimension()).thenComparing(h -> h.subject().id()));
        String plus = target.dialect() == Dialect.SQLITE ? "easel_decimal_add(spend, ?)" : "spend + ?";
        try (PreparedStatement ps = c.prepareStatement("UPDATE " + WINDOWS + " SET spend = " + plus
                + ", requests = requests + 1 WHERE dimension = ? AND subject = ? AND window_start <= ?"
                + " AND window_end > ?")) {
            for (Hit h : hits) {
                setMoney(ps, 1, h.row().spend() == null ? BigDecimal.ZERO : h.row().spend());
                ps.setString(2, h.subject().dimension());
                ps.setString(3, h.subject().id());
                setTime(ps, 4, h.row().startTime());
                setTime(ps, 5, h.row().startTime());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    // ---------------------------------------------------------------- log queries

    /** The WHERE clause of a log query's filters (not its cursor). */
    private String filters(SpendQuery q, List<Object> args) {
        return where(q.from(), q.to(), args)
                + filter("end_user", q.endUser(), args)
                + filter("model_group", q.model(), args)
                + filter("deployment_id", q.deploymentId(), args)
                + filter("status", q.status(), args)
                + filter("request_id", q.requestId(), args)
                + filter("client_request_id", q.clientRequestId(), args)
                + filter("key_hash", q.keyHash(), args)
                + filter("team_id", q.teamId(), args)
                + filter("user_id", q.userId(), args);
    }

    /**
     * A page of rows: one more than asked for (to know whether a next page exists), after the cursor when there is
     * one. The order is an index order of every log index, so the page is an index range read, not a sort.
     */
    Sql pageSql(SpendQuery q) {
        List<Object> args = new ArrayList<>();
        StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM " + LOGS + " WHERE " + filters(q, args));
        q.after().ifPresent(a -> {
            sql.append(" AND (start_time, request_id) < (?, ?)");
            args.add(a.startTime());
            args.add(a.requestId());
        });
        sql.append(ORDER).append(" LIMIT ?");
        args.add(q.limit() + 1);
        if (q.offset() > 0) {
            sql.append(" OFFSET ?");
            args.add(q.offset());
        }
        return new Sql(sql.toString(), args);
    }

    /** How many rows match the filters, by counting them (the cursor is not a filter). */
    Sql countSql(SpendQuery q) {
        List<Object> args = new ArrayList<>();
        return new Sql("SELECT COUNT(*) FROM " + LOGS + " WHERE " + filters(q, args), args);
    }

    /**
     * The same count from the counters, when they can answer it: at most one of end user, model group and
     * deployment, maybe a status, and no time range or one of whole UTC days. Empty otherwise.
     */
    Optional<Sql> counterCountSql(SpendQuery q) {
        if (q.requestId().isPresent() || q.clientRequestId().isPresent()) {
            return Optional.empty();
        }
        int dims = (q.endUser().isPresent() ? 1 : 0) + (q.model().isPresent() ? 1 : 0)
                + (q.deploymentId().isPresent() ? 1 : 0) + (q.keyHash().isPresent() ? 1 : 0)
                + (q.teamId().isPresent() ? 1 : 0) + (q.userId().isPresent() ? 1 : 0);
        if (dims > 1) {
            return Optional.empty();
        }
        List<Object> args = new ArrayList<>();
        Optional<String> period = periods(q.from(), q.to(), args);
        if (period.isEmpty()) {
            return Optional.empty();
        }
        String dimension = q.endUser().isPresent() ? DIM_END_USER : q.model().isPresent() ? DIM_MODEL
                : q.deploymentId().isPresent() ? DIM_DEPLOYMENT : q.keyHash().isPresent() ? Subject.KEY
                : q.teamId().isPresent() ? Subject.TEAM : q.userId().isPresent() ? Subject.USER : DIM_ALL;
        String key = q.endUser().or(q::model).or(q::deploymentId).or(q::keyHash).or(q::teamId).or(q::userId)
                .orElse("");
        String what = q.status().isEmpty() ? "requests"
                : q.status().get().equals(SpendRecord.FAILURE) ? "failures" : "requests - failures";
        List<Object> all = new ArrayList<>(List.of(dimension, key));
        all.addAll(args);
        return Optional.of(new Sql("SELECT COALESCE(SUM(" + what + "), 0) FROM " + COUNTERS
                + " WHERE dimension = ? AND key = ? AND " + period.get(), all));
    }

    /**
     * The counter periods a time range covers: {@code period = 'all'} without one, the UTC days between for whole
     * days; empty when an end is not midnight UTC (then only the log can answer).
     */
    private static Optional<String> periods(Optional<Instant> from, Optional<Instant> to, List<Object> args) {
        if (!from.map(SpendStore::midnight).orElse(true) || !to.map(SpendStore::midnight).orElse(true)) {
            return Optional.empty();
        }
        if (from.isEmpty() && to.isEmpty()) {
            args.add(ALL);
            return Optional.of("period = ?");
        }
        StringBuilder sb = new StringBuilder("period <> ?");
        args.add(ALL);
        from.ifPresent(t -> {
            sb.append(" AND period >= ?");
            args.add(DAY.format(t));
        });
        to.ifPresent(t -> {
            sb.append(" AND period < ?");
            args.add(DAY.format(t));
        });
        return Optional.of(sb.toString());
    }

    private static boolean midnight(Instant t) {
        return t.truncatedTo(ChronoUnit.DAYS).equals(t);
    }

    SpendPage logs(SpendQuery q) throws SQLException {
        Sql page = pageSql(q);
        Sql count = counterCountSql(q).orElseGet(() -> countSql(q));
        return with(c -> {
            long total;
            try (PreparedStatement ps = c.prepareStatement(count.text())) {
                bind(ps, count.args());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    total = rs.getLong(1);
                }
            }
            List<SpendRecord> rows = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(page.text())) {
                bind(ps, page.args());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows.add(row(rs));
                    }
                }
            }
            Optional<SpendCursor> next = Optional.empty();
            if (rows.size() > q.limit()) {
                rows.removeLast();
                next = Optional.of(SpendCursor.after(rows.getLast()));
            }
            return new SpendPage(rows, total, q.offset(), q.limit(), next);
        });
    }

    /**
     * The report's statement: from the counters without a time range or for whole UTC days, else a GROUP BY over
     * the log rows in the range (an arbitrary time cuts a day's counter).
     */
    Sql reportSql(SpendGroupBy group, Optional<Instant> from, Optional<Instant> to) {
        List<Object> args = new ArrayList<>();
        Optional<String> period = periods(from, to, args);
        if (period.isPresent()) {
            String dimension = switch (group) {
                case MODEL -> DIM_MODEL;
                case END_USER -> DIM_END_USER;
                case DEPLOYMENT -> DIM_DEPLOYMENT;
                case DAY -> DIM_ALL;
                case API_KEY -> Subject.KEY;
                case TEAM -> Subject.TEAM;
                case USER -> Subject.USER;
            };
            String k = group == SpendGroupBy.DAY ? "period" : "key";
            String cond = period.get();
            if (group == SpendGroupBy.DAY && from.isEmpty() && to.isEmpty()) {
                cond = "period <> ?"; // every day is a group (the argument is still 'all')
            }
            List<Object> all = new ArrayList<>(List.of(dimension));
            all.addAll(args);
            String sum = target.dialect() == Dialect.SQLITE ? "easel_decimal_sum(spend)" : "COALESCE(SUM(spend), 0)";
            return new Sql("SELECT " + k + " AS k, " + sum + ", SUM(requests), SUM(failures), SUM(prompt_tokens),"
                    + " SUM(completion_tokens), SUM(total_tokens), SUM(images_out) FROM " + COUNTERS
                    + " WHERE dimension = ? AND " + cond + " GROUP BY " + k + " ORDER BY " + k, all);
        }
        String key = switch (group) {
            case MODEL -> "model_group";
            case END_USER -> "end_user";
            case DEPLOYMENT -> "deployment_id";
            case API_KEY -> "key_hash";
            case TEAM -> "team_id";
            case USER -> "user_id";
            case DAY -> target.dialect() == Dialect.SQLITE ? "substr(start_time, 1, 10)"
                    : "to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
        };
        List<Object> logArgs = new ArrayList<>();
        String where = where(from, to, logArgs);
        if (group == SpendGroupBy.API_KEY || group == SpendGroupBy.TEAM || group == SpendGroupBy.USER) {
            where += " AND " + key + " IS NOT NULL"; // as the counters: only rows that have one
        }
        return new Sql("SELECT " + key + " AS k, " + sum() + ", COUNT(*), "
                + "SUM(CASE WHEN status = 'failure' THEN 1 ELSE 0 END), SUM(prompt_tokens), SUM(completion_tokens), "
                + "SUM(total_tokens), SUM(images_out) FROM " + LOGS + " WHERE " + where + " GROUP BY " + key
                + " ORDER BY " + key + " NULLS FIRST", logArgs);
    }

    List<SpendReportRow> report(SpendGroupBy group, Optional<Instant> from, Optional<Instant> to)
            throws SQLException {
        Sql sql = reportSql(group, from, to);
        return with(c -> {
            List<SpendReportRow> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(sql.text())) {
                bind(ps, sql.args());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        // the counters key requests without an end user as ''
                        Optional<String> key = Optional.ofNullable(rs.getString(1))
                                .filter(s -> group != SpendGroupBy.END_USER || !s.isEmpty());
                        out.add(new SpendReportRow(key, money(rs, 2), rs.getLong(3), rs.getLong(4), rs.getLong(5),
                                rs.getLong(6), rs.getLong(7), rs.getLong(8)));
                    }
                }
            }
            return out;
        });
    }

    // ---------------------------------------------------------------- budget totals

    /**
     * Spend and request count of one subject: all time ({@code from} the epoch, no {@code to}) from its counter;
     * a budget window {@code [from, to)} from its window row, made from the log the first time it is read; since
     * {@code from} without an end (a budget replaced meanwhile) from the log.
     */
    Totals totals(Subject subject, Instant from, Optional<Instant> to) throws SQLException {
        if (to.isEmpty() && from.equals(Instant.EPOCH)) {
            return allTime(subject);
        }
        if (to.isEmpty()) {
            Sql sum = windowSumSql(subject, from, Optional.empty());
            return with(c -> sumOf(c, sum));
        }
        return window(subject, from, to.get());
    }

    /** An end user's totals (see {@link #totals(Subject, Instant, Optional)}). */
    Totals totals(String endUser, Instant from, Optional<Instant> to) throws SQLException {
        return totals(Subject.endUser(endUser), from, to);
    }

    private Totals allTime(Subject subject) throws SQLException {
        Sql sql = allTimeSql(subject);
        return with(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.text())) {
                bind(ps, sql.args());
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? new Totals(money(rs, 1), rs.getLong(2)) : new Totals(BigDecimal.ZERO, 0);
                }
            }
        });
    }

    Sql allTimeSql(Subject subject) {
        return new Sql("SELECT spend, requests FROM " + COUNTERS + " WHERE dimension = ? AND period = ? AND key = ?",
                List.of(subject.dimension(), ALL, subject.id()));
    }

    Sql windowSql(Subject subject, Instant start, Instant end) {
        return new Sql("SELECT spend, requests FROM " + WINDOWS
                + " WHERE dimension = ? AND subject = ? AND window_start = ? AND window_end = ?",
                List.of(subject.dimension(), subject.id(), start, end));
    }

    /** The subject's rows in {@code [from, to)} summed from the log (made once per budget window). */
    Sql windowSumSql(Subject subject, Instant from, Optional<Instant> to) {
        List<Object> args = new ArrayList<>();
        String where = where(Optional.of(from), to, args) + filter(subject.column(), Optional.of(subject.id()), args);
        return new Sql("SELECT " + sum() + ", COUNT(*) FROM " + LOGS + " WHERE " + where, args);
    }

    private Totals window(Subject subject, Instant start, Instant end) throws SQLException {
        Sql read = windowSql(subject, start, end);
        Optional<Totals> known = with(c -> readWindow(c, read));
        if (known.isPresent()) {
            return known.get();
        }
        return inTransaction(c -> {
            if (target.dialect() == Dialect.POSTGRESQL) {
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
                    ps.setLong(1, lockKey(subject));
                    ps.execute();
                }
            } // SQLite: the transaction began IMMEDIATE, so no writer runs meanwhile
            Optional<Totals> made = readWindow(c, read);
            if (made.isPresent()) {
                c.commit();
                return made.get();
            }
            Totals t = sumOf(c, windowSumSql(subject, start, Optional.of(end)));
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + WINDOWS
                    + " (dimension, subject, window_start, window_end, spend, requests) VALUES (?, ?, ?, ?, ?, ?)"
                    + " ON CONFLICT (dimension, subject, window_start, window_end) DO NOTHING")) {
                ps.setString(1, subject.dimension());
                ps.setString(2, subject.id());
                setTime(ps, 3, start);
                setTime(ps, 4, end);
                setMoney(ps, 5, t.spend());
                ps.setLong(6, t.requests());
                ps.executeUpdate();
            }
            // windows that ended before this one began are never read again
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + WINDOWS
                    + " WHERE dimension = ? AND subject = ? AND window_end <= ?")) {
                ps.setString(1, subject.dimension());
                ps.setString(2, subject.id());
                setTime(ps, 3, start);
                ps.executeUpdate();
            }
            c.commit();
            return t;
        });
    }

    private Optional<Totals> readWindow(Connection c, Sql read) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(read.text())) {
            bind(ps, read.args());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new Totals(money(rs, 1), rs.getLong(2))) : Optional.empty();
            }
        }
    }

    private Totals sumOf(Connection c, Sql sum) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sum.text())) {
            bind(ps, sum.args());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new Totals(money(rs, 1), rs.getLong(2));
            }
        }
    }

    /** Counter values for tests and checks: {@code (dimension, period, key)} → (spend, requests). */
    Map<List<String>, Totals> counters() throws SQLException {
        return with(c -> {
            Map<List<String>, Totals> out = new LinkedHashMap<>();
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT dimension, period, key, spend, requests FROM " + COUNTERS
                         + " ORDER BY dimension, period, key")) {
                while (rs.next()) {
                    out.put(List.of(rs.getString(1), rs.getString(2), rs.getString(3)),
                            new Totals(money(rs, 4), rs.getLong(5)));
                }
            }
            return out;
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

    /** The end user's row, if there is one. */
    Optional<Budget> budget(String endUser) throws SQLException {
        return with(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT end_user_id, max_budget, budget_duration,"
                    + " budget_anchor FROM " + END_USERS + " WHERE end_user_id = ?")) {
                ps.setString(1, endUser);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.<Budget>empty();
                    }
                    String duration = rs.getString(3);
                    return Optional.of(new Budget(rs.getString(1), nullableMoney(rs, 2),
                            duration == null ? null : BudgetDuration.parse(duration), time(rs, 4)));
                }
            }
        });
    }

    /** End users whose requests are refused ({@code POST /customer/block}). */
    Set<String> blockedEndUsers() throws SQLException {
        return with(c -> {
            Set<String> out = new java.util.HashSet<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT end_user_id FROM " + END_USERS
                    + " WHERE blocked = ?")) {
                ps.setBoolean(1, true);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(rs.getString(1));
                    }
                }
            }
            return out;
        });
    }

    /**
     * Sets the blocked flag of each end user in one transaction; an end user without a row gets one (no budget, the
     * window anchored at {@code now}), as LiteLLM's block creates the customer.
     */
    void setBlocked(Collection<String> endUsers, boolean blocked, Instant now) throws SQLException {
        inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + END_USERS
                    + " (end_user_id, max_budget, budget_duration, budget_anchor, created_at, updated_at, blocked)"
                    + " VALUES (?, NULL, NULL, ?, ?, ?, ?) ON CONFLICT (end_user_id) DO UPDATE SET"
                    + " blocked = excluded.blocked, updated_at = excluded.updated_at")) {
                for (String id : endUsers) {
                    ps.setString(1, id);
                    setTime(ps, 2, now);
                    setTime(ps, 3, now);
                    setTime(ps, 4, now);
                    ps.setBoolean(5, blocked);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            c.commit();
            return null;
        });
    }

    /** Deletes the end users' rows (budget and blocked flag; their spend rows stay); returns how many there were. */
    int deleteEndUsers(Collection<String> endUsers) throws SQLException {
        return inTransaction(c -> {
            int deleted = 0;
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + END_USERS + " WHERE end_user_id = ?")) {
                for (String id : endUsers) {
                    ps.setString(1, id);
                    deleted += ps.executeUpdate();
                }
            }
            c.commit();
            return deleted;
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

    void bind(PreparedStatement ps, List<Object> args) throws SQLException {
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

    void setTime(PreparedStatement ps, int i, Instant t) throws SQLException {
        if (target.dialect() == Dialect.SQLITE) {
            ps.setString(i, SQLITE_TIME.format(t));
        } else {
            ps.setObject(i, OffsetDateTime.ofInstant(t, ZoneOffset.UTC));
        }
    }

    Instant time(ResultSet rs, int i) throws SQLException {
        if (target.dialect() == Dialect.SQLITE) {
            return Instant.parse(rs.getString(i));
        }
        return rs.getObject(i, OffsetDateTime.class).toInstant();
    }

    void setMoney(PreparedStatement ps, int i, BigDecimal v) throws SQLException {
        if (v == null) {
            ps.setNull(i, target.dialect() == Dialect.SQLITE ? Types.VARCHAR : Types.NUMERIC);
        } else if (target.dialect() == Dialect.SQLITE) {
            ps.setString(i, v.toPlainString());
        } else {
            ps.setBigDecimal(i, v);
        }
    }

    BigDecimal nullableMoney(ResultSet rs, int i) throws SQLException {
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
                rs.getString("client_request_id"), rs.getString("key_alias"), rs.getString("team_id"),
                rs.getString("user_id"));
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

    /** Closes the pool. */
    @Override
    public void close() {
        pool.close();
    }
}
