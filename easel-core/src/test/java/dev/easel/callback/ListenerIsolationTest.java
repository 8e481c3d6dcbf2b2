package dev.easel.callback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.easel.Easel;
import dev.easel.EaselException;
import dev.easel.ImageData;
import dev.easel.ImageEditEvent;
import dev.easel.ImageEditRequest;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.image.ImageFormat;
import dev.easel.image.TestImages;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A listener that throws on every event and one that sleeps 10 s per event, on the SDK against the testkit's
 * fake: the edits answer the same, just as fast, with the same exceptions; the bus counts the throws and the
 * events the sleeping listener's full queue could not take; a well-behaved listener next to them hears
 * everything.
 */
class ListenerIsolationTest {

    static final byte[] PNG = TestImages.png(32, 32, false);
    static final int EDITS = 20;
    /** Every 5th edit is answered 400 by the upstream, so failures are compared too. */
    static final int FAIL_EVERY = 5;
    static final int QUEUE = 4;

    final FakeOpenAi plainFake = FakeOpenAi.builder().apiKey("sk-plain").start();
    final FakeOpenAi listenedFake = FakeOpenAi.builder().apiKey("sk-listened").start();
    final CountDownLatch release = new CountDownLatch(1);
    final List<Easel> buses = new ArrayList<>();

    @AfterEach
    void stop() {
        release.countDown();
        buses.forEach(e -> e.listeners().close());
        plainFake.close();
        listenedFake.close();
    }

    /** Throws from every callback. */
    static final class Throwing implements EaselListener {
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public String name() {
            return "throwing";
        }

        @Override
        public void onRequest(RequestEvent event) {
            calls.incrementAndGet();
            throw new IllegalStateException("listener boom on request " + event.requestId());
        }

        @Override
        public void onAttemptStart(AttemptStartEvent event) {
            calls.incrementAndGet();
            throw new IllegalStateException("listener boom on attempt start " + event.requestId());
        }

        @Override
        public void onAttempt(AttemptEvent event) {
            calls.incrementAndGet();
            throw new IllegalStateException("listener boom on attempt " + event.requestId());
        }

        @Override
        public void onSuccess(EditLogRecord record) {
            calls.incrementAndGet();
            throw new IllegalStateException("listener boom on success " + record.requestId());
        }

        @Override
        public void onFailure(EditLogRecord record) {
            calls.incrementAndGet();
            throw new Error("listener error on failure " + record.requestId()); // not even an Exception
        }
    }

    /** Sleeps 10 s per event (woken early only when the test ends, so closing the bus is quick). */
    final class Sleeping implements EaselListener {
        final AtomicInteger started = new AtomicInteger();

        @Override
        public String name() {
            return "sleeping";
        }

        private void sleep() {
            started.incrementAndGet();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void onRequest(RequestEvent event) {
            sleep();
        }

        @Override
        public void onAttemptStart(AttemptStartEvent event) {
            sleep();
        }

        @Override
        public void onAttempt(AttemptEvent event) {
            sleep();
        }

        @Override
        public void onSuccess(EditLogRecord record) {
            sleep();
        }

        @Override
        public void onFailure(EditLogRecord record) {
            sleep();
        }
    }

    /** Counts what it hears. */
    static final class Counting implements EaselListener {
        final AtomicInteger requests = new AtomicInteger();
        final AtomicInteger attemptStarts = new AtomicInteger();
        final AtomicInteger attempts = new AtomicInteger();
        final AtomicInteger successes = new AtomicInteger();
        final AtomicInteger failures = new AtomicInteger();

        @Override
        public String name() {
            return "counting";
        }

        @Override
        public void onRequest(RequestEvent event) {
            requests.incrementAndGet();
        }

        @Override
        public void onAttemptStart(AttemptStartEvent event) {
            attemptStarts.incrementAndGet();
        }

        @Override
        public void onAttempt(AttemptEvent event) {
            attempts.incrementAndGet();
        }

