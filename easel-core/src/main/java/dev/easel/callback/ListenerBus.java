package dev.easel.callback;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers events to listeners off the request path: each listener has its own bounded queue and its own
 * thread, so one slow listener delays no request and no other listener. When a queue is full the event is
 * dropped and counted ({@link #dropped()}); a listener that throws is counted ({@link #errors()}) and keeps
 * receiving events.
 */
public final class ListenerBus implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ListenerBus.class);

    /** Default queue capacity per listener. */
    public static final int DEFAULT_CAPACITY = 10_000;

    private final List<Lane> lanes = new ArrayList<>();

    /** A bus over {@code listeners}, each with a queue of {@code capacity} events. */
    public ListenerBus(List<EaselListener> listeners, int capacity) {
        for (EaselListener l : listeners) {
            lanes.add(new Lane(l, capacity));
        }
    }

    /** A bus without listeners. */
    public static ListenerBus none() {
        return new ListenerBus(List.of(), 1);
    }

    /** Whether anyone listens (lets callers skip building events). */
    public boolean active() {
        return !lanes.isEmpty();
    }

    /** The listeners. */
    public List<EaselListener> listeners() {
        return lanes.stream().map(l -> l.listener).toList();
    }

    public void request(RequestEvent e) {
        publish(l -> l.onRequest(e));
    }

    /** Publishes an attempt's start to {@code onAttemptStart}. */
    public void attemptStart(AttemptStartEvent e) {
        publish(l -> l.onAttemptStart(e));
    }

    public void attempt(AttemptEvent e) {
        publish(l -> l.onAttempt(e));
    }

    /** Publishes a job poll to {@code onJobPoll}. */
    public void jobPoll(JobPollEvent e) {
        publish(l -> l.onJobPoll(e));
    }

    /** Publishes a budget alert to {@code onBudgetAlert}. */
    public void budgetAlert(BudgetAlertEvent e) {
        publish(l -> l.onBudgetAlert(e));
    }

    /** Publishes the final record to {@code onSuccess} or {@code onFailure}. */
    public void done(EditLogRecord r) {
        publish(r.success() ? l -> l.onSuccess(r) : l -> l.onFailure(r));
    }

    private void publish(Consumer<EaselListener> event) {
        for (Lane lane : lanes) {
            lane.offer(event);
        }
    }

    /** Events dropped per listener because its queue was full. */
    public Map<String, Long> dropped() {
        Map<String, Long> m = new LinkedHashMap<>();
        lanes.forEach(l -> m.merge(l.listener.name(), l.dropped.get(), Long::sum));
        return m;
    }

    /** Events whose listener threw, per listener. */
    public Map<String, Long> errors() {
        Map<String, Long> m = new LinkedHashMap<>();
        lanes.forEach(l -> m.merge(l.listener.name(), l.errors.get(), Long::sum));
        return m;
    }

    /** Events waiting, per listener. */
    public Map<String, Integer> backlog() {
        Map<String, Integer> m = new LinkedHashMap<>();
        lanes.forEach(l -> m.merge(l.listener.name(), l.queue.size(), Integer::sum));
        return m;
    }

    /** Waits until every queue is empty or {@code timeout} passed; true when all were delivered. */
    public boolean drain(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Lane l : lanes) {
            while (l.pending.get() > 0 && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return lanes.stream().allMatch(l -> l.pending.get() == 0);
    }

    /** Delivers what is queued (up to 5 s) and stops the threads. */
    @Override
    public void close() {
        drain(Duration.ofSeconds(5));
        lanes.forEach(Lane::stop);
    }

    private static final class Lane {
        final EaselListener listener;
        final BlockingQueue<Consumer<EaselListener>> queue;
        final AtomicLong dropped = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final Thread thread;
        final java.util.concurrent.atomic.AtomicInteger pending = new java.util.concurrent.atomic.AtomicInteger();
        volatile boolean running = true;

        Lane(EaselListener listener, int capacity) {
            this.listener = listener;
            this.queue = new ArrayBlockingQueue<>(capacity);
            this.thread = Thread.ofPlatform().daemon().name("easel-listener-" + listener.name()).start(this::run);
        }

        void offer(Consumer<EaselListener> event) {
            pending.incrementAndGet();
            if (!queue.offer(event)) {
                pending.decrementAndGet();
                long n = dropped.incrementAndGet();
                if (n == 1 || n % 1000 == 0) {
                    LOG.warn("listener {} is too slow: {} events dropped so far", listener.name(), n);
                }
            }
        }

        void run() {
            while (running || !queue.isEmpty()) {
                Consumer<EaselListener> e;
                try {
                    e = queue.poll(200, TimeUnit.MILLISECONDS);
                } catch (InterruptedException ex) {
                    if (!running) {
                        return;
                    }
                    continue;
                }
                if (e == null) {
                    continue;
                }
                try {
                    e.accept(listener);
                } catch (Throwable t) {
                    long n = errors.incrementAndGet();
                    if (n == 1 || n % 1000 == 0) {
                        LOG.warn("listener {} failed ({} failures so far): {}", listener.name(), n, t.toString());
                    }
                } finally {
                    pending.decrementAndGet();
                }
            }
        }

        void stop() {
            running = false;
            thread.interrupt();
            try {
                thread.join(1000); // a listener stuck in its own I/O is left behind (a daemon), not waited for
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
