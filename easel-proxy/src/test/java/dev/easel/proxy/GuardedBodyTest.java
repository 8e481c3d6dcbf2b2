package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.config.RequestLimits;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * The body timing limits with an injected clock: the minimum rate per window (the first window is the grace
 * period), the body deadline, time outside {@code read} not charged to the client, and what a failed read means.
 */
class GuardedBodyTest {

    /** A clock that moves only when the fake socket says time passed. */
    static final class Clock {
        long now = 1_000_000_000L;
    }

    /** One read of the fake socket: wait this long, then hand out this many bytes (or fail). */
    record Step(Duration delay, int bytes, IOException failure) {
        static Step of(long waitMillis, int bytes) {
            return new Step(Duration.ofMillis(waitMillis), bytes, null);
        }
    }

    /** A socket that advances the clock while a read "blocks". */
    static final class FakeSocket extends InputStream {
        final Deque<Step> steps;
        final Clock clock;

        FakeSocket(Clock clock, List<Step> steps) {
            this.clock = clock;
            this.steps = new ArrayDeque<>(steps);
        }

        @Override
        public int read() {
            throw new UnsupportedOperationException();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Step s = steps.poll();
            if (s == null) {
                return -1;
            }
            clock.now += s.delay().toNanos();
            if (s.failure() != null) {
                throw s.failure();
            }
            return Math.min(len, s.bytes());
        }
    }

    static RequestLimits limits(long minRate, Duration window, Duration deadline) {
        RequestLimits d = RequestLimits.defaults();
        return new RequestLimits(d.maxParts(), d.maxImages(), d.maxTextFields(), d.maxTextFieldBytes(),
                d.maxTextBytes(), d.maxFieldNameBytes(), d.maxPartHeaderBytes(), d.maxJsonDepth(), d.maxJsonTokens(),
                d.maxJsonBodyBytes(), Duration.ofSeconds(30), minRate, window, deadline);
    }

    static long drain(InputStream in) throws IOException {
        byte[] buf = new byte[1 << 20];
        long total = 0;
        for (int n = in.read(buf, 0, buf.length); n >= 0; n = in.read(buf, 0, buf.length)) {
            total += n;
        }
        return total;
    }

    final Clock clock = new Clock();
    final List<Long> counted = new ArrayList<>();

    GuardedBody body(RequestLimits limits, Step... steps) {
        return new GuardedBody(new FakeSocket(clock, List.of(steps)), limits, () -> clock.now, counted::add);
    }

