package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.ConnectionException;
import dev.easel.TimeoutException;
import dev.easel.http.HttpTransport;
import dev.easel.http.Multipart;
import dev.easel.internal.Blob;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedRequest;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The proxy's upstream client behind the SDK's transport, against a strict fake: what goes on the wire (a known
 * length, never chunked; nothing the caller did not set: no user agent, no accepted encodings, no cookie kept from an
 * answer), and the failures the router needs told apart (the headers' time-out with the body sent, a refused
 * connection, a cancelled call).
 */
class JettyUpstreamTest {

    static FakeOpenAi fake;
    static HttpTransport transport;

    @BeforeAll
    static void start() {
        fake = FakeOpenAi.builder().apiKey("sk-up").start();
        transport = new HttpTransport(new JettyUpstream());
    }

    @AfterAll
    static void stop() {
        transport.close();
        fake.close();
    }

    @AfterEach
    void reset() {
        fake.releaseAnswers();
        fake.reset();
    }

    private static Multipart edit() {
        byte[] png = EdgeSupport.smallPng();
        return Multipart.create().text("model", "gpt-image-1").text("prompt", "add a hat")
                .file("image", "a.png", "image/png", Blob.ofBytes(png));
    }

    private static HttpRequest.Builder post(Multipart body) {
        return HttpRequest.newBuilder(URI.create(fake.baseUrl() + "/images/edits"))
                .header("Authorization", "Bearer sk-up").header("Content-Type", body.contentType());
    }

    @Test
    void edit_sentWithItsLength_nothingAdded_answerStreamsBack() throws Exception {
        Multipart body = edit();
        HttpResponse<InputStream> r = transport.send(post(body), body.publisher(), Duration.ofSeconds(10), "openai");
        byte[] answer;
        try (InputStream in = r.body()) {
            answer = in.readAllBytes();
        }
        assertThat(r.statusCode()).as(new String(answer, java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).contains("json"));
        assertThat(new String(answer, java.nio.charset.StandardCharsets.UTF_8)).contains("\"b64_json\"");

        RecordedRequest seen = fake.takeRequest();
        assertThat(seen.multipartError()).isEmpty();
        assertThat(seen.chunked()).isFalse();
        assertThat(seen.contentLength()).hasValue(body.contentLength());
        assertThat(seen.textField("prompt")).hasValue("add a hat");
        assertThat(seen.header("user-agent")).isEmpty();
        assertThat(seen.header("accept-encoding")).isEmpty();
    }

    @Test
    void cookieOfAnAnswer_isNotSentWithTheNextRequest() throws Exception {
        fake.enqueue(FakeResponse.defaultBehaviour().withHeader("Set-Cookie", "session=caller-a; Path=/"));
        for (int i = 0; i < 2; i++) {
            Multipart body = edit();
            try (InputStream in = transport.send(post(body), body.publisher(), Duration.ofSeconds(10), "openai")
                    .body()) {
                in.readAllBytes();
            }
        }
        fake.takeRequest();
        assertThat(fake.takeRequest().header("cookie")).isEmpty();
    }

    @Test
    void headersLate_isATimeoutThatSaysTheBodyWasSent() {
        fake.holdAnswers();
        Multipart body = edit();
        assertThatThrownBy(() -> transport.send(post(body), body.publisher(), Duration.ofMillis(300), "openai"))
                .isInstanceOfSatisfying(TimeoutException.class, e -> assertThat(e.bodySent()).isTrue())
                .hasMessageContaining("the request had been sent");
    }

    @Test
    void refusedConnection_isAConnectionError() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        Multipart body = edit();
        assertThatThrownBy(() -> transport.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + closed
                        + "/v1/images/edits")).header("Content-Type", body.contentType()), body.publisher(),
                Duration.ofSeconds(5), "openai"))
                .isInstanceOf(ConnectionException.class).hasMessageContaining("could not connect to openai");
    }

    @Test
    void cancelledCall_endsWithAConnectionError_andTheNextCallWorks() throws Exception {
        fake.holdAnswers();
        Multipart body = edit();
        HttpTransport.Exchange ex = transport.start(post(body), body.publisher(), Duration.ofSeconds(30), "openai");
        fake.takeRequest(); // it reached the provider
        ex.cancel();
        assertThatThrownBy(ex::await).isInstanceOf(ConnectionException.class);
        fake.releaseAnswers();

        Multipart next = edit();
        assertThat(transport.send(post(next), next.publisher(), Duration.ofSeconds(10), "openai").statusCode())
                .isEqualTo(200);
    }

    @Test
    void choice_jettyByDefault_jdkOnRequest_anythingElseRefused() {
        assertThat(ProxyServer.upstreamClient("jetty")).isPresent();
        assertThat(ProxyServer.upstreamClient("jdk")).isEmpty();
        assertThatThrownBy(() -> ProxyServer.upstreamClient("netty"))
                .hasMessage("-Deasel.upstream.client must be 'jetty' or 'jdk', not 'netty'");
    }
}
