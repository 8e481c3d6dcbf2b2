package dev.easel.examples.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.Easel;
import dev.easel.langchain4j.EaselImageModel;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.RecordedRequest;
import dev.langchain4j.data.image.Image;
import dev.langchain4j.model.output.Response;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** Runs the LangChain4j example against the fake OpenAI server and checks the image it got. */
class LangChain4jMaskEditTest {

    static final Path IMAGES = Path.of("../images");

    @Test
    void example_editsWithMask_throughTheImageModel() throws Exception {
        try (FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-lc4j").start();
             Easel easel = Easel.builder().apiKey("sk-lc4j").apiBase(fake.baseUrl()).gateway(false).build()) {
            Response<Image> r = LangChain4jMaskEdit.run(
                    EaselImageModel.builder().easel(easel).model("gpt-image-2").responseFormat("b64_json").build(),
                    IMAGES);

            RecordedRequest req = fake.takeRequest();
            assertThat(req.part("image").bytes()).isEqualTo(Files.readAllBytes(IMAGES.resolve("original_image.png")));
            assertThat(req.part("mask").bytes()).isEqualTo(Files.readAllBytes(IMAGES.resolve("mask_image.png")));
            assertThat(req.textField("prompt")).contains("Replace the background with a beach scene");
            assertThat(Base64.getDecoder().decode(r.content().base64Data())).startsWith(0x89, 'P', 'N', 'G');
            assertThat(r.metadata().get(EaselImageModel.COST_USD)).isInstanceOf(BigDecimal.class);
        }
    }
}
