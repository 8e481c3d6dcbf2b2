package dev.easel.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.BadRequestException;
import dev.easel.Easel;
import dev.easel.ImageData;
import dev.easel.ImageResponse;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.RecordedRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs every example against the fake OpenAI server and checks both sides. */
class ExamplesTest {

    static final Path IMAGES = Path.of("images");
    static final String KEY = "sk-examples";

    FakeOpenAi fake;
    Easel easel;
    @TempDir
    Path urls;

    @BeforeEach
    void start() {
        fake = FakeOpenAi.builder().apiKey(KEY).start();
        // the fake stands for OpenAI itself, not for a gateway in front of it
        easel = Easel.builder().apiKey(KEY).apiBase(fake.baseUrl()).gateway(false).imageDirectory(urls)
                .clock(Clock.fixed(Instant.parse("2026-11-24T12:00:00Z"), ZoneOffset.UTC)).build();
    }

    @AfterEach
    void stop() {
        fake.close();
    }

    @Test
    void basicEdit_sendsOneImage_andGetsOneImage() throws Exception {
        ImageResponse r = BasicEdit.run(easel, IMAGES);

        RecordedRequest req = fake.takeRequest();
        assertThat(req.fieldNames()).containsExactly("model", "prompt", "n", "size", "image");
        assertThat(req.textField("prompt")).contains("Add a red hat to the person in the image");
        assertThat(req.part("image").bytes()).isEqualTo(Files.readAllBytes(IMAGES.resolve("original_image.png")));
        assertThat(r.data()).hasSize(1);
        assertThat(r.data().get(0).bytes()).startsWith(0x89, 'P', 'N', 'G');
        // gpt-image-1 was shut down on 2026-10-23: passed through, with a warning, never swapped
        assertThat(req.textField("model")).contains("gpt-image-1");
        assertThat(r.warnings()).anySatisfy(w -> assertThat(w).contains("2026-10-23"));
    }

    @Test
    void multipleImagesEdit_sendsThreeImageArrayPartsInOrder() throws Exception {
        MultipleImagesEdit.run(easel, IMAGES);

        RecordedRequest req = fake.takeRequest();
        var parts = req.parts("image[]");
        assertThat(parts).extracting(p -> p.filename().orElseThrow())
                .containsExactly("image1.png", "image2.png", "image3.png");
        for (int i = 0; i < 3; i++) {
            assertThat(parts.get(i).bytes()).isEqualTo(Files.readAllBytes(IMAGES.resolve("image" + (i + 1) + ".png")));
        }
        assertThat(req.parts("image")).isEmpty();
    }

    @Test
    void maskEdit_sendsMask_andReturnsUsableUrls() throws Exception {
        ImageResponse r = MaskEdit.run(easel, IMAGES);

        RecordedRequest req = fake.takeRequest();
        assertThat(req.part("mask").contentType()).contains("image/png");
        assertThat(req.textField("n")).contains("2");
        assertThat(req.fieldNames()).doesNotContain("response_format");
        assertThat(r.data()).hasSize(2).allSatisfy(d -> {
            assertThat(d.url()).hasValueSatisfying(u -> assertThat(u).startsWith("file:"));
            assertThat(d.bytes()).startsWith(0x89, 'P', 'N', 'G');
        });
    }

    @Test
    void maskEdit_asWrittenInLiteLlmDocs_isRefusedWithClearError() {
        assertThatThrownBy(() -> easel.imageEdit(MaskEdit.request(IMAGES, "512x512")))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.getMessage()).isEqualTo(
                            "Invalid size '512x512'. Supported sizes are 1024x1024, 1024x1536, 1536x1024, and auto.");
                    assertThat(e.param()).contains("size");
                });
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void asyncEdit_completesWithBase64() throws Exception {
        ImageResponse r = AsyncEdit.run(easel, IMAGES);

        assertThat(fake.takeRequest().fieldNames()).doesNotContain("response_format");
        assertThat(r.data().get(0).b64Json()).isPresent();
    }

    @Test
    void asyncMultipleImagesEdit_sendsTwoPortraits_andReturnsUrl() throws Exception {
        ImageResponse r = AsyncMultipleImagesEdit.run(easel, IMAGES);

        assertThat(fake.takeRequest().parts("image[]")).extracting(p -> p.filename().orElseThrow())
                .containsExactly("portrait1.png", "portrait2.png");
        assertThat(r.data().get(0).url()).isPresent();
    }

    @Test
    void customParametersEdit_sendsUserAndHeader_andReturnsThreeUrls() throws Exception {
        ImageResponse r = CustomParametersEdit.run(easel, IMAGES);

        RecordedRequest req = fake.takeRequest();
        assertThat(req.textField("user")).contains("user-123");
        assertThat(req.textField("n")).contains("3");
        assertThat(req.header("Custom-Header")).contains("value");
        assertThat(r.data()).hasSize(3).extracting(d -> d.url().orElseThrow()).doesNotHaveDuplicates();
        for (ImageData d : r.data()) {
            assertThat(Path.of(java.net.URI.create(d.url().orElseThrow()))).exists();
        }
    }
}
