package dev.easel.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Flow;
import org.junit.jupiter.api.Test;

class SlicePublisherTest {

    /** Records what it is given; asks for nothing by itself. */
    static class Recorder implements Flow.Subscriber<ByteBuffer> {
        Flow.Subscription subscription;
        final List<ByteBuffer> items = new ArrayList<>();
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Throwable error;
        boolean complete;
        long askOnEachItem;

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
        }

        @Override
        public void onNext(ByteBuffer item) {
            items.add(item);
            ByteBuffer copy = item.duplicate();
            byte[] b = new byte[copy.remaining()];
            copy.get(b);
            bytes.writeBytes(b);
            if (askOnEachItem > 0) {
                subscription.request(askOnEachItem); // re-entrant: served by the loop already running
            }
        }

        @Override
        public void onError(Throwable t) {
            error = t;
        }

        @Override
        public void onComplete() {
            complete = true;
        }
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    @Test
    void publishes_everyByteInOrder_asReadOnlyViewsOfAtMostOneSlice_andItsLengthIsTheSum() {
        byte[] big = bytes(SlicePublisher.MAX_SLICE * 2 + 100, 1);
        byte[] small = bytes(10, 2);
        SlicePublisher p = new SlicePublisher(List.of(new SlicePublisher.Slice(small, 2, 5),
                new SlicePublisher.Slice(big, 0, big.length), new SlicePublisher.Slice(new byte[0], 0, 0)));
        assertThat(p.contentLength()).isEqualTo(5 + big.length);

        Recorder r = new Recorder();
        p.subscribe(r);
        r.subscription.request(Long.MAX_VALUE);

        assertThat(r.complete).isTrue();
        assertThat(r.error).isNull();
        ByteArrayOutputStream want = new ByteArrayOutputStream();
        want.write(small, 2, 5);
        want.writeBytes(big);
        assertThat(r.bytes.toByteArray()).isEqualTo(want.toByteArray());
        assertThat(r.items).hasSize(4) // 5 bytes, then the big array in three views; the empty slice sends nothing
                .allSatisfy(b -> assertThat(b.isReadOnly()).isTrue())
                .allSatisfy(b -> assertThat(b.remaining()).isBetween(1, SlicePublisher.MAX_SLICE));
    }

    @Test
    void demand_oneItemPerRequest_reentrantRequestsServedInOrder_cancelStops() {
        byte[] big = bytes(SlicePublisher.MAX_SLICE * 3, 3);
        SlicePublisher p = SlicePublisher.of(big, 0, big.length);

        Recorder r = new Recorder();
        p.subscribe(r);
        assertThat(r.items).isEmpty();
        r.subscription.request(1);
        assertThat(r.items).hasSize(1);
        r.subscription.cancel();
        r.subscription.request(5);
        assertThat(r.items).hasSize(1);
        assertThat(r.complete).isFalse();

        Recorder again = new Recorder(); // a new subscription starts from the first byte (a retry)
        again.askOnEachItem = 1;
        p.subscribe(again);
        again.subscription.request(1);
        assertThat(again.complete).isTrue();
        assertThat(again.bytes.toByteArray()).isEqualTo(big);
    }

    @Test
    void emptyBody_completesWithoutARequest_andANonPositiveRequestIsAnError() {
        Recorder empty = new Recorder();
        new SlicePublisher(List.of()).subscribe(empty);
        assertThat(empty.complete).isTrue();

        Recorder wrong = new Recorder();
        SlicePublisher.of(bytes(10, 4), 0, 10).subscribe(wrong);
        wrong.subscription.request(0);
        assertThat(wrong.error).isInstanceOf(IllegalArgumentException.class);
        wrong.subscription.request(1);
        assertThat(wrong.items).isEmpty();
    }

    @Test
    void multipartInMemory_isOnePublisherOfViews_whoseBytesAreTheBody() {
        byte[] image = bytes(300_000, 5);
        Multipart m = Multipart.withBoundary("b0undary").text("prompt", "a hat")
                .file("image", "a.png", "image/png", dev.easel.internal.Blob.ofBytes(image));
        var p = m.publisher();
        assertThat(p).isInstanceOf(SlicePublisher.class);
        assertThat(p.contentLength()).isEqualTo(m.contentLength());
        Recorder r = new Recorder();
        p.subscribe(r);
        r.subscription.request(Long.MAX_VALUE);
        assertThat(r.bytes.toByteArray()).isEqualTo(m.toByteArray());
        // the image's bytes went out as views of its own array
        assertThat(r.items).anySatisfy(b -> assertThat(b.remaining()).isEqualTo(SlicePublisher.MAX_SLICE));
    }

    /** A recorder that tells when it is done with what it was given, as the proxy's upstream client does. */
    static final class TrackingRecorder extends Recorder implements dev.easel.internal.ReleaseTracking {
        final List<Runnable> actions = new ArrayList<>();

        @Override
        public void whenReleased(Runnable action) {
            assertThat(subscription).as("registered before onSubscribe").isNull();
            actions.add(action);
        }

        void released() {
            actions.forEach(Runnable::run);
        }
    }

    @Test
    void pooledSlices_areLentToATrackingSubscriber_untilItReleasesThem_andPoisonedByAnyOther() {
        dev.easel.internal.ChunkLease lease = new dev.easel.internal.ChunkLease();
        byte[] chunk = lease.take(dev.easel.internal.ChunkPool.MIN_SIZE);
        SlicePublisher p = new SlicePublisher(List.of(new SlicePublisher.Slice(chunk, 0, 100)), List.of(lease));

        TrackingRecorder tracked = new TrackingRecorder();
        p.subscribe(tracked);
        tracked.subscription.request(Long.MAX_VALUE);
        assertThat(tracked.complete).isTrue();
        lease.close(); // the owner is done; the tracked subscriber is not yet
        assertThat(lease.released()).isFalse();
        tracked.released();
        assertThat(lease.released()).isTrue();
        assertThat(lease.poisoned()).isFalse();

        dev.easel.internal.ChunkLease other = new dev.easel.internal.ChunkLease();
        byte[] c2 = other.take(dev.easel.internal.ChunkPool.MIN_SIZE);
        Recorder untracked = new Recorder();
        new SlicePublisher(List.of(new SlicePublisher.Slice(c2, 0, 100)), List.of(other)).subscribe(untracked);
        assertThat(other.poisoned()).isTrue();
        other.close();
        assertThat(other.released()).isTrue();

        // a subscription after the arrays went back gets an error, not another upload's bytes
        TrackingRecorder late = new TrackingRecorder();
        p.subscribe(late);
        assertThat(late.error).isInstanceOf(IllegalStateException.class);
        assertThat(late.items).isEmpty();
    }
}
