package dev.easel.proxy.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.proxy.spend.BudgetDuration;
import dev.easel.proxy.spend.SpendOptions;
import dev.easel.proxy.spend.SpendService;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@link KeyStore} contract, run against each database (SQLite file, embedded PostgreSQL). */
abstract class KeyStoreContract {

    static final Instant T0 = Instant.parse("2026-12-01T10:00:00.123456Z");

    @TempDir
    Path dir;

    /** Services opened for the test (several stand for replicas on the same database). */
    private final List<SpendService> services = new ArrayList<>();
    KeyStore store;

    /** Spend options for this test's fresh database; called once per replica with the same result. */
    abstract SpendOptions options(Path dataDir) throws Exception;

    /** A second process on the same database (a replica). */
    KeyStore replica() throws Exception {
        SpendService s = SpendService.start(options(dir.resolve("replica")));
        services.add(s);
        return KeyStore.jdbc(s.database());
    }

    @BeforeEach
    void open() throws Exception {
        SpendService s = SpendService.start(options(dir));
        services.add(s);
        store = KeyStore.jdbc(s.database());
    }

    @AfterEach
    void close() {
        services.forEach(SpendService::close);
    }

    static VirtualKey key(String token, String alias) {
        return new VirtualKey(token, "sk-..." + token.substring(token.length() - 4), Optional.ofNullable(alias),
                Optional.empty(), Optional.empty(), List.of(), KeyLimits.none(T0), Map.of(), List.of(), false,
                Optional.empty(), T0, T0, Optional.of("admin"), Optional.of("admin"));
    }

    static VirtualKey owned(String token, String user, String team) {
        VirtualKey k = key(token, null);
        return new VirtualKey(k.token(), k.keyName(), k.keyAlias(), Optional.ofNullable(user),
                Optional.ofNullable(team), k.models(), k.limits(), k.metadata(), k.tags(), k.blocked(), k.expires(),
                k.createdAt(), k.updatedAt(), k.createdBy(), k.updatedBy());
    }

    static String token(int i) {
        return String.format("%064x", i);
    }

    static Team team(String id, TeamMember... members) {
        return new Team(id, Optional.of(id + "-alias"), List.of("gpt-image-1"), KeyLimits.none(T0), List.of(members),
                Map.of(), false, T0, T0);
    }

    static User user(String id, String role) {
        return new User(id, Optional.of(id + "@example.com"), role, List.of(), KeyLimits.none(T0), Map.of(), T0, T0);
    }

    @Test
    void key_roundTripsEveryField() throws Exception {
        KeyLimits limits = new KeyLimits(Optional.of(new BigDecimal("25.00000001")), Optional.of(new BigDecimal("20")),
                Optional.of(BudgetDuration.parse("30d")), T0.plusSeconds(5), OptionalInt.of(60),
                OptionalLong.of(5_000_000_000L), OptionalInt.of(4));
        VirtualKey k = new VirtualKey(token(1), "sk-...abcd", Optional.of("mobile-app"), Optional.of("u1"),
                Optional.of("design"), List.of("gpt-image-2", "edit"), limits,
                Map.of("env", "prod", "nested", Map.of("n", new BigDecimal("1.5"), "list", List.of("a", "b"))),
                List.of("tag-a", "tag-b"), true, Optional.of(T0.plusSeconds(3600)), T0, T0.plusSeconds(1),
                Optional.of("admin"), Optional.of("someone"));

        store.insertKey(k);

        assertThat(store.key(token(1))).contains(k);
        assertThat(store.keyByAlias("mobile-app")).contains(k);
        assertThat(store.key(token(2))).isEmpty();
    }

    @Test
    void insertKey_takenAliasOrToken_isConflict_andChangesNothing() throws Exception {
        store.insertKey(key(token(1), "a"));

        assertThatThrownBy(() -> store.insertKey(key(token(2), "a"))).isInstanceOf(KeyStore.Conflict.class)
                .hasMessage("key_alias 'a' is taken by another key");
        assertThatThrownBy(() -> store.insertKey(key(token(1), "b"))).isInstanceOf(KeyStore.Conflict.class);
        assertThat(store.key(token(2))).isEmpty();
        assertThat(store.keyByAlias("b")).isEmpty();
    }

