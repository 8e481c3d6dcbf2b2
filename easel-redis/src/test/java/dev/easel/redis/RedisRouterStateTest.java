package dev.easel.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.routing.Lease;
import dev.easel.routing.Limits;
import dev.easel.routing.Reservation;
import dev.easel.routing.RouterState;
import dev.easel.routing.RouterStateContract;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Redis state passes the {@link RouterStateContract} against a real Redis, and keeps its keys bounded. */
class RedisRouterStateTest extends RouterStateContract {

    private static final AtomicInteger FLEETS = new AtomicInteger();
    private static TestRedis redis;
    private static RedisLink link;
    private String prefix;

    @BeforeAll
    static void start() {
        redis = TestRedis.start();
        link = RedisLink.open(redis.uri(), Clock.systemUTC());
    }

    @AfterAll
    static void stop() {
        link.close();
        redis.close();
    }

    @Override
    protected RouterState newState() {
        prefix = "t" + FLEETS.incrementAndGet() + ":"; // a fresh, empty state: nothing of an earlier test
        return RedisRouterState.on(link, prefix);
    }

    private RedisCommands<String, String> raw() {
        return link.commands();
    }

    @Test
    void everyKeyOfARouterKey_sharesOneHashTag_andExpires() {
        Lease lease = ((Reservation.Granted) state().reserve("dep/a", Limits.parallel(5), T0,
                T0.plusSeconds(30))).lease();
        state().settle(lease, 10, T0.plusSeconds(1));
        state().reserve("dep/a", Limits.none(), T0, T0.plusSeconds(30));
        state().recordFailure("dep/a", T0);
        state().cooldown("dep/a", T0.plusSeconds(3600), T0);
        state().recordLatency("dep/a", Duration.ofMillis(5));

        var keys = raw().keys(prefix + "*");
        assertThat(keys).isNotEmpty().allSatisfy(k -> {
            assertThat(k).startsWith(prefix + "{dep/a}:");
            assertThat(raw().pttl(k)).as("TTL of %s", k).isPositive();
        });
        assertThat(keys).containsExactlyInAnyOrder(prefix + "{dep/a}:leases",
                prefix + "{dep/a}:w:" + Math.floorDiv(T0.getEpochSecond(), 60), prefix + "{dep/a}:fails",
                prefix + "{dep/a}:cooldown", prefix + "{dep/a}:latency");
        // the window is kept two minutes; the cooldown key lasts as long as the rest
        assertThat(raw().pttl(prefix + "{dep/a}:w:" + Math.floorDiv(T0.getEpochSecond(), 60)))
                .isBetween(100_000L, 120_000L);
        assertThat(raw().pttl(prefix + "{dep/a}:cooldown")).isBetween(3_590_000L, 3_600_000L);
    }

    @Test
    void twoPrefixes_onOneRedis_areSeparateFleets() {
        RouterState other = RedisRouterState.on(link, prefix + "other:");
        Limits one = new Limits(java.util.OptionalInt.of(1), java.util.OptionalLong.empty(),
                java.util.OptionalInt.empty());
        assertThat(state().reserve("d", one, T0, T0.plusSeconds(30))).isInstanceOf(Reservation.Granted.class);

        assertThat(other.reserve("d", one, T0, T0.plusSeconds(30))).isInstanceOf(Reservation.Granted.class);
        assertThat(state().reserve("d", one, T0, T0.plusSeconds(30))).isInstanceOf(Reservation.Refused.class);
    }

    @Test
    void recheckInterval_isSet_becauseOtherReplicasFreeSlots() {
        assertThat(state().recheckInterval()).contains(RedisRouterState.RECHECK);
    }
}
