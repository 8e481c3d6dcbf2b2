package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 12 point 12: the image-URL fetcher checked the resolved addresses and then let the HTTP client resolve the
 * name again, so a name whose answer changed in between (DNS rebinding) reached a private address. The checked
 * addresses are now the ones connected to.
 */
class UrlFetcherTest {

    private static final byte[] PNG = WireImages.png(8, 8, 1);

    private HttpServer local; // stands for an internal service on a private address
    private final AtomicInteger hits = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        local = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        local.createContext("/", ex -> {
            hits.incrementAndGet();
            ex.sendResponseHeaders(200, PNG.length);
            ex.getResponseBody().write(PNG);
            ex.close();
        });
        local.start();
    }

    @AfterEach
    void stop() {
        local.stop(0);
    }

    private String url() {
        return "http://images.example.test:" + local.getAddress().getPort() + "/cat.png";
    }

    private static InetAddress address(String ip) {
        try {
            return InetAddress.getByName(ip); // a literal: no lookup
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void rebindingName_publicAtTheCheckThenLoopback_neverReachesTheLoopbackService() {
        // the first answer is public (TEST-NET-3, unreachable here), every later one is the loopback service
        AtomicInteger lookups = new AtomicInteger();
        try (UrlFetcher f = new UrlFetcher(false, Set.of(), 1 << 20, Duration.ofSeconds(3),
                host -> new InetAddress[] {lookups.getAndIncrement() == 0 ? address("203.0.113.7")
                        : InetAddress.getLoopbackAddress()})) {
            assertThatThrownBy(() -> f.fetch(url(), "images[0]", new ByteArrayOutputStream()))
                    .isInstanceOfSatisfying(ProxyException.class, e -> {
                        assertThat(e.httpStatus()).isEqualTo(400);
                        assertThat(e.code()).contains("image_url_unreachable");
                    });
        }
        assertThat(hits).as("the loopback service was never reached").hasValue(0);
    }

    @Test
    void nameWithAnyPrivateAddress_isRefusedWithoutConnecting() {
        for (List<String> answer : List.of(List.of("127.0.0.1"), List.of("203.0.113.7", "10.0.0.5"),
                List.of("169.254.169.254"), List.of("::1"), List.of("fd00::1"), List.of("::ffff:192.168.1.1"))) {
            try (UrlFetcher f = new UrlFetcher(false, Set.of(), 1 << 20, Duration.ofSeconds(3),
                    host -> answer.stream().map(UrlFetcherTest::address).toArray(InetAddress[]::new))) {
                assertThatThrownBy(() -> f.fetch(url(), "images[0]", new ByteArrayOutputStream())).as("%s", answer)
                        .isInstanceOfSatisfying(ProxyException.class, e -> {
                            assertThat(e.code()).contains("image_url_forbidden");
                            assertThat(e.param()).contains("images[0]");
                        });
            }
        }
        assertThat(hits).hasValue(0);
    }

    @Test
    void trustedHost_isFetchedFromTheAddressItResolvedTo() {
        try (UrlFetcher f = new UrlFetcher(false, Set.of("images.example.test"), 1 << 20, Duration.ofSeconds(3),
                host -> new InetAddress[] {InetAddress.getLoopbackAddress()})) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            f.fetch(url(), "data.url", out);

            assertThat(out.toByteArray()).isEqualTo(PNG);
            assertThat(hits).hasValue(1);
        }
    }

    @Test
    void imageOverTheCap_is413() {
        try (UrlFetcher f = new UrlFetcher(true, Set.of(), PNG.length - 1, Duration.ofSeconds(3),
                host -> new InetAddress[] {InetAddress.getLoopbackAddress()})) {
            assertThatThrownBy(() -> f.fetch(url(), "images[0]", new ByteArrayOutputStream()))
                    .isInstanceOfSatisfying(ProxyException.class, e -> assertThat(e.httpStatus()).isEqualTo(413));
        }
    }
}
