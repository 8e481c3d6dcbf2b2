package dev.easel.proxy.keys;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.proxy.spend.BudgetDuration;
import dev.easel.proxy.spend.Database;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * {@link KeyStore} on the spend log's database (tables of {@code V6__keys.sql}). Every write runs in one transaction
 * that first bumps {@code easel_auth_version}: on PostgreSQL that row's lock serializes the writers, on SQLite the
 * IMMEDIATE transaction does, so the checks for a taken token, alias or id that follow see every committed write and
 * exactly one of two writers of the same alias wins. The unique constraints stay as the last word.
 */
final class JdbcKeyStore implements KeyStore {

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    private static final TypeReference<List<String>> STRINGS = new TypeReference<>() { };
    private static final TypeReference<LinkedHashMap<String, Object>> OBJECT = new TypeReference<>() { };

    /** The limit columns, in this order, in every table. */
    private static final String LIMITS = "max_budget, soft_budget, budget_duration, budget_anchor, rpm_limit, "
            + "tpm_limit, max_parallel_requests";
    private static final String KEY_COLUMNS = "token, key_name, key_alias, user_id, team_id, models, " + LIMITS
            + ", metadata, tags, blocked, expires, created_at, updated_at, created_by, updated_by, key_id";
    private static final String TEAM_COLUMNS = "team_id, team_alias, models, " + LIMITS
            + ", metadata, blocked, created_at, updated_at";
    private static final String USER_COLUMNS = "user_id, user_email, user_role, models, " + LIMITS
            + ", metadata, created_at, updated_at";

    private final Database db;

    JdbcKeyStore(Database db) {
        this.db = Objects.requireNonNull(db, "db");
    }

    @FunctionalInterface
    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    // ---------------------------------------------------------------- keys

