package dev.easel.proxy;

import dev.easel.config.RequestLimits;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.TimeoutException;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * A request body read under the timing limits of {@code general_settings}, with every byte counted, and whose
 * read failures say what happened:
 * <ul>
 *   <li>{@code min_request_body_rate}: over each {@code request_body_rate_window} the body must arrive at least that
 *       fast, else 408 {@code request_timeout} (the first window is the grace period: nothing is judged before it
 *       is over);</li>
 *   <li>{@code request_body_timeout}: the whole body must have arrived within it, else 408;</li>
 *   <li>a connection that sends nothing for {@code idle_timeout} (Jetty's idle timeout fails the read): 408;</li>
 *   <li>a client that goes away mid-body (early EOF, reset): 499 {@code client_closed}.</li>
 * </ul>
 * Time is the time spent waiting inside {@link #read}: a proxy busy elsewhere between reads (fetching an image
 * URL, writing a temp file) does not count against the client. The clock is injected so tests are exact.
 *
 * <p>Why not Jetty's: in Jetty 12.1 {@code HttpConfiguration.setMinRequestDataRate} is stored but read by nothing,
 * and {@code MinimumDataRateHandler} divides the bytes read by <em>all</em> requests of the handler (its
 * {@code StatisticsHandler} total) by one request's age, with no grace period: a trickling client passes while
 * others upload.
 */
final class GuardedBody extends InputStream {

    private final InputStream in;
    private final RequestLimits limits;
    private final LongSupplier nanoTime;
    private final LongConsumer counter;
    private final long deadlineNanos;
    private final long windowNanos;
    private long waited;
    private long windowWaited;
    private long windowBytes;
    private final byte[] one = new byte[1];

    /**
     * @param nanoTime a monotonic clock in nanoseconds ({@code System::nanoTime})
     * @param counter  receives the size of every chunk read (request limits); may throw to refuse it
     */
    GuardedBody(InputStream in, RequestLimits limits, LongSupplier nanoTime, LongConsumer counter) {
        this.in = in;
        this.limits = limits;
        this.nanoTime = nanoTime;
        this.counter = counter;
        this.deadlineNanos = limits.requestBodyTimeout().toNanos();
        this.windowNanos = limits.requestBodyRateWindow().toNanos();
    }

    @Override
    public int read() throws IOException {
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        long t0 = nanoTime.getAsLong();
        int n;
        try {
            n = in.read(b, off, len);
        } catch (IOException e) {
            throw failure(e);
        }
        long w = nanoTime.getAsLong() - t0;
        waited += w;
        windowWaited += w;
        if (n > 0) {
            windowBytes += n;
            counter.accept(n);
        }
        check();
        return n;
    }

    private void check() {
        if (waited > deadlineNanos) {
            throw timeout("the request body took longer than the limit of " + limits.requestBodyTimeout().toMillis()
                    + " ms to arrive (general_settings.request_body_timeout)");
        }
        if (limits.minRequestBodyRate() > 0 && windowWaited >= windowNanos) {
            long rate = (long) (windowBytes * 1e9 / windowWaited);
            if (rate < limits.minRequestBodyRate()) {
                throw timeout("the request body arrived at " + rate + " bytes/s, below the minimum of "
                        + limits.minRequestBodyRate() + " bytes/s (general_settings.min_request_body_rate)");
            }
            windowWaited = 0;
            windowBytes = 0;
        }
    }

    /** What a failed read means: the idle timeout (408) or a client that went away (499). */
    private ProxyException failure(IOException e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof TimeoutException) {
                return timeout("the request body stopped arriving: nothing for " + limits.idleTimeout().toMillis()
                        + " ms (general_settings.idle_timeout)");
            }
        }
        return clientClosed(e);
    }

    static ProxyException timeout(String message) {
        return new ProxyException(408, "invalid_request_error", "request_timeout", null, message);
    }

    private static ProxyException clientClosed(IOException cause) {
        return ProxyException.caused(499, "api_error", "client_closed",
                "the client closed the connection before the request body was complete", cause);
    }

    /** Whether {@code t} says the client went away mid-body (nothing can be written back). */
    static boolean isClientClosed(Throwable t) {
        return t instanceof ProxyException p && p.code().filter("client_closed"::equals).isPresent();
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
