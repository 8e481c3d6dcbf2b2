package dev.easel.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.Easel;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedRequest;
import dev.langchain4j.data.image.Image;
import dev.langchain4j.exception.AuthenticationException;
import dev.langchain4j.exception.ContentFilteredException;
import dev.langchain4j.exception.InternalServerException;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.RateLimitException;
import dev.langchain4j.model.image.ImageModel;
import dev.langchain4j.model.output.Response;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.math.BigDecimal;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The LangChain4j model against the fake OpenAI server: what goes over the wire, what comes back, errors. */
class EaselImageModelTest {

    static final String KEY = "sk-lc4j";
    static final byte[] PNG = png(0xFF336699);
    static final byte[] MASK = png(0x00000000);

    FakeOpenAi fake;
    Easel easel;
    ImageModel model;
    @TempDir
    Path dir;

    @BeforeEach
    void start() {
        fake = FakeOpenAi.builder().apiKey(KEY).start();
        easel = Easel.builder().apiKey(KEY).apiBase(fake.baseUrl()).gateway(false).maxRetries(0)
                .imageDirectory(dir.resolve("out")).build();
        model = EaselImageModel.builder().easel(easel).model("gpt-image-2").build();
    }

    @AfterEach
    void stop() {
        easel.close();
        fake.close();
    }

    static Image base64(byte[] bytes) {
        return Image.builder().base64Data(Base64.getEncoder().encodeToString(bytes)).mimeType("image/png").build();
    }

    @Test
    void edit_sendsTheImageAndPrompt_andReturnsBase64WithCostAndUsage() {
        Response<Image> r = model.edit(base64(PNG), "Add a red hat");

        RecordedRequest req = fake.takeRequest();
        assertThat(req.textField("model")).contains("gpt-image-2");
        assertThat(req.textField("prompt")).contains("Add a red hat");
        assertThat(req.part("image").bytes()).isEqualTo(PNG);
        assertThat(req.part("image").filename()).contains("image.png");
        assertThat(req.parts("mask")).isEmpty();
        Image out = r.content();
        assertThat(Base64.getDecoder().decode(out.base64Data())).startsWith(0x89, 'P', 'N', 'G');
        assertThat(out.url()).isNull();
        assertThat(out.mimeType()).isEqualTo("image/png");
        assertThat(r.tokenUsage().inputTokenCount()).isPositive();
        assertThat(r.tokenUsage().outputTokenCount()).isPositive();
        assertThat(r.metadata().get(EaselImageModel.COST_USD)).isInstanceOfSatisfying(BigDecimal.class,
                c -> assertThat(c).isPositive());
        assertThat(r.metadata()).containsEntry(EaselImageModel.PROVIDER, "openai");
    }

    @Test
    void editWithMask_sendsTheMask() {
        model.edit(base64(PNG), base64(MASK), "Replace the background with a beach");

        RecordedRequest req = fake.takeRequest();
        assertThat(req.part("image").bytes()).isEqualTo(PNG);
        assertThat(req.part("mask").bytes()).isEqualTo(MASK);
    }

    @Test
    void severalImages_goAsImageArrayPartsInOrder() {
        byte[] second = png(0xFFAA0000);
        byte[] third = png(0xFF00AA00);

        ((EaselImageModel) model).edit(List.of(base64(PNG), base64(second), base64(third)), "Combine them");

        RecordedRequest req = fake.takeRequest();
        assertThat(req.parts("image[]")).extracting(p -> p.bytes()).containsExactly(PNG, second, third);
    }

    @Test
    void severalImagesWithMask() {
        ((EaselImageModel) model).edit(List.of(base64(PNG), base64(png(0xFFAA0000))), base64(MASK), "Combine");

        RecordedRequest req = fake.takeRequest();
        assertThat(req.parts("image[]")).hasSize(2);
        assertThat(req.part("mask").bytes()).isEqualTo(MASK);
    }

    @Test
    void urlResponseFormat_returnsAUsableUrl() throws Exception {
        ImageModel urls = EaselImageModel.builder().easel(easel).model("gpt-image-2").responseFormat("url").build();

        Image out = urls.edit(base64(PNG), "Add a red hat").content();

        assertThat(out.url()).isNotNull();
        assertThat(out.base64Data()).isNull();
        assertThat(Files.readAllBytes(Path.of(out.url()))).startsWith(0x89, 'P', 'N', 'G');
    }

