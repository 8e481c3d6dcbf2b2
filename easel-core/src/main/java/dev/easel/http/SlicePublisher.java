package dev.easel.http;

import dev.easel.internal.ChunkLease;
import dev.easel.internal.ReleaseTracking;
import java.net.http.HttpRequest;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A body published as read-only views of arrays that are already in memory, at most {@link #MAX_SLICE} bytes each.
 * The JDK's {@code BodyPublishers.ofByteArray} copies its array into fresh 16 KiB buffers (measured: an upload's size
 * in garbage per call, docs/benchmarks.md); the views here copy nothing, and every subscription starts again from
 * the first byte (retries and fallbacks send the same parts again).
 *
 * <p>Slices of pooled memory ({@link ChunkLease}) are lent only to a subscriber that tells when it and its client have
 * released every buffer ({@link ReleaseTracking}): each such subscription enters the leases and exits them then; any
 * other subscriber poisons them (their arrays are left to the collector instead of going back to the pool).
 *
 * <p>Demand and cancellation follow the Reactive Streams rules: {@code onNext} is never called beyond what was
 * requested, never concurrently, and not at all after {@code cancel}; a non-positive request is an error.
 */
final class SlicePublisher implements HttpRequest.BodyPublisher {

    /** The largest view handed on at once: the size of a spool chunk (docs/limits.md). */
    static final int MAX_SLICE = 256 * 1024;

    /** One array range. */
    record Slice(byte[] array, int offset, int length) {
        Slice {
            Objects.checkFromIndexSize(offset, length, array.length);
        }
    }

    private final List<Slice> slices;
    private final List<ChunkLease> leases;
    private final long length;

    SlicePublisher(List<Slice> slices) {
        this(slices, List.of());
    }

    /** Slices of which some lie in the arrays of {@code leases}. */
    SlicePublisher(List<Slice> slices, java.util.Collection<ChunkLease> leases) {
        this.slices = List.copyOf(slices);
        this.leases = List.copyOf(leases);
        long n = 0;
        for (Slice s : this.slices) {
            n += s.length();
        }
        this.length = n;
    }

    /** One array range as a body. */
    static SlicePublisher of(byte[] array, int offset, int length) {
        return new SlicePublisher(List.of(new Slice(array, offset, length)));
    }

    @Override
    public long contentLength() {
        return length;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super ByteBuffer> subscriber) {
        Objects.requireNonNull(subscriber, "subscriber");
        if (subscriber instanceof ReleaseTracking tracking) {
            int entered = 0;
            try {
                for (ChunkLease lease : leases) {
                    lease.enter();
                    entered++;
                }
            } catch (IllegalStateException e) { // the upload's memory is gone: send nothing of it
                for (int j = 0; j < entered; j++) {
                    leases.get(j).exit();
                }
                subscriber.onSubscribe(new Flow.Subscription() {
                    @Override
                    public void request(long n) {
                    }

                    @Override
                    public void cancel() {
                    }
                });
                subscriber.onError(e);
                return;
            }
            for (ChunkLease lease : leases) {
                tracking.whenReleased(lease::exit);
            }
        } else {
            leases.forEach(ChunkLease::poison);
        }
        new Emission(subscriber).start();
    }

    /** One subscription: walks the slices as demand allows. */
    private final class Emission implements Flow.Subscription {
        private final Flow.Subscriber<? super ByteBuffer> subscriber;
        private final AtomicLong demand = new AtomicLong();
        private final AtomicInteger draining = new AtomicInteger();
        private final AtomicBoolean done = new AtomicBoolean();
        private int slice;
        private int position;

        Emission(Flow.Subscriber<? super ByteBuffer> subscriber) {
            this.subscriber = Objects.requireNonNull(subscriber, "subscriber");
        }

        void start() {
            subscriber.onSubscribe(this);
            drain(); // an empty body completes without any request
        }

        @Override
        public void request(long n) {
            if (done.get()) {
                return;
            }
            if (n <= 0) {
                if (done.compareAndSet(false, true)) {
                    subscriber.onError(new IllegalArgumentException("non-positive request: " + n));
                }
                return;
            }
            demand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
            drain();
        }

        @Override
        public void cancel() {
            done.set(true);
        }

        /** Emits while there is demand; a request made from inside {@code onNext} is served by this same loop. */
        private void drain() {
            if (draining.getAndIncrement() != 0) {
                return;
            }
            do {
                while (!done.get()) {
                    if (slice == slices.size()) {
                        if (done.compareAndSet(false, true)) {
                            subscriber.onComplete();
                        }
                        break;
                    }
                    if (demand.get() == 0) {
                        break;
                    }
                    Slice s = slices.get(slice);
                    int n = Math.min(MAX_SLICE, s.length() - position);
                    int at = s.offset() + position;
                    position += n;
                    if (position == s.length()) {
                        slice++;
                        position = 0;
                    }
                    if (n > 0) {
                        demand.decrementAndGet();
                        subscriber.onNext(ByteBuffer.wrap(s.array(), at, n).slice().asReadOnlyBuffer());
                    }
                }
            } while (draining.decrementAndGet() != 0);
        }
    }
}
