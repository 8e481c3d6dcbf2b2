package dev.easel.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.routing.Lease;
import dev.easel.routing.Limits;
import dev.easel.routing.Reservation;
import dev.easel.routing.RouterState;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Three replicas, each a {@link RedisRouterState} on its own connection to one real Redis, hit by many threads:
 * the limits hold for the fleet, not per replica.
 */
class RedisFleetLimitsTest {

    private static final Instant T0 = Instant.parse("2026-03-01T10:00:30Z");
    private static final AtomicInteger RUNS = new AtomicInteger();
    private static TestRedis redis;
    private static final List<RedisLink> LINKS = new ArrayList<>();
    private final List<RouterState> replicas = new ArrayList<>();

    @BeforeAll
    static void start() {
        redis = TestRedis.start();
        for (int i = 0; i < 3; i++) {
            LINKS.add(RedisLink.open(redis.uri(), Clock.systemUTC()));
        }
    }

    @AfterAll
    static void stop() {
        LINKS.forEach(RedisLink::close);
        redis.close();
    }

    @BeforeEach
    void replicas() {
        String prefix = "fleet" + RUNS.incrementAndGet() + ":";
        LINKS.forEach(l -> replicas.add(RedisRouterState.on(l, prefix)));
    }

    private static Limits rpm(int n) {
        return new Limits(OptionalInt.of(n), OptionalLong.empty(), OptionalInt.empty());
    }

    /** Runs {@code perReplica} threads on each replica, released together; returns what each returned. */
    private <T> List<T> onEveryReplica(int perReplica, java.util.function.Function<RouterState, Callable<T>> task)
            throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(perReplica * replicas.size());
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<T>> futures = new ArrayList<>();
            for (RouterState r : replicas) {
                for (int i = 0; i < perReplica; i++) {
                    Callable<T> c = task.apply(r);
                    futures.add(pool.submit(() -> {
                        go.await();
                        return c.call();
                    }));
                }
            }
            go.countDown();
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                out.add(f.get(60, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void rpm6_manyThreadsOnThreeReplicas_exactlySixGrantedInTheMinute() throws Exception {
        List<Reservation> answers = onEveryReplica(10, r -> () -> r.reserve("d", rpm(6), T0, T0.plusSeconds(60)));

        assertThat(answers).filteredOn(a -> a instanceof Reservation.Granted).hasSize(6);
        assertThat(answers).filteredOn(a -> a instanceof Reservation.Refused f && f.limit() == Reservation.Limit.RPM)
                .hasSize(24);
        for (RouterState r : replicas) {
            assertThat(r.requestsThisMinute("d", T0)).isEqualTo(6);
        }
        // the next minute is a fresh window for the whole fleet
        assertThat(replicas.get(2).reserve("d", rpm(6), T0.plusSeconds(30), T0.plusSeconds(90)))
                .isInstanceOf(Reservation.Granted.class);
    }

    @Test
    void maxParallel2_manyThreadsOnThreeReplicas_neverMoreThanTwoLive_andTwoGrantedAtOnce() throws Exception {
        Limits two = Limits.parallel(2);
        AtomicInteger held = new AtomicInteger();
        AtomicInteger peak = new AtomicInteger();
        AtomicInteger granted = new AtomicInteger();
        onEveryReplica(6, r -> () -> {
            for (int i = 0; i < 15; i++) {
                if (r.reserve("d", two, T0, T0.plusSeconds(60)) instanceof Reservation.Granted g) {
                    peak.accumulateAndGet(held.incrementAndGet(), Math::max);
                    granted.incrementAndGet();
                    held.decrementAndGet(); // before the end: the slot is not free until then
                    r.settle(g.lease(), 0, T0);
                }
            }
            return null;
        });
        assertThat(peak.get()).isBetween(1, 2);
        assertThat(granted.get()).isPositive();
        assertThat(replicas.get(0).inflight("d")).isZero();

        // held, not ended: exactly two are granted across the fleet, all others refused
        List<Reservation> once = onEveryReplica(8, r -> () -> r.reserve("d", two, T0, T0.plusSeconds(60)));
        assertThat(once).filteredOn(a -> a instanceof Reservation.Granted).hasSize(2);
        assertThat(once).filteredOn(a -> a instanceof Reservation.Refused f
                && f.limit() == Reservation.Limit.PARALLEL).hasSize(22);
        for (RouterState r : replicas) {
            assertThat(r.inflight("d")).isEqualTo(2);
        }
    }

    @Test
    void aCrashedReplicasLease_isFreedAtItsExpiry_forEveryReplica() {
        Limits one = Limits.parallel(1);
        // replica 0 takes the only slot and crashes: it never ends the lease
        assertThat(replicas.get(0).reserve("d", one, T0, T0.plusSeconds(20))).isInstanceOf(Reservation.Granted.class);

        assertThat(replicas.get(1).reserve("d", one, T0.plusSeconds(19), T0.plusSeconds(60)))
                .isInstanceOf(Reservation.Refused.class);
        Reservation after = replicas.get(2).reserve("d", one, T0.plusSeconds(20), T0.plusSeconds(60));
        assertThat(after).isInstanceOf(Reservation.Granted.class);
        assertThat(replicas.get(1).inflight("d")).isEqualTo(1);
    }

    @Test
    void aLeaseIsEndedByAnyReplicaHoldingIt_andLeaseIdsNeverCollide() {
        Lease a = ((Reservation.Granted) replicas.get(0).reserve("d", Limits.none(), T0, T0.plusSeconds(60))).lease();
        Lease b = ((Reservation.Granted) replicas.get(1).reserve("d", Limits.none(), T0, T0.plusSeconds(60))).lease();

        assertThat(a.leaseId()).isNotEqualTo(b.leaseId());
        replicas.get(2).settle(a, 7, T0);
        assertThat(replicas.get(0).inflight("d")).isEqualTo(1);
        assertThat(replicas.get(1).tokensThisMinute("d", T0)).isEqualTo(7);
    }

    @Test
    void aCooldownSetByOneReplica_isSeenByTheOthers() {
        replicas.get(0).cooldown("d", T0.plusSeconds(30), T0);

        assertThat(replicas.get(1).cooldownUntil("d", T0.plusSeconds(1))).contains(T0.plusSeconds(30));
        assertThat(replicas.get(2).cooldownUntil("d", T0.plusSeconds(1))).contains(T0.plusSeconds(30));
        assertThat(replicas.get(2).cooldownUntil("d", T0.plusSeconds(30))).isEmpty();
    }

    @Test
    void failures_areCountedFleetWide_evenAtTheSameInstant() throws Exception {
        List<Integer> counts = onEveryReplica(4, r -> () -> r.recordFailure("d", T0));

        assertThat(counts).containsExactlyInAnyOrderElementsOf(java.util.stream.IntStream.rangeClosed(1, 12)
                .boxed().toList());
        replicas.get(1).clearFailures("d");
        assertThat(replicas.get(2).recordFailure("d", T0.plusSeconds(1))).isEqualTo(1);
    }

    @Test
    void latency_isOneAverageForTheFleet() {
        replicas.get(0).recordLatency("d", java.time.Duration.ofMillis(100));
        replicas.get(1).recordLatency("d", java.time.Duration.ofMillis(200));

        assertThat(replicas.get(2).latencyMillis("d").getAsDouble()).isCloseTo(130.0,
                org.assertj.core.api.Assertions.within(1e-9));
    }
}
