package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 point 6: without {@code public_base_url}, image URLs come from the request's Host header — but only a
 * plain {@code host[:port]} goes into a URL the proxy hands out.
 */
class ImageUrlHostTest {

    @TempDir
    static Path dataDir;
    static WireFixture wire;

    @BeforeAll
    static void start() {
        wire = WireFixture.start(dataDir);
    }

    @AfterAll
    static void stop() {
        if (wire != null) {
            wire.close();
        }
    }

    private static String urlFor(String host) throws IOException {
        byte[] body = new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .text("response_format", "url").file("image", "i.png", "image/png", WireImages.png(32, 32, 1)).build();
        try (EdgeSupport.Raw raw = new EdgeSupport.Raw(wire.proxy)) {
            String head = "POST /v1/images/edits HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer "
                    + WireFixture.MASTER_KEY + "\r\nContent-Type: " + RawMultipart.contentType()
                    + "\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n";
            raw.send(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII)).send(body);
            EdgeSupport.RawResponse r = raw.read(Duration.ofSeconds(20));
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            return WireFixture.JSON.readTree(r.body()).path("data").get(0).path("url").asText();
        }
    }

    @Test
    void plainHost_isUsed() throws IOException {
        assertThat(urlFor("images.example.com:8443")).startsWith("http://images.example.com:8443/v1/images/files/");
        assertThat(urlFor("[::1]:4000")).startsWith("http://[::1]:4000/v1/images/files/");
    }

    @Test
    void hostThatIsNotAPlainHostName_fallsBackToTheAddressTheRequestCameIn() throws IOException {
        String url = urlFor("evil_host.example");

        assertThat(url).startsWith("http://127.0.0.1:" + wire.proxy.port() + "/v1/images/files/");
    }
}
