package dev.easel.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * The load generator: closed-loop (a fixed number of workers, each on its own keep-alive connection,
 * sending the next request when the last one answered) and open-loop (requests started at a fixed rate
 * whatever happens to earlier ones; latency counted from the intended start, so a stall is not hidden).
 * Virtual threads and raw sockets; latencies in microseconds into HDR histograms.
 */
final class Load {

    private Load() {
    }

    /** Where requests go: a port and the exact bytes to send. */
    record Target(int port, byte[] head, byte[] body, boolean sse) {
        static Target of(int port, String path, String contentType, String auth, byte[] body, boolean sse) {
            String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n"
                    + "Authorization: Bearer " + auth + "\r\nContent-Type: " + contentType + "\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n";
            return new Target(port, head.getBytes(StandardCharsets.ISO_8859_1), body, sse);
        }
    }

    /** What one path (direct or proxied) measured, summed over rounds. */
    static final class Stats {
        final Histogram latency = new ConcurrentHistogram(1, 3_600_000_000L, 3);
        final Histogram events = new ConcurrentHistogram(1, 3_600_000_000L, 3);
        final AtomicLong ok = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final AtomicLong bytesUp = new AtomicLong();
        final AtomicLong bytesDown = new AtomicLong();
        final Map<String, AtomicLong> errorKinds = new ConcurrentHashMap<>();
        /** Edits per second of each round, in order (a round's answers over its own active time). */
        final List<Double> roundRps = new java.util.concurrent.CopyOnWriteArrayList<>();
        long activeNanos;

        void error(String kind) {
            errors.incrementAndGet();
            errorKinds.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
        }

        double seconds() {
            return activeNanos / 1e9;
        }
    }

    /**
     * Closed loop: {@code concurrency} workers connect first, then send until {@code count} requests in
     * all were sent or {@code maxTime} passed.
     */
    static void closed(Target t, int concurrency, int count, Duration maxTime, Stats stats)
            throws InterruptedException {
        AtomicInteger left = new AtomicInteger(count);
        CountDownLatch connected = new CountDownLatch(concurrency);
        CountDownLatch go = new CountDownLatch(1);
        long[] deadline = new long[1];
        List<Thread> workers = new ArrayList<>(concurrency);
        for (int w = 0; w < concurrency; w++) {
            workers.add(Thread.ofVirtual().name("load-", w).start(() -> {
                HttpConn conn = null;
                try {
                    conn = HttpConn.open(t.port());
                } catch (IOException e) {
                    stats.error("connect: " + e.getClass().getSimpleName());
                }
                connected.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                while (left.getAndDecrement() > 0 && System.nanoTime() < deadline[0]) {
                    long start = System.nanoTime();
                    conn = once(t, conn, start, stats);
                }
                if (conn != null) {
                    conn.close();
                }
            }));
        }
        connected.await();
        long t0 = System.nanoTime();
        deadline[0] = t0 + maxTime.toNanos();
        go.countDown();
        for (Thread w : workers) {
            w.join();
        }
        stats.activeNanos += System.nanoTime() - t0;
    }

    /** Open loop: starts a request every {@code 1/rate} seconds until {@code count} or {@code maxTime}. */
    static void open(Target t, double rate, int count, Duration maxTime, Stats stats) throws InterruptedException {
        ConcurrentLinkedQueue<HttpConn> idle = new ConcurrentLinkedQueue<>();
        long period = (long) (1e9 / rate);
        long t0 = System.nanoTime();
        long deadline = t0 + maxTime.toNanos();
        List<Thread> inflight = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long intended = t0 + i * period;
            if (intended >= deadline) {
                break;
            }
            long wait;
            while ((wait = intended - System.nanoTime()) > 0) {
                LockSupport.parkNanos(wait);
            }
            inflight.add(Thread.ofVirtual().start(() -> {
                HttpConn conn = idle.poll();
                if (conn == null) {
                    try {
                        conn = HttpConn.open(t.port());
                    } catch (IOException e) {
                        stats.error("connect: " + e.getClass().getSimpleName());
                        return;
                    }
                }
                conn = once(t, conn, intended, stats);
                if (conn != null && conn.isOpen()) {
                    idle.add(conn);
                }
            }));
        }
        for (Thread th : inflight) {
            th.join();
        }
        stats.activeNanos += System.nanoTime() - t0;
        idle.forEach(HttpConn::close);
    }

    /** One request on {@code conn} (reconnecting when it is closed); returns the connection to reuse. */
    private static HttpConn once(Target t, HttpConn conn, long start, Stats stats) {
        try {
            if (conn == null || !conn.isOpen()) {
                conn = HttpConn.open(t.port());
            }
            SseScanner sse = t.sse() ? new SseScanner(stats.events) : null;
            HttpConn.Result r = conn.exchange(t.head(), t.body(), sse);
            long micros = (System.nanoTime() - start) / 1_000;
            if (r.status() != 200) {
                stats.error("http " + r.status());
            } else if (sse != null && !sse.completed) {
                stats.error("stream without a completed event");
            } else {
                stats.ok.incrementAndGet();
                stats.latency.recordValue(Math.max(1, micros));
                stats.bytesUp.addAndGet(t.body().length);
                stats.bytesDown.addAndGet(r.bodyBytes());
            }
            return conn;
        } catch (IOException | RuntimeException e) {
            stats.error(e instanceof HttpConn.ExchangeTimeoutException ? "ExchangeTimeoutException: " + e.getMessage()
                    : e.getClass().getSimpleName());
            if (conn != null) {
                conn.close();
            }
            return null;
        }
    }

    /**
     * Splits an SSE body into events and, for each partial-image event, records now − its
     * {@code bench_emit_us} (the fake's wall clock when it wrote the event).
     */
    static final class SseScanner implements HttpConn.BodyListener {
        private static final byte[] KEY = "\"bench_emit_us\":".getBytes(StandardCharsets.ISO_8859_1);
        private static final byte[] PARTIAL = "image_edit.partial_image".getBytes(StandardCharsets.ISO_8859_1);
        private static final byte[] COMPLETED = "image_edit.completed".getBytes(StandardCharsets.ISO_8859_1);
        private final Histogram into;
        private final byte[] head = new byte[256]; // the start of the current event: type and stamp
        private int headLen;
        private int prev = -1;
        boolean completed;

        SseScanner(Histogram into) {
            this.into = into;
        }

        @Override
        public void onBytes(byte[] b, int off, int len) {
            for (int i = off; i < off + len; i++) {
                byte c = b[i];
                if (headLen < head.length) {
                    head[headLen++] = c;
                }
                if (c == '\n' && prev == '\n') {
                    eventEnd(FastUpstream.nowMicros());
                    headLen = 0;
                    prev = -1;
                    continue;
                }
                prev = c;
            }
        }

        private void eventEnd(long nowMicros) {
            if (indexOf(head, headLen, COMPLETED) >= 0) {
                completed = true;
                return;
            }
            if (indexOf(head, headLen, PARTIAL) < 0) {
                return;
            }
            int at = indexOf(head, headLen, KEY);
            if (at < 0) {
                return;
            }
            long emitted = 0;
            for (int i = at + KEY.length; i < headLen && head[i] >= '0' && head[i] <= '9'; i++) {
                emitted = emitted * 10 + (head[i] - '0');
            }
            into.recordValue(Math.max(1, nowMicros - emitted));
        }

        static int indexOf(byte[] hay, int len, byte[] needle) {
            outer:
            for (int i = 0; i <= len - needle.length; i++) {
                for (int j = 0; j < needle.length; j++) {
                    if (hay[i + j] != needle[j]) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }
    }
}
