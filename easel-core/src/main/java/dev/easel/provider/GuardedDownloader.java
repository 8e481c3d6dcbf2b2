package dev.easel.provider;

import dev.easel.EaselException;
import dev.easel.InternalServerException;
import dev.easel.http.Addresses;
import dev.easel.http.HttpTransport;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Locale;

/**
 * The SDK's {@link ResultDownloader} on the shared {@link HttpTransport}: the host must be allowed by the rules,
 * a documented (untrusted) host must resolve to public addresses only ({@link Addresses#isPublic}), redirects are
 * refused (a redirect could lead anywhere), and the body is read under the size cap and the time limit.
 *
 * <p>The addresses are checked by a lookup of their own before the client connects (the JDK client resolves the
 * name again): a provider's DNS that answered differently between the two could still reach a private address.
 * The proxy closes that gap by downloading through its own fetcher, which connects to exactly the addresses it
 * checked (see {@code Easel.Builder.resultDownloader}).
 */
final class GuardedDownloader implements ResultDownloader {

    /** Resolves host names (the JDK's unless a test says otherwise). */
    @FunctionalInterface
    interface Lookup {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    private final HttpTransport transport;
    private final Lookup lookup;

    GuardedDownloader(HttpTransport transport, Lookup lookup) {
        this.transport = transport;
        this.lookup = lookup;
    }

    @Override
    public byte[] download(URI url, Rules rules) {
        String provider = rules.provider();
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw unusable(provider, "a result URL that is not http(s) (" + (scheme.isEmpty() ? "no scheme"
                    : scheme + ":") + ")");
        }
        String host = url.getHost();
        if (host == null) {
            throw unusable(provider, "a result URL without a host");
        }
        if (!rules.allows(host)) {
            throw unusable(provider, "a result URL on host '" + host + "', which is neither one it documents nor "
                    + "the configured api_base");
        }
        if (!rules.trusts(host)) {
            try {
                for (InetAddress a : lookup.resolve(host)) {
                    if (!Addresses.isPublic(a)) {
                        throw unusable(provider, "a result URL on host '" + host + "', which resolves to a "
                                + "non-public address");
                    }
                }
            } catch (UnknownHostException e) {
                throw new dev.easel.ConnectionException("could not resolve " + provider + "'s result host '" + host
                        + "'", provider, e);
            }
        }
        long start = System.nanoTime();
        HttpResponse<InputStream> r = transport.get(HttpRequest.newBuilder(url).header("User-Agent", "easel/0.1")
                .header("Accept", "image/*"), rules.timeout(), provider).await();
        int status = r.statusCode();
        if (status / 100 != 2) {
            try {
                r.body().close();
            } catch (IOException ignored) {
                // the body is not wanted
            }
            if (status / 100 == 3) {
                throw unusable(provider, "a result URL that redirects (HTTP " + status + "), which is not followed");
            }
            String why = status == 403 || status == 404 || status == 410 ? "expired or gone" : "not downloadable";
            throw unusable(provider, "a result URL that is " + why + " (HTTP " + status + ")");
        }
        try (InputStream in = HttpTransport.capped(HttpTransport.idleGuard(r.body(), rules.timeout(),
                start + rules.timeout().toNanos(), provider), rules.maxBytes(), provider)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw HttpTransport.mapFailure(e, provider, true);
        }
    }

    private static EaselException unusable(String provider, String what) {
        return new InternalServerException(provider + " returned " + what, 502, "api_error", "bad_upstream_response",
                null, provider, null, null);
    }
}
