package dev.easel.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.SocketAddressResolver;

/**
 * Fetches images from http(s) URLs with guards: only http and https, every address the host resolves to
 * must be public (no loopback, private, link-local, multicast, unspecified, carrier-grade NAT or
 * unique-local addresses), redirects followed by hand and checked the same way (at most 3), time-outs on
 * connect and on the whole exchange, and a size cap enforced while reading.
 *
 * <p>The address check and the connection use one resolution: the HTTP client (Jetty's) resolves names through
 * {@link CheckingResolver}, which refuses the name unless every address is allowed and hands the client exactly
 * the addresses it checked. Checking first and letting the client resolve again let a name whose DNS answer
 * changes between the two (DNS rebinding) reach a private address. TLS still verifies the certificate against
 * the host name.
 */
final class UrlFetcher implements AutoCloseable {

    private static final int MAX_REDIRECTS = 3;

    private final boolean allowPrivate;
    private final java.util.Set<String> trustedHosts;
    private final long maxBytes;
    private final Duration timeout;
    private final Lookup lookup;
    private volatile HttpClient client;
    private boolean closed; // guarded by this

    UrlFetcher(boolean allowPrivate, long maxBytes, Duration timeout) {
        this(allowPrivate, java.util.Set.of(), maxBytes, timeout);
    }

    /**
     * A fetcher that also reaches private addresses of {@code trustedHosts} (the hosts of configured provider
     * {@code api_base}s, whose image URLs the operator chose to trust).
     */
    UrlFetcher(boolean allowPrivate, java.util.Set<String> trustedHosts, long maxBytes, Duration timeout) {
        this(allowPrivate, trustedHosts, maxBytes, timeout, InetAddress::getAllByName);
    }

    /** With another name lookup (tests: a resolver whose answer changes). */
    UrlFetcher(boolean allowPrivate, java.util.Set<String> trustedHosts, long maxBytes, Duration timeout,
               Lookup lookup) {
        this.allowPrivate = allowPrivate;
        this.trustedHosts = java.util.Set.copyOf(trustedHosts);
        this.maxBytes = maxBytes;
        this.timeout = timeout;
        this.lookup = lookup;
    }

    /**
     * The HTTP client, started on first use: most proxies never fetch an image URL, and starting Jetty's client
     * (its thread pool and scheduler) at start-up cost every start.
     */
    private HttpClient client() {
        HttpClient c = client;
        if (c != null) {
            return c;
        }
        synchronized (this) {
            if (client == null) {
                if (closed) {
                    throw new IllegalStateException("the image URL fetcher is closed");
                }
                HttpClient fresh = new HttpClient();
                fresh.setFollowRedirects(false);
                fresh.setConnectTimeout(Duration.ofSeconds(10).toMillis());
                fresh.setIdleTimeout(timeout.toMillis());
                fresh.setUserAgentField(new org.eclipse.jetty.http.HttpField(
                        org.eclipse.jetty.http.HttpHeader.USER_AGENT, "easel-proxy"));
                fresh.setSocketAddressResolver(new CheckingResolver(lookup, fresh));
                try {
                    fresh.start();
                } catch (Exception e) {
                    throw new IllegalStateException("cannot start the image URL client", e);
                }
                client = fresh;
            }
            return client;
        }
    }

    /** Resolves a host name (the JDK's {@code InetAddress.getAllByName} unless a test says otherwise). */
    @FunctionalInterface
    interface Lookup {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    /** The name resolved to an address the fetcher does not connect to. */
    private static final class ForbiddenAddress extends IOException {
        private static final long serialVersionUID = 1L;

        ForbiddenAddress(String host) {
            super("'" + host + "' resolves to a non-public address");
        }
    }

    /** Resolves, checks every address, and gives the client only the checked ones: one lookup for both. */
    private final class CheckingResolver implements SocketAddressResolver {
        private final Lookup lookup;
        private final HttpClient owner;

        CheckingResolver(Lookup lookup, HttpClient owner) {
            this.lookup = lookup;
            this.owner = owner;
        }

        @Override
        public void resolve(String host, int port, Map<String, Object> context,
                            Promise<List<InetSocketAddress>> promise) {
            owner.getExecutor().execute(() -> {
                try {
                    InetAddress[] addresses = lookup.resolve(host);
                    boolean trusted = allowPrivate || trustedHosts.contains(host.toLowerCase(Locale.ROOT));
                    List<InetSocketAddress> out = new ArrayList<>(addresses.length);
                    for (InetAddress a : addresses) {
                        if (!trusted && !isPublic(a)) {
                            promise.failed(new ForbiddenAddress(host));
                            return;
                        }
                        out.add(new InetSocketAddress(a, port));
                    }
                    if (out.isEmpty()) {
                        promise.failed(new UnknownHostException(host));
                        return;
                    }
                    promise.succeeded(out);
                } catch (UnknownHostException | RuntimeException e) {
                    promise.failed(e);
                }
            });
        }
    }

