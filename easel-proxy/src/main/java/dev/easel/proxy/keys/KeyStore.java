package dev.easel.proxy.keys;

import dev.easel.proxy.spend.Database;
import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Keys, teams and users in the proxy's database (the spend log's: SQLite by default, PostgreSQL when
 * {@code database_url} is set). Every write also bumps {@link #version()}, so a replica that polls it learns that
 * something changed even without Redis. The request path never calls this directly: it reads through
 * {@code KeyCache}.
 */
public interface KeyStore {

    /** A key with this token or alias exists already, or a team with this id. */
    final class Conflict extends RuntimeException {
        /** {@code message} names the field and the value (never key material). */
        public Conflict(String message) {
            super(message);
        }
    }

    /**
     * A page of a listing.
     *
     * @param items      this page, in a stable order
     * @param totalCount how many match in all
     */
    record Page<T>(List<T> items, long totalCount) {
        /** Copies the list. */
        public Page {
            items = List.copyOf(items);
        }
    }

    /**
     * A key listing's filters (empty: any) and page (1-based {@code page} of {@code size} items).
     */
    record KeyQuery(Optional<String> userId, Optional<String> teamId, Optional<String> keyAlias, int page,
                    int size) {
    }

    // ---------------------------------------------------------------- keys

    /** @throws Conflict when the token or the alias is taken */
    void insertKey(VirtualKey key) throws SQLException;

    Optional<VirtualKey> key(String token) throws SQLException;

    Optional<VirtualKey> keyByAlias(String alias) throws SQLException;

    /** Replaces the stored key with the same token; false when there is none. @throws Conflict for a taken alias */
    boolean updateKey(VirtualKey key) throws SQLException;

    /** Deletes the keys with these tokens; returns the tokens that existed. */
    List<String> deleteKeys(Collection<String> tokens) throws SQLException;

    /**
     * Atomically replaces the key {@code oldToken} by {@code fresh} (a new token, same everything else as the
     * caller decides): the old key stops verifying in the same transaction. False when {@code oldToken} is unknown.
     */
    boolean replaceKey(String oldToken, VirtualKey fresh) throws SQLException;

    Page<VirtualKey> keys(KeyQuery query) throws SQLException;

    // ---------------------------------------------------------------- teams

    /** @throws Conflict when the id is taken */
    void insertTeam(Team team) throws SQLException;

    Optional<Team> team(String teamId) throws SQLException;

    /** Replaces the team (members included); false when there is none. */
    boolean updateTeam(Team team) throws SQLException;

    /**
     * Appends members to the team in one transaction (concurrent additions all land); the team as it is after, or
     * empty when there is no such team. @throws Conflict when one of them is a member already (nothing is added)
     */
    Optional<Team> addMembers(String teamId, List<TeamMember> members) throws SQLException;

    /**
     * Removes these users from the team in one transaction; the team as it is after, or empty when there is no such
     * team. Users who are not members are ignored.
     */
    Optional<Team> removeMembers(String teamId, Collection<String> userIds) throws SQLException;

    /** Deletes the teams and every key that belongs to them; returns the ids that existed. */
    List<String> deleteTeams(Collection<String> teamIds) throws SQLException;

    /** Teams, ordered by id; only those {@code userId} is a member of when given. */
    Page<Team> teams(Optional<String> userId, int page, int size) throws SQLException;

    // ---------------------------------------------------------------- users

    /** @throws Conflict when the id is taken */
    void insertUser(User user) throws SQLException;

    Optional<User> user(String userId) throws SQLException;

    /** Replaces the user; false when there is none. */
    boolean updateUser(User user) throws SQLException;

    /** Deletes the users (their keys and memberships too); returns the ids that existed. */
    List<String> deleteUsers(Collection<String> userIds) throws SQLException;

    /** Users, ordered by id; only those with {@code role} when given. */
    Page<User> users(Optional<String> role, int page, int size) throws SQLException;

    // ---------------------------------------------------------------- changes

    /** A number that grows with every write (any replica's): polled to learn that cached entries may be stale. */
    long version() throws SQLException;

    /**
     * The store on the spend log's database ({@code easel_keys}, {@code easel_teams}, {@code easel_team_members},
     * {@code easel_users}, {@code easel_auth_version}; migrated with the spend log by {@link Database#ready()}).
     */
    static KeyStore jdbc(Database database) {
        return new JdbcKeyStore(database);
    }
}
