package dev.easel.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * An upload's pooled arrays go back to the pool only when the owner and every tracked reader are done, never when a
 * reader that cannot be tracked saw them, and exactly once. The size used here (128 KiB) is used by no other test in
 * this module, so what the pool hands out of it comes from these tests alone.
 */
class ChunkLeaseTest {

    private static final int SIZE = 128 * 1024;

    /** Takes every pooled array of SIZE out of the pool, returning them (an array given back twice comes twice). */
    private static List<byte[]> drainPool() {
        List<byte[]> out = new ArrayList<>();
        while (true) {
            long before = ChunkPool.reused();
            byte[] b = ChunkPool.takeSized(SIZE);
            if (ChunkPool.reused() == before) {
                return out; // a new array: the pool had none left
            }
            out.add(b);
        }
    }

    /** The same arrays (by identity), each once, whatever their contents. */
    private static void assertIdentical(List<byte[]> actual, byte[]... expected) {
        assertThat(actual).hasSize(expected.length);
        Set<byte[]> want = Collections.newSetFromMap(new IdentityHashMap<>());
        want.addAll(List.of(expected));
        assertThat(distinct(actual)).hasSize(expected.length);
        assertThat(actual.stream().allMatch(want::contains)).as("the arrays taken").isTrue();
    }

    private static Set<byte[]> distinct(List<byte[]> arrays) {
        Set<byte[]> s = Collections.newSetFromMap(new IdentityHashMap<>());
        s.addAll(arrays);
        return s;
    }

    @Test
    void closedWithoutReaders_arraysGoBack_andAreHandedOutAgain() {
        drainPool();
        ChunkLease lease = new ChunkLease();
        byte[] a = lease.take(SIZE);
        byte[] b = lease.take(SIZE);
        lease.close();
        assertThat(lease.released()).isTrue();
        assertIdentical(drainPool(), a, b);
    }

    @Test
    void aTrackedReader_keepsThemOutOfThePool_untilItExits_evenAfterTheOwnerClosed() {
        drainPool();
        ChunkLease lease = new ChunkLease();
        byte[] a = lease.take(SIZE);
        lease.enter();
        lease.enter(); // a retry: a second tracked read
        lease.close();
        lease.close(); // idempotent
        assertThat(lease.released()).isFalse();
        assertThat(drainPool()).isEmpty();
        lease.exit();
        assertThat(drainPool()).isEmpty();
        lease.exit();
        assertThat(lease.released()).isTrue();
        assertIdentical(drainPool(), a);
    }

    @Test
    void aPoisonedLease_neverGivesItsArraysBack_andRecycledOnesGoBackAtOnce() {
        drainPool();
        ChunkLease lease = new ChunkLease();
        byte[] spilled = lease.take(SIZE);
        lease.take(SIZE); // seen by a reader that cannot be tracked
        lease.recycle(List.of(spilled)); // copied to a file: nobody saw it
        assertIdentical(drainPool(), spilled);
        lease.poison();
        lease.close();
        assertThat(lease.released()).isTrue();
        assertThat(lease.poisoned()).isTrue();
        assertThat(drainPool()).isEmpty(); // that one is left to the collector
    }

    @Test
    void aReadAfterTheArraysWentBack_isRefused() {
        ChunkLease lease = new ChunkLease();
        lease.take(SIZE);
        lease.close();
        assertThatThrownBy(lease::enter).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("given back");
        assertThatThrownBy(lease::poison).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> lease.take(SIZE)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void manyReadersOnManyThreads_arraysGoBackExactlyOnce_afterTheLastOfThem() throws Exception {
        drainPool();
        List<byte[]> taken = new ArrayList<>();
        List<ChunkLease> leases = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            ChunkLease lease = new ChunkLease();
            taken.add(lease.take(SIZE));
            for (int r = 0; r < 8; r++) {
                lease.enter();
            }
            leases.add(lease);
        }
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int r = 0; r < 8; r++) {
                done.add(threads.submit(() -> {
                    go.await();
                    for (ChunkLease lease : leases) {
                        assertThat(lease.released()).isFalse(); // the owner still holds it, or this reader does
                        lease.exit();
                    }
                    return null;
                }));
            }
            done.add(threads.submit(() -> {
                go.await();
                leases.forEach(ChunkLease::close);
                return null;
            }));
            go.countDown();
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            threads.shutdownNow();
        }
        assertThat(leases).allMatch(ChunkLease::released);
        List<byte[]> back = drainPool();
        assertIdentical(back, taken.toArray(byte[][]::new)); // none given back twice, none kept
    }
}
