package dev.easel.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.easel.ServiceUnavailableException;
import dev.easel.config.RedisRateLimitPolicy;
import dev.easel.routing.Lease;
import dev.easel.routing.Limits;
import dev.easel.routing.Reservation;
import dev.easel.testkit.Await;
import io.lettuce.core.RedisURI;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The fleet's state when Redis goes away and comes back: three replicas, each with its own link, fleet heartbeat and
 * {@link SharedRouterState}, on one real Redis that the test stops and starts again.
 */
class SharedRouterStateTest {

    private static final Instant T0 = Instant.parse("2026-03-01T10:00:30Z");
    private static final String PREFIX = "easel:";

    private TestRedis redis;
    private final List<RedisLink> links = new ArrayList<>();
    private final List<RedisFleet> fleets = new ArrayList<>();
    private final List<SharedRouterState> states = new ArrayList<>();
    private ListAppender<ILoggingEvent> log;

    @BeforeEach
    void start() {
        log = new ListAppender<>();
        log.start();
        ((Logger) LoggerFactory.getLogger("dev.easel.redis")).addAppender(log);
        redis = TestRedis.start();
    }

    @AfterEach
    void stop() {
        fleets.forEach(RedisFleet::close);
        links.forEach(RedisLink::close);
        ((Logger) LoggerFactory.getLogger("dev.easel.redis")).detachAppender(log);
        redis.close();
    }

    private SharedRouterState replica(RedisURI uri, RedisRateLimitPolicy policy) {
        RedisLink link = RedisLink.open(uri, Clock.systemUTC());
        RedisFleet fleet = RedisFleet.join(link, PREFIX, Clock.systemUTC());
        links.add(link);
        fleets.add(fleet);
        SharedRouterState s = SharedRouterState.of(RedisRouterState.on(link, PREFIX), link, fleet, policy);
        states.add(s);
        return s;
    }

    private void threeReplicas(RedisRateLimitPolicy policy) {
        for (int i = 0; i < 3; i++) {
            replica(redis.uri(), policy);
        }
        Await.until("every replica to see three in the fleet", () -> fleets.stream().allMatch(f -> f.replicas() == 3));
    }

    private static Limits rpm(int n) {
        return new Limits(OptionalInt.of(n), OptionalLong.empty(), OptionalInt.empty());
    }

    private List<String> lines(String containing) {
        return lines(containing, null);
    }

