package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 point 11: without a mask, dall-e-2 edits the transparent area of the image (OpenAI uses its alpha as the
 * mask), so an RGB png without a mask is refused locally as OpenAI refuses it — and costs nothing.
 */
class DallE2AlphaTest {

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

    private static RawMultipart edit(byte[] image) {
        return new RawMultipart().text("model", "dall-e-2").text("prompt", "p").text("size", "256x256")
                .file("image", "i.png", "image/png", image);
    }

    @Test
    void rgbPngWithoutMask_refusedBeforeUpstream() {
        wire.fake.reset();
        HttpResponse<byte[]> r = wire.postMultipart(edit(WireImages.png(32, 32, 3)));

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("message").asText()).startsWith(
                "Invalid input image - format must be in ['RGBA', 'LA', 'L'], got RGB.");
        assertThat(error.path("code").asText()).isEqualTo("invalid_image_format");
        assertThat(error.path("param").asText()).isEqualTo("image");
        assertThat(wire.fake.requestCount()).isZero();
    }

    @Test
    void rgbaPngWithoutMask_andRgbPngWithMask_areServed() {
        assertThat(wire.postMultipart(edit(WireImages.pngWithAlpha(32, 32, 3))).statusCode()).isEqualTo(200);
        assertThat(wire.postMultipart(edit(WireImages.png(32, 32, 3)).file("mask", "m.png", "image/png",
                WireImages.pngWithAlpha(32, 32, 3))).statusCode()).isEqualTo(200);
    }
}
