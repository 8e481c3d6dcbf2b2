package dev.easel.http;

import dev.easel.ConnectionException;
import dev.easel.EaselException;
import dev.easel.TimeoutException;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Upstream HTTP: sends a request, maps transport failures to {@link ConnectionException} / {@link TimeoutException},
 * and tells whether the whole body had been sent when a timeout struck (edits are not idempotent, so the router must
 * know). Adapters describe requests with the JDK's {@link HttpRequest.Builder} and read {@link HttpResponse}s with an
 * {@link InputStream} body; what carries them is a {@link Client}: the JDK's {@link HttpClient} by default, Jetty's
 * in the proxy ({@code dev.easel.proxy.JettyUpstream}, chosen by the benchmark, docs/benchmarks.md).
 */
public final class HttpTransport implements AutoCloseable {

    /** Headers {@link HttpClient} refuses to set, and hop-by-hop headers we never forward. */
    private static final Set<String> RESTRICTED = Set.of("connection", "content-length", "expect", "host",
            "upgrade", "transfer-encoding", "te", "trailer", "keep-alive", "proxy-connection", "content-type",
            "authorization", "api-key");

    /**
     * What carries the requests. {@link #send} completes with the response once its headers have arrived (its body
     * then streams: closing the stream ends the exchange), or fails with:
     * {@link java.net.http.HttpConnectTimeoutException} when connecting took too long,
     * {@link java.net.http.HttpTimeoutException} when the headers did not arrive within {@link HttpRequest#timeout()},
     * {@link ConnectException} when the connection was refused, another {@link IOException} when it failed.
     * Cancelling the future aborts the exchange. The body is {@link HttpRequest#bodyPublisher()}'s, sent with its
     * {@code contentLength()} (never chunked when that is known). Implementations follow no redirects, keep no
     * cookies and decode no content encodings.
     */
    public interface Client extends AutoCloseable {

        /** Starts {@code request}. */
        CompletableFuture<HttpResponse<InputStream>> send(HttpRequest request);

        /** Stops at once: exchanges still running fail, connections close. Idempotent. */
        @Override
        void close();
    }

    private final Client client;