    @Test
    void buildersOptions_areSent() {
        EaselImageModel.builder().easel(easel).model("gpt-image-2").size("1024x1024").quality("low")
                .background("opaque").outputFormat("jpeg").user("user-7").build()
                .edit(base64(PNG), "Add a red hat");

        RecordedRequest req = fake.takeRequest();
        assertThat(req.textField("size")).contains("1024x1024");
        assertThat(req.textField("quality")).contains("low");
        assertThat(req.textField("background")).contains("opaque");
        assertThat(req.textField("output_format")).contains("jpeg");
        assertThat(req.textField("user")).contains("user-7");
    }

    @Test
    void dataUrlAndFileUrl_areRead() throws Exception {
        Path file = dir.resolve("input.png");
        Files.write(file, PNG);
        Image data = Image.builder().url("data:image/png;base64," + Base64.getEncoder().encodeToString(PNG)).build();

        model.edit(data, "one");
        model.edit(Image.builder().url(file.toUri()).build(), "two");

        assertThat(fake.takeRequest().part("image").bytes()).isEqualTo(PNG);
        RecordedRequest second = fake.takeRequest();
        assertThat(second.part("image").bytes()).isEqualTo(PNG);
        assertThat(second.part("image").filename()).contains("input.png");
    }

    @Test
    void remoteUrl_isRefused_withoutAnyCall() {
        Image remote = Image.builder().url(URI.create("https://example.com/cat.png")).build();

        assertThatThrownBy(() -> model.edit(remote, "Add a red hat")).isInstanceOf(InvalidRequestException.class)
                .hasMessage("image: a https URL is not fetched: Easel takes images as bytes or files; pass base64Data, "
                        + "a data: URL or a file: URL");
        assertThatThrownBy(() -> model.edit(base64(PNG), remote, "x")).hasMessageStartingWith("mask: a https URL");
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void badBase64_andEmptyImage_areRefused() {
        assertThatThrownBy(() -> model.edit(Image.builder().base64Data("not base64!").build(), "x"))
                .isInstanceOf(InvalidRequestException.class).hasMessageStartingWith("image: base64Data is not valid");
        assertThatThrownBy(() -> model.edit(Image.builder().mimeType("image/png").build(), "x"))
                .isInstanceOf(InvalidRequestException.class).hasMessage("image: has neither base64 data nor a URL");
        assertThatThrownBy(() -> ((EaselImageModel) model).edit(List.of(), "x"))
                .isInstanceOf(InvalidRequestException.class);
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void generate_isRefused_asNotAnEdit() {
        assertThatThrownBy(() -> model.generate("a cat")).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("edits images");
        assertThatThrownBy(() -> model.generate("a cat", 2)).isInstanceOf(UnsupportedOperationException.class);
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void requestEaselRefuses_isAnInvalidRequest_withEaselsReasonAndNoCall() {
        ImageModel odd = EaselImageModel.builder().easel(easel).model("gpt-image-2").size("7x7").build();

        assertThatThrownBy(() -> odd.edit(base64(PNG), "x")).isInstanceOf(InvalidRequestException.class)
                .hasCauseInstanceOf(dev.easel.BadRequestException.class).hasMessageContaining("7x7");
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void providerErrors_becomeLangChain4jExceptions_withEaselsAsCause() {
        fake.enqueue(FakeResponse.rateLimited(1));
        assertThatThrownBy(() -> model.edit(base64(PNG), "x")).isInstanceOf(RateLimitException.class)
                .hasCauseInstanceOf(dev.easel.RateLimitException.class);

        fake.enqueue(FakeResponse.moderationBlocked());
        assertThatThrownBy(() -> model.edit(base64(PNG), "x")).isInstanceOf(ContentFilteredException.class)
                .hasCauseInstanceOf(dev.easel.ContentPolicyViolationException.class);

        fake.enqueue(FakeResponse.serverError());
        assertThatThrownBy(() -> model.edit(base64(PNG), "x")).isInstanceOf(InternalServerException.class);

        try (Easel other = Easel.builder().apiKey("sk-wrong").apiBase(fake.baseUrl()).gateway(false).build()) {
            ImageModel wrongKey = EaselImageModel.builder().model("gpt-image-2").easel(other).build();
            assertThatThrownBy(() -> wrongKey.edit(base64(PNG), "x")).isInstanceOf(AuthenticationException.class);
        }
    }

    static byte[] png(int argb) {
        BufferedImage image = new BufferedImage(32, 32, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                image.setRGB(x, y, argb);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", out);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