    @Test
    void read_belowTheMinimumRateOverAWindow_is408NamingTheRate() {
        // 1 KiB per second for 10 s against a 16 KiB/s minimum
        Step[] trickle = new Step[20];
        for (int i = 0; i < trickle.length; i++) {
            trickle[i] = Step.of(1000, 1024);
        }
        GuardedBody in = body(limits(16 * 1024, Duration.ofSeconds(10), Duration.ofMinutes(5)), trickle);

        assertThatThrownBy(() -> drain(in)).isInstanceOfSatisfying(ProxyException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(408);
            assertThat(e.type()).isEqualTo("invalid_request_error");
            assertThat(e.code()).contains("request_timeout");
            assertThat(e.getMessage()).isEqualTo("the request body arrived at 1024 bytes/s, below the minimum of "
                    + "16384 bytes/s (general_settings.min_request_body_rate)");
        });
        assertThat(counted).as("judged at the end of the first window, not before").hasSize(10);
    }

    @Test
    void read_slowStartMadeUpWithinTheFirstWindow_passes() throws IOException {
        // nothing much for 8 s, then 200 KiB in the next second: 20 KiB/s over the 10 s window
        GuardedBody in = body(limits(16 * 1024, Duration.ofSeconds(10), Duration.ofMinutes(5)),
                Step.of(4000, 1), Step.of(4000, 1), Step.of(1000, 200 * 1024), Step.of(1000, 10),
                Step.of(500, 300 * 1024));

        assertThat(drain(in)).isEqualTo(2 + 200 * 1024 + 10 + 300 * 1024);
    }

    @Test
    void read_fastEnoughButPastTheDeadline_is408() {
        // 20 KiB/s for 6 s against a 5 s deadline
        Step[] steady = new Step[12];
        for (int i = 0; i < steady.length; i++) {
            steady[i] = Step.of(500, 10 * 1024);
        }
        GuardedBody in = body(limits(16 * 1024, Duration.ofSeconds(1), Duration.ofSeconds(5)), steady);

        assertThatThrownBy(() -> drain(in)).isInstanceOfSatisfying(ProxyException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(408);
            assertThat(e.getMessage()).isEqualTo("the request body took longer than the limit of 5000 ms to arrive "
                    + "(general_settings.request_body_timeout)");
        });
        assertThat(counted).hasSize(11);
    }

    @Test
    void read_timeBetweenReads_isNotChargedToTheClient() throws IOException {
        // the proxy spends an hour elsewhere (say, fetching an image URL) between two fast reads
        GuardedBody in = body(limits(16 * 1024, Duration.ofSeconds(1), Duration.ofSeconds(5)),
                Step.of(10, 64 * 1024), Step.of(10, 64 * 1024));
        byte[] buf = new byte[64 * 1024];

        assertThat(in.read(buf, 0, buf.length)).isEqualTo(buf.length);
        clock.now += Duration.ofHours(1).toNanos();
        assertThat(in.read(buf, 0, buf.length)).isEqualTo(buf.length);
        assertThat(in.read(buf, 0, buf.length)).isEqualTo(-1);
    }

    @Test
    void read_minimumRateZero_turnsTheRateCheckOff() throws IOException {
        GuardedBody in = body(limits(0, Duration.ofSeconds(1), Duration.ofMinutes(5)),
                Step.of(20_000, 1), Step.of(20_000, 1), Step.of(20_000, 1));

        assertThat(drain(in)).isEqualTo(3);
    }

    @Test
    void read_idleTimeoutFromJetty_is408NamingIdleTimeout() {
        IOException idle = new IOException(new TimeoutException("Idle timeout expired: 30000/30000 ms"));
        GuardedBody in = body(limits(16 * 1024, Duration.ofSeconds(10), Duration.ofMinutes(5)),
                Step.of(10, 100), new Step(Duration.ofSeconds(30), 0, idle));

        assertThatThrownBy(() -> drain(in)).isInstanceOfSatisfying(ProxyException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(408);
            assertThat(e.code()).contains("request_timeout");
            assertThat(e.getMessage()).isEqualTo("the request body stopped arriving: nothing for 30000 ms "
                    + "(general_settings.idle_timeout)");
        });
    }

    @Test
    void read_earlyEofOrReset_is499ClientClosed_keepingTheCause() {
        java.io.EOFException eof = new java.io.EOFException("Early EOF");
        GuardedBody in = body(limits(16 * 1024, Duration.ofSeconds(10), Duration.ofMinutes(5)),
                Step.of(10, 100), new Step(Duration.ZERO, 0, eof));

        assertThatThrownBy(() -> drain(in)).isInstanceOfSatisfying(ProxyException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(499);
            assertThat(e.code()).contains("client_closed");
            assertThat(e.getMessage()).isEqualTo("the client closed the connection before the request body was "
                    + "complete");
            assertThat(e.getCause()).isSameAs(eof);
            assertThat(GuardedBody.isClientClosed(e)).isTrue();
        });
    }

    @Test
    void read_countsEveryChunk_andACounterRefusalStopsTheRead() {
        GuardedBody in = new GuardedBody(new FakeSocket(clock, List.of(Step.of(1, 10), Step.of(1, 20),
                Step.of(1, 30))), limits(0, Duration.ofSeconds(1), Duration.ofMinutes(5)), () -> clock.now, n -> {
                    counted.add(n);
                    if (counted.stream().mapToLong(Long::longValue).sum() > 25) {
                        throw ProxyException.tooLarge(null, "over");
                    }
                });

        assertThatThrownBy(() -> drain(in)).isInstanceOf(ProxyException.class).hasMessage("over");
        assertThat(counted).containsExactly(10L, 20L);
    }
}
