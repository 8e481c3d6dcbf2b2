package dev.easel.http;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Which network addresses Easel connects to on a URL it did not configure (an image URL from a client, a result
 * URL from a provider): the one rule shared by the proxy's image-URL fetcher and the SDK's result downloader.
 */
public final class Addresses {

    private Addresses() {
    }

    /**
     * Whether {@code a} is a public address: not loopback, unspecified, link-local, private (site-local,
     * unique-local), multicast, carrier-grade NAT, reserved, benchmarking or IETF protocol space; IPv4-mapped IPv6
     * addresses are judged by their IPv4 address.
     */
    public static boolean isPublic(InetAddress a) {
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
}
