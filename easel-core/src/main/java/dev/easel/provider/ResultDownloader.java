package dev.easel.provider;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Downloads the images a provider returns as (expiring) URLs, with an SSRF guard: only http(s), only hosts the
 * provider documents or the deployment's configured {@code api_base} host, every address of a documented host
 * public, redirects refused, at most {@link Rules#maxBytes()} bytes, within {@link Rules#timeout()}.
 *
 * <p>Failures are {@link dev.easel.EaselException}s: a refused or expired URL is a 502 {@code bad_upstream_response}
 * (the provider's answer is unusable), a connection failure a {@link dev.easel.ConnectionException}, a slow one a
 * {@link dev.easel.TimeoutException}.
 */
@FunctionalInterface
public interface ResultDownloader {

    /** The bytes at {@code url}, if the rules allow it. */
    byte[] download(URI url, Rules rules);

    /** The SDK's downloader over {@code transport} (see the class comment for what it guards). */
    static ResultDownloader guarded(dev.easel.http.HttpTransport transport) {
        return new GuardedDownloader(transport, java.net.InetAddress::getAllByName);
    }

    /**
     * What a download may reach.
     *
     * @param hosts        allowed hosts: an exact name ({@code api.bfl.ai}), or {@code .bfl.ai} for any subdomain
     * @param trustedHosts hosts whose addresses are not checked (the configured {@code api_base} host, which the
     *                     operator chose, private or not)
     * @param maxBytes     largest body accepted
     * @param timeout      time for the whole download
     * @param provider     provider name for errors
     */
    record Rules(Set<String> hosts, Set<String> trustedHosts, long maxBytes, Duration timeout, String provider) {
        public Rules {
            hosts = lower(hosts);
            trustedHosts = lower(trustedHosts);
            Objects.requireNonNull(timeout, "timeout");
            Objects.requireNonNull(provider, "provider");
            if (maxBytes <= 0) {
                throw new IllegalArgumentException("maxBytes must be positive (was " + maxBytes + ")");
            }
        }

        /** Whether {@code host} is allowed: listed, under a listed {@code .suffix}, or trusted. */
        public boolean allows(String host) {
            String h = host.toLowerCase(Locale.ROOT);
            if (trustedHosts.contains(h) || hosts.contains(h)) {
                return true;
            }
            for (String pattern : hosts) {
                if (pattern.startsWith(".") && h.endsWith(pattern)) {
                    return true;
                }
            }
            return false;
        }

        /** Whether {@code host} is one whose addresses are not checked. */
        public boolean trusts(String host) {
            return trustedHosts.contains(host.toLowerCase(Locale.ROOT));
        }

        private static Set<String> lower(Set<String> names) {
            return Set.copyOf(names.stream().map(s -> s.toLowerCase(Locale.ROOT)).toList());
        }
    }
}