    private List<String> lines(String containing, Class<?> from) {
        synchronized (log) { // logback appends under the appender's lock
            return List.copyOf(log.list).stream().filter(e -> from == null || e.getLoggerName().equals(from.getName()))
                    .map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains(containing)).toList();
        }
    }

    /** Waits for {@code n} log lines (a state is set just before its line is written). */
    private void awaitLines(int n, String containing) {
        awaitLines(n, containing, null);
    }

    private void awaitLines(int n, String containing, Class<?> from) {
        Await.until(n + " lines '" + containing + "'", () -> lines(containing, from).size() >= n);
        assertThat(lines(containing, from)).hasSize(n);
    }

    @Test
    void redisStoppedMidRun_fallsBackWithLimitsDividedByTheReplicas_thenReturnsToSharedState() throws Exception {
        threeReplicas(RedisRateLimitPolicy.DIVIDE);
        assertThat(states.get(0).reserve("d", rpm(6), T0, T0.plusSeconds(60))).isInstanceOf(Reservation.Granted.class);
        assertThat(states.get(1).requestsThisMinute("d", T0)).isEqualTo(1); // shared while Redis is up

        redis.down();
        long t = System.nanoTime();
        Reservation first = states.get(2).reserve("d", rpm(6), T0, T0.plusSeconds(60));
        // no hang: at most the command time-out (500 ms), with room for a loaded machine
        assertThat(Duration.ofNanos(System.nanoTime() - t)).isLessThan(Duration.ofSeconds(2));
        assertThat(first).isInstanceOf(Reservation.Granted.class);
        Await.until("every link to notice", () -> links.stream().noneMatch(RedisLink::up));

        // rpm 6 over 3 replicas: 2 each in process; with the one above, replica 2 has 1 left
        List<Reservation> answers = concurrently(states, 10, s -> s.reserve("d", rpm(6), T0, T0.plusSeconds(60)));
        assertThat(answers).filteredOn(a -> a instanceof Reservation.Granted).hasSize(5);
        assertThat(states.get(0).requestsThisMinute("d", T0)).isEqualTo(2);
        Lease localLease = ((Reservation.Granted) states.get(0).reserve("p", Limits.parallel(3), T0,
                T0.plusSeconds(60))).lease();
        assertThat(localLease.leaseId()).startsWith("local:");
        assertThat(states.get(0).reserve("p", Limits.parallel(3), T0, T0.plusSeconds(60)))
                .as("max_parallel 3 over 3 replicas: 1 here").isInstanceOf(Reservation.Refused.class);
        // cooldowns and failures go on locally
        states.get(1).cooldown("d", T0.plusSeconds(30), T0);
        assertThat(states.get(1).cooldownUntil("d", T0.plusSeconds(1))).contains(T0.plusSeconds(30));
        assertThat(states.get(1).recordFailure("d", T0)).isEqualTo(1);
        assertThat(states.get(0).fallbacks()).isPositive();

        // one line per change of state: each link says it once, each state says how it falls back once
        // whatever the reason (connection lost, or reset under a command in flight)
        awaitLines(3, "redis unavailable: ", RedisLink.class);
        assertThat(lines("rate limits are kept in this process until it answers again, each divided by 3 replicas"))
                .hasSize(3);

        redis.up();
        Await.until("every link to be back", () -> links.stream().allMatch(RedisLink::up));
        awaitLines(3, "redis back after");
        // the fallback's own lease is ended by the fallback
        states.get(0).settle(localLease, 0, T0.plusSeconds(1));
        assertThat(states.get(0).inflight("p")).isZero();
        // shared again (a restarted Redis starts empty): one replica's take is seen by the others
        assertThat(states.get(1).reserve("e", rpm(1), T0, T0.plusSeconds(60))).isInstanceOf(Reservation.Granted.class);
        assertThat(states.get(2).reserve("e", rpm(1), T0, T0.plusSeconds(60))).isInstanceOf(Reservation.Refused.class);
        // a rest set locally while Redis was down still counts until it ends
        assertThat(states.get(1).cooldownUntil("d", T0.plusSeconds(2))).contains(T0.plusSeconds(30));
        assertThat(states.get(0).cooldownUntil("d", T0.plusSeconds(2))).isEmpty();
    }

    @Test
    void refusePolicy_redisDown_refusesLimitedRequestsWith503_andLetsUnlimitedOnesThrough() {
        SharedRouterState state = replica(redis.uri(), RedisRateLimitPolicy.REFUSE);
        Await.until("the link to be up", () -> links.get(0).up());
        redis.down();
        Await.until("the link to notice", () -> !links.get(0).up());

        assertThatThrownBy(() -> state.reserve("d", rpm(6), T0, T0.plusSeconds(60)))
                .isInstanceOf(ServiceUnavailableException.class)
                .hasMessage("rate limits are shared through Redis, which is unavailable right now; requests a limit "
                        + "applies to are refused until it answers again "
                        + "(router_settings.redis_unavailable_rate_limits: refuse)")
                .satisfies(e -> {
                    assertThat(((ServiceUnavailableException) e).status()).hasValue(503);
                    assertThat(((ServiceUnavailableException) e).code()).contains("redis_unavailable");
                });
        assertThat(state.reserve("d", Limits.none(), T0, T0.plusSeconds(60))).isInstanceOf(Reservation.Granted.class);
        assertThat(lines("rate-limited requests are refused until it answers again")).hasSize(1);
    }

    @Test
    void redisDownAtStart_theFallbackServes_andRedisIsUsedOnceItComesUp() {
        RedisURI uri = redis.uri();
        redis.down();
        SharedRouterState a = replica(uri, RedisRateLimitPolicy.DIVIDE);
        SharedRouterState b = replica(uri, RedisRateLimitPolicy.DIVIDE);
        assertThat(links.get(0).state()).isEqualTo(RedisLink.State.DOWN);
        assertThat(links.get(0).lastError()).isPresent();

        // never seen a fleet: each replica counts itself alone
        assertThat(a.reserve("d", rpm(1), T0, T0.plusSeconds(60))).isInstanceOf(Reservation.Granted.class);
        assertThat(b.reserve("d", rpm(1), T0, T0.plusSeconds(60))).isInstanceOf(Reservation.Granted.class);

        redis.up();
        Await.until("both links to connect", () -> links.stream().allMatch(RedisLink::up));
        awaitLines(2, "redis back after");
        assertThat(a.reserve("s", rpm(1), T0, T0.plusSeconds(60))).isInstanceOf(Reservation.Granted.class);
        assertThat(b.reserve("s", rpm(1), T0, T0.plusSeconds(60))).isInstanceOf(Reservation.Refused.class);
        Await.until("the fleet to count two", () -> fleets.stream().allMatch(f -> f.replicas() == 2));
    }

    @Test
    void aRedisThatAcceptsButNeverAnswers_costsAtMostTheTimeOut_andTheFallbackServes() throws Exception {
        try (ServerSocket silent = new ServerSocket(0)) {
            List<Socket> accepted = new ArrayList<>();
            Thread acceptor = Thread.ofVirtual().start(() -> {
                while (!silent.isClosed()) {
                    try {
                        accepted.add(silent.accept()); // reads nothing, answers nothing
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            long t = System.nanoTime();
            SharedRouterState state = replica(RedisURI.create("redis://127.0.0.1:" + silent.getLocalPort()),
                    RedisRateLimitPolicy.DIVIDE);
            Reservation r = state.reserve("d", rpm(1), T0, T0.plusSeconds(60));
            // the connection attempt times out (1 s connect + 500 ms command), never Lettuce's default of 60 s
            assertThat(Duration.ofNanos(System.nanoTime() - t)).isLessThan(Duration.ofSeconds(5));
            assertThat(r).isInstanceOf(Reservation.Granted.class);
            assertThat(links.get(0).up()).isFalse();
            silent.close();
            acceptor.join();
            for (Socket s : accepted) {
                s.close();
            }
        }
    }

    @Test
    void divide_roundsDown_keepsAtLeastOne_andZeroStaysZero() {
        Limits l = SharedRouterState.divide(new Limits(OptionalInt.of(7), OptionalLong.of(1000), OptionalInt.of(2)), 3);
        assertThat(l.rpm()).hasValue(2);
        assertThat(l.tpm()).hasValue(333);
        assertThat(l.maxParallel()).hasValue(1);
        assertThat(SharedRouterState.divide(new Limits(OptionalInt.of(0), OptionalLong.empty(), OptionalInt.of(1)), 5))
                .isEqualTo(new Limits(OptionalInt.of(0), OptionalLong.empty(), OptionalInt.of(1)));
    }

    private static <T> List<T> concurrently(List<SharedRouterState> states, int perState,
                                            java.util.function.Function<SharedRouterState, T> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(states.size() * perState);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<T>> futures = new ArrayList<>();
            for (SharedRouterState s : states) {
                for (int i = 0; i < perState; i++) {
                    futures.add(pool.submit(() -> {
                        go.await();
                        return task.apply(s);
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
}