        @Override
        public void onSuccess(EditLogRecord record) {
            successes.incrementAndGet();
        }

        @Override
        public void onFailure(EditLogRecord record) {
            failures.incrementAndGet();
        }

        int events() {
            return requests.get() + attemptStarts.get() + attempts.get() + successes.get() + failures.get();
        }
    }

    Easel easel(FakeOpenAi fake, String key, EaselListener... listeners) {
        Easel.Builder b = Easel.builder().apiKey(key).apiBase(fake.baseUrl()).maxRetries(0)
                .listenerQueueCapacity(QUEUE);
        for (EaselListener l : listeners) {
            b.listener(l);
        }
        Easel e = b.build();
        buses.add(e);
        return e;
    }

    static ImageEditRequest request(int i) {
        return ImageEditRequest.builder().model("gpt-image-1").image(PNG).prompt("a hat " + i).build();
    }

    /** What an edit gave: the response's shape, or the exception's; and how long it took. */
    record Outcome(String shape, long nanos) {
    }

    static Outcome run(Easel easel, FakeOpenAi fake, int i) {
        if (i % FAIL_EVERY == FAIL_EVERY - 1) {
            fake.enqueue(FakeResponse.error(400, "invalid_request_error", "invalid_value", "size",
                    "Invalid value: 'huge'. Supported values are: '1024x1024'."));
        }
        long t0 = System.nanoTime();
        String shape;
        try {
            shape = shape(easel.imageEdit(request(i)));
        } catch (EaselException e) {
            shape = shape(e);
        }
        return new Outcome(shape, System.nanoTime() - t0);
    }

    static String shape(ImageResponse r) {
        StringBuilder b = new StringBuilder("response");
        for (ImageData d : r.data()) {
            byte[] bytes = d.bytes();
            b.append(" image(").append(ImageFormat.sniff(bytes).map(String::valueOf).orElse("unknown")).append(", b64=").append(d.b64Json().isPresent())
                    .append(", url=").append(d.url().isPresent()).append(')');
        }
        b.append(" usage=").append(r.usage().orElse(null)).append(" size=").append(r.size().orElse(null))
                .append(" quality=").append(r.quality().orElse(null)).append(" format=")
                .append(r.outputFormat().orElse(null)).append(" background=").append(r.background().orElse(null))
                .append(" cost=").append(r.cost().orElse(null)).append(" model=").append(r.model().orElse(null))
                .append(" warnings=").append(r.warnings()).append(" created>0=").append(r.created() > 0);
        return b.toString();
    }

    static String shape(EaselException e) {
        // the request id differs between the two runs; everything else must not
        return "exception " + e.getClass().getSimpleName() + " status=" + e.httpStatus() + " type=" + e.type()
                + " code=" + e.code().orElse(null) + " param=" + e.param().orElse(null) + " message="
                + e.getMessage().replace(e.requestId().orElse("\u0000"), "<id>") + " cause="
                + (e.getCause() == null ? null : e.getCause().getClass().getName()) + " suppressed="
                + e.getSuppressed().length + " attempts=" + e.attempts();
    }

    static long median(List<Long> xs) {
        List<Long> s = new ArrayList<>(xs);
        Collections.sort(s);
        return s.get(s.size() / 2);
    }

    static void await(String what, BooleanSupplier condition) {
        dev.easel.testkit.Await.until(what, condition);
    }

