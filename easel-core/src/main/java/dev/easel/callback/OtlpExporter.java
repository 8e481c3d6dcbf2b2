package dev.easel.callback;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends spans to an OTLP/HTTP collector in JSON, in batches, from one background thread.
 *
 * <p>Spans wait in a bounded buffer; a batch leaves when it is full or when the schedule delay has passed.
 * A batch that fails with a retryable answer (429, 502, 503, 504), a time-out or a connection failure is
 * retried with exponential backoff and jitter (or the collector's {@code Retry-After}) until it is delivered,
 * so spans survive a collector outage as long as the buffer holds them; spans that find the buffer full are
 * dropped and counted. Any other answer drops the batch (counted), as the OTLP specification requires.
 * {@link #offer} never blocks.
 */
final class OtlpExporter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OtlpExporter.class);
    private static final Duration MAX_RETRY_AFTER = Duration.ofMinutes(1);

    /** Settings; all durations positive, all sizes at least 1. */
    record Settings(Duration timeout, Duration scheduleDelay, int maxBatchSize, int maxQueueSize,
                    Duration initialBackoff, Duration maxBackoff, Duration closeTimeout) {
    }

    private final URI endpoint;
    private final Map<String, String> headers;
    private final Map<String, Object> resource;
    private final String scopeName;
    private final String scopeVersion;
    private final Settings settings;
    private final HttpClient client;
    private final Thread worker;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private final Condition settledChanged = lock.newCondition();
    private final ArrayDeque<OtlpSpan> buffer = new ArrayDeque<>();
    // spans accepted into the buffer, and those since exported or dropped: FIFO, so settled >= n means the
    // first n accepted spans are done
    private long accepted;
    private long settled;
    private long flushTarget;
    private long exported;
    private long dropped;
    private long inFlight;
    private boolean closing;
    private long closeDeadline;
    private volatile String failure;

    OtlpExporter(URI endpoint, Map<String, String> headers, Map<String, Object> resource, String scopeName,
                 String scopeVersion, Settings settings) {
        this.endpoint = endpoint;
        this.headers = Map.copyOf(headers);
        this.resource = resource;
        this.scopeName = scopeName;
        this.scopeVersion = scopeVersion;
        this.settings = settings;
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(settings.timeout()).build();
        this.worker = Thread.ofPlatform().daemon().name("easel-otlp-exporter").start(this::run);
    }

    /** Queues spans; those that do not fit are dropped and counted. Never blocks on the network. */
    void offer(List<OtlpSpan> spans) {
        lock.lock();
        try {
            for (OtlpSpan s : spans) {
                if (closing || buffer.size() >= settings.maxQueueSize()) {
                    dropped++;
                    if (dropped == 1 || dropped % 1000 == 0) {
                        LOG.warn("otlp span buffer full ({} spans): {} spans dropped so far",
                                settings.maxQueueSize(), dropped);
                    }
                } else {
                    buffer.add(s);
                    accepted++;
                }
            }
            if (buffer.size() >= settings.maxBatchSize()) {
                wake.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Exports everything queued so far; true when it was all delivered (or dropped) within {@code timeout}. */
    boolean flush(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            long target = accepted;
            flushTarget = Math.max(flushTarget, target);
            wake.signalAll();
            while (settled < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                settledChanged.awaitNanos(left);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** Why exporting fails right now, or null when the last export worked (or none was tried yet). */
    String failure() {
        return failure;
    }

    long exported() {
        lock.lock();
        try {
            return exported;
        } finally {
            lock.unlock();
        }
    }

    long dropped() {
        lock.lock();
        try {
            return dropped;
        } finally {
            lock.unlock();
        }
    }

    /** Spans buffered or being sent. */
    long pending() {
        lock.lock();
        try {
            return buffer.size() + inFlight;
        } finally {
            lock.unlock();
        }
    }

    URI endpoint() {
        return endpoint;
    }

    /** The endpoint for logs and health: without user info or query (they may hold credentials). */
    String shownEndpoint() {
        return endpoint.getScheme() + "://" + endpoint.getHost() + (endpoint.getPort() < 0 ? ""
                : ":" + endpoint.getPort()) + (endpoint.getRawPath() == null ? "" : endpoint.getRawPath());
    }

    /**
     * Stops taking spans, sends what is buffered (retrying for at most the close time-out), drops what is
     * left (counted) and stops the thread.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closing) {
                return;
            }
            closing = true;
            closeDeadline = System.nanoTime() + settings.closeTimeout().toNanos();
            wake.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            worker.join(settings.closeTimeout().plusMillis(100));
            if (worker.isAlive()) {
                // a request still in flight past the deadline: interrupting cancels it, the batch is dropped
                worker.interrupt();
                worker.join(Duration.ofSeconds(1));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        client.shutdownNow();
    }

    private void run() {
        while (true) {
            List<OtlpSpan> batch = nextBatch();
            if (batch == null) {
                return;
            }
            boolean delivered;
            try {
                delivered = send(batch);
            } catch (RuntimeException e) {
                LOG.warn("otlp export failed: {} spans dropped", batch.size(), e);
                delivered = false;
            }
            lock.lock();
            try {
                inFlight = 0;
                settled += batch.size();
                if (delivered) {
                    exported += batch.size();
                } else {
                    dropped += batch.size();
                }
                settledChanged.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Waits for a full batch, the schedule delay, a flush or close; null when closing with nothing left. */
    private List<OtlpSpan> nextBatch() {
        lock.lock();
        try {
            long due = System.nanoTime() + settings.scheduleDelay().toNanos();
            while (true) {
                boolean flushing = settled < flushTarget;
                if (buffer.size() >= settings.maxBatchSize() || (!buffer.isEmpty() && (closing || flushing))) {
                    break;
                }
                if (closing && buffer.isEmpty()) {
                    return null;
                }
                long left = due - System.nanoTime();
                if (left <= 0) {
                    if (!buffer.isEmpty()) {
                        break;
                    }
                    due = System.nanoTime() + settings.scheduleDelay().toNanos();
                    left = settings.scheduleDelay().toNanos();
                }
                try {
                    wake.awaitNanos(left);
                } catch (InterruptedException e) {
                    if (closing) {
                        dropBuffered();
                        return null;
                    }
                }
            }
            if (closing && System.nanoTime() - closeDeadline > 0) {
                dropBuffered();
                return null;
            }
            List<OtlpSpan> batch = new ArrayList<>(Math.min(buffer.size(), settings.maxBatchSize()));
            while (batch.size() < settings.maxBatchSize() && !buffer.isEmpty()) {
                batch.add(buffer.poll());
            }
            inFlight = batch.size();
            return batch;
        } finally {
            lock.unlock();
        }
    }

    private void dropBuffered() {
        int n = buffer.size();
        buffer.clear();
        dropped += n;
        settled += n;
        settledChanged.signalAll();
        if (n > 0) {
            LOG.warn("otlp exporter closed with {} spans undelivered (dropped)", n);
        }
    }

    /** Sends one batch until it is delivered (true) or refused for good, or closing ran out of time (false). */
    private boolean send(List<OtlpSpan> batch) {
        byte[] body = OtlpJson.encode(resource, scopeName, scopeVersion, batch);
        HttpRequest.Builder rb = HttpRequest.newBuilder(endpoint).timeout(settings.timeout())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach(rb::header);
        HttpRequest request = rb.build();
        for (int attempt = 1; ; attempt++) {
            Duration wait;
            try {
                HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                if (status / 100 == 2) {
                    recovered();
                    return true;
                }
                String problem = "collector answered " + status + snippet(response.body());
                if (status != 429 && status != 502 && status != 503 && status != 504) {
                    failed(problem + "; " + batch.size() + " spans dropped");
                    return false;
                }
                failed(problem);
                wait = retryAfter(response).orElseGet(backoff(attempt));
            } catch (HttpConnectTimeoutException e) {
                failed("cannot reach the collector: no connection within " + settings.timeout().toMillis() + " ms");
                wait = backoff(attempt).get();
            } catch (HttpTimeoutException e) {
                failed("no answer from the collector within " + settings.timeout().toMillis() + " ms");
                wait = backoff(attempt).get();
            } catch (IOException e) {
                failed("cannot reach the collector: " + reason(e));
                wait = backoff(attempt).get();
            } catch (InterruptedException e) {
                return false;
            }
            if (!pause(wait)) {
                return false;
            }
        }
    }

    /** Waits before a retry; false when closing and the close time-out is used up. */
    private boolean pause(Duration wait) {
        long until = System.nanoTime() + wait.toNanos();
        lock.lock();
        try {
            while (true) {
                long now = System.nanoTime();
                if (closing && now - closeDeadline >= 0) {
                    return false;
                }
                long left = until - now;
                if (left <= 0) {
                    return true;
                }
                if (closing) {
                    left = Math.min(left, closeDeadline - now);
                }
                try {
                    wake.awaitNanos(left);
                } catch (InterruptedException e) {
                    return false;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private java.util.function.Supplier<Duration> backoff(int attempt) {
        return () -> {
            long base = settings.initialBackoff().toNanos() << Math.min(attempt - 1, 20);
            long capped = Math.min(base <= 0 ? Long.MAX_VALUE : base, settings.maxBackoff().toNanos());
            double jitter = 0.8 + ThreadLocalRandom.current().nextDouble() * 0.4;
            return Duration.ofNanos((long) (capped * jitter));
        };
    }

    private static java.util.Optional<Duration> retryAfter(HttpResponse<?> response) {
        return response.headers().firstValue("Retry-After").flatMap(v -> {
            try {
                long s = Long.parseLong(v.trim());
                return s < 0 ? java.util.Optional.empty()
                        : java.util.Optional.of(Duration.ofSeconds(s).compareTo(MAX_RETRY_AFTER) > 0
                        ? MAX_RETRY_AFTER : Duration.ofSeconds(s));
            } catch (NumberFormatException e) {
                return java.util.Optional.empty();
            }
        });
    }

    /** The first message in the cause chain; the JDK client's refused connection has none. */
    private static String reason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                return t.getMessage();
            }
        }
        return e instanceof java.net.ConnectException ? "connection refused" : e.getClass().getSimpleName();
    }

    private static String snippet(String body) {
        if (body == null || body.isBlank()) {
            return "";
        }
        String b = body.strip().replaceAll("\\s+", " ");
        return ": " + (b.length() > 200 ? b.substring(0, 200) + "…" : b);
    }

    private void failed(String problem) {
        if (failure == null) {
            LOG.warn("otlp export to {} failing: {}", shownEndpoint(), problem);
        }
        failure = problem;
    }

    private void recovered() {
        if (failure != null) {
            LOG.info("otlp export to {} works again", shownEndpoint());
        }
        failure = null;
    }

}