    /** Copies the image at {@code url} into {@code out}; failures are 400s naming {@code param}. */
    void fetch(String url, String param, OutputStream out) {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw ProxyException.badRequest("invalid_image_url", param, "'" + param + "' is not a valid URL");
        }
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            check(uri, param);
            InputStreamResponseListener listener = new InputStreamResponseListener();
            client().newRequest(uri).method("GET").timeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
                    .idleTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).send(listener);
            Response r;
            try {
                r = listener.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                Throwable cause = rootCause(e);
                if (cause instanceof ForbiddenAddress) {
                    throw forbidden(param);
                }
                if (cause instanceof UnknownHostException) {
                    throw ProxyException.badRequest("image_url_unreachable", param, "unknown host in '" + param
                            + "': " + uri.getHost());
                }
                throw ProxyException.badRequest("image_url_unreachable", param, "could not fetch '" + param
                        + "' from " + uri.getHost() + ": " + cause.getClass().getSimpleName());
            } catch (java.util.concurrent.TimeoutException e) {
                close(listener); // gives up the exchange
                throw ProxyException.badRequest("image_url_unreachable", param, "could not fetch '" + param
                        + "' from " + uri.getHost() + ": timed out");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ProxyException.badRequest("image_url_unreachable", param, "interrupted fetching '" + param + "'");
            }
            int status = r.getStatus();
            if (status / 100 == 3) {
                close(listener);
                String location = r.getHeaders().get("location");
                if (location == null) {
                    throw ProxyException.badRequest("image_url_unreachable", param, "redirect without Location "
                            + "fetching '" + param + "'");
                }
                try {
                    uri = uri.resolve(location);
                } catch (IllegalArgumentException e) {
                    throw ProxyException.badRequest("image_url_unreachable", param, "invalid redirect fetching '"
                            + param + "'");
                }
                continue;
            }
            if (status / 100 != 2) {
                close(listener);
                throw ProxyException.badRequest("image_url_unreachable", param, "fetching '" + param + "' from "
                        + uri.getHost() + " returned HTTP " + status);
            }
            try (InputStream in = listener.getInputStream()) {
                byte[] buf = new byte[64 * 1024];
                long total = 0;
                int n;
                while ((n = in.read(buf)) >= 0) {
                    total += n;
                    if (total > maxBytes) {
                        r.abort(new IOException("image larger than the limit"));
                        throw ProxyException.tooLarge(param, "image at '" + param + "' is larger than " + maxBytes
                                + " bytes");
                    }
                    out.write(buf, 0, n);
                }
                return;
            } catch (IOException e) {
                // a body that trickles is cut off by the exchange's total and idle time-outs
                throw ProxyException.badRequest("image_url_unreachable", param, "reading '" + param + "' from "
                        + uri.getHost() + " failed: " + e.getClass().getSimpleName());
            }
        }
        throw ProxyException.badRequest("image_url_unreachable", param, "too many redirects fetching '" + param + "'");
    }

    /** Fetches into memory (bounded by the size cap). */
    byte[] fetch(String url, String param) {
        var out = new java.io.ByteArrayOutputStream();
        fetch(url, param, out);
        return out.toByteArray();
    }

    /** Checks what can be told from the URL itself; the addresses are checked where they are resolved. */
    private void check(URI uri, String param) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw ProxyException.badRequest("invalid_image_url", param, "'" + param
                    + "' must be an http(s) or data: URL (was " + (scheme.isEmpty() ? "no scheme" : scheme + ":") + ")");
        }
        if (uri.getHost() == null) {
            throw ProxyException.badRequest("invalid_image_url", param, "'" + param + "' has no host");
        }
    }

    private static ProxyException forbidden(String param) {
        return ProxyException.badRequest("image_url_forbidden", param, "'" + param
                + "' points to a private, loopback or link-local address, which the proxy does not fetch");
    }

    private static Throwable rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    /** The address rule shared with the SDK's result downloader ({@link dev.easel.http.Addresses}). */
    static boolean isPublic(InetAddress a) {
        return dev.easel.http.Addresses.isPublic(a);
    }

    private static void close(InputStreamResponseListener listener) {
        try {
            listener.getInputStream().close(); // aborts the response: its body is not wanted
        } catch (IOException ignored) {
            // nothing to free
        }
    }

    @Override
    public void close() {
        HttpClient c;
        synchronized (this) {
            closed = true;
            c = client;
        }
        if (c == null) {
            return;
        }
        try {
            c.stop();
        } catch (Exception e) {
            // stopping: nothing to do about it
        }
    }
}
