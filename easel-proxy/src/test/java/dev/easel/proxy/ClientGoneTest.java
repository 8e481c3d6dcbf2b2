package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.config.ConfigLoader;
import dev.easel.testkit.Await;
import dev.easel.testkit.FakeBfl;
import dev.easel.testkit.FakeOpenAi;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that goes away while its edit waits for a provider job stops the job's polling: the request ends at
 * once as {@code client_closed} instead of polling for nobody until the deadline; the job was submitted once.
 */
class ClientGoneTest {

    private static final String MASTER_KEY = "sk-master-gone-1234";
    private static final String KEY = "bfl-key-gone-5678";

    @TempDir
    Path dataDir;
    FakeBfl bfl;
    FakeOpenAi openai;
    ProxyServer proxy;

    @BeforeEach
    void start() {
        bfl = FakeBfl.builder().apiKey(KEY).pendingPolls(100_000).start(); // never ready within the test
        openai = FakeOpenAi.builder().apiKey(KEY).start();
        String yaml = """
                model_list:
                  - model_name: flux
                    litellm_params: {model: black_forest_labs/flux-kontext-pro, api_key: %1$s, api_base: "%2$s"}
                  - model_name: sync
                    litellm_params: {model: openai/gpt-image-2, api_key: %1$s, api_base: "%3$s"}
                general_settings:
                  master_key: %4$s
                """.formatted(KEY, bfl.baseUrl(), openai.baseUrl(), MASTER_KEY);
        proxy = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, Map.of(), "gone.yaml"))
                .listen("127.0.0.1", 0).withDataDir(dataDir));
    }

    @AfterEach
    void stop() {
        proxy.close();
        bfl.close();
        openai.close();
    }

    private static byte[] request(String model) {
        RawMultipart body = new RawMultipart().text("model", model).text("prompt", "add a hat")
                .file("image", "in.png", "image/png", WireImages.png(64, 64, 1));
        byte[] bytes = body.build();
        byte[] head = ("POST /v1/images/edits HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + MASTER_KEY
                + "\r\nContent-Type: " + RawMultipart.contentType() + "\r\nContent-Length: " + bytes.length
                + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[head.length + bytes.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(bytes, 0, all, head.length, bytes.length);
        return all;
    }

    @Test
    void clientClosesDuringAJob_pollingStops_andTheJobWasSubmittedOnce() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
            OutputStream out = socket.getOutputStream();
            out.write(request("flux"));
            out.flush();
            Await.until("the job is polled", () -> !bfl.jobIds().isEmpty() && bfl.polls(bfl.jobIds().get(0)) >= 1);
        } // the client goes away

        // without the watch the job would be polled until the request's deadline (600 s), far past this wait
        Await.until("the request ends without its client", () -> proxy.inflight() == 0);
        assertThat(bfl.submissions("flux-kontext-pro")).isEqualTo(1);
        assertThat(bfl.jobIds()).hasSize(1);
    }

    @Test
    void anEditThatRunsNoJob_keepsItsConnectionAlive() throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        byte[] full = request("sync");
        int split = new String(full, StandardCharsets.ISO_8859_1).indexOf("\r\n\r\n") + 4;
        byte[] body = java.util.Arrays.copyOfRange(full, split, full.length);

        HttpResponse<String> r = http.send(HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits"))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + MASTER_KEY)
                .header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("connection")).isEmpty();
    }
}
