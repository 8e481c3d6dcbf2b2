package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LiteLLM's response headers beside Easel's own, with the same values: {@code x-litellm-call-id} (the request id) on
 * every response, and on an edit {@code x-litellm-model-id}, {@code x-litellm-model-group},
 * {@code x-litellm-attempted-fallbacks} and, non-streamed, {@code x-litellm-response-cost}.
 */
class LitellmHeadersTest {

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

    @BeforeEach
    void reset() {
        wire.fake.reset();
    }

    private static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElseThrow(() -> new AssertionError("no " + name + " in " + r.headers()));
    }

    @Test
    void edit_carriesLitellmsHeaders_withEaselsValues() {
        HttpResponse<byte[]> r = wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image", "i.png", "image/png", WireImages.png(32, 32, 1)));

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(header(r, "x-litellm-call-id")).isEqualTo(header(r, "x-request-id")).startsWith("req_");
        assertThat(header(r, "x-litellm-model-id")).isEqualTo(header(r, "x-easel-deployment"));
        assertThat(header(r, "x-litellm-model-group")).isEqualTo("gpt-image-1");
        assertThat(header(r, "x-litellm-attempted-fallbacks")).isEqualTo("0");
        assertThat(header(r, "x-litellm-response-cost")).isEqualTo(header(r, "x-easel-response-cost"));
    }

    @Test
    void stream_carriesTheRoutingHeaders_costComesInTheCompletedEvent() {
        HttpResponse<byte[]> r = wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .text("stream", "true").file("image", "i.png", "image/png", WireImages.png(32, 32, 2)));

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(header(r, "x-litellm-model-group")).isEqualTo("gpt-image-1");
        assertThat(header(r, "x-litellm-call-id")).isEqualTo(header(r, "x-request-id"));
        assertThat(r.headers().firstValue("x-litellm-response-cost")).isEmpty();
    }

    @Test
    void errorsAndOtherEndpoints_carryTheCallIdToo() {
        HttpResponse<byte[]> refused = wire.send(HttpRequest.newBuilder(wire.uri("/v1/images/edits"))
                .header("Authorization", "Bearer wrong").header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(new RawMultipart().text("prompt", "p").build())).build());
        HttpResponse<byte[]> models = wire.get("/v1/models");

        assertThat(refused.statusCode()).isEqualTo(401);
        assertThat(header(refused, "x-litellm-call-id")).isEqualTo(header(refused, "x-request-id"));
        assertThat(header(models, "x-litellm-call-id")).isEqualTo(header(models, "x-request-id"));
    }
}