    @Test
    void throwingAndSleepingListeners_changeNeitherResponsesNorLatency_dropsAndErrorsCounted() {
        Throwing throwing = new Throwing();
        Sleeping sleeping = new Sleeping();
        Counting counting = new Counting();
        Easel plain = easel(plainFake, "sk-plain");
        Easel listened = easel(listenedFake, "sk-listened", throwing, sleeping, counting);

        // warm both paths up (HTTP connections, JIT, image decoding), then alternate so load hits both alike
        for (int i = 0; i < 3; i++) {
            shape(plain.imageEdit(request(i)));
            shape(listened.imageEdit(request(i)));
        }
        // each listener has its own lane: wait for both to have handled the warm-up's 12 events
        await("warm-up events handled", () -> counting.events() == 12 && throwing.calls.get() == 12);
        int warmEvents = counting.events();
        int warmThrows = throwing.calls.get();
        List<Outcome> base = new ArrayList<>();
        List<Outcome> with = new ArrayList<>();
        for (int i = 0; i < EDITS; i++) {
            base.add(run(plain, plainFake, i));
            with.add(run(listened, listenedFake, i));
            // between edits (outside the timed calls) the healthy lanes catch up, so their queues of QUEUE never
            // overflow however slow this machine is; only the sleeping listener drops
            int heard = 4 * (i + 1); // request, attempt start, attempt, outcome
            await("edit " + i + "'s events handled", () -> counting.events() == warmEvents + heard
                    && throwing.calls.get() == warmThrows + heard);
        }

        // identical answers, failures included
        assertThat(with).extracting(Outcome::shape).containsExactlyElementsOf(base.stream().map(Outcome::shape).toList());
        assertThat(base.stream().filter(o -> o.shape().startsWith("exception")).count()).isEqualTo(EDITS / FAIL_EVERY);
        assertThat(base.get(0).shape()).startsWith("response image(").contains("b64=true, url=false)")
                .doesNotContain("image(unknown");
        assertThat(base.get(FAIL_EVERY - 1).shape()).startsWith("exception BadRequestException status=400 "
                + "type=invalid_request_error code=invalid_value param=size message=Invalid value: 'huge'.")
                .contains("cause=null suppressed=0");

        // just as fast: the median within 50 ms of the baseline, no edit a second slower than the slowest plain one
        List<Long> baseNanos = base.stream().map(Outcome::nanos).toList();
        List<Long> withNanos = with.stream().map(Outcome::nanos).toList();
        long basePeak = Collections.max(baseNanos);
        assertThat(Duration.ofNanos(median(withNanos)))
                .as("median with listeners vs %s ms without", Duration.ofNanos(median(baseNanos)).toMillis())
                .isLessThanOrEqualTo(Duration.ofNanos(median(baseNanos)).plusMillis(50));
        assertThat(Duration.ofNanos(Collections.max(withNanos)))
                .as("slowest edit with listeners vs %s ms without", Duration.ofNanos(basePeak).toMillis())
                .isLessThan(Duration.ofNanos(basePeak).plusSeconds(1));
        // and far below one sleep of the sleeping listener, let alone 10 s per event
        assertThat(Duration.ofNanos(withNanos.stream().mapToLong(Long::longValue).sum())).isLessThan(Duration.ofSeconds(10));

        // the healthy listener heard all of it: request, attempt start and end, and outcome per edit
        int events = 4 * EDITS;
        await("counting listener heard every event", () -> counting.events() == warmEvents + events);
        assertThat(counting.requests.get()).isEqualTo(3 + EDITS);
        assertThat(counting.attemptStarts.get()).isEqualTo(3 + EDITS);
        assertThat(counting.attempts.get()).isEqualTo(3 + EDITS);
        assertThat(counting.successes.get()).isEqualTo(3 + EDITS - EDITS / FAIL_EVERY);
        assertThat(counting.failures.get()).isEqualTo(EDITS / FAIL_EVERY);

        // every event reached the throwing listener, and every throw (Error included) was counted
        await("throwing listener called for every event", () -> throwing.calls.get() == warmThrows + events);
        await("throws counted", () -> listened.listeners().errors().get("throwing") == 12L + events);
        assertThat(listened.listeners().dropped().get("throwing")).isZero();

        // the sleeping listener took its first event and sleeps; its queue holds QUEUE more, the rest was dropped
        ListenerBus bus = listened.listeners();
        await("sleeping listener's queue full", () -> bus.backlog().get("sleeping") == QUEUE);
        assertThat(sleeping.started.get()).isEqualTo(1);
        long total = 12 + events;
        assertThat(bus.dropped().get("sleeping")).isEqualTo(total - 1 - QUEUE);
        assertThat(bus.errors().get("sleeping")).isZero();
        assertThat(bus.dropped().get("counting")).isZero();
        assertThat(bus.errors().get("counting")).isZero();
        assertThat(bus.dropped()).containsOnlyKeys("throwing", "sleeping", "counting");
        assertThat(plain.listeners().dropped()).isEqualTo(Map.of());

        // closing delivers the queued events (the sleeper wakes) without waiting 10 s per event
        release.countDown();
        long t0 = System.nanoTime();
        bus.close();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
        assertThat(sleeping.started.get()).isEqualTo(1 + QUEUE);
        assertThat(bus.backlog().get("sleeping")).isZero();
    }

