package dev.easel.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;

/**
 * Fetches images from http(s) URLs with guards: only http and https, every address the host resolves to
 * must be public (no loopback, private, link-local, multicast, unspecified, carrier-grade NAT or
 * unique-local addresses), redirects followed by hand and checked the same way (at most 3), time-outs on
 * connect and on the whole exchange, and a size cap enforced while reading.
 */
final class UrlFetcher {

    private static final int MAX_REDIRECTS = 3;

    private final boolean allowPrivate;
    private final java.util.Set<String> trustedHosts;
    private final long maxBytes;
    private final Duration timeout;
    private final HttpClient client;

    UrlFetcher(boolean allowPrivate, long maxBytes, Duration timeout) {
        this(allowPrivate, java.util.Set.of(), maxBytes, timeout);
    }

    /**
     * A fetcher that also reaches private addresses of {@code trustedHosts} (the hosts of configured provider
     * {@code api_base}s, whose image URLs the operator chose to trust).
     */
    UrlFetcher(boolean allowPrivate, java.util.Set<String> trustedHosts, long maxBytes, Duration timeout) {
        this.allowPrivate = allowPrivate;
        this.trustedHosts = java.util.Set.copyOf(trustedHosts);
        this.maxBytes = maxBytes;
        this.timeout = timeout;
        this.client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NEVER).build();
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
            HttpResponse<InputStream> r;
            try {
                r = client.send(HttpRequest.newBuilder(uri).timeout(timeout).GET()
                        .header("User-Agent", "easel-proxy").build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (IOException e) {
                throw ProxyException.badRequest("image_url_unreachable", param, "could not fetch '" + param
                        + "' from " + uri.getHost() + ": " + e.getClass().getSimpleName());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ProxyException.badRequest("image_url_unreachable", param, "interrupted fetching '" + param + "'");
            }
            int status = r.statusCode();
            if (status / 100 == 3) {
                close(r);
                String location = r.headers().firstValue("location").orElseThrow(() -> ProxyException.badRequest(
                        "image_url_unreachable", param, "redirect without Location fetching '" + param + "'"));
                try {
                    uri = uri.resolve(location);
                } catch (IllegalArgumentException e) {
                    throw ProxyException.badRequest("image_url_unreachable", param, "invalid redirect fetching '"
                            + param + "'");
                }
                continue;
            }
            if (status / 100 != 2) {
                close(r);
                throw ProxyException.badRequest("image_url_unreachable", param, "fetching '" + param + "' from "
                        + uri.getHost() + " returned HTTP " + status);
            }
            // the request time-out covers only the headers: a body that trickles is cut off too
            try (InputStream in = dev.easel.http.HttpTransport.idleGuard(r.body(), timeout, "image url")) {
                byte[] buf = new byte[64 * 1024];
                long total = 0;
                int n;
                while ((n = in.read(buf)) >= 0) {
                    total += n;
                    if (total > maxBytes) {
                        throw ProxyException.tooLarge(param, "image at '" + param + "' is larger than " + maxBytes
                                + " bytes");
                    }
                    out.write(buf, 0, n);
                }
                return;
            } catch (IOException | dev.easel.TimeoutException e) {
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

    private void check(URI uri, String param) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw ProxyException.badRequest("invalid_image_url", param, "'" + param
                    + "' must be an http(s) or data: URL (was " + (scheme.isEmpty() ? "no scheme" : scheme + ":") + ")");
        }
        if (uri.getHost() == null) {
            throw ProxyException.badRequest("invalid_image_url", param, "'" + param + "' has no host");
        }
        if (allowPrivate || trustedHosts.contains(uri.getHost().toLowerCase(Locale.ROOT))) {
            return;
        }
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(uri.getHost());
        } catch (UnknownHostException e) {
            throw ProxyException.badRequest("image_url_unreachable", param, "unknown host in '" + param + "': "
                    + uri.getHost());
        }
        for (InetAddress a : addresses) {
            if (!isPublic(a)) {
                throw ProxyException.badRequest("image_url_forbidden", param, "'" + param
                        + "' points to a private, loopback or link-local address, which the proxy does not fetch");
            }
        }
    }

    static boolean isPublic(InetAddress a) {
        if (a.isLoopbackAddress() || a.isAnyLocalAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress()
                || a.isMulticastAddress()) {
            return false;
        }
        byte[] b = a.getAddress();
        if (a instanceof Inet4Address) {
            int first = b[0] & 0xFF;
            int second = b[1] & 0xFF;
            if (first == 0 || first >= 240) {
                return false; // "this network", reserved, broadcast
            }
            if (first == 100 && second >= 64 && second <= 127) {
                return false; // carrier-grade NAT
            }
            if (first == 192 && second == 0 && (b[2] & 0xFF) == 0) {
                return false; // IETF protocol assignments
            }
            if (first == 198 && (second == 18 || second == 19)) {
                return false; // benchmarking
            }
            return true;
        }
        if (a instanceof Inet6Address) {
            if ((b[0] & 0xFE) == 0xFC) {
                return false; // unique local fc00::/7
            }
            boolean v4Mapped = true;
            for (int i = 0; i < 10; i++) {
                v4Mapped &= b[i] == 0;
            }
            if (v4Mapped && (b[10] & 0xFF) == 0xFF && (b[11] & 0xFF) == 0xFF) {
                try {
                    return isPublic(InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]}));
                } catch (UnknownHostException e) {
                    return false;
                }
            }
        }
        return true;
    }

    private static void close(HttpResponse<InputStream> r) {
        try {
            r.body().close();
        } catch (IOException ignored) {
            // nothing to free
        }
    }
}