    @Override
    public void insertKey(VirtualKey key) throws SQLException {
        write(c -> {
            if (exists(c, "SELECT 1 FROM easel_keys WHERE token = ?", key.token())) {
                throw new Conflict("a key with this token exists already (token " + prefix(key.token()) + "…)");
            }
            checkAlias(c, key.keyAlias(), null);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO easel_keys (" + KEY_COLUMNS
                    + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                bindKey(ps, key);
                ps.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public Optional<VirtualKey> key(String token) throws SQLException {
        return read(c -> one(c, "SELECT " + KEY_COLUMNS + " FROM easel_keys WHERE token = ?", token, this::key));
    }

    @Override
    public Optional<VirtualKey> keyByAlias(String alias) throws SQLException {
        return read(c -> one(c, "SELECT " + KEY_COLUMNS + " FROM easel_keys WHERE key_alias = ?", alias, this::key));
    }

    @Override
    public boolean updateKey(VirtualKey key) throws SQLException {
        return write(c -> {
            if (!exists(c, "SELECT 1 FROM easel_keys WHERE token = ?", key.token())) {
                return false;
            }
            checkAlias(c, key.keyAlias(), key.token());
            try (PreparedStatement ps = c.prepareStatement("UPDATE easel_keys SET token = ?, key_name = ?, "
                    + "key_alias = ?, user_id = ?, team_id = ?, models = ?, max_budget = ?, soft_budget = ?, "
                    + "budget_duration = ?, budget_anchor = ?, rpm_limit = ?, tpm_limit = ?, "
                    + "max_parallel_requests = ?, metadata = ?, tags = ?, blocked = ?, expires = ?, created_at = ?, "
                    + "updated_at = ?, created_by = ?, updated_by = ?, key_id = ? WHERE token = ?")) {
                bindKey(ps, key);
                ps.setString(23, key.token());
                return ps.executeUpdate() == 1;
            }
        });
    }

    @Override
    public List<String> deleteKeys(Collection<String> tokens) throws SQLException {
        List<String> wanted = List.copyOf(new LinkedHashSet<>(tokens));
        if (wanted.isEmpty()) {
            return List.of();
        }
        return write(c -> {
            List<String> found = new ArrayList<>();
            for (String t : wanted) {
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM easel_keys WHERE token = ?")) {
                    ps.setString(1, t);
                    if (ps.executeUpdate() == 1) {
                        found.add(t);
                    }
                }
            }
            return found;
        });
    }

    @Override
    public boolean replaceKey(String oldToken, VirtualKey fresh) throws SQLException {
        return write(c -> {
            if (!exists(c, "SELECT 1 FROM easel_keys WHERE token = ?", oldToken)) {
                return false;
            }
            if (!fresh.token().equals(oldToken)
                    && exists(c, "SELECT 1 FROM easel_keys WHERE token = ?", fresh.token())) {
                throw new Conflict("a key with this token exists already (token " + prefix(fresh.token()) + "…)");
            }
            checkAlias(c, fresh.keyAlias(), oldToken);
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM easel_keys WHERE token = ?")) {
                ps.setString(1, oldToken);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO easel_keys (" + KEY_COLUMNS
                    + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                bindKey(ps, fresh);
                ps.executeUpdate();
            }
            return true;
        });
    }

    @Override
    public Page<VirtualKey> keys(KeyQuery q) throws SQLException {
        checkPage(q.page(), q.size());
        StringBuilder where = new StringBuilder(" WHERE 1 = 1");
        List<String> args = new ArrayList<>();
        q.userId().ifPresent(v -> {
            where.append(" AND user_id = ?");
            args.add(v);
        });
        q.teamId().ifPresent(v -> {
            where.append(" AND team_id = ?");
            args.add(v);
        });
        q.keyAlias().ifPresent(v -> {
            where.append(" AND key_alias = ?");
            args.add(v);
        });
        return read(c -> {
            long total = count(c, "SELECT COUNT(*) FROM easel_keys" + where, args);
            List<VirtualKey> items = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT " + KEY_COLUMNS + " FROM easel_keys" + where
                    + " ORDER BY created_at, token LIMIT ? OFFSET ?")) {
                int i = bindAll(ps, args);
                ps.setInt(i, q.size());
                ps.setLong(i + 1, (long) (q.page() - 1) * q.size());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        items.add(key(rs));
                    }
                }
            }
            return new Page<>(items, total);
        });
    }

    // ---------------------------------------------------------------- teams

    @Override
    public void insertTeam(Team team) throws SQLException {
        write(c -> {
            if (exists(c, "SELECT 1 FROM easel_teams WHERE team_id = ?", team.teamId())) {
                throw new Conflict("team_id '" + team.teamId() + "' is taken");
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO easel_teams (" + TEAM_COLUMNS
                    + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                bindTeam(ps, team);
                ps.executeUpdate();
            }
            insertMembers(c, team);
            return null;
        });
    }

    @Override
    public Optional<Team> team(String teamId) throws SQLException {
        return read(c -> teamIn(c, teamId));
    }

    @Override
    public boolean updateTeam(Team team) throws SQLException {
        return write(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE easel_teams SET team_id = ?, team_alias = ?, "
                    + "models = ?, max_budget = ?, soft_budget = ?, budget_duration = ?, budget_anchor = ?, "
                    + "rpm_limit = ?, tpm_limit = ?, max_parallel_requests = ?, metadata = ?, blocked = ?, "
                    + "created_at = ?, updated_at = ? WHERE team_id = ?")) {
                bindTeam(ps, team);
                ps.setString(15, team.teamId());
                if (ps.executeUpdate() != 1) {
                    return false;
                }
            }
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM easel_team_members WHERE team_id = ?")) {
                ps.setString(1, team.teamId());
                ps.executeUpdate();
            }
            insertMembers(c, team);
            return true;
        });
    }

    @Override
    public Optional<Team> addMembers(String teamId, List<TeamMember> members) throws SQLException {
        return write(c -> {
            if (!exists(c, "SELECT 1 FROM easel_teams WHERE team_id = ?", teamId)) {
                return Optional.empty();
            }
            int next;
            try (PreparedStatement ps = c.prepareStatement("SELECT COALESCE(MAX(position) + 1, 0) FROM "
                    + "easel_team_members WHERE team_id = ?")) {
                ps.setString(1, teamId);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    next = rs.getInt(1);
                }
            }
            for (TeamMember m : members) {
                try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM easel_team_members WHERE team_id = ? "
                        + "AND user_id = ?")) {
                    ps.setString(1, teamId);
                    ps.setString(2, m.userId());
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            throw new Conflict("user '" + m.userId() + "' is already a member of team '" + teamId
                                    + "'");
                        }
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO easel_team_members (team_id, user_id, "
                        + "user_email, role, position) VALUES (?, ?, ?, ?, ?)")) {
                    ps.setString(1, teamId);
                    ps.setString(2, m.userId());
                    ps.setString(3, m.userEmail().orElse(null));
                    ps.setString(4, m.role());
                    ps.setInt(5, next++);
                    ps.executeUpdate();
                }
            }
            return teamIn(c, teamId);
        });
    }

    @Override
    public Optional<Team> removeMembers(String teamId, Collection<String> userIds) throws SQLException {
        return write(c -> {
            if (!exists(c, "SELECT 1 FROM easel_teams WHERE team_id = ?", teamId)) {
                return Optional.empty();
            }
            for (String u : new LinkedHashSet<>(userIds)) {
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM easel_team_members WHERE team_id = ? "
                        + "AND user_id = ?")) {
                    ps.setString(1, teamId);
                    ps.setString(2, u);
                    ps.executeUpdate();
                }
            }
            return teamIn(c, teamId);
        });
    }

    private Optional<Team> teamIn(Connection c, String teamId) throws SQLException {
        Optional<Team> t = one(c, "SELECT " + TEAM_COLUMNS + " FROM easel_teams WHERE team_id = ?", teamId,
                rs -> team(rs, List.of()));
        return t.isEmpty() ? t : Optional.of(withMembers(c, t.get()));
    }

    @Override
    public List<String> deleteTeams(Collection<String> teamIds) throws SQLException {
        List<String> wanted = List.copyOf(new LinkedHashSet<>(teamIds));
        if (wanted.isEmpty()) {
            return List.of();
        }
        return write(c -> {
            List<String> found = new ArrayList<>();
            for (String id : wanted) {
                if (update(c, "DELETE FROM easel_teams WHERE team_id = ?", id) == 1) {
                    found.add(id);
                    update(c, "DELETE FROM easel_team_members WHERE team_id = ?", id);
                    update(c, "DELETE FROM easel_keys WHERE team_id = ?", id);
                }
            }
            return found;
        });
    }

    @Override
    public Page<Team> teams(Optional<String> userId, int page, int size) throws SQLException {
        checkPage(page, size);
        String where = userId.isPresent()
                ? " WHERE team_id IN (SELECT team_id FROM easel_team_members WHERE user_id = ?)" : "";
        List<String> args = userId.map(List::of).orElse(List.of());
        return read(c -> {
            long total = count(c, "SELECT COUNT(*) FROM easel_teams" + where, args);
            List<Team> items = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT " + TEAM_COLUMNS + " FROM easel_teams" + where
                    + " ORDER BY team_id LIMIT ? OFFSET ?")) {
                int i = bindAll(ps, args);
                ps.setInt(i, size);
                ps.setLong(i + 1, (long) (page - 1) * size);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        items.add(team(rs, List.of()));
                    }
                }
            }
            List<Team> full = new ArrayList<>(items.size());
            for (Team t : items) {
                full.add(withMembers(c, t));
            }
            return new Page<>(full, total);
        });
    }

    // ---------------------------------------------------------------- users

    @Override
    public void insertUser(User user) throws SQLException {
        write(c -> {
            if (exists(c, "SELECT 1 FROM easel_users WHERE user_id = ?", user.userId())) {
                throw new Conflict("user_id '" + user.userId() + "' is taken");
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO easel_users (" + USER_COLUMNS
                    + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                bindUser(ps, user);
                ps.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public Optional<User> user(String userId) throws SQLException {
        return read(c -> one(c, "SELECT " + USER_COLUMNS + " FROM easel_users WHERE user_id = ?", userId,
                this::user));
    }

    @Override
    public boolean updateUser(User user) throws SQLException {
        return write(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE easel_users SET user_id = ?, user_email = ?, "
                    + "user_role = ?, models = ?, max_budget = ?, soft_budget = ?, budget_duration = ?, "
                    + "budget_anchor = ?, rpm_limit = ?, tpm_limit = ?, max_parallel_requests = ?, metadata = ?, "
                    + "created_at = ?, updated_at = ? WHERE user_id = ?")) {
                bindUser(ps, user);
                ps.setString(15, user.userId());
                return ps.executeUpdate() == 1;
            }
        });
    }

    @Override
    public List<String> deleteUsers(Collection<String> userIds) throws SQLException {
        List<String> wanted = List.copyOf(new LinkedHashSet<>(userIds));
        if (wanted.isEmpty()) {
            return List.of();
        }
        return write(c -> {
            List<String> found = new ArrayList<>();
            for (String id : wanted) {
                if (update(c, "DELETE FROM easel_users WHERE user_id = ?", id) == 1) {
                    found.add(id);
                    update(c, "DELETE FROM easel_team_members WHERE user_id = ?", id);
                    update(c, "DELETE FROM easel_keys WHERE user_id = ?", id);
                }
            }
            return found;
        });
    }

    @Override
    public Page<User> users(Optional<String> role, int page, int size) throws SQLException {
        checkPage(page, size);
        String where = role.isPresent() ? " WHERE user_role = ?" : "";
        List<String> args = role.map(List::of).orElse(List.of());
        return read(c -> {
            long total = count(c, "SELECT COUNT(*) FROM easel_users" + where, args);
            List<User> items = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT " + USER_COLUMNS + " FROM easel_users" + where
                    + " ORDER BY user_id LIMIT ? OFFSET ?")) {
                int i = bindAll(ps, args);
                ps.setInt(i, size);
                ps.setLong(i + 1, (long) (page - 1) * size);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        items.add(user(rs));
                    }
                }
            }
            return new Page<>(items, total);
        });
    }

    // ---------------------------------------------------------------- changes

    @Override
    public long version() throws SQLException {
        return read(c -> {
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT version FROM easel_auth_version WHERE id = 1")) {
                if (!rs.next()) {
                    throw new SQLException("easel_auth_version has no row: the schema is damaged");
                }
                return rs.getLong(1);
            }
        });
    }

    // ---------------------------------------------------------------- transactions

    private <T> T read(Work<T> work) throws SQLException {
        db.ready();
        try (Connection c = db.dataSource().getConnection()) {
            return work.run(c);
        }
    }

    /**
     * Runs {@code work} in a transaction that first bumps the version: the bump's row lock (PostgreSQL) or the
     * IMMEDIATE transaction (SQLite) orders the writers, so the work's checks see every write committed before it.
     */
    private <T> T write(Work<T> work) throws SQLException {
        db.ready();
        try (Connection c = db.dataSource().getConnection()) {
            boolean auto = c.getAutoCommit();
            c.setAutoCommit(false);
            try {
                try (Statement s = c.createStatement()) {
                    if (s.executeUpdate("UPDATE easel_auth_version SET version = version + 1 WHERE id = 1") != 1) {
                        throw new SQLException("easel_auth_version has no row: the schema is damaged");
                    }
                }
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException e) {
                c.rollback();
                if (uniqueViolation(e)) {
                    // a writer the checks could not see (another schema user writing without the version bump)
                    throw new Conflict(e.getMessage() != null && e.getMessage().contains("key_alias")
                            ? "key_alias is taken" : "the token or id is taken");
                }
                throw e;
            } catch (RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(auto);
            }
        }
    }

    private static boolean uniqueViolation(SQLException e) {
        // PostgreSQL: SQLSTATE 23505; SQLite: SQLITE_CONSTRAINT (19) with its "UNIQUE constraint failed" text
        return "23505".equals(e.getSQLState()) || e.getErrorCode() == 19 && e.getMessage() != null
                && (e.getMessage().contains("UNIQUE") || e.getMessage().contains("PRIMARY KEY"));
    }

    private static void checkAlias(Connection c, Optional<String> alias, String exceptToken) throws SQLException {
        if (alias.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT token FROM easel_keys WHERE key_alias = ?")) {
            ps.setString(1, alias.get());
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && !rs.getString(1).equals(exceptToken)) {
                    throw new Conflict("key_alias '" + alias.get() + "' is taken by another key");
                }
            }
        }
    }

    private static void checkPage(int page, int size) {
        if (page < 1 || size < 1) {
            throw new IllegalArgumentException("page and size must be at least 1 (were " + page + ", " + size + ")");
        }
    }

    private static String prefix(String token) {
        return token.substring(0, Math.min(8, token.length()));
    }

    // ---------------------------------------------------------------- statements

    @FunctionalInterface
    private interface Row<T> {
        T map(ResultSet rs) throws SQLException;
    }

    private static <T> Optional<T> one(Connection c, String sql, String arg, Row<T> row) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, arg);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(row.map(rs)) : Optional.empty();
            }
        }
    }

    private static boolean exists(Connection c, String sql, String arg) throws SQLException {
        return one(c, sql, arg, rs -> Boolean.TRUE).isPresent();
    }

    private static int update(Connection c, String sql, String arg) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, arg);
            return ps.executeUpdate();
        }
    }

    private static long count(Connection c, String sql, List<String> args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            bindAll(ps, args);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Binds {@code args} from index 1; returns the next free index. */
    private static int bindAll(PreparedStatement ps, List<String> args) throws SQLException {
        int i = 1;
        for (String a : args) {
            ps.setString(i++, a);
        }
        return i;
    }

    private void insertMembers(Connection c, Team team) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO easel_team_members (team_id, user_id, "
                + "user_email, role, position) VALUES (?, ?, ?, ?, ?)")) {
            int position = 0;
            for (TeamMember m : team.members()) {
                ps.setString(1, team.teamId());
                ps.setString(2, m.userId());
                ps.setString(3, m.userEmail().orElse(null));
                ps.setString(4, m.role());
                ps.setInt(5, position++);
                ps.addBatch();
            }
            if (position > 0) {
                ps.executeBatch();
            }
        }
    }

    private Team withMembers(Connection c, Team t) throws SQLException {
        List<TeamMember> members = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT user_id, user_email, role FROM easel_team_members "
                + "WHERE team_id = ? ORDER BY position")) {
            ps.setString(1, t.teamId());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    members.add(new TeamMember(rs.getString(1), Optional.ofNullable(rs.getString(2)),
                            rs.getString(3)));
                }
            }
        }
        return new Team(t.teamId(), t.teamAlias(), t.models(), t.limits(), members, t.metadata(), t.blocked(),
                t.createdAt(), t.updatedAt());
    }

    // ---------------------------------------------------------------- binding

    private void bindKey(PreparedStatement ps, VirtualKey k) throws SQLException {
        ps.setString(1, k.token());
        ps.setString(2, k.keyName());
        ps.setString(3, k.keyAlias().orElse(null));
        ps.setString(4, k.userId().orElse(null));
        ps.setString(5, k.teamId().orElse(null));
        ps.setString(6, json(k.models()));
        bindLimits(ps, 7, k.limits());
        ps.setString(14, json(k.metadata()));
        ps.setString(15, json(k.tags()));
        ps.setBoolean(16, k.blocked());
        if (k.expires().isPresent()) {
            db.setTime(ps, 17, k.expires().get());
        } else {
            ps.setNull(17, db.sqlite() ? Types.VARCHAR : Types.TIMESTAMP_WITH_TIMEZONE);
        }
        db.setTime(ps, 18, k.createdAt());
        db.setTime(ps, 19, k.updatedAt());
        ps.setString(20, k.createdBy().orElse(null));
        ps.setString(21, k.updatedBy().orElse(null));
        ps.setString(22, k.keyId());
    }

    private void bindTeam(PreparedStatement ps, Team t) throws SQLException {
        ps.setString(1, t.teamId());
        ps.setString(2, t.teamAlias().orElse(null));
        ps.setString(3, json(t.models()));
        bindLimits(ps, 4, t.limits());
        ps.setString(11, json(t.metadata()));
        ps.setBoolean(12, t.blocked());
        db.setTime(ps, 13, t.createdAt());
        db.setTime(ps, 14, t.updatedAt());
    }

    private void bindUser(PreparedStatement ps, User u) throws SQLException {
        ps.setString(1, u.userId());
        ps.setString(2, u.userEmail().orElse(null));
        ps.setString(3, u.userRole());
        ps.setString(4, json(u.models()));
        bindLimits(ps, 5, u.limits());
        ps.setString(12, json(u.metadata()));
        db.setTime(ps, 13, u.createdAt());
        db.setTime(ps, 14, u.updatedAt());
    }

    /** Binds the seven limit columns from index {@code i}. */
    private void bindLimits(PreparedStatement ps, int i, KeyLimits l) throws SQLException {
        db.setMoney(ps, i, l.maxBudget().orElse(null));
        db.setMoney(ps, i + 1, l.softBudget().orElse(null));
        ps.setString(i + 2, l.budgetDuration().map(BudgetDuration::text).orElse(null));
        db.setTime(ps, i + 3, l.budgetAnchor());
        setInt(ps, i + 4, l.rpmLimit());
        if (l.tpmLimit().isPresent()) {
            ps.setLong(i + 5, l.tpmLimit().getAsLong());
        } else {
            ps.setNull(i + 5, Types.BIGINT);
        }
        setInt(ps, i + 6, l.maxParallelRequests());
    }

    private static void setInt(PreparedStatement ps, int i, OptionalInt v) throws SQLException {
        if (v.isPresent()) {
            ps.setInt(i, v.getAsInt());
        } else {
            ps.setNull(i, Types.INTEGER);
        }
    }

    // ---------------------------------------------------------------- reading

    private VirtualKey key(ResultSet rs) throws SQLException {
        String expires = rs.getString(17);
        return new VirtualKey(rs.getString(1), rs.getString(2), Optional.ofNullable(rs.getString(3)),
                Optional.ofNullable(rs.getString(4)), Optional.ofNullable(rs.getString(5)),
                strings(rs.getString(6)), limits(rs, 7), object(rs.getString(14)), strings(rs.getString(15)),
                rs.getBoolean(16), expires == null ? Optional.empty() : Optional.of(db.time(rs, 17)),
                db.time(rs, 18), db.time(rs, 19), Optional.ofNullable(rs.getString(20)),
                Optional.ofNullable(rs.getString(21)), rs.getString(22));
    }

    private Team team(ResultSet rs, List<TeamMember> members) throws SQLException {
        return new Team(rs.getString(1), Optional.ofNullable(rs.getString(2)), strings(rs.getString(3)),
                limits(rs, 4), members, object(rs.getString(11)), rs.getBoolean(12), db.time(rs, 13),
                db.time(rs, 14));
    }

    private User user(ResultSet rs) throws SQLException {
        return new User(rs.getString(1), Optional.ofNullable(rs.getString(2)), rs.getString(3),
                strings(rs.getString(4)), limits(rs, 5), object(rs.getString(12)), db.time(rs, 13),
                db.time(rs, 14));
    }

    private KeyLimits limits(ResultSet rs, int i) throws SQLException {
        BigDecimal max = db.money(rs, i);
        BigDecimal soft = db.money(rs, i + 1);
        String duration = rs.getString(i + 2);
        Instant anchor = db.time(rs, i + 3);
        int rpm = rs.getInt(i + 4);
        boolean rpmNull = rs.wasNull();
        long tpm = rs.getLong(i + 5);
        boolean tpmNull = rs.wasNull();
        int parallel = rs.getInt(i + 6);
        boolean parallelNull = rs.wasNull();
        Optional<BudgetDuration> d = Optional.empty();
        if (duration != null) {
            BudgetDuration parsed = BudgetDuration.parse(duration);
            if (parsed == null) {
                throw new SQLException("stored budget_duration '" + duration + "' does not parse");
            }
            d = Optional.of(parsed);
        }
        return new KeyLimits(Optional.ofNullable(max), Optional.ofNullable(soft), d, anchor,
                rpmNull ? OptionalInt.empty() : OptionalInt.of(rpm), tpmNull ? OptionalLong.empty()
                : OptionalLong.of(tpm), parallelNull ? OptionalInt.empty() : OptionalInt.of(parallel));
    }

    private static String json(Object v) throws SQLException {
        try {
            return JSON.writeValueAsString(v);
        } catch (JsonProcessingException e) {
            throw new SQLException("cannot write JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static List<String> strings(String json) throws SQLException {
        try {
            return JSON.readValue(json, STRINGS);
        } catch (JsonProcessingException e) {
            throw new SQLException("stored list is not JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static Map<String, Object> object(String json) throws SQLException {
        try {
            return JSON.readValue(json, OBJECT);
        } catch (JsonProcessingException e) {
            throw new SQLException("stored object is not JSON: " + e.getOriginalMessage(), e);
        }
    }
}
