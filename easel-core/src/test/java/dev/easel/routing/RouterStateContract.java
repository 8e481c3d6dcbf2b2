package dev.easel.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link RouterState} contract, for every implementation: extend it, return a fresh, empty state from
 * {@link #newState()} (a shared one: with nothing left from an earlier test), and every rule of the interface's
 * Javadoc is checked against it — reservation and its limits, the lease rules (settle keeps the count, release
 * uncounts only in the same window, ending twice is harmless, expiry frees a slot, renew), and the routing stats.
 * Times are whole milliseconds, mid-minute unless a test crosses a window on purpose.
 */
public abstract class RouterStateContract {

    /** 30 s into a minute window. */
    protected static final Instant T0 = Instant.parse("2026-03-01T10:00:30Z");
    private static final Instant NEXT_MINUTE = Instant.parse("2026-03-01T10:01:00Z");
    private static final Instant LATER = T0.plus(Duration.ofMinutes(30));

    private RouterState state;

    /** A fresh, empty state (called before each test). */
    protected abstract RouterState newState();

    @BeforeEach
    void fresh() {
        state = newState();
    }

    /** The state under test. */
    protected RouterState state() {
        return state;
    }

    private static Limits limits(Integer rpm, Long tpm, Integer parallel) {
        return new Limits(rpm == null ? OptionalInt.empty() : OptionalInt.of(rpm),
                tpm == null ? OptionalLong.empty() : OptionalLong.of(tpm),
                parallel == null ? OptionalInt.empty() : OptionalInt.of(parallel));
    }

    private Lease grant(String key, Limits l, Instant now, Instant expires) {
        Reservation r = state.reserve(key, l, now, expires);
        assertThat(r).as("reservation on %s at %s", key, now).isInstanceOf(Reservation.Granted.class);
        Lease lease = ((Reservation.Granted) r).lease();
        assertThat(lease.key()).isEqualTo(key);
        assertThat(lease.takenAt()).isEqualTo(now);
        assertThat(lease.expiresAt()).isEqualTo(expires);
        return lease;
    }

    private Reservation.Refused refuse(String key, Limits l, Instant now) {
        Reservation r = state.reserve(key, l, now, LATER);
        assertThat(r).as("reservation on %s at %s", key, now).isInstanceOf(Reservation.Refused.class);
        return (Reservation.Refused) r;
    }

    // ---- reserve ------------------------------------------------------------------------------------

    @Test
    void reserve_noLimits_grantsCountsTheRequestAndHoldsASlot() {
        grant("d", Limits.none(), T0, LATER);

        assertThat(state.requestsThisMinute("d", T0)).isEqualTo(1);
        assertThat(state.inflight("d")).isEqualTo(1);
        assertThat(state.tokensThisMinute("d", T0)).isZero();
    }

    @Test
    void reserve_atRpm_isRefusedUntilTheNextMinute_andCountsNothing() {
        Limits rpm2 = limits(2, null, null);
        grant("d", rpm2, T0, LATER);
        grant("d", rpm2, T0.plusSeconds(1), LATER);

        Reservation.Refused refused = refuse("d", rpm2, T0.plusSeconds(2));

        assertThat(refused.limit()).isEqualTo(Reservation.Limit.RPM);
        assertThat(refused.retryAt()).contains(NEXT_MINUTE);
        assertThat(state.requestsThisMinute("d", T0)).isEqualTo(2);
        assertThat(state.inflight("d")).isEqualTo(2);
        grant("d", rpm2, NEXT_MINUTE, LATER);
        assertThat(state.requestsThisMinute("d", NEXT_MINUTE)).isEqualTo(1);
    }

    @Test
    void reserve_atTpm_isRefusedOnTheTokensSettledInTheWindow() {
        Limits tpm100 = limits(null, 100L, null);
        Lease first = grant("d", tpm100, T0, LATER);
        grant("d", tpm100, T0, LATER); // nothing settled yet: tpm does not refuse
        state.settle(first, 100, T0.plusSeconds(1));

        Reservation.Refused refused = refuse("d", tpm100, T0.plusSeconds(2));

        assertThat(refused.limit()).isEqualTo(Reservation.Limit.TPM);
        assertThat(refused.retryAt()).contains(NEXT_MINUTE);
        assertThat(state.tokensThisMinute("d", T0)).isEqualTo(100);
        assertThat(state.requestsThisMinute("d", T0)).isEqualTo(2);
        grant("d", tpm100, NEXT_MINUTE, LATER);
    }

    @Test
    void reserve_atMaxParallel_isRefusedWithoutARetryTime_andCountsNothing() {
        Limits two = Limits.parallel(2);
        grant("d", two, T0, LATER);
        grant("d", two, T0, LATER);

        Reservation.Refused refused = refuse("d", two, T0.plusSeconds(1));

        assertThat(refused.limit()).isEqualTo(Reservation.Limit.PARALLEL);
        assertThat(refused.retryAt()).isEmpty();
        assertThat(state.requestsThisMinute("d", T0)).isEqualTo(2);
        assertThat(state.inflight("d")).isEqualTo(2);
    }

    @Test
    void reserve_limitOfZero_refusesEveryRequest() {
        assertThat(refuse("d", limits(0, null, null), T0).limit()).isEqualTo(Reservation.Limit.RPM);
        assertThat(refuse("d", Limits.parallel(0), T0).limit()).isEqualTo(Reservation.Limit.PARALLEL);
        assertThat(state.requestsThisMinute("d", T0)).isZero();
        assertThat(state.inflight("d")).isZero();
    }

    @Test
    void reserve_keysAreIndependent() {
        Limits one = limits(1, null, 1);
        grant("a", one, T0, LATER);

        grant("b", one, T0, LATER);

        assertThat(refuse("a", one, T0).limit()).isEqualTo(Reservation.Limit.RPM);
        assertThat(state.inflight("a")).isEqualTo(1);
        assertThat(state.inflight("b")).isEqualTo(1);
        assertThat(state.inflight("c")).isZero();
        assertThat(state.requestsThisMinute("c", T0)).isZero();
        assertThat(state.tokensThisMinute("c", T0)).isZero();
    }

    @Test
    void reserve_leaseIdsAreUnique() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            ids.add(grant(i % 2 == 0 ? "a" : "b", Limits.none(), T0, LATER).leaseId());
        }
        assertThat(ids).hasSize(200);
    }

    @Test
    void reserve_manyThreadsAtOnce_rpmHoldsExactly() throws Exception {
        Limits rpm5 = limits(5, null, null);
        List<Reservation> answers = concurrently(32, () -> state.reserve("d", rpm5, T0, LATER));

        assertThat(answers).filteredOn(r -> r instanceof Reservation.Granted).hasSize(5);
        assertThat(state.requestsThisMinute("d", T0)).isEqualTo(5);
    }

    @Test
    void reserve_manyThreadsTakingAndEnding_neverMoreThanMaxParallelHeld() throws Exception {
        Limits two = Limits.parallel(2);
        AtomicInteger held = new AtomicInteger();
        AtomicInteger peak = new AtomicInteger();
        AtomicInteger granted = new AtomicInteger();
        concurrently(16, () -> {
            for (int i = 0; i < 25; i++) {
                if (state.reserve("d", two, T0, LATER) instanceof Reservation.Granted g) {
                    peak.accumulateAndGet(held.incrementAndGet(), Math::max);
                    granted.incrementAndGet();
                    held.decrementAndGet(); // before the end: the slot is not free until then
                    state.settle(g.lease(), 1, T0);
                }
            }
            return null;
        });

        assertThat(peak.get()).isBetween(1, 2);
        assertThat(state.inflight("d")).isZero();
        assertThat(state.tokensThisMinute("d", T0)).isEqualTo(granted.get());
    }

    // ---- settle / release -----------------------------------------------------------------------------

    @Test
    void settle_keepsTheRequestCounted_freesTheSlot_andAddsTheTokens() {
        Lease lease = grant("d", Limits.parallel(1), T0, LATER);

        state.settle(lease, 50, T0.plusSeconds(5));

        assertThat(state.requestsThisMinute("d", T0.plusSeconds(5))).isEqualTo(1);
        assertThat(state.tokensThisMinute("d", T0.plusSeconds(5))).isEqualTo(50);
        assertThat(state.inflight("d")).isZero();
        grant("d", Limits.parallel(1), T0.plusSeconds(6), LATER);
    }

    @Test
    void settle_inALaterWindow_addsTheTokensToTheWindowOfNow() {
        Lease lease = grant("d", Limits.none(), T0, LATER);
        Instant inNextMinute = NEXT_MINUTE.plusSeconds(10);

        state.settle(lease, 50, inNextMinute);

        assertThat(state.tokensThisMinute("d", inNextMinute)).isEqualTo(50);
        assertThat(state.requestsThisMinute("d", inNextMinute)).isZero(); // the request counts in its own minute
        assertThat(state.inflight("d")).isZero();
    }

    @Test
    void settle_negativeTokens_countAsNone() {
        Lease lease = grant("d", Limits.none(), T0, LATER);

        state.settle(lease, -5, T0);

        assertThat(state.tokensThisMinute("d", T0)).isZero();
        assertThat(state.inflight("d")).isZero();
    }

    @Test
    void release_inTheSameWindow_takesTheRequestBackOut_andFreesTheSlot() {
        Limits rpm1 = limits(1, null, 1);
        Lease lease = grant("d", rpm1, T0, LATER);

        state.release(lease, T0.plusSeconds(5));

        assertThat(state.requestsThisMinute("d", T0)).isZero();
        assertThat(state.inflight("d")).isZero();
        grant("d", rpm1, T0.plusSeconds(6), LATER); // the rpm of 1 is free again
    }

    @Test
    void release_inALaterWindow_leavesTheOldWindowCounted() {
        Lease lease = grant("d", Limits.none(), T0, LATER);
        Instant inNextMinute = NEXT_MINUTE.plusSeconds(1);

        state.release(lease, inNextMinute);

        assertThat(state.requestsThisMinute("d", T0)).isEqualTo(1);
        assertThat(state.requestsThisMinute("d", inNextMinute)).isZero();
        assertThat(state.inflight("d")).isZero();
    }

    @Test
    void endingALeaseTwice_isHarmless() {
        Lease settled = grant("d", Limits.none(), T0, LATER);
        Lease released = grant("d", Limits.none(), T0, LATER);
        grant("d", Limits.none(), T0, LATER);

        state.settle(settled, 50, T0);
        state.settle(settled, 50, T0);
        state.release(settled, T0);
        state.release(released, T0);
        state.release(released, T0);
        state.settle(released, 70, T0);

        assertThat(state.tokensThisMinute("d", T0)).isEqualTo(50);
        assertThat(state.requestsThisMinute("d", T0)).isEqualTo(2); // three taken, one released once
        assertThat(state.inflight("d")).isEqualTo(1);
    }

    // ---- expiry and renew -------------------------------------------------------------------------------

    @Test
    void anExpiredLease_freesItsSlot_andEndingItLaterDoesNothing() {
        Limits one = Limits.parallel(1);
        Lease crashed = grant("d", one, T0, T0.plusSeconds(10)); // its holder never ends it
        refuse("d", one, T0.plusSeconds(9));

        Lease next = grant("d", one, T0.plusSeconds(10), LATER); // expired at or before now: freed first

        state.settle(crashed, 70, T0.plusSeconds(11));
        assertThat(state.tokensThisMinute("d", T0)).isZero();
        assertThat(state.inflight("d")).isEqualTo(1);
        assertThat(state.renew(crashed, LATER, T0.plusSeconds(11))).isFalse();
        state.settle(next, 5, T0.plusSeconds(12));
        assertThat(state.tokensThisMinute("d", T0)).isEqualTo(5);
    }

    @Test
    void renew_ofALiveLease_movesItsExpiry() {
        Limits one = Limits.parallel(1);
        Lease lease = grant("d", one, T0, T0.plusSeconds(10));

        assertThat(state.renew(lease, T0.plusSeconds(60), T0.plusSeconds(5))).isTrue();

        refuse("d", one, T0.plusSeconds(20)); // past the first expiry: still held
        grant("d", one, T0.plusSeconds(60), LATER);
    }

    @Test
    void renew_atOrAfterExpiry_orAfterTheEnd_isFalse() {
        Lease expiring = grant("d", Limits.none(), T0, T0.plusSeconds(10));
        Lease settled = grant("d", Limits.none(), T0, LATER);
        state.settle(settled, 0, T0);

        assertThat(state.renew(expiring, LATER, T0.plusSeconds(10))).isFalse();
        assertThat(state.renew(settled, LATER, T0.plusSeconds(1))).isFalse();
        assertThat(state.inflight("d")).isZero();
    }

    // ---- latency ------------------------------------------------------------------------------------

    @Test
    void latency_isAMovingAveragePerDeployment() {
        assertThat(state.latencyMillis("d")).isEmpty();

        state.recordLatency("d", Duration.ofMillis(100));
        assertThat(state.latencyMillis("d").getAsDouble()).isCloseTo(100.0, within(1e-9));

        state.recordLatency("d", Duration.ofMillis(200));
        assertThat(state.latencyMillis("d").getAsDouble()).isCloseTo(130.0, within(1e-9)); // weight 0.3
        assertThat(state.latencyMillis("other")).isEmpty();
    }

    @Test
    void latency_keepsFractionsOfAMillisecond() {
        state.recordLatency("d", Duration.ofNanos(1_500_000));

        assertThat(state.latencyMillis("d").getAsDouble()).isCloseTo(1.5, within(1e-9));
    }

    // ---- failures -------------------------------------------------------------------------------------

    @Test
    void recordFailure_countsTheFailuresOfTheLastMinute() {
        assertThat(state.recordFailure("d", T0)).isEqualTo(1);
        assertThat(state.recordFailure("d", T0)).isEqualTo(2); // same instant: two failures
        assertThat(state.recordFailure("d", T0.plusSeconds(30))).isEqualTo(3);
        assertThat(state.recordFailure("d", T0.plusSeconds(60))).isEqualTo(4); // exactly a minute old: still in
        assertThat(state.recordFailure("d", T0.plusSeconds(61))).isEqualTo(3); // the two at T0 have left
        assertThat(state.recordFailure("other", T0.plusSeconds(61))).isEqualTo(1);
    }

    @Test
    void clearFailures_forgetsThem() {
        state.recordFailure("d", T0);
        state.recordFailure("d", T0);

        state.clearFailures("d");

        assertThat(state.recordFailure("d", T0.plusSeconds(1))).isEqualTo(1);
        state.clearFailures("never-failed");
    }

    // ---- cooldowns ------------------------------------------------------------------------------------

    @Test
    void cooldown_restsUntilItsEnd() {
        assertThat(state.cooldownUntil("d", T0)).isEmpty();

        state.cooldown("d", T0.plusSeconds(60), T0);

        assertThat(state.cooldownUntil("d", T0.plusSeconds(59))).contains(T0.plusSeconds(60));
        assertThat(state.cooldownUntil("d", T0.plusSeconds(60))).isEmpty();
        assertThat(state.cooldownUntil("other", T0)).isEmpty();
    }

    @Test
    void cooldown_keepsTheLaterOne() {
        state.cooldown("d", T0.plusSeconds(60), T0);

        state.cooldown("d", T0.plusSeconds(10), T0.plusSeconds(1));
        assertThat(state.cooldownUntil("d", T0.plusSeconds(2))).contains(T0.plusSeconds(60));

        state.cooldown("d", T0.plusSeconds(90), T0.plusSeconds(2));
        assertThat(state.cooldownUntil("d", T0.plusSeconds(3))).contains(T0.plusSeconds(90));
    }

    @Test
    void cooldown_alreadyOver_restsNothing() {
        state.cooldown("d", T0.minusSeconds(1), T0);

        assertThat(state.cooldownUntil("d", T0)).isEqualTo(Optional.empty());
    }

    // ---- helpers --------------------------------------------------------------------------------------

    /** Runs {@code task} on {@code n} threads released together; returns their answers. */
    protected static <T> List<T> concurrently(int n, java.util.concurrent.Callable<T> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                futures.add(pool.submit(() -> {
                    start.await();
                    return task.call();
                }));
            }
            start.countDown();
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