    @Test
    void streamAndRejectedEdits_throwingAndSleepingListeners_sameOutcomeNothingLeaks() {
        Throwing throwing = new Throwing();
        Sleeping sleeping = new Sleeping();
        Easel listened = easel(listenedFake, "sk-listened", throwing, sleeping);
        Easel plain = easel(plainFake, "sk-plain");

        // a stream: every event arrives, the stream ends normally
        List<String> plainEvents = streamTypes(plain);
        List<String> listenedEvents = streamTypes(listened);
        assertThat(listenedEvents).isEqualTo(plainEvents).isNotEmpty();
        assertThat(listenedEvents.getLast()).isEqualTo("completed");
        // the throwing lane catches up after each edit, so its queue of QUEUE never overflows on a slow machine
        await("the stream's 4 events thrown on", () -> listened.listeners().errors().get("throwing") == 4L);

        // an edit refused before any upstream call (invalid n): same exception, no listener trace in it
        ImageEditRequest invalid = ImageEditRequest.builder().model("gpt-image-1").image(PNG).prompt("p").n(99).build();
        EaselException a = catchThrowableOfType(EaselException.class, () -> plain.imageEdit(invalid));
        EaselException b = catchThrowableOfType(EaselException.class, () -> listened.imageEdit(invalid));
        assertThat(shape(b)).isEqualTo(shape(a));
        assertThat(b.getSuppressed()).isEmpty();
        assertThat(b).hasNoCause();
        assertThat(b.getMessage()).doesNotContain("listener");
        assertThat(listenedFake.requestCount()).isEqualTo(1); // the stream only
        await("the refusal's 2 events thrown on", () -> listened.listeners().errors().get("throwing") == 6L);

        // an upstream failure: same
        plainFake.enqueue(FakeResponse.serverError());
        listenedFake.enqueue(FakeResponse.serverError());
        ImageEditRequest plainRequest = ImageEditRequest.builder().model("gpt-image-1").image(PNG).prompt("p").build();
        EaselException c = catchThrowableOfType(EaselException.class, () -> plain.imageEdit(plainRequest));
        EaselException d = catchThrowableOfType(EaselException.class, () -> listened.imageEdit(plainRequest));
        assertThat(shape(d)).isEqualTo(shape(c));
        assertThat(d.getSuppressed()).isEmpty();

        // 3 edits: stream (request, attempt start, attempt, success), invalid (request, failure: refused before any
        // attempt), upstream 500 (request, attempt start, attempt, failure) = 10 events, each thrown on
        await("throws counted", () -> listened.listeners().errors().get("throwing") == 10L);
        await("sleeper's queue full", () -> listened.listeners().backlog().get("sleeping") == QUEUE);
        assertThat(listened.listeners().dropped().get("sleeping")).isEqualTo(10L - 1 - QUEUE);
    }

    static List<String> streamTypes(Easel easel) {
        List<String> types = new ArrayList<>();
        try (ImageEditStream s = easel.imageEditStream(ImageEditRequest.builder().model("gpt-image-1").image(PNG)
                .prompt("p").partialImages(1).build())) {
            for (ImageEditEvent e : s) {
                types.add(e.getClass().getSimpleName().toLowerCase().replace("event", ""));
            }
        }
        return types;
    }
}
