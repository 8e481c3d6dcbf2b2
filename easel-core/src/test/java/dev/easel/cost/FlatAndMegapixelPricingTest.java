package dev.easel.cost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.catalog.ModelCatalog;
import dev.easel.catalog.ModelSpec;
import dev.easel.cost.Cost.Method;
import java.io.ByteArrayInputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The price forms of providers that bill per call or per megapixel (Stability's credits per operation, BFL's Kontext
 * and FLUX.2 tables) and a provider-reported charge (BFL's {@code cost}), with worked figures.
 */
class FlatAndMegapixelPricingTest {

    private static final CostCalculator CALC = CostCalculator.standard();
    private static final ModelCatalog CATALOG = catalog("""
            {"models": [
              {"id": "flat-1", "provider": "p", "input_formats": ["png"], "max_image_bytes": 1000000, "max_images": 1,
               "mask": {"supported": false}, "prompt_max_length": 100, "n": {"min": 1, "max": 4},
               "sizes": {"type": "any"}, "params": {}, "streaming": false,
               "pricing": {"output_per_image": 0.05, "source": "test"}},
              {"id": "mp-1", "provider": "p", "input_formats": ["png"], "max_image_bytes": 1000000, "max_images": 8,
               "mask": {"supported": false}, "prompt_max_length": 100, "n": {"min": 1, "max": 4},
               "sizes": {"type": "any"}, "params": {}, "streaming": false,
               "pricing": {"output_first_megapixel": 0.03, "output_extra_megapixel": 0.015, "input_megapixel": 0.015,
                           "source": "test"}}
            ]}""");

    private static ModelCatalog catalog(String json) {
        return ModelCatalog.fromJson(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)));
    }

    private static ModelSpec spec(String id) {
        return CATALOG.find(id).orElseThrow();
    }

    private static String usd(Cost cost) {
        return cost.total().orElseThrow().stripTrailingZeros().toPlainString();
    }

    @Test
    void flatPrice_isPerReturnedImageWhateverTheSizeOrQuality() {
        Cost one = CALC.cost(spec("flat-1"), PriceOverrides.none(),
                CostInput.builder().imagesReturned(1).size("1536x640").quality("high").build());
        Cost three = CALC.cost(spec("flat-1"), PriceOverrides.none(),
                CostInput.builder().imagesReturned(3).size("4096x4096").build());

        assertThat(usd(one)).isEqualTo("0.05");
        assertThat(one.method()).isEqualTo(Method.PER_IMAGE);
        assertThat(usd(three)).isEqualTo("0.15");
        assertThat(three.notes()).noneMatch(n -> n.contains("scaled"));
    }

    @Test
    void megapixelRates_firstOutputMegapixelThenEachStartedOneAndTheInputsOncePerCall() {
        // 1024x1024 = exactly 1 MP out, one 1024x1024 input = 1 MP in: 0.03 + 0.015 = 0.045 (BFL's "I2I ≈ $0.045 @1 MP")
        Cost oneMp = CALC.cost(spec("mp-1"), PriceOverrides.none(), CostInput.builder().imagesReturned(1)
                .size("1024x1024").inputImages(1).inputPixels(1024L * 1024).build());
        // 2048x1536 = 3 MP out: 0.03 + 2 × 0.015 = 0.06; two inputs of 1.5 MP each = 3 MP in: 3 × 0.015 = 0.045
        Cost bigger = CALC.cost(spec("mp-1"), PriceOverrides.none(), CostInput.builder().imagesReturned(1)
                .size("2048x1536").inputImages(2).inputPixels(2L * 1536 * 1024).build());
        // 1100x1000 = 1.05 MP: a started second megapixel is billed: 0.03 + 0.015; no inputs
        Cost started = CALC.cost(spec("mp-1"), PriceOverrides.none(),
                CostInput.builder().imagesReturned(1).size("1100x1000").build());
        // 1030x1024 = 1.0059 MP, which rounds to 1.01 and is billed as 2 MP; 1025x1024 rounds to 1.00: 1 MP
        Cost rounded = CALC.cost(spec("mp-1"), PriceOverrides.none(),
                CostInput.builder().imagesReturned(1).size("1025x1024").build());

        assertThat(usd(oneMp)).isEqualTo("0.045");
        assertThat(oneMp.method()).isEqualTo(Method.PER_MEGAPIXEL);
        assertThat(oneMp.breakdown().imageInput()).isEqualByComparingTo("0.015");
        assertThat(usd(bigger)).isEqualTo("0.105");
        assertThat(usd(started)).isEqualTo("0.045");
        assertThat(usd(rounded)).isEqualTo("0.03");
        assertThat(CostCalculator.wholeMegapixels(1030L * 1024)).isEqualTo(2);
    }

    @Test
    void megapixelInput_withoutPixelCountsTakesEachImageAsOneMegapixelAndSaysSo() {
        Cost cost = CALC.cost(spec("mp-1"), PriceOverrides.none(),
                CostInput.builder().imagesReturned(1).size("1024x1024").inputImages(2).build());

        assertThat(usd(cost)).isEqualTo("0.06");
        assertThat(cost.notes()).anyMatch(n -> n.contains("input pixels unknown"));
    }

    @Test
    void providerCharge_isTheCostAndADifferentTablePriceIsNoted() {
        Cost same = CALC.cost(spec("flat-1"), PriceOverrides.none(),
                CostInput.builder().imagesReturned(1).providerCost(new BigDecimal("0.05")).build());
        Cost differs = CALC.cost(spec("flat-1"), PriceOverrides.none(),
                CostInput.builder().imagesReturned(1).providerCost(new BigDecimal("0.06")).build());
        Cost unknownModel = CALC.cost(ModelCatalog.permissive("nobody-knows", "p"), PriceOverrides.none(),
                CostInput.builder().imagesReturned(1).providerCost(new BigDecimal("0.04")).build());

        assertThat(same.method()).isEqualTo(Method.PROVIDER_REPORTED);
        assertThat(usd(same)).isEqualTo("0.05");
        assertThat(same.notes()).noneMatch(n -> n.contains("would be"));
        assertThat(usd(differs)).isEqualTo("0.06");
        assertThat(differs.notes()).anyMatch(n -> n.contains("would be 0.05 USD"));
        assertThat(usd(unknownModel)).isEqualTo("0.04");
    }

    @Test
    void providerCharge_givesWayToTheDeploymentsCustomPrices() {
        PriceOverrides custom = new PriceOverrides(Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.of(new BigDecimal("0.02")));
        Cost cost = CALC.cost(spec("flat-1"), custom,
                CostInput.builder().imagesReturned(2).providerCost(new BigDecimal("0.10")).build());

        assertThat(usd(cost)).isEqualTo("0.04");
        assertThat(cost.method()).isEqualTo(Method.PER_IMAGE);
        assertThat(cost.notes()).anyMatch(n -> n.contains("reported charge of 0.10 USD not used"));
    }

    @Test
    void catalogue_refusesTwoPriceFormsAndRatesWithoutTheFirstMegapixel() {
        String twoForms = """
                {"models": [{"id": "x", "provider": "p", "input_formats": ["png"], "max_image_bytes": 1, "max_images": 1,
                 "mask": {"supported": false}, "prompt_max_length": 1, "n": {"min": 1, "max": 1},
                 "sizes": {"type": "any"}, "params": {}, "streaming": false,
                 "pricing": {"output_per_image": 0.05, "output_per_megapixel": 0.01, "source": "t"}}]}""";
        String noFirst = twoForms.replace("\"output_per_image\": 0.05, \"output_per_megapixel\": 0.01",
                "\"input_megapixel\": 0.01");

        assertThatThrownBy(() -> catalog(twoForms)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("give one per-image price form");
        assertThatThrownBy(() -> catalog(noFirst)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("need output_first_megapixel");
    }
}
