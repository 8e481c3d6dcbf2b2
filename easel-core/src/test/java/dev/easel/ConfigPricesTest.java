package dev.easel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.config.ConfigLoader;
import dev.easel.image.TestImages;
import dev.easel.testkit.FakeOpenAi;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@code model_info} prices LiteLLM users set, applied through the SDK with a config against the testkit's
 * fake OpenAI: {@code input_cost_per_image} per input image, {@code input_cost_per_pixel} and
 * {@code output_cost_per_pixel} per pixel of each returned image (LiteLLM's meaning), exact to the last digit.
 */
class ConfigPricesTest {

    static final byte[] PNG = TestImages.png(64, 64, true);
    static FakeOpenAi fake;
    static Easel easel;

    @BeforeAll
    static void start() {
        fake = FakeOpenAi.builder().apiKey("sk-prices").start();
        String yaml = """
                model_list:
                  - model_name: per-input-image
                    litellm_params: {model: openai/gpt-image-1, api_key: sk-prices, api_base: "%1$s"}
                    model_info:
                      input_cost_per_token: 5.0e-06
                      output_cost_per_image_token: 4.0e-05
                      input_cost_per_image: 0.01
                  - model_name: per-pixel
                    litellm_params: {model: openai/dall-e-2, api_key: sk-prices, api_base: "%1$s"}
                    model_info: {input_cost_per_pixel: 1.9e-08}
                  - model_name: per-pixel-both
                    litellm_params: {model: openai/dall-e-2, api_key: sk-prices, api_base: "%1$s"}
                    model_info: {input_cost_per_pixel: 1.9e-08, output_cost_per_pixel: 1.0e-08}
                """.formatted(fake.baseUrl());
        var config = ConfigLoader.parse(yaml, Map.of(), "prices.yaml");
        assertThat(config.warnings()).isEmpty();
        easel = Easel.builder().config(config).build();
    }

    @AfterAll
    static void stop() {
        fake.close();
    }

    @BeforeEach
    void reset() {
        fake.reset();
    }

    @Test
    void imageEdit_inputCostPerImage_isChargedPerInputImageInsteadOfImageInputTokens() {
        // the fake's usage: 50 text + 194 image input tokens, 1056 image output tokens
        ImageResponse one = easel.imageEdit(ImageEditRequest.builder().model("per-input-image").image(PNG)
                .prompt("add a hat").build());
        ImageResponse two = easel.imageEdit(ImageEditRequest.builder().model("per-input-image")
                .images(ImageInput.of(PNG), ImageInput.of(PNG)).prompt("add a hat").build());

        // 50 x 0.000005 + 1 x 0.01 + 1056 x 0.00004
        assertThat(one.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.05249"));
        // 50 x 0.000005 + 2 x 0.01 + 1056 x 0.00004
        assertThat(two.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.06249"));
    }

    @Test
    void imageEdit_inputCostPerPixel_isChargedPerPixelOfEachReturnedImage() {
        ImageResponse r = easel.imageEdit(ImageEditRequest.builder().model("per-pixel").image(PNG)
                .prompt("add a hat").size("512x512").n(2).build());

        assertThat(r.data()).hasSize(2);
        // LiteLLM: input_cost_per_pixel x 512 x 512 x n = 0.000000019 x 262144 x 2 (catalogue: 2 x $0.018)
        assertThat(r.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.009961472"));
    }

    @Test
    void imageEdit_outputCostPerPixel_isAddedPerPixelOfEachReturnedImage() {
        ImageResponse r = easel.imageEdit(ImageEditRequest.builder().model("per-pixel-both").image(PNG)
                .prompt("add a hat").size("256x256").build());

        // (0.000000019 + 0.00000001) x 256 x 256 x 1
        assertThat(r.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.001900544"));
    }
}
