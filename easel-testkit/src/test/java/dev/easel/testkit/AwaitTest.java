package dev.easel.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AwaitTest {

    @Test
    void until_conditionMadeTrueByAnotherThread_returns() throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        AtomicInteger value = new AtomicInteger();
        Thread other = Thread.ofPlatform().start(() -> {
            try {
                go.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            value.set(3);
        });
        AtomicInteger probes = new AtomicInteger();

        Await.until("the other thread's write", () -> {
            if (probes.incrementAndGet() == 2) {
                go.countDown(); // the condition becomes true only after the first pause
            }
            return value.get() == 3;
        });

        assertThat(probes.get()).isGreaterThanOrEqualTo(2);
        other.join();
    }

    @Test
    void until_alreadyTrue_probesOnce() {
        AtomicInteger probes = new AtomicInteger();
        Await.until("nothing", () -> probes.incrementAndGet() > 0);
        assertThat(probes.get()).isEqualTo(1);
    }

    @Test
    void until_neverTrue_failsNamingWhatItWaitedFor() {
        assertThatThrownBy(() -> Await.until("the door to open", Duration.ofMillis(30), () -> false))
                .isInstanceOf(AssertionError.class)
                .hasMessage("timed out after 30 ms waiting for the door to open");
    }

    @Test
    void value_returnsTheFirstAcceptedValue_orNamesTheLastOne() {
        AtomicInteger n = new AtomicInteger();
        assertThat(Await.value("3 rows", n::incrementAndGet, v -> v >= 3)).isEqualTo(3);

        assertThatThrownBy(() -> Await.value("5 rows", Duration.ofMillis(20), () -> "2 rows", v -> false))
                .isInstanceOf(AssertionError.class)
                .hasMessage("timed out after 20 ms waiting for 5 rows (last: 2 rows)");
    }

    @Test
    void value_probeThrows_endsTheWaitAtOnce() {
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> Await.until("a broken probe", () -> {
            throw new IllegalStateException("boom");
        })).isInstanceOf(IllegalStateException.class).hasMessage("boom");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Await.DEFAULT_TIMEOUT);
    }

    @Test
    void until_interrupted_failsAndKeepsTheInterruptFlag() {
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> Await.until("anything", () -> false))
                    .isInstanceOf(AssertionError.class).hasMessage("interrupted waiting for anything");
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
    }
}