    @Test
    void keysWithoutAlias_doNotConflict() throws Exception {
        store.insertKey(key(token(1), null));
        store.insertKey(key(token(2), null));

        assertThat(store.keys(new KeyStore.KeyQuery(Optional.empty(), Optional.empty(), Optional.empty(), 1, 10))
                .totalCount()).isEqualTo(2);
    }

    @Test
    void updateKey_toAnotherKeysAlias_isConflict_ownAliasIsFine() throws Exception {
        store.insertKey(key(token(1), "a"));
        store.insertKey(key(token(2), "b"));

        assertThatThrownBy(() -> store.updateKey(key(token(2), "a"))).isInstanceOf(KeyStore.Conflict.class);
        assertThat(store.updateKey(withBlocked(key(token(2), "b")))).isTrue();
        assertThat(store.key(token(2)).orElseThrow().blocked()).isTrue();
        assertThat(store.updateKey(key(token(3), "c"))).isFalse();
    }

    static VirtualKey withBlocked(VirtualKey k) {
        return new VirtualKey(k.token(), k.keyName(), k.keyAlias(), k.userId(), k.teamId(), k.models(), k.limits(),
                k.metadata(), k.tags(), true, k.expires(), k.createdAt(), k.updatedAt(), k.createdBy(), k.updatedBy());
    }

