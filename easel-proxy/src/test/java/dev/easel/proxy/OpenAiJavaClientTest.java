package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.MultipartField;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.images.ImageEditCompletedEvent;
import com.openai.models.images.ImageEditParams;
import com.openai.models.images.ImageEditPartialImageEvent;
import com.openai.models.images.ImageEditStreamEvent;
import com.openai.models.images.ImagesResponse;
import dev.easel.testkit.RecordedPart;
import dev.easel.testkit.RecordedRequest;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OpenAI's official Java SDK ({@code openai-java}), pointed at the proxy, edits images through it to the
 * fake upstream: checks what the SDK got back and what the upstream received.
 */
class OpenAiJavaClientTest {

    @TempDir
    static Path dataDir;
    @TempDir
    Path files;

    static WireFixture wire;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        wire = WireFixture.start(dataDir);
        client = OpenAIOkHttpClient.builder()
                .baseUrl(wire.proxy.baseUri() + "/v1")
                .apiKey(WireFixture.MASTER_KEY)
                .maxRetries(0)
                .timeout(Duration.ofSeconds(20))
                .build();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (wire != null) {
            wire.close();
        }
    }

    @BeforeEach
    void reset() {
        wire.fake.reset();
    }

    @Test
    void edit_singlePath_reachesUpstreamAsOnePngImagePart() throws Exception {
        byte[] png = WireImages.png(64, 64, 1);
        Path file = Files.write(files.resolve("cat.png"), png);

        ImagesResponse response = client.images().edit(ImageEditParams.builder()
                .image(file).prompt("add a hat").model("gpt-image-1").build());

        assertSingleB64Image(response);
        assertThat(response.usage()).hasValueSatisfying(u -> {
            assertThat(u.inputTokens()).isEqualTo(244);
            assertThat(u.outputTokens()).isEqualTo(1056);
            assertThat(u.totalTokens()).isEqualTo(1300);
        });
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.path()).isEqualTo("/v1/images/edits");
        assertThat(up.header("Authorization")).contains("Bearer " + WireFixture.UPSTREAM_KEY);
        assertThat(up.fieldNames()).containsExactly("model", "prompt", "image");
        assertThat(up.textField("model")).contains("gpt-image-1");
        assertThat(up.textField("prompt")).contains("add a hat");
        RecordedPart image = up.part("image");
        assertThat(image.filename()).contains("cat.png");
        assertThat(image.contentType()).contains("image/png");
        assertThat(image.bytes()).isEqualTo(png);
    }

    @Test
    void edit_pathWithWrongExtension_upstreamFileNameGetsPngExtension() throws Exception {
        byte[] png = WireImages.png(64, 64, 2);
        Path file = Files.write(files.resolve("upload.bin"), png);

        ImagesResponse response = client.images().edit(ImageEditParams.builder()
                .image(file).prompt("p").model("gpt-image-1").build());

        assertSingleB64Image(response);
        RecordedPart image = wire.fake.takeRequest().part("image");
        assertThat(image.filename()).contains("upload.png");
        assertThat(image.contentType()).contains("image/png");
        assertThat(image.bytes()).isEqualTo(png);
    }

    @Test
    void edit_inputStreamWithoutFileName_upstreamGetsNamedPngPart() {
        byte[] png = WireImages.png(64, 64, 3);

        ImagesResponse response = client.images().edit(ImageEditParams.builder()
                .image(new ByteArrayInputStream(png)).prompt("p").model("gpt-image-1").build());

        assertSingleB64Image(response);
        RecordedPart image = wire.fake.takeRequest().part("image");
        assertThat(image.filename()).contains("image.png");
        assertThat(image.contentType()).contains("image/png");
        assertThat(image.bytes()).isEqualTo(png);
    }

    @Test
    void edit_byteArray_upstreamGetsNamedPngPart() {
        byte[] png = WireImages.png(64, 64, 4);

        ImagesResponse response = client.images().edit(ImageEditParams.builder()
                .image(png).prompt("p").model("gpt-image-1").build());

        assertSingleB64Image(response);
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.fieldNames()).containsExactly("model", "prompt", "image");
        RecordedPart image = up.part("image");
        assertThat(image.filename()).contains("image.png");
        assertThat(image.contentType()).contains("image/png");
        assertThat(image.bytes()).isEqualTo(png);
    }

    @Test
    void sdkByteInput_sentDirectlyToOpenAi_hasNoFileNameAndIsRefused() {
        // why the proxy must name and type the parts: the same SDK call straight to (fake) OpenAI fails
        byte[] png = WireImages.png(16, 16, 14);
        OpenAIClient direct = OpenAIOkHttpClient.builder().baseUrl(wire.fake.baseUrl())
                .apiKey(WireFixture.UPSTREAM_KEY).maxRetries(0).build();
        try {
            assertThatThrownBy(() -> direct.images().edit(ImageEditParams.builder()
                    .image(png).prompt("p").model("gpt-image-1").build()))
                    .isInstanceOf(BadRequestException.class);
        } finally {
            direct.close();
        }

        RecordedPart sent = wire.fake.takeRequest().part("image");
        assertThat(sent.filename()).isEmpty();
        assertThat(sent.contentType()).contains("application/octet-stream");
        assertThat(sent.bytes()).isEqualTo(png);
    }

    @Test
    void edit_severalImages_upstreamGetsImageArrayInOrder() {
        byte[] a = WireImages.png(64, 64, 5);
        byte[] b = WireImages.png(64, 64, 6);
        byte[] c = WireImages.png(64, 64, 7);

        ImagesResponse response = client.images().edit(ImageEditParams.builder()
                .imageOfInputStreams(List.of(new ByteArrayInputStream(a), new ByteArrayInputStream(b),
                        new ByteArrayInputStream(c)))
                .prompt("combine").model("gpt-image-1").build());

        assertSingleB64Image(response);
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.fieldNames()).containsExactly("model", "prompt", "image[]", "image[]", "image[]");
        assertThat(up.parts("image")).isEmpty();
        List<RecordedPart> images = up.parts("image[]");
        assertThat(images).extracting(p -> p.filename().orElse("none"))
                .containsExactly("image.png", "image_1.png", "image_2.png");
        assertThat(images).allSatisfy(p -> assertThat(p.contentType()).contains("image/png"));
        assertThat(images.get(0).bytes()).isEqualTo(a);
        assertThat(images.get(1).bytes()).isEqualTo(b);
        assertThat(images.get(2).bytes()).isEqualTo(c);
    }

    @Test
    void edit_severalNamedImages_keepFileNames() {
        byte[] a = WireImages.png(64, 64, 8);
        byte[] b = WireImages.png(64, 64, 9);
        // a client that names its files: the SDK sends one file name for the whole list field
        ImageEditParams params = ImageEditParams.builder()
                .image(MultipartField.<ImageEditParams.Image>builder()
                        .value(ImageEditParams.Image.ofInputStreams(List.of(new ByteArrayInputStream(a),
                                new ByteArrayInputStream(b))))
                        .filename("scene.png").contentType("image/png").build())
                .prompt("p").model("gpt-image-1").build();

        assertSingleB64Image(client.images().edit(params));

        List<RecordedPart> images = wire.fake.takeRequest().parts("image[]");
        assertThat(images).hasSize(2);
        assertThat(images).allSatisfy(p -> {
            assertThat(p.filename()).contains("scene.png");
            assertThat(p.contentType()).contains("image/png");
        });
        assertThat(images.get(0).bytes()).isEqualTo(a);
        assertThat(images.get(1).bytes()).isEqualTo(b);
    }

    @Test
    void edit_withMask_upstreamGetsMaskPartAfterImage() throws Exception {
        byte[] png = WireImages.png(64, 64, 10);
        byte[] mask = WireImages.mask(64, 64);
        Path maskFile = Files.write(files.resolve("mask-file.png"), mask);

        ImagesResponse response = client.images().edit(ImageEditParams.builder()
                .image(png).mask(maskFile).prompt("fill the hole").model("gpt-image-1").build());

        assertSingleB64Image(response);
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.fieldNames()).containsExactly("model", "prompt", "image", "mask");
        RecordedPart maskPart = up.part("mask");
        assertThat(maskPart.filename()).contains("mask-file.png");
        assertThat(maskPart.contentType()).contains("image/png");
        assertThat(maskPart.bytes()).isEqualTo(mask);
        assertThat(up.part("image").bytes()).isEqualTo(png);
    }

    @Test
    void edit_maskFromBytes_upstreamMaskPartIsNamedMaskPng() {
        byte[] png = WireImages.png(32, 32, 11);
        byte[] mask = WireImages.mask(32, 32);

        client.images().edit(ImageEditParams.builder()
                .image(png).mask(mask).prompt("p").model("gpt-image-1").build());

        RecordedPart maskPart = wire.fake.takeRequest().part("mask");
        assertThat(maskPart.filename()).contains("mask.png");
        assertThat(maskPart.contentType()).contains("image/png");
        assertThat(maskPart.bytes()).isEqualTo(mask);
    }

    @Test
    void edit_nTwo_returnsTwoImagesAndUpstreamGetsN() {
        byte[] png = WireImages.png(64, 64, 12);

        ImagesResponse response = client.images().edit(ImageEditParams.builder()
                .image(png).prompt("p").model("gpt-image-1").n(2).size(ImageEditParams.Size._1024X1024).build());

        assertThat(response.data()).hasValueSatisfying(d -> {
            assertThat(d).hasSize(2);
            assertThat(d).allSatisfy(i -> WireImages.decodePng(Base64.getDecoder().decode(i.b64Json().orElseThrow())));
        });
        assertThat(response.size()).hasValueSatisfying(s -> assertThat(s.asString()).isEqualTo("1024x1024"));
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.textField("n")).contains("2");
        assertThat(up.textField("size")).contains("1024x1024");
        assertThat(up.fieldNames()).doesNotContain("response_format");
        assertThat(up.fieldNames().getLast()).isEqualTo("image");
    }

    @Test
    void editStreaming_forwardsPartialImagesThenCompleted() {
        wire.fake.streamEventDelay(Duration.ZERO);
        byte[] png = WireImages.png(64, 64, 13);

        List<ImageEditStreamEvent> events;
        try (StreamResponse<ImageEditStreamEvent> stream = client.images().editStreaming(ImageEditParams.builder()
                .image(png).prompt("p").model("gpt-image-1").partialImages(2).build())) {
            events = stream.stream().toList();
        }

        assertThat(events).hasSize(3);
        ImageEditPartialImageEvent first = events.get(0).asPartialImage();
        ImageEditPartialImageEvent second = events.get(1).asPartialImage();
        assertThat(first.partialImageIndex()).isZero();
        assertThat(second.partialImageIndex()).isEqualTo(1);
        WireImages.decodePng(Base64.getDecoder().decode(first.b64Json()));
        ImageEditCompletedEvent done = events.get(2).asCompleted();
        WireImages.decodePng(Base64.getDecoder().decode(done.b64Json()));
        assertThat(done.usage().totalTokens()).isEqualTo(1300);
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.textField("stream")).contains("true");
        assertThat(up.textField("partial_images")).contains("2");
        assertThat(up.part("image").bytes()).isEqualTo(png);
        assertThat(up.fieldNames()).doesNotContain("response_format");
    }

    private static void assertSingleB64Image(ImagesResponse response) {
        assertThat(response.data()).hasValueSatisfying(d -> {
            assertThat(d).hasSize(1);
            assertThat(d.getFirst().url()).isEmpty();
            byte[] bytes = Base64.getDecoder().decode(d.getFirst().b64Json().orElseThrow());
            WireImages.decodePng(bytes);
        });
    }
}
