package dev.easel.provider.gemini;

import static dev.easel.provider.gemini.GeminiFixture.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.ImageResponse;
import dev.easel.catalog.ModelCatalog;
import dev.easel.catalog.ModelSpec;
import dev.easel.cost.Cost;
import dev.easel.cost.CostCalculator;
import dev.easel.cost.CostInput;
import dev.easel.cost.PriceOverrides;
import dev.easel.testkit.FakeGemini;
import java.math.BigDecimal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Cost from {@code usageMetadata} at the catalogue's token rates, with the worked figures of
 * docs/providers/gemini.md: the per-image prices Google publishes ($0.134 per 1K/2K and $0.24 per 4K image of
 * gemini-3-pro-image, $0.045 / $0.067 / $0.101 / $0.151 per 512 / 1K / 2K / 4K image of gemini-3.1-flash-image) are
 * the image output part of each edit, to the tenth of a cent.
 *
 * <p>Every edit here: the prompt "add a red hat" (4 text tokens), one input image (560 tokens), and the fake's reply
 * "Here is the edited image." (7 text output tokens) beside the image.
 */
class GeminiCostTest {

    final GeminiFixture gemini = new GeminiFixture();

    @AfterEach
    void stop() {
        gemini.close();
    }

    static Cost cost(String model, ImageResponse r) {
        ModelSpec spec = ModelCatalog.bundled().find(model).orElseThrow();
        return CostCalculator.standard().cost(spec, PriceOverrides.none(), CostInput.of(r));
    }

    @ParameterizedTest(name = "{0} {1}: {2} image tokens = ${3}")
    @CsvSource({
            // model, size, image output tokens, image output USD (Google's per-image price), whole edit USD
            "gemini-3-pro-image, 1024x1024, 1120, 0.1344, 0.135612",
            "gemini-3-pro-image, 2048x2048, 1120, 0.1344, 0.135612",
            "gemini-3-pro-image, 4096x4096, 2000, 0.24, 0.241212",
            "gemini-3.1-flash-image, 512x512, 747, 0.04482, 0.045123",
            "gemini-3.1-flash-image, 1024x1024, 1120, 0.0672, 0.067503",
            "gemini-3.1-flash-image, 2048x2048, 1680, 0.1008, 0.101103",
            "gemini-3.1-flash-image, 4096x4096, 2520, 0.1512, 0.151503",
    })
    void edit_isPricedByTokensByModality(String model, String size, long imageTokens, String imageOutput,
                                         String total) {
        ImageResponse r = gemini.client(model).imageEdit(request().size(size).build());

        assertThat(r.usage().orElseThrow().outputImageTokens()).isEqualTo(imageTokens);
        Cost c = cost(model, r);
        assertThat(c.method()).isEqualTo(Cost.Method.TOKENS);
        assertThat(c.breakdown().imageOutput()).isEqualByComparingTo(imageOutput);
        assertThat(r.cost()).hasValueSatisfying(v -> assertThat(v).isEqualByComparingTo(total));
    }

    @Test
    void proAt1K_theWorkedFigure_partByPart() {
        ImageResponse r = gemini.client("gemini-3-pro-image").imageEdit(request().build());

        Cost.Breakdown b = cost("gemini-3-pro-image", r).breakdown();
        assertThat(b.textInput()).isEqualByComparingTo("0.000008"); // 4 x $2.00/1M
        assertThat(b.imageInput()).isEqualByComparingTo("0.00112"); // 560 x $2.00/1M, Google's ~$0.0011 per image
        assertThat(b.textOutput()).isEqualByComparingTo("0.000084"); // 7 x $12.00/1M
        assertThat(b.imageOutput()).isEqualByComparingTo("0.1344"); // 1120 x $120/1M, Google's $0.134
        assertThat(b.sum()).isEqualByComparingTo(r.cost().orElseThrow()).isEqualByComparingTo("0.135612");
    }

    @Test
    void thinking_billsAtTheTextOutputRate() {
        gemini.fake.enqueue(FakeGemini.thoughtImages(2)); // 2 x 1120 thought tokens

        ImageResponse r = gemini.client("gemini-3-pro-image").imageEdit(request().build());

        Cost.Breakdown b = cost("gemini-3-pro-image", r).breakdown();
        assertThat(b.textOutput()).isEqualByComparingTo("0.026964"); // (7 + 2240) x $12.00/1M
        assertThat(b.imageOutput()).isEqualByComparingTo("0.1344");
        assertThat(r.cost().orElseThrow()).isEqualByComparingTo("0.162492");
    }

    @Test
    void fanOut_paysEachCall() {
        ImageResponse r = gemini.client("gemini-3.1-flash-image").imageEdit(request().n(3).build());

        assertThat(r.cost().orElseThrow()).isEqualByComparingTo(new BigDecimal("0.067503").multiply(
                BigDecimal.valueOf(3)));
    }
}