    @Test
    void concurrentGenerates_ofTheSameAlias_exactlyOneWins_acrossReplicas() throws Exception {
        List<KeyStore> stores = List.of(store, replica(), replica());
        int writers = 24;
        for (int round = 0; round < 5; round++) {
            String alias = "contested-" + round;
            CountDownLatch go = new CountDownLatch(1);
            AtomicInteger conflicts = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(writers);
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < writers; i++) {
                KeyStore s = stores.get(i % stores.size());
                String t = token(round * 1000 + i);
                results.add(pool.submit(() -> {
                    go.await();
                    try {
                        s.insertKey(key(t, alias));
                        return true;
                    } catch (KeyStore.Conflict e) {
                        conflicts.incrementAndGet();
                        return false;
                    }
                }));
            }
            go.countDown();
            int wins = 0;
            for (Future<Boolean> f : results) {
                wins += f.get() ? 1 : 0;
            }
            pool.shutdown();

            assertThat(wins).as("round " + round).isEqualTo(1);
            assertThat(conflicts.get()).isEqualTo(writers - 1);
            assertThat(store.keys(new KeyStore.KeyQuery(Optional.empty(), Optional.empty(), Optional.of(alias), 1,
                    10)).totalCount()).isEqualTo(1);
        }
    }

    @Test
    void version_growsWithEveryWrite_onEveryReplica_andNotWithReads() throws Exception {
        KeyStore other = replica();
        long v0 = store.version();
        store.insertKey(key(token(1), "a"));
        long v1 = other.version();
        store.key(token(1));
        store.keys(new KeyStore.KeyQuery(Optional.empty(), Optional.empty(), Optional.empty(), 1, 10));
        assertThat(store.version()).isEqualTo(v1);
        other.insertTeam(team("t"));
        store.insertUser(user("u", "internal_user"));
        store.deleteKeys(List.of(token(1)));

        assertThat(v1).isGreaterThan(v0);
        assertThat(store.version()).isEqualTo(v1 + 3);
    }

    @Test
    void failedWrite_rollsBack() throws Exception {
        store.insertKey(key(token(1), "a"));
        long v = store.version();

        assertThatThrownBy(() -> store.insertKey(key(token(2), "a"))).isInstanceOf(KeyStore.Conflict.class);

        assertThat(store.version()).isEqualTo(v);
    }

    @Test
    void replaceKey_oldTokenStopsVerifying_inTheSameTransaction() throws Exception {
        store.insertKey(key(token(1), "a"));

        assertThat(store.replaceKey(token(1), key(token(2), "a"))).isTrue();

        assertThat(store.key(token(1))).isEmpty();
        assertThat(store.key(token(2))).isPresent();
        assertThat(store.keyByAlias("a").orElseThrow().token()).isEqualTo(token(2));
        assertThat(store.replaceKey(token(1), key(token(3), null))).isFalse();
        assertThat(store.key(token(3))).isEmpty();
    }

    @Test
    void deleteKeys_returnsTheTokensThatExisted() throws Exception {
        store.insertKey(key(token(1), null));
        store.insertKey(key(token(2), null));

        assertThat(store.deleteKeys(List.of(token(1), token(9), token(1)))).containsExactly(token(1));
        assertThat(store.key(token(1))).isEmpty();
        assertThat(store.key(token(2))).isPresent();
    }

    @Test
    void keys_filterAndPage_inCreationOrder() throws Exception {
        for (int i = 1; i <= 7; i++) {
            store.insertKey(owned(token(i), i % 2 == 0 ? "even" : "odd", i <= 3 ? "t1" : null));
        }
        var q = new KeyStore.KeyQuery(Optional.of("odd"), Optional.empty(), Optional.empty(), 2, 3);
        var page = store.keys(q);

        assertThat(page.totalCount()).isEqualTo(4);
        assertThat(page.items()).extracting(VirtualKey::token).containsExactly(token(7));
        assertThat(store.keys(new KeyStore.KeyQuery(Optional.empty(), Optional.of("t1"), Optional.empty(), 1, 10))
                .items()).extracting(VirtualKey::token).containsExactly(token(1), token(2), token(3));
        assertThatThrownBy(() -> store.keys(new KeyStore.KeyQuery(Optional.empty(), Optional.empty(),
                Optional.empty(), 0, 10))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void team_roundTrips_withMembersInOrder() throws Exception {
        Team t = team("design", new TeamMember("zed", Optional.empty(), "admin"),
                new TeamMember("amy", Optional.of("amy@example.com"), "user"));
        store.insertTeam(t);

        assertThat(store.team("design")).contains(t);
        assertThatThrownBy(() -> store.insertTeam(team("design"))).isInstanceOf(KeyStore.Conflict.class)
                .hasMessage("team_id 'design' is taken");
        Team changed = new Team("design", Optional.empty(), List.of(), t.limits(),
                List.of(new TeamMember("amy", Optional.empty(), "admin")), Map.of("k", "v"), true, T0, T0.plusSeconds(9));
        assertThat(store.updateTeam(changed)).isTrue();
        assertThat(store.team("design")).contains(changed);
        assertThat(store.updateTeam(team("nope"))).isFalse();
    }

    @Test
    void addMembers_concurrently_allLand_andADuplicateIsConflict() throws Exception {
        store.insertTeam(team("t"));
        List<KeyStore> stores = List.of(store, replica());
        int n = 20;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        List<Future<?>> fs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            KeyStore s = stores.get(i % 2);
            String u = "u" + i;
            fs.add(pool.submit(() -> {
                go.await();
                return s.addMembers("t", List.of(new TeamMember(u, Optional.empty(), "user")));
            }));
        }
        go.countDown();
        for (Future<?> f : fs) {
            f.get();
        }
        pool.shutdown();

        assertThat(store.team("t").orElseThrow().members()).hasSize(n);
        assertThatThrownBy(() -> store.addMembers("t", List.of(new TeamMember("u3", Optional.empty(), "admin"))))
                .isInstanceOf(KeyStore.Conflict.class).hasMessage("user 'u3' is already a member of team 't'");
        assertThat(store.addMembers("none", List.of())).isEmpty();
        Team after = store.removeMembers("t", List.of("u3", "u4", "nobody")).orElseThrow();
        assertThat(after.members()).hasSize(n - 2).extracting(TeamMember::userId).doesNotContain("u3", "u4");
    }

    @Test
    void deleteTeams_deletesTheirKeysAndMemberships() throws Exception {
        store.insertTeam(team("t1", new TeamMember("u", Optional.empty(), "user")));
        store.insertTeam(team("t2", new TeamMember("u", Optional.empty(), "user")));
        store.insertKey(owned(token(1), "u", "t1"));
        store.insertKey(owned(token(2), "u", "t2"));

        assertThat(store.deleteTeams(List.of("t1", "t9"))).containsExactly("t1");

        assertThat(store.team("t1")).isEmpty();
        assertThat(store.key(token(1))).isEmpty();
        assertThat(store.key(token(2))).isPresent();
        assertThat(store.teams(Optional.of("u"), 1, 10).items()).extracting(Team::teamId).containsExactly("t2");
        store.insertTeam(team("t1"));
        assertThat(store.team("t1").orElseThrow().members()).isEmpty(); // no membership left behind
    }

    @Test
    void user_roundTrips_updates_andConflicts() throws Exception {
        User u = user("alice", "proxy_admin");
        store.insertUser(u);

        assertThat(store.user("alice")).contains(u);
        assertThatThrownBy(() -> store.insertUser(user("alice", "internal_user")))
                .isInstanceOf(KeyStore.Conflict.class);
        User changed = new User("alice", Optional.empty(), "internal_user_viewer", List.of("m"),
                KeyLimits.none(T0.plusSeconds(1)), Map.of("a", List.of(1, 2)), T0, T0.plusSeconds(2));
        assertThat(store.updateUser(changed)).isTrue();
        assertThat(store.user("alice")).contains(changed);
        assertThat(store.updateUser(user("bob", "internal_user"))).isFalse();
    }

    @Test
    void deleteUsers_deletesTheirKeysAndMemberships() throws Exception {
        store.insertUser(user("u1", "internal_user"));
        store.insertUser(user("u2", "internal_user"));
        store.insertTeam(team("t", new TeamMember("u1", Optional.empty(), "admin"),
                new TeamMember("u2", Optional.empty(), "user")));
        store.insertKey(owned(token(1), "u1", "t"));
        store.insertKey(owned(token(2), "u2", "t"));

        assertThat(store.deleteUsers(List.of("u1", "ghost"))).containsExactly("u1");

        assertThat(store.user("u1")).isEmpty();
        assertThat(store.key(token(1))).isEmpty();
        assertThat(store.key(token(2))).isPresent();
        assertThat(store.team("t").orElseThrow().members()).extracting(TeamMember::userId).containsExactly("u2");
    }

    @Test
    void users_filterByRole_andPageById() throws Exception {
        for (String id : List.of("d", "a", "c", "b")) {
            store.insertUser(user(id, id.equals("c") ? "proxy_admin" : "internal_user"));
        }

        assertThat(store.users(Optional.empty(), 2, 2).items()).extracting(User::userId).containsExactly("c", "d");
        assertThat(store.users(Optional.of("proxy_admin"), 1, 10).items()).extracting(User::userId)
                .containsExactly("c");
        assertThat(store.users(Optional.of("internal_user"), 1, 10).totalCount()).isEqualTo(3);
    }

    @Test
    void teams_ofAUser_orAll_byId() throws Exception {
        store.insertTeam(team("b", new TeamMember("u", Optional.empty(), "user")));
        store.insertTeam(team("a"));
        store.insertTeam(team("c", new TeamMember("u", Optional.empty(), "admin")));

        assertThat(store.teams(Optional.empty(), 1, 10).items()).extracting(Team::teamId)
                .containsExactly("a", "b", "c");
        var mine = store.teams(Optional.of("u"), 1, 1);
        assertThat(mine.totalCount()).isEqualTo(2);
        assertThat(mine.items()).extracting(Team::teamId).containsExactly("b");
        assertThat(mine.items().get(0).members()).hasSize(1);
    }
}
