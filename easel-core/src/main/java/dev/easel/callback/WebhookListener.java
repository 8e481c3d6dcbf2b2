package dev.easel.callback;

import dev.easel.config.ConfigException;
import dev.easel.config.EaselConfig;
import dev.easel.config.LitellmSettings;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code webhook}: POSTs finished-edit records in batches to a URL, as
 * {@code {"batch_id":"<uuid>","records":[<record>,…]}} with the same {@code Idempotency-Key} header, from a
 * background thread. Never blocks its caller: records wait in a bounded buffer, and what does not fit is
 * dropped and counted ({@link #dropped()}). A batch that fails (connection refused, time-out, 408, 429, 5xx)
 * is kept and retried with exponential backoff, with the same batch id, until it is delivered, so a receiver
 * that was down gets every buffered record once it is back; a receiver that answers another 4xx rejected the
 * batch, which is then counted ({@link #rejected()}) and not retried. {@link #health()} is down while
 * deliveries fail.
 *
 * <pre>{@code
 * WebhookListener hook = WebhookListener.builder(URI.create("https://hooks.example.com/easel"))
 *         .header("Authorization", "Bearer " + token).build();
 * Easel easel = Easel.builder().listener(hook).build();
 * }</pre>
 */
public final class WebhookListener implements EaselListener, AutoCloseable {

    /** The listener's name in config and metrics. */
    public static final String NAME = "webhook";

    private static final Logger LOG = LoggerFactory.getLogger(WebhookListener.class);

    private final URI url;
    private final String target;
    private final Map<String, String> headers;
    private final int batchSize;
    private final Duration linger;
    private final int maxBuffered;
    private final Duration timeout;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final Duration closeTimeout;
    private final HttpClient http;
    private final LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
    private final AtomicInteger undelivered = new AtomicInteger();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong failedPosts = new AtomicLong();
    private final Object wake = new Object();
    private final Thread sender;
    private volatile boolean closing;
    private volatile long closeDeadline;
    private volatile int failuresInRow;
    private volatile String lastFailure;

    private WebhookListener(Builder b) {
        this.url = b.url;
        this.target = b.url.getScheme() + "://" + b.url.getHost() + (b.url.getPort() < 0 ? "" : ":" + b.url.getPort());
        this.headers = Map.copyOf(b.headers);
        this.batchSize = b.batchSize;
        this.linger = b.linger;
        this.maxBuffered = b.maxBuffered;
        this.timeout = b.timeout;
        this.initialBackoff = b.initialBackoff;
        this.maxBackoff = b.maxBackoff;
        this.closeTimeout = b.closeTimeout;
        this.http = HttpClient.newBuilder().connectTimeout(b.timeout).followRedirects(HttpClient.Redirect.NEVER)
                .build();
        this.sender = Thread.ofPlatform().daemon().name("easel-webhook-sender").start(this::run);
    }

    /** A builder for a webhook POSTing to {@code url} (http or https). */
    public static Builder builder(URI url) {
        return new Builder(url);
    }

    /** A webhook to {@code url} with the defaults. */
    public static WebhookListener of(URI url) {
        return builder(url).build();
    }

    /**
     * The listener a config asks for, if any: on when {@code webhook} is in {@code litellm_settings.callbacks},
     * {@code success_callback} or {@code failure_callback}, or when a URL is set. The URL is
     * {@code general_settings.webhook_url}, else {@code EASEL_WEBHOOK_URL}; {@code EASEL_WEBHOOK_AUTHORIZATION},
     * when set, is sent as the {@code Authorization} header.
     *
     * @throws ConfigException when {@code webhook} is listed but no URL is set, or the variable is no http(s) URL
     */
    public static Optional<WebhookListener> fromConfig(EaselConfig config, Map<String, String> env) {
        LitellmSettings s = config.litellmSettings();
        boolean listed = s.callbacks().contains(NAME) || s.successCallback().contains(NAME)
                || s.failureCallback().contains(NAME);
        URI url = config.generalSettings().webhookUrl().orElse(null);
        if (url == null) {
            String v = env.get("EASEL_WEBHOOK_URL");
            if (v != null && !v.isBlank()) {
                try {
                    url = URI.create(v.trim());
                } catch (IllegalArgumentException e) {
                    throw new ConfigException("EASEL_WEBHOOK_URL must be an http(s) URL (was '" + v.trim() + "')");
                }
                if (!isHttp(url)) {
                    throw new ConfigException("EASEL_WEBHOOK_URL must be an http(s) URL (was '" + v.trim() + "')");
                }
            }
        }
        if (url == null) {
            if (listed) {
                throw new ConfigException("litellm_settings.callbacks: 'webhook' needs general_settings.webhook_url"
                        + " or the EASEL_WEBHOOK_URL environment variable");
            }
            return Optional.empty();
        }
        Builder b = builder(url);
        String auth = env.get("EASEL_WEBHOOK_AUTHORIZATION");
        if (auth != null && !auth.isBlank()) {
            b.header("Authorization", auth.trim());
        }
        return Optional.of(b.build());
    }

    private static boolean isHttp(URI u) {
        return u.getScheme() != null && (u.getScheme().equalsIgnoreCase("http")
                || u.getScheme().equalsIgnoreCase("https")) && u.getHost() != null;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void onSuccess(EditLogRecord record) {
        add(record);
    }

    @Override
    public void onFailure(EditLogRecord record) {
        add(record);
    }

    /** A budget alert goes out in the same batches as the records, as LiteLLM's webhook event object. */
    @Override
    public void onBudgetAlert(BudgetAlertEvent event) {
        enqueue(event.toJson());
    }

    private void add(EditLogRecord record) {
        enqueue(RecordJson.toJson(record));
    }

    private void enqueue(String json) {
        if (closing) {
            dropped.incrementAndGet();
            return;
        }
        if (undelivered.incrementAndGet() > maxBuffered) {
            undelivered.decrementAndGet();
            long n = dropped.incrementAndGet();
            if (n == 1 || n % 1000 == 0) {
                LOG.warn("webhook {}: buffer of {} records full, {} records dropped so far", target, maxBuffered, n);
            }
            return;
        }
        queue.add(json);
    }

    /** Records delivered (acknowledged with a 2xx). */
    public long delivered() {
        return delivered.get();
    }

    /** Records dropped: the buffer was full, or they were still undelivered when {@link #close()} gave up. */
    public long dropped() {
        return dropped.get();
    }

    /** Records in batches the receiver refused with a 4xx other than 408 and 429 (not retried). */
    public long rejected() {
        return rejected.get();
    }

    /** Records waiting for delivery (buffered or in a batch being retried). */
    public int pending() {
        return undelivered.get();
    }

    /** POSTs that failed (each retry counts). */
    public long failedPosts() {
        return failedPosts.get();
    }

    /** Down while deliveries fail, with how many failed in a row, the last failure and the backlog. */
    @Override
    public Health health() {
        int n = failuresInRow;
        String last = lastFailure;
        if (n == 0 && last == null) {
            return Health.UP;
        }
        if (n == 0) {
            return Health.down("webhook " + target + ": " + last);
        }
        return Health.down("webhook " + target + ": " + n + (n == 1 ? " delivery" : " deliveries")
                + " failed in a row (last: " + last + "); " + undelivered.get() + " records waiting, "
                + dropped.get() + " dropped");
    }

    // ---- sender ----------------------------------------------------------------------------------

    private void run() {
        List<String> batch = null;
        String batchId = null;
        Duration backoff = initialBackoff;
        while (true) {
            if (batch == null) {
                batch = nextBatch();
                if (batch == null) {
                    if (closing && queue.isEmpty()) {
                        return;
                    }
                    continue;
                }
                batchId = UUID.randomUUID().toString();
            }
            if (closing && System.nanoTime() - closeDeadline > 0) {
                giveUp(batch.size());
                return;
            }
            Result r = post(batchId, batch);
            if (r == Result.DELIVERED) {
                delivered.addAndGet(batch.size());
                undelivered.addAndGet(-batch.size());
                batch = null;
                failuresInRow = 0;
                lastFailure = null;
                backoff = initialBackoff;
            } else if (r == Result.REJECTED) {
                rejected.addAndGet(batch.size());
                undelivered.addAndGet(-batch.size());
                batch = null;
                failuresInRow = 0;
                backoff = initialBackoff;
            } else {
                pause(backoff); // fail() counted it

                backoff = backoff.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : backoff.multipliedBy(2);
            }
        }
    }

    /** Up to {@code batchSize} records; waits up to {@code linger} for a fresh batch to fill, none for a backlog. */
    private List<String> nextBatch() {
        List<String> batch = new ArrayList<>();
        queue.drainTo(batch, batchSize);
        if (batch.isEmpty()) {
            String first;
            try {
                first = queue.poll(closing ? 1 : 200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return null;
            }
            if (first == null) {
                return null;
            }
            batch.add(first);
            long end = System.nanoTime() + linger.toNanos();
            while (batch.size() < batchSize && !closing) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    // short slices, so close() does not wait out the linger
                    String next = queue.poll(Math.min(left, 50_000_000L), TimeUnit.NANOSECONDS);
                    if (next != null) {
                        batch.add(next);
                    }
                } catch (InterruptedException e) {
                    break;
                }
                queue.drainTo(batch, batchSize - batch.size());
            }
        }
        return batch;
    }

    private enum Result { DELIVERED, REJECTED, FAILED }

    private Result post(String batchId, List<String> batch) {
        StringBuilder body = new StringBuilder(64 + batch.size() * 1024);
        body.append("{\"batch_id\":\"").append(batchId).append("\",\"records\":[");
        for (int i = 0; i < batch.size(); i++) {
            if (i > 0) {
                body.append(',');
            }
            body.append(batch.get(i));
        }
        body.append("]}");
        HttpRequest.Builder req = HttpRequest.newBuilder(url).timeout(timeout)
                .header("Content-Type", "application/json").header("Idempotency-Key", batchId)
                .header("User-Agent", "easel-webhook").POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        headers.forEach(req::header);
        try {
            HttpResponse<Void> res = http.send(req.build(), HttpResponse.BodyHandlers.discarding());
            int status = res.statusCode();
            if (status >= 200 && status < 300) {
                return Result.DELIVERED;
            }
            if (status >= 400 && status < 500 && status != 408 && status != 429) {
                lastFailure = "last batch of " + batch.size() + " records rejected with HTTP " + status;
                LOG.warn("webhook {}: batch {} of {} records rejected with HTTP {}; not retried", target, batchId,
                        batch.size(), status);
                return Result.REJECTED;
            }
            fail("HTTP " + status);
        } catch (IOException e) {
            fail(e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()));
        } catch (InterruptedException e) {
            fail("interrupted");
        }
        return Result.FAILED;
    }

    private void fail(String why) {
        if (failuresInRow == 0) {
            LOG.warn("webhook {}: delivery failed ({}); retrying with backoff", target, why);
        }
        lastFailure = why;
        failuresInRow++;
        // counted last: whoever sees the failed post also sees the health that reports it
        failedPosts.incrementAndGet();
    }

    private void pause(Duration d) {
        long until = System.nanoTime() + d.toNanos();
        if (closing) {
            until = Math.min(until, closeDeadline);
        }
        synchronized (wake) {
            long left;
            while ((left = until - System.nanoTime()) > 0) {
                try {
                    TimeUnit.NANOSECONDS.timedWait(wake, left);
                } catch (InterruptedException e) {
                    return;
                }
                if (closing) {
                    until = Math.min(until, closeDeadline);
                }
            }
        }
    }

    private void giveUp(int inBatch) {
        int left = inBatch + queue.size();
        queue.clear();
        undelivered.addAndGet(-left);
        dropped.addAndGet(left);
        LOG.warn("webhook {}: closed with {} records undelivered (last failure: {})", target, left, lastFailure);
    }

    /**
     * Stops accepting records and delivers what is buffered, retrying until the close timeout; what is still
     * undelivered then is dropped and counted.
     */
    @Override
    public void close() {
        if (closing) {
            return;
        }
        closeDeadline = System.nanoTime() + closeTimeout.toNanos();
        closing = true;
        synchronized (wake) {
            wake.notifyAll();
        }
        try {
            sender.join(closeTimeout.toMillis() + 1);
            if (sender.isAlive()) {
                // a POST to a receiver that hangs: cut it short, the sender then counts what is left as dropped
                sender.interrupt();
                http.shutdownNow();
                sender.join(1_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        http.shutdownNow();
    }

    @Override
    public String toString() {
        return "WebhookListener[" + target + ", batchSize=" + batchSize + ", maxBuffered=" + maxBuffered + "]";
    }

    /** Settings of a {@link WebhookListener}; every one has a default. */
    public static final class Builder {
        private final URI url;
        private final Map<String, String> headers = new LinkedHashMap<>();
        private int batchSize = 100;
        private Duration linger = Duration.ofSeconds(1);
        private int maxBuffered = 10_000;
        private Duration timeout = Duration.ofSeconds(10);
        private Duration initialBackoff = Duration.ofMillis(500);
        private Duration maxBackoff = Duration.ofSeconds(30);
        private Duration closeTimeout = Duration.ofSeconds(5);

        private Builder(URI url) {
            Objects.requireNonNull(url, "url");
            if (!isHttp(url)) {
                throw new IllegalArgumentException("webhook url must be an http(s) URL (was '" + url + "')");
            }
            this.url = url;
        }

        /** A header sent with every POST (e.g. {@code Authorization}); its value is never logged. */
        public Builder header(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            // lets HttpClient refuse restricted names (Host, Content-Length, …) now rather than on every POST
            HttpRequest.newBuilder(url).header(name, value);
            headers.put(name, value);
            return this;
        }

        /** Most records per POST (default 100). */
        public Builder batchSize(int n) {
            this.batchSize = atLeastOne("batchSize", n);
            return this;
        }

        /** How long a new batch waits for more records before it is sent (default 1 s). */
        public Builder flushInterval(Duration d) {
            this.linger = notNegative("flushInterval", d);
            return this;
        }

        /** Most records held undelivered; records beyond are dropped and counted (default 10,000). */
        public Builder maxBuffered(int n) {
            this.maxBuffered = atLeastOne("maxBuffered", n);
            return this;
        }

        /** Connect and response time-out of one POST (default 10 s). */
        public Builder timeout(Duration d) {
            this.timeout = positive("timeout", d);
            return this;
        }

        /** First retry delay, doubled after each failure up to {@code max} (defaults 500 ms and 30 s). */
        public Builder backoff(Duration initial, Duration max) {
            this.initialBackoff = positive("backoff initial", initial);
            this.maxBackoff = positive("backoff max", max);
            if (max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("backoff max must be at least the initial delay (was " + max
                        + " < " + initial + ")");
            }
            return this;
        }

        /** How long {@link #close()} keeps trying to deliver what is buffered (default 5 s). */
        public Builder closeTimeout(Duration d) {
            this.closeTimeout = notNegative("closeTimeout", d);
            return this;
        }

        /** Builds the listener and starts its sender thread. */
        public WebhookListener build() {
            return new WebhookListener(this);
        }

        private static int atLeastOne(String what, int n) {
            if (n < 1) {
                throw new IllegalArgumentException(what + " must be at least 1 (was " + n + ")");
            }
            return n;
        }

        private static Duration positive(String what, Duration d) {
            Objects.requireNonNull(d, what);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(what + " must be positive (was " + d + ")");
            }
            return d;
        }

        private static Duration notNegative(String what, Duration d) {
            Objects.requireNonNull(d, what);
            if (d.isNegative()) {
                throw new IllegalArgumentException(what + " must not be negative (was " + d + ")");
            }
            return d;
        }
    }
}