    /**
     * A transport on the JDK's client (HTTP/1.1 and 2, 30 s connect timeout, redirects not followed). Its async work
     * runs on virtual threads, not on the common fork-join pool, which on a 2-core machine has a single thread that
     * anything else in the JVM may block.
     */
    public HttpTransport() {
        this(HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(30))
                .followRedirects(HttpClient.Redirect.NEVER)
                .executor(java.util.concurrent.Executors.newThreadPerTaskExecutor(
                        Thread.ofVirtual().name("easel-http-", 0).factory()))
                .build());
    }

    /** A transport over the given JDK client. */
    public HttpTransport(HttpClient client) {
        this(new JdkClient(client));
    }

    /** A transport over {@code client}. */
    public HttpTransport(Client client) {
        this.client = java.util.Objects.requireNonNull(client, "client");
    }

    /** The JDK's {@link HttpClient} as a {@link Client}. */
    private record JdkClient(HttpClient client) implements Client {
        @Override
        public CompletableFuture<HttpResponse<InputStream>> send(HttpRequest request) {
            return client.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream());
        }

        @Override
        public void close() {
            client.shutdownNow();
        }
    }

    /**
     * Stops the client at once: exchanges still running are cancelled (their callers get a connection error), the
     * connection pool and the selector thread close. Idempotent.
     */
    @Override
    public void close() {
        client.close();
    }

    /** Whether a caller-supplied header may be forwarded (not hop-by-hop, not a credential, not framing). */
    public static boolean forwardable(String headerName) {
        return !RESTRICTED.contains(headerName.toLowerCase(java.util.Locale.ROOT));
    }

    /**
     * An in-flight exchange: the response future and whether the body went out completely.
     */
    public static final class Exchange {
        private final CompletableFuture<HttpResponse<InputStream>> future;
        private final AtomicBoolean bodySent;
        private final String provider;

        Exchange(CompletableFuture<HttpResponse<InputStream>> future, AtomicBoolean bodySent, String provider) {
            this.future = future;
            this.bodySent = bodySent;
            this.provider = provider;
        }

        /** Waits for the response headers; the body is left to the caller (close it). */
        public HttpResponse<InputStream> await() {
            try {
                return future.get();
            } catch (InterruptedException e) {
                future.cancel(true);
                Thread.currentThread().interrupt();
                throw new ConnectionException("interrupted while waiting for " + provider, provider, e);
            } catch (CancellationException e) {
                throw new ConnectionException("call to " + provider + " was cancelled", provider, e);
            } catch (ExecutionException e) {
                throw mapFailure(e.getCause(), provider, bodySent.get());
            }
        }

        /** Cancels the call (also after the headers arrived: close the body stream for that). */
        public void cancel() {
            future.cancel(true);
        }

        /** Whether the whole request body had been handed to the connection. */
        public boolean bodySent() {
            return bodySent.get();
        }
    }

    /**
     * Starts a request. {@code timeout} bounds the time until the response headers arrive.
     */
    public Exchange start(HttpRequest.Builder request, HttpRequest.BodyPublisher body, Duration timeout,
                          String provider) {
        AtomicBoolean sent = new AtomicBoolean(false);
        HttpRequest req = request.timeout(timeout).POST(new Tracking(body, sent)).build();
        return new Exchange(client.send(req), sent, provider);
    }

    /**
     * Starts a {@code GET} (downloads of result URLs, job polls); {@code timeout} bounds the time until the response
     * headers arrive. Nothing is sent but the headers, so a time-out never leaves a body half sent.
     */
    public Exchange get(HttpRequest.Builder request, Duration timeout, String provider) {
        HttpRequest req = request.timeout(timeout).GET().build();
        return new Exchange(client.send(req), new AtomicBoolean(true), provider);
    }

    /** Sends a request and waits for the response headers. */
    public HttpResponse<InputStream> send(HttpRequest.Builder request, HttpRequest.BodyPublisher body,
                                          Duration timeout, String provider) {
        return start(request, body, timeout, provider).await();
    }

    /** Maps a transport failure to Easel's exceptions. */
    public static EaselException mapFailure(Throwable t, String provider, boolean bodySent) {
        if (t instanceof EaselException e) {
            return e;
        }
        if (t instanceof HttpConnectTimeoutException) {
            return new TimeoutException("timed out connecting to " + provider, provider, false, t);
        }
        if (t instanceof HttpTimeoutException) {
            return new TimeoutException("timed out waiting for " + provider
                    + (bodySent ? " (the request had been sent)" : " (while sending the request)"),
                    provider, bodySent, t);
        }
        if (t instanceof ConnectException) {
            return new ConnectionException("could not connect to " + provider + ": " + safe(t), provider, t);
        }
        if (t instanceof IOException) {
            return new ConnectionException("connection to " + provider + " failed: " + safe(t), provider, t);
        }
        if (t instanceof java.io.UncheckedIOException u) {
            return new ConnectionException("could not read the request body: " + safe(u.getCause()), provider, u);
        }
        return new ConnectionException("call to " + provider + " failed: " + safe(t), provider, t);
    }

    private static String safe(Throwable t) {
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m;
    }

    /** Reads a whole (bounded) response body, mapping failures. */
    public static byte[] readBody(HttpResponse<InputStream> response, long maxBytes, String provider) {
        try (InputStream in = idleGuard(response.body(), Duration.ofSeconds(30), provider)) {
            byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
            if (b.length > maxBytes) {
                throw new ConnectionException(provider + " sent a response larger than " + maxBytes + " bytes",
                        provider, null);
            }
            return b;
        } catch (IOException e) {
            throw mapFailure(e, provider, true);
        }
    }

    /**
     * The whole body of an answer, read under a call's guards: no silence longer than {@code idle}, all of it before
     * {@code deadlineNanos} ({@link System#nanoTime()}), at most {@code maxBytes}; one exact array when its length
     * is announced. Failures are mapped as {@link #mapFailure} maps them (the request had been sent).
     */
    public static byte[] readAll(HttpResponse<InputStream> response, Duration idle, long deadlineNanos, long maxBytes,
                                 String provider) {
        long length = response.headers().firstValueAsLong("content-length").orElse(-1);
        try (InputStream in = capped(idleGuard(response.body(), idle, deadlineNanos, provider), maxBytes, provider)) {
            return readAll(in, length);
        } catch (IOException e) {
            throw mapFailure(e, provider, true);
        }
    }

    /**
     * An answer's body under a call's guards, as {@link #readAll(HttpResponse, Duration, long, long, String)} reads
     * it, for a reader that takes it as it arrives (close it when done: that ends the idle watch).
     */
    public static InputStream guardedBody(HttpResponse<InputStream> response, Duration idle, long deadlineNanos,
                                          long maxBytes, String provider) {
        return capped(idleGuard(response.body(), idle, deadlineNanos, provider), maxBytes, provider);
    }

    /** All of {@code in}: one exact array when the length is known, no growing copies. */
    public static byte[] readAll(InputStream in, long contentLength) throws IOException {
        if (contentLength < 0 || contentLength > Integer.MAX_VALUE - 8) {
            return in.readAllBytes();
        }
        byte[] b = new byte[(int) contentLength];
        int n = in.readNBytes(b, 0, b.length);
        if (n < b.length) {
            return java.util.Arrays.copyOf(b, n);
        }
        int next = in.read();
        if (next < 0) {
            return b;
        }
        // more than announced (the HTTP client stops at Content-Length, so only a wrapper that lies gets here)
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream(b.length + 8192);
        all.write(b);
        all.write(next);
        in.transferTo(all);
        return all.toByteArray();
    }

    private static final java.util.concurrent.ScheduledExecutorService WATCHDOG =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "easel-read-watchdog");
                t.setDaemon(true);
                return t;
            });

    /**
     * A response body whose reads end with a {@link TimeoutException} once no byte has arrived for
     * {@code idle}: the request timeout only covers the wait for the headers, and a provider that sends
     * headers and then stalls must not hold a request (and its spooled upload) forever.
     */
    public static InputStream idleGuard(InputStream in, Duration idle, String provider) {
        return new IdleGuard(in, idle, Long.MAX_VALUE, provider);
    }

    /**
     * Like {@link #idleGuard(InputStream, Duration, String)}, and the reads also end once {@link System#nanoTime()}
     * passes {@code deadlineNanos}: the answer as a whole must be complete by then, however steadily it trickles.
     */
    public static InputStream idleGuard(InputStream in, Duration idle, long deadlineNanos, String provider) {
        return new IdleGuard(in, idle, deadlineNanos, provider);
    }

    private static final class IdleGuard extends java.io.FilterInputStream {
        private final long idleNanos;
        private final long deadlineNanos;
        private final String provider;
        private final java.util.concurrent.ScheduledFuture<?> check;
        private volatile long lastProgress = System.nanoTime();
        private volatile boolean expired;
        private volatile boolean closed;

        private volatile boolean pastDeadline;

        IdleGuard(InputStream in, Duration idle, long deadlineNanos, String provider) {
            super(in);
            this.idleNanos = idle.toNanos();
            this.deadlineNanos = deadlineNanos;
            this.provider = provider;
            long period = Math.max(50, Math.min(1000, idle.toMillis() / 4));
            if (deadlineNanos != Long.MAX_VALUE) {
                period = Math.max(50, Math.min(period, (deadlineNanos - System.nanoTime()) / 4_000_000));
            }
            this.check = WATCHDOG.scheduleWithFixedDelay(this::check, period, period,
                    java.util.concurrent.TimeUnit.MILLISECONDS);
        }

        private void check() {
            if (closed) {
                check.cancel(false);
                return;
            }
            long now = System.nanoTime();
            boolean late = deadlineNanos != Long.MAX_VALUE && now - deadlineNanos > 0;
            boolean silent = now - lastProgress > idleNanos;
            if (silent || late) {
                pastDeadline = !silent; // a silence says more than the deadline it also passed
                expired = true;
                check.cancel(false);
                try {
                    in.close(); // unblocks the reader
                } catch (IOException ignored) {
                    // the reader sees the failure
                }
            }
        }

        @Override
        public int read() throws IOException {
            try {
                int b = super.read();
                lastProgress = System.nanoTime();
                return b;
            } catch (IOException e) {
                if (expired) {
                    throw stalled(e);
                }
                throw e;
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                int n = super.read(b, off, len);
                lastProgress = System.nanoTime();
                return n;
            } catch (IOException e) {
                if (expired) {
                    throw stalled(e);
                }
                throw e;
            }
        }

        private TimeoutException stalled(IOException cause) {
            if (pastDeadline) {
                return new TimeoutException(provider + "'s answer was not complete within the time left for the call",
                        provider, true, cause);
            }
            return new TimeoutException(provider + " stopped sending its answer for " + (idleNanos / 1_000_000)
                    + " ms", provider, true, cause);
        }

        @Override
        public void close() throws IOException {
            closed = true;
            check.cancel(false);
            super.close();
        }
    }

    /**
     * Memory for parsing upstream answers, in KiB: a quarter of the heap. A burst of large answers (say 1,000
     * edits finishing together, each ~1.4 MB of base64 needing ~3 MB while read) waits its turn here
     * instead of exhausting the heap; the bytes wait in the sockets meanwhile.
     */
    private static final java.util.concurrent.Semaphore RESPONSE_MEMORY = new java.util.concurrent.Semaphore(
            responseBudgetKib(), true);

    static int responseBudgetKib() {
        return (int) Math.max(64 * 1024, Math.min(Integer.MAX_VALUE, Runtime.getRuntime().maxMemory() / 4 / 1024));
    }

    /**
     * Reserves memory to parse an answer of {@code contentLength} bytes (-1: unknown, 8 MiB assumed); close
     * the returned handle when parsing is done.
     */
    public static AutoCloseable reserveResponseMemory(long contentLength, String provider) {
        // the body's bytes (which the parsed images then point into) + the client's buffers while they are read
        long bytes = contentLength < 0 ? 8L << 20 : contentLength * 2;
        int kib = (int) Math.min(responseBudgetKib(), Math.max(1, bytes / 1024));
        try {
            RESPONSE_MEMORY.acquire(kib);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConnectionException("interrupted while waiting to read " + provider + "'s answer", provider, e);
        }
        return () -> RESPONSE_MEMORY.release(kib);
    }

    /** A stream that fails with a {@link ConnectionException} once more than {@code max} bytes were read. */
    public static InputStream capped(InputStream in, long max, String provider) {
        return new java.io.FilterInputStream(in) {
            private long count;

            @Override
            public int read() throws IOException {
                int b = super.read();
                if (b >= 0) {
                    add(1);
                }
                return b;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                if (n > 0) {
                    add(n);
                }
                return n;
            }

            private void add(long n) {
                count += n;
                if (count > max) {
                    throw new ConnectionException(provider + " sent a response larger than " + max + " bytes",
                            provider, null);
                }
            }
        };
    }

    /** A publisher wrapper that records when the last byte was handed over. */
    private record Tracking(HttpRequest.BodyPublisher delegate, AtomicBoolean sent)
            implements HttpRequest.BodyPublisher {
        @Override
        public long contentLength() {
            return delegate.contentLength();
        }

        @Override
        public void subscribe(Flow.Subscriber<? super ByteBuffer> s) {
            // a subscriber that tracks when its buffers are released stays one through this wrapper (ChunkLease)
            delegate.subscribe(s instanceof dev.easel.internal.ReleaseTracking t ? new TrackedForwarding(s, sent, t)
                    : new Forwarding(s, sent));
        }
    }

    /** Hands everything on, noting when the last byte was handed over. */
    private static class Forwarding implements Flow.Subscriber<ByteBuffer> {
        private final Flow.Subscriber<? super ByteBuffer> s;
        private final AtomicBoolean sent;

        Forwarding(Flow.Subscriber<? super ByteBuffer> s, AtomicBoolean sent) {
            this.s = s;
            this.sent = sent;
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            s.onSubscribe(subscription);
        }

        @Override
        public void onNext(ByteBuffer item) {
            s.onNext(item);
        }

        @Override
        public void onError(Throwable throwable) {
            s.onError(throwable);
        }

        @Override
        public void onComplete() {
            sent.set(true);
            s.onComplete();
        }
    }

    private static final class TrackedForwarding extends Forwarding implements dev.easel.internal.ReleaseTracking {
        private final dev.easel.internal.ReleaseTracking tracking;

        TrackedForwarding(Flow.Subscriber<? super ByteBuffer> s, AtomicBoolean sent,
                          dev.easel.internal.ReleaseTracking tracking) {
            super(s, sent);
            this.tracking = tracking;
        }

        @Override
        public void whenReleased(Runnable action) {
            tracking.whenReleased(action);
        }
    }
}
