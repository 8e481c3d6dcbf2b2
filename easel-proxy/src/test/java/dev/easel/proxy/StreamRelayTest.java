package dev.easel.proxy;

import static dev.easel.proxy.EdgeSupport.MULTIPART;
import static dev.easel.proxy.EdgeSupport.form;
import static dev.easel.proxy.EdgeSupport.smallPng;
import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Partial images are relayed while they arrive (cut-through): the client has the first half of a partial-image
 * event while the provider has not sent its second half yet; the bytes are those the provider sent; the
 * completed event (cost added) still comes whole.
 */
class StreamRelayTest {

    static FakeOpenAi fake;
    static ProxyServer proxy;

    @BeforeAll
    static void start(@TempDir Path data) {
        fake = FakeOpenAi.builder().apiKey("sk-up").start();
        proxy = EdgeSupport.start("model_list:\n" + EdgeSupport.openAiModel("gpt", fake.baseUrl(), "sk-up", "")
                + EdgeSupport.openAiModel("slow", fake.baseUrl(), "sk-up", "timeout: 0.5")
                + "router_settings:\n  num_retries: 0\n  disable_cooldowns: true\n", data);
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    static final String FIRST_HALF = "QUJDREVG".repeat(2_000);
    static final String SECOND_HALF = "R0hJSktM".repeat(2_000);
    static final String PARTIAL = "{\"type\":\"image_edit.partial_image\",\"b64_json\":\"" + FIRST_HALF + SECOND_HALF
            + "\",\"partial_image_index\":0,\"size\":\"1024x1024\",\"quality\":\"medium\",\"background\":\"opaque\","
            + "\"output_format\":\"png\",\"created_at\":1751135530}";
    static final String COMPLETED = "{\"type\":\"image_edit.completed\",\"b64_json\":\"aGVsbG8=\",\"size\":\"1024x1024\","
            + "\"quality\":\"medium\",\"background\":\"opaque\",\"output_format\":\"png\",\"created_at\":1751135531,"
            + "\"usage\":{\"input_tokens\":50,\"input_tokens_details\":{\"image_tokens\":40,\"text_tokens\":10},"
            + "\"output_tokens\":272,\"total_tokens\":322}}";

    @Test
    void partialImage_firstHalfReachesTheClient_beforeTheProviderSendsTheRest() throws Exception {
        String event = FakeResponse.sseEvent("image_edit.partial_image", PARTIAL);
        int cut = event.indexOf(SECOND_HALF);
        Duration gap = Duration.ofSeconds(2);
        // the fake writes each piece, flushes, and waits `gap` before the next
        fake.enqueue(FakeResponse.sse(List.of(event.substring(0, cut), event.substring(cut),
                FakeResponse.sseEvent("image_edit.completed", COMPLETED)), gap));
        byte[] body = form().text("model", "gpt").text("prompt", "p").text("stream", "true")
                .text("partial_images", "1").file("image", "a.png", smallPng()).bytes();

        HttpResponse<InputStream> r = EdgeSupport.HTTP.send(HttpRequest.newBuilder(
                        proxy.baseUri().resolve("/v1/images/edits")).header("Content-Type", MULTIPART)
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        StringBuilder got = new StringBuilder();
        long firstHalfAt = -1;
        long secondHalfAt = -1;
        try (InputStream in = r.body()) {
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) > 0; ) {
                got.append(new String(buf, 0, n, StandardCharsets.US_ASCII));
                if (firstHalfAt < 0 && got.indexOf(FIRST_HALF) >= 0) {
                    firstHalfAt = System.nanoTime();
                }
                if (secondHalfAt < 0 && got.indexOf(SECOND_HALF) >= 0) {
                    secondHalfAt = System.nanoTime();
                }
            }
        }

        assertThat(firstHalfAt).as("first half received").isPositive();
        assertThat(Duration.ofNanos(secondHalfAt - firstHalfAt)).as("the first half came before the provider "
                + "sent the second (" + gap + " later), not together with it").isGreaterThan(Duration.ofSeconds(1));
        String[] events = got.toString().split("\n\n");
        assertThat(events).hasSize(2);
        assertThat(events[0]).as("relayed byte for byte").isEqualTo("event: image_edit.partial_image\ndata: " + PARTIAL);
        assertThat(events[1]).startsWith("event: image_edit.completed\ndata: {").contains("\"easel_response_cost\"");
    }

    @Test
    void multiLineData_isRelayedAsDataLines() throws Exception {
        String event = "event: image_edit.partial_image\ndata: {\"type\":\"image_edit.partial_image\",\ndata: "
                + "\"b64_json\":\"QUJD\",\"partial_image_index\":0}\n\n";
        fake.enqueue(FakeResponse.sse(List.of(event, FakeResponse.sseEvent("image_edit.completed", COMPLETED)),
                Duration.ZERO));
        byte[] body = form().text("model", "gpt").text("prompt", "p").text("stream", "true")
                .text("partial_images", "1").file("image", "a.png", smallPng()).bytes();

        HttpResponse<String> r = EdgeSupport.post(proxy, MULTIPART, body);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body().split("\n\n")[0]).isEqualTo(event.substring(0, event.length() - 2));
    }

    @Test
    void providerStallsInsideARelayedEvent_theEventIsEnded_andTheErrorIsAnEventOfItsOwn() throws Exception {
        String event = FakeResponse.sseEvent("image_edit.partial_image", PARTIAL);
        int cut = event.indexOf(SECOND_HALF);
        // silent for 2 s in the middle of the event: past the deployment's 0.5 s time-out
        fake.enqueue(FakeResponse.sse(List.of(event.substring(0, cut), event.substring(cut)), Duration.ofSeconds(2)));
        byte[] body = form().text("model", "slow").text("prompt", "p").text("stream", "true")
                .text("partial_images", "1").file("image", "a.png", smallPng()).bytes();

        HttpResponse<String> r = EdgeSupport.post(proxy, MULTIPART, body);

        assertThat(r.statusCode()).isEqualTo(200);
        String[] events = r.body().split("\n\n");
        assertThat(events).hasSize(2);
        assertThat(events[0]).isEqualTo(event.substring(0, cut));
        assertThat(events[1]).startsWith("data: {\"error\":").contains("\"code\":\"timeout\"");
    }
}
