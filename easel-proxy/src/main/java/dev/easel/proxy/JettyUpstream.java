package dev.easel.proxy;

import dev.easel.http.HttpTransport;
import dev.easel.internal.ReleaseTracking;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient.Version;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLSession;
import org.eclipse.jetty.client.AsyncRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The proxy's upstream HTTP client: Jetty's {@link HttpClient} (HTTP/1.1, the same Jetty as the server) behind the
 * SDK's {@link HttpTransport.Client}, so adapters keep describing requests with the JDK's builder.
 *
 * <p>Why not the JDK's client, which the SDK uses: in the benchmark (docs/benchmarks.md, issue 17) the JDK client
 * allocated a fresh 16 KiB buffer for every read (¾ of the proxy's garbage per edit) and handed every buffer from
 * its selector thread to an executor task and on to the reading thread; Jetty reads into pooled buffers and hands a
 * chunk straight to the reader. What is kept from the JDK client's behaviour: the request timeout bounds the wait
 * for the response headers (the body has the callers' own guards), redirects are not followed, no cookies are kept
 * (a gateway must not carry one caller's cookies to the next), no content encoding is asked for or decoded, no
 * {@code User-Agent} is added, and a body of known length is sent with {@code Content-Length}, never chunked.
 */
final class JettyUpstream implements HttpTransport.Client {

    /** Connections to one provider endpoint: no cap a burst of slow edits would queue behind (the JDK has none). */
    private static final int MAX_CONNECTIONS = 16_384;

    private final HttpClient client;
    private final AtomicBoolean closed = new AtomicBoolean();

    JettyUpstream() {
        ClientConnector connector = new ClientConnector();
        connector.setSelectors(1);
        QueuedThreadPool threads = new QueuedThreadPool(64, 2);
        threads.setName("easel-upstream");
        threads.setDaemon(true);
        connector.setExecutor(threads);
        client = new HttpClient(new HttpClientTransportOverHTTP(connector));
        client.setExecutor(threads);
        // daemon, as the pool: a proxy that exits without closing its engine must not be held up by the client
        client.setScheduler(new ScheduledExecutorScheduler("easel-upstream-timer", true));
        client.setFollowRedirects(false);
        client.setConnectTimeout(30_000);
        client.setIdleTimeout(30_000); // a pooled connection unused this long is closed (the JDK's keep-alive default)
        client.setMaxConnectionsPerDestination(MAX_CONNECTIONS);
        client.setMaxRequestsQueuedPerDestination(MAX_CONNECTIONS);
        client.setUserAgentField(null);
        client.setHttpCookieStore(new HttpCookieStore.Empty());
        client.setResponseBufferSize(64 * 1024); // answers are ~1.4 MB of base64: fewer, larger reads
        try {
            client.start();
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the upstream HTTP client", e);
        }
        // no handling of 401/407 challenges, redirects or 100-continue (the start installs the handlers): a
        // provider's answer goes to the adapter as it came (Jetty's authentication handler turns a 401 without
        // WWW-Authenticate into a failure)
        client.getProtocolHandlers().clear();
        client.getContentDecoderFactories().clear(); // (also installed by the start) no Accept-Encoding, no decoding
    }

    @Override
    public CompletableFuture<HttpResponse<InputStream>> send(HttpRequest request) {
        if (closed.get()) {
            return CompletableFuture.failedFuture(new IOException("the upstream HTTP client is closed"));
        }
        Request r = client.newRequest(request.uri()).method(request.method())
                .idleTimeout(0, TimeUnit.MILLISECONDS) // no silence limit of Jetty's: the callers guard the body
                .headers(h -> request.headers().map().forEach((name, values) -> values.forEach(v -> h.add(name, v))));
        request.bodyPublisher().ifPresent(p -> {
            if (!"GET".equals(request.method()) || p.contentLength() != 0) {
                PublisherContent content = new PublisherContent(request.headers().firstValue("content-type")
                        .orElse(null), p.contentLength());
                r.body(content);
                // a request failed before or while its body was sent: Jetty drops (and calls back) what is queued
                r.onRequestFailure((req, failure) -> content.fail(failure));
                p.subscribe(content);
            }
        });
        Exchange exchange = new Exchange(request, r);
        long timeout = request.timeout().map(java.time.Duration::toNanos).orElse(0L);
        Scheduler.Task timer = timeout <= 0 ? null : client.getScheduler().schedule(
                () -> r.abort(new HttpTimeoutException("request timed out")), timeout, TimeUnit.NANOSECONDS);
        exchange.whenComplete((ok, failure) -> {
            if (timer != null) {
                timer.cancel();
            }
        });
        r.send(exchange.listener);
        return exchange;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                client.stop();
            } catch (Exception e) {
                // stopping: connections are closed whatever happened
            }
        }
    }

    /** The exchange's future: completed at the response headers; cancelling it aborts the request. */
    private static final class Exchange extends CompletableFuture<HttpResponse<InputStream>> {
        private final HttpRequest request;
        private final Request jetty;
        final InputStreamResponseListener listener = new InputStreamResponseListener() {
            @Override
            public void onHeaders(Response response) {
                super.onHeaders(response);
                complete(new JettyResponse(request, response.getStatus(), headers(response),
                        new Failures(getInputStream())));
            }

            @Override
            public void onFailure(Response response, Throwable failure) {
                super.onFailure(response, failure);
                completeExceptionally(translate(failure));
            }
        };

        Exchange(HttpRequest request, Request jetty) {
            this.request = request;
            this.jetty = jetty;
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean cancelled = super.cancel(mayInterruptIfRunning);
            jetty.abort(new CancellationException("the exchange was cancelled"));
            return cancelled;
        }
    }

    /** Jetty's failures in the JDK client's terms, which {@link HttpTransport#mapFailure} reads. */
    static Throwable translate(Throwable failure) {
        if (failure instanceof HttpTimeoutException || failure instanceof ConnectException) {
            return failure;
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof ConnectException c) {
                return c;
            }
            if (t instanceof SocketTimeoutException || t instanceof java.util.concurrent.TimeoutException) {
                // Jetty's connect timeout; the request timeout is ours and arrives as HttpTimeoutException
                HttpConnectTimeoutException e = new HttpConnectTimeoutException("connect timed out");
                e.initCause(failure);
                return e;
            }
        }
        return failure;
    }

    private static HttpHeaders headers(Response response) {
        Map<String, List<String>> map = new LinkedHashMap<>();
        for (HttpField f : response.getHeaders()) {
            map.computeIfAbsent(f.getName().toLowerCase(Locale.ROOT), k -> new ArrayList<>(1)).add(f.getValue());
        }
        return HttpHeaders.of(map, (name, value) -> true);
    }

    /**
     * A request body fed from a {@link Flow.Publisher} of the JDK's kind, one buffer at a time: the next is asked for
     * when Jetty has written the last, so nothing is buffered here, and the buffers (views of the spooled upload)
     * are written as they are.
     *
     * <p>It tells the publisher when Jetty is done with every buffer ({@link ReleaseTracking}), so that an upload's
     * pooled chunks go back only then: Jetty calls a buffer's callback when it releases it — written, dropped from
     * its queue when the request fails, or, for the buffer being written when the request is aborted, after that
     * write has ended (its {@code HttpSender.ContentSender} releases it in {@code onCompleteFailure}). Held here: one
     * for the subscription until it ends, one per buffer whose callback has not run yet; a request for the next
     * buffer is made before the last one's hold is dropped, so a publisher that reads its source in {@code request}
     * does so while held. A buffer offered after the content has failed or closed is refused by Jetty at once.
     */
    private static final class PublisherContent extends AsyncRequestContent
            implements Flow.Subscriber<ByteBuffer>, ReleaseTracking {
        private final long length;
        private final java.util.concurrent.atomic.AtomicInteger held = new java.util.concurrent.atomic.AtomicInteger(1);
        private final AtomicBoolean ended = new AtomicBoolean();
        private final AtomicBoolean released = new AtomicBoolean();
        private final java.util.List<Runnable> whenReleased = new java.util.concurrent.CopyOnWriteArrayList<>();
        private volatile Flow.Subscription subscription;

        PublisherContent(String contentType, long length) {
            super(contentType);
            this.length = length;
        }

        @Override
        public long getLength() {
            return length; // known: Content-Length, not chunked
        }

        @Override
        public void whenReleased(Runnable action) {
            whenReleased.add(action);
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(1);
        }

        @Override
        public void onNext(ByteBuffer item) {
            if (released.get()) {
                return; // after a cancel, a publisher may still deliver one: its memory may be another's by now
            }
            held.incrementAndGet();
            write(item, Callback.from(() -> {
                try {
                    subscription.request(1);
                } finally {
                    drop();
                }
            }, failure -> {
                try {
                    subscription.cancel();
                } finally {
                    drop();
                    end();
                }
            }));
        }

        @Override
        public void onError(Throwable t) {
            fail(t);
            end();
        }

        @Override
        public void onComplete() {
            close();
            end();
        }

        private void end() {
            if (ended.compareAndSet(false, true)) {
                drop();
            }
        }

        private void drop() {
            if (held.decrementAndGet() == 0 && released.compareAndSet(false, true)) {
                for (Runnable r : whenReleased) {
                    r.run();
                }
            }
        }
    }

    /**
     * The body stream, whose failures are all {@link IOException}s, as the JDK client's are: Jetty's stream may
     * rethrow a response failure that is a {@link RuntimeException}, which callers would take for a bug of the proxy.
     */
    private static final class Failures extends java.io.FilterInputStream {
        Failures(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (RuntimeException e) {
                throw new IOException(e.getMessage(), e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (RuntimeException e) {
                throw new IOException(e.getMessage(), e);
            }
        }

        @Override
        public void close() throws IOException {
            try {
                super.close();
            } catch (RuntimeException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
    }

    /** A response whose headers have arrived; the body streams from Jetty's pooled buffers. */
    private record JettyResponse(HttpRequest request, int statusCode, HttpHeaders headers, InputStream body)
            implements HttpResponse<InputStream> {
        @Override
        public Optional<HttpResponse<InputStream>> previousResponse() {
            return Optional.empty();
        }

        @Override
        public Optional<SSLSession> sslSession() {
            return Optional.empty();
        }

        @Override
        public URI uri() {
            return request.uri();
        }

        @Override
        public Version version() {
            return Version.HTTP_1_1;
        }
    }
}
