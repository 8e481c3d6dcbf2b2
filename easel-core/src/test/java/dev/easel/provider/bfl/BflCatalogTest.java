package dev.easel.provider.bfl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.catalog.ModelCatalog;
import dev.easel.catalog.ModelSpec;
import dev.easel.catalog.ModelSpec.MaskConvention;
import dev.easel.catalog.ModelSpec.SizeRule;
import dev.easel.provider.ProviderRegistry;
import java.math.BigDecimal;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The black_forest_labs catalogue as the client sees it: found through the factory, each model's capabilities. */
class BflCatalogTest {

    static final List<String> MODELS = List.of("flux-kontext-pro", "flux-kontext-max", "flux-2-pro", "flux-2-max",
            "flux-2-flex", "flux-pro-1.0-fill", "flux-pro-1.0-expand");

    static ModelSpec spec(String id) {
        return ModelCatalog.bundled().find(id).orElseThrow(() -> new AssertionError("missing " + id));
    }

    @Test
    void theFactory_isInstalled_andItsModelsAreInTheClientsCatalogue() {
        assertThat(ProviderRegistry.installed().find("black_forest_labs")).containsInstanceOf(BflProviderFactory.class);
        assertThat(ModelCatalog.bundled().models().stream().filter(m -> m.provider().equals("black_forest_labs"))
                .map(ModelSpec::id)).containsExactlyElementsOf(MODELS);
    }

    @Test
    void everyModel_isAJob_withOneUrlImagePerCall_noStreaming_andPriced() {
        assertThat(MODELS).allSatisfy(id -> {
            ModelSpec m = spec(id);
            assertThat(m.mode()).isEqualTo(ModelSpec.Mode.JOB);
            assertThat(m.output()).isEqualTo(ModelSpec.Output.URL);
            assertThat(m.imagesPerCall()).isEqualTo(1);
            assertThat(m.streaming()).isFalse();
            assertThat(m.param("output_format").orElseThrow().values()).containsExactly("jpeg", "png");
            assertThat(m.param("response_format").orElseThrow().upstream()).isFalse();
            assertThat(m.pricing().orElseThrow().source()).contains("2026-12-06");
        });
    }

    @Test
    void imagesMasksAndSizes_perFamily() {
        assertThat(spec("flux-kontext-pro").maxImages()).isEqualTo(4);
        assertThat(spec("flux-kontext-pro").sizes()).isInstanceOfSatisfying(SizeRule.AspectRatios.class, a -> {
            assertThat(a.ratios()).first().isEqualTo("21:9");
            assertThat(a.ratios()).last().isEqualTo("9:21");
            assertThat(a.tiers()).isEmpty();
        });
        assertThat(spec("flux-kontext-max").maxN()).isEqualTo(6);
        assertThat(spec("flux-2-pro").maxImages()).isEqualTo(8);
        assertThat(spec("flux-2-flex").maxImages()).isEqualTo(10);
        assertThat(spec("flux-2-max").sizes()).isEqualTo(new SizeRule.Flexible(16, 65536, 4096, 4_194_304, 1024,
                true, 64));
        assertThat(spec("flux-2-flex").param("steps").orElseThrow().max()).isEqualByComparingTo("50");
        assertThat(spec("flux-2-pro").param("steps")).isEmpty();
        ModelSpec fill = spec("flux-pro-1.0-fill");
        assertThat(fill.maxImages()).isEqualTo(1);
        assertThat(fill.mask().convention()).isEqualTo(MaskConvention.WHITE_ON_BLACK);
        assertThat(fill.mask().imageAlphaWithoutMask()).isTrue();
        assertThat(fill.sizes()).isEqualTo(new SizeRule.Fixed(List.of(), true));
        assertThat(spec("flux-pro-1.0-expand").mask().supported()).isFalse();
        assertThat(spec("flux-pro-1.0-expand").param("top").orElseThrow().max()).isEqualByComparingTo("2048");
        assertThat(List.of("flux-kontext-pro", "flux-2-pro", "flux-pro-1.0-expand")).allSatisfy(id ->
                assertThat(spec(id).mask().convention()).isEqualTo(MaskConvention.NONE));
    }

    @Test
    void prices_flatForKontextFillExpand_megapixelRatesForFlux2() {
        assertThat(spec("flux-kontext-pro").pricing().orElseThrow().outputPerImage()).contains(new BigDecimal("0.04"));
        assertThat(spec("flux-kontext-max").pricing().orElseThrow().outputPerImage()).contains(new BigDecimal("0.08"));
        assertThat(spec("flux-pro-1.0-fill").pricing().orElseThrow().outputPerImage())
                .contains(new BigDecimal("0.05"));
        assertThat(spec("flux-pro-1.0-expand").pricing().orElseThrow().outputPerImage())
                .contains(new BigDecimal("0.05"));
        assertThat(spec("flux-2-pro").pricing().orElseThrow().megapixels()).contains(new ModelSpec.MegapixelRates(
                new BigDecimal("0.03"), new BigDecimal("0.015"), new BigDecimal("0.015")));
        assertThat(spec("flux-2-max").pricing().orElseThrow().megapixels()).contains(new ModelSpec.MegapixelRates(
                new BigDecimal("0.07"), new BigDecimal("0.03"), new BigDecimal("0.03")));
        assertThat(spec("flux-2-flex").pricing().orElseThrow().megapixels()).contains(new ModelSpec.MegapixelRates(
                new BigDecimal("0.06"), new BigDecimal("0.06"), new BigDecimal("0.06")));
    }
}
