package dev.easel.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.catalog.ModelSpec.MaskRule;
import dev.easel.catalog.ModelSpec.ParamRule;
import dev.easel.catalog.ModelSpec.SizeRule;
import dev.easel.image.ImageFormat;
import java.io.ByteArrayInputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ModelCatalogTest {

    private static final ModelCatalog CATALOG = ModelCatalog.bundled();
    /** Easel's own models.json alone, without the catalogues of the installed providers. */
    private static final ModelCatalog FILE = ModelCatalog.fromJson(
            ModelCatalogTest.class.getResourceAsStream(ModelCatalog.RESOURCE));

    private static ModelSpec spec(String id) {
        return CATALOG.find(id).orElseThrow(() -> new AssertionError("missing " + id));
    }

    @Test
    void bundled_listsEveryModelInOrder() {
        assertThat(FILE.models()).extracting(ModelSpec::id).containsExactly("dall-e-2", "gpt-image-1",
                "gpt-image-1-mini", "gpt-image-1.5", "chatgpt-image-latest", "gpt-image-2", "gpt-image-2.5-sunburst",
                "gpt-image-2.5-flare", "gpt-image-2.6-sunburst", "gpt-image-2.6-flare");
        assertThat(FILE.models()).allSatisfy(m -> {
            assertThat(m.known()).isTrue();
            assertThat(m.provider()).isEqualTo("openai");
        });
        // the installed providers' own catalogues follow the bundled file
        assertThat(CATALOG.models().subList(0, FILE.models().size())).isEqualTo(FILE.models());
        assertThat(CATALOG.models().subList(FILE.models().size(), CATALOG.models().size()))
                .allSatisfy(m -> assertThat(m.provider()).isNotEqualTo("openai"));
        assertThat(ModelCatalog.bundled()).isSameAs(CATALOG);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt-image-1.5-2025-12-16:gpt-image-1.5", "gpt-image-2-2026-04-21:gpt-image-2",
            "gpt-image-2.5-sunburst-2026-09-08:gpt-image-2.5-sunburst",
            "gpt-image-2.5-flare-2026-09-08:gpt-image-2.5-flare"})
    void find_alias_resolvesToCanonicalModel(String aliasAndId) {
        String[] parts = aliasAndId.split(":");
        assertThat(CATALOG.find(parts[0])).map(ModelSpec::id).contains(parts[1]);
        assertThat(spec(parts[1]).aliases()).containsExactly(parts[0]);
    }

    @Test
    void find_isCaseSensitiveAndEmptyForUnknownIds() {
        assertThat(CATALOG.find("GPT-IMAGE-1")).isEmpty();
        assertThat(CATALOG.find("dall-e-3")).isEmpty();
    }

    @Test
    void dallE2_takesOneSquarePngBelowFourMegabytes() {
        ModelSpec m = spec("dall-e-2");
        assertThat(m.inputFormats()).containsExactly(ImageFormat.PNG);
        assertThat(m.maxImageBytes()).isEqualTo(4_194_304L);
        assertThat(m.maxImages()).isEqualTo(1);
        assertThat(m.squareOnly()).isTrue();
        assertThat(m.mask()).isEqualTo(new MaskRule(true, 4_194_304L, true, true, true, true));
        assertThat(m.promptMaxLength()).isEqualTo(1000);
        assertThat(m.sizes()).isEqualTo(new SizeRule.Fixed(List.of("256x256", "512x512", "1024x1024"), false));
        assertThat(m.params().keySet()).containsExactlyInAnyOrder("quality", "response_format", "user");
        assertThat(m.param("quality").orElseThrow().values()).containsExactly("standard");
        assertThat(m.param("response_format").orElseThrow())
                .isEqualTo(new ParamRule("response_format", List.of("url", "b64_json"), null, null, true));
        assertThat(m.streaming()).isFalse();
    }

    static Stream<String> gptModels() {
        return FILE.models().stream().map(ModelSpec::id).filter(id -> !id.equals("dall-e-2"));
    }

    @ParameterizedTest
    @MethodSource("gptModels")
    void gptModel_sharesTheGptImageInputLimits(String id) {
        ModelSpec m = spec(id);
        assertThat(m.inputFormats()).containsExactlyInAnyOrder(ImageFormat.PNG, ImageFormat.JPEG, ImageFormat.WEBP);
        assertThat(m.maxImageBytes()).isEqualTo(52_428_800L);
        assertThat(m.maxImages()).isEqualTo(16);
        assertThat(m.squareOnly()).isFalse();
        assertThat(m.mask()).isEqualTo(new MaskRule(true, 4_194_304L, true, true, true));
        assertThat(m.promptMaxLength()).isEqualTo(32000);
        assertThat(m.minN()).isEqualTo(1);
        assertThat(m.maxN()).isEqualTo(10);
        assertThat(m.streaming()).isTrue();
        assertThat(m.param("response_format").orElseThrow().upstream()).isFalse();
        assertThat(m.param("output_compression").orElseThrow())
                .isEqualTo(new ParamRule("output_compression", List.of(), 0, 100, true));
        assertThat(m.param("partial_images").orElseThrow())
                .isEqualTo(new ParamRule("partial_images", List.of(), 0, 3, true));
        assertThat(m.param("moderation").orElseThrow().values()).containsExactly("low", "auto");
        assertThat(m.param("background").orElseThrow().values()).containsExactly("transparent", "opaque", "auto");
        assertThat(m.params()).containsKeys("user", "safety_identifier");
    }

    @Test
    void sizes_fixedForFirstGenerationAndFlexibleFromGptImage2() {
        SizeRule fixed = new SizeRule.Fixed(List.of("1024x1024", "1024x1536", "1536x1024"), true);
        SizeRule flexible = new SizeRule.Flexible(16, 3840, 655_360, 8_294_400, 3.0, true);
        for (String id : List.of("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "chatgpt-image-latest")) {
            assertThat(spec(id).sizes()).as(id).isEqualTo(fixed);
        }
        for (String id : List.of("gpt-image-2", "gpt-image-2.5-sunburst", "gpt-image-2.5-flare",
                "gpt-image-2.6-sunburst", "gpt-image-2.6-flare")) {
            assertThat(spec(id).sizes()).as(id).isEqualTo(flexible);
        }
    }

    @Test
    void inputFidelity_perModel() {
        assertThat(spec("gpt-image-1").param("input_fidelity").orElseThrow().values()).containsExactly("high", "low");
        assertThat(spec("gpt-image-1.5").param("input_fidelity").orElseThrow().values()).containsExactly("high", "low");
        assertThat(spec("chatgpt-image-latest").param("input_fidelity").orElseThrow().values())
                .containsExactly("high", "low");
        assertThat(spec("gpt-image-1-mini").param("input_fidelity").orElseThrow().values()).containsExactly("low");
        for (String id : List.of("dall-e-2", "gpt-image-2", "gpt-image-2.5-sunburst", "gpt-image-2.5-flare",
                "gpt-image-2.6-sunburst", "gpt-image-2.6-flare")) {
            assertThat(spec(id).param("input_fidelity")).as(id).isEmpty();
        }
    }

    @Test
    void qualityAndOutputFormat_growForGptImage25And26() {
        for (String id : List.of("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2")) {
            assertThat(spec(id).param("quality").orElseThrow().values()).as(id)
                    .containsExactly("low", "medium", "high", "auto");
            assertThat(spec(id).param("output_format").orElseThrow().values()).as(id)
                    .containsExactly("png", "jpeg", "webp");
            assertThat(spec(id).param("complexity")).as(id).isEmpty();
        }
        for (String id : List.of("gpt-image-2.5-sunburst", "gpt-image-2.5-flare", "gpt-image-2.6-sunburst",
                "gpt-image-2.6-flare")) {
            assertThat(spec(id).param("quality").orElseThrow().values()).as(id)
                    .containsExactly("low", "medium", "high", "xhigh", "max", "auto");
            assertThat(spec(id).param("output_format").orElseThrow().values()).as(id)
                    .containsExactly("png", "jpeg", "webp", "gif", "svg");
            assertThat(spec(id).param("complexity").orElseThrow().values()).as(id)
                    .containsExactly("low", "medium", "high");
        }
    }

    /** Reference §6 per-image output prices, every quality × size. */
    static Stream<Arguments> perImagePrices() {
        List<Arguments> rows = new ArrayList<>();
        String[] sizes = {"1024x1024", "1024x1536", "1536x1024"};
        String[] qualities = {"low", "medium", "high"};
        Object[][] table = {
                {"gpt-image-2", new String[][] {{"0.006", "0.005", "0.005"}, {"0.053", "0.041", "0.041"},
                        {"0.211", "0.165", "0.165"}}},
                {"gpt-image-1.5", new String[][] {{"0.009", "0.013", "0.013"}, {"0.034", "0.05", "0.05"},
                        {"0.133", "0.2", "0.2"}}},
                {"gpt-image-1", new String[][] {{"0.011", "0.016", "0.016"}, {"0.042", "0.063", "0.063"},
                        {"0.167", "0.25", "0.25"}}},
                {"gpt-image-1-mini", new String[][] {{"0.005", "0.006", "0.006"}, {"0.011", "0.015", "0.015"},
                        {"0.036", "0.052", "0.052"}}},
        };
        for (Object[] model : table) {
            String[][] prices = (String[][]) model[1];
            for (int q = 0; q < 3; q++) {
                for (int s = 0; s < 3; s++) {
                    rows.add(Arguments.of(model[0], qualities[q] + "|" + sizes[s], prices[q][s]));
                }
            }
        }
        rows.add(Arguments.of("dall-e-2", "standard|256x256", "0.016"));
        rows.add(Arguments.of("dall-e-2", "standard|512x512", "0.018"));
        rows.add(Arguments.of("dall-e-2", "standard|1024x1024", "0.020"));
        return rows.stream();
    }

    @ParameterizedTest(name = "{0} {1} = ${2}")
    @MethodSource("perImagePrices")
    void pricing_perImage_matchesReferenceTable(String model, String key, String price) {
        assertThat(spec(model).pricing().orElseThrow().perImage().get(key)).isEqualByComparingTo(price);
    }

    @Test
    void pricing_perImageTablesHaveExactlyTheReferenceKeys() {
        for (String id : List.of("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2")) {
            assertThat(spec(id).pricing().orElseThrow().perImage()).as(id).hasSize(9);
        }
        assertThat(spec("dall-e-2").pricing().orElseThrow().perImage()).hasSize(3);
        assertThat(spec("gpt-image-2.6-sunburst").pricing().orElseThrow().perImage()).isEmpty();
    }

    @Test
    void pricing_tokenRates() {
        ModelSpec.Pricing p1 = spec("gpt-image-1").pricing().orElseThrow();
        assertRates(p1, "5", "1.25", "10", "2.5", "40", "0");
        assertRates(spec("gpt-image-1-mini").pricing().orElseThrow(), "2", "0.2", "2.5", "0.25", "8", "0");
        assertRates(spec("gpt-image-1.5").pricing().orElseThrow(), "5", "1.25", "8", "2", "32", "10");
        for (String id : List.of("gpt-image-2", "gpt-image-2.5-sunburst", "gpt-image-2.5-flare",
                "gpt-image-2.6-sunburst")) {
            assertRates(spec(id).pricing().orElseThrow(), "5", "1.25", "8", "2", "30", "10");
        }
        assertThat(FILE.models()).allSatisfy(m -> m.pricing().ifPresent(p ->
                assertThat(p.source()).as(m.id()).contains("2026-11-24")));
    }

    @Test
    void pricing_absentWhereTheReferenceHasNone() {
        assertThat(spec("chatgpt-image-latest").pricing()).isEmpty();
        assertThat(spec("gpt-image-2.6-flare").pricing()).isEmpty();
    }

    private static void assertRates(ModelSpec.Pricing p, String textIn, String cachedTextIn, String imageIn,
                                    String cachedImageIn, String imageOut, String textOut) {
        assertThat(p.textInputPerMillion()).isEqualByComparingTo(textIn);
        assertThat(p.cachedTextInputPerMillion()).isEqualByComparingTo(cachedTextIn);
        assertThat(p.imageInputPerMillion()).isEqualByComparingTo(imageIn);
        assertThat(p.cachedImageInputPerMillion()).isEqualByComparingTo(cachedImageIn);
        assertThat(p.imageOutputPerMillion()).isEqualByComparingTo(imageOut);
        assertThat(p.textOutputPerMillion()).isEqualByComparingTo(textOut);
    }

    @Test
    void lifecycle_shutdownDatesAndReplacements() {
        assertThat(spec("dall-e-2").lifecycle().shutdown()).contains(LocalDate.of(2026, 5, 12));
        assertThat(spec("gpt-image-1").lifecycle().shutdown()).contains(LocalDate.of(2026, 10, 23));
        assertThat(spec("gpt-image-1").lifecycle().replacement()).contains("gpt-image-2.5-sunburst");
        for (String id : List.of("gpt-image-1-mini", "gpt-image-1.5", "chatgpt-image-latest")) {
            assertThat(spec(id).lifecycle().shutdown()).as(id).contains(LocalDate.of(2026, 12, 1));
        }
        for (String id : List.of("gpt-image-2", "gpt-image-2.5-sunburst", "gpt-image-2.5-flare",
                "gpt-image-2.6-sunburst", "gpt-image-2.6-flare")) {
            assertThat(spec(id).lifecycle().shutdown()).as(id).isEmpty();
        }
        LocalDate compiled = LocalDate.of(2026, 11, 24);
        assertThat(spec("gpt-image-1").lifecycle().retiredOn(compiled)).isTrue();
        assertThat(spec("gpt-image-1.5").lifecycle().retiredOn(compiled)).isFalse();
        assertThat(spec("gpt-image-1.5").lifecycle().retiredOn(LocalDate.of(2026, 12, 1))).isTrue();
    }

    @Test
    void permissive_acceptsAnythingReasonable() {
        ModelSpec m = ModelCatalog.permissive("mock/edit", "mock");
        assertThat(m.id()).isEqualTo("mock/edit");
        assertThat(m.provider()).isEqualTo("mock");
        assertThat(m.known()).isFalse();
        assertThat(m.inputFormats()).containsExactlyInAnyOrder(ImageFormat.values());
        assertThat(m.maxImageBytes()).isEqualTo(52_428_800L);
        assertThat(m.maxImages()).isEqualTo(16);
        assertThat(m.mask().supported()).isTrue();
        assertThat(m.mask().pngOnly()).isTrue();
        assertThat(m.mask().alphaRequired()).isTrue();
        assertThat(m.mask().sameDimensions()).isTrue();
        assertThat(m.promptMaxLength()).isEqualTo(32000);
        assertThat(m.minN()).isEqualTo(1);
        assertThat(m.maxN()).isEqualTo(10);
        assertThat(m.sizes()).isEqualTo(new SizeRule.Any());
        assertThat(m.params()).isEmpty();
        assertThat(m.streaming()).isTrue();
        assertThat(m.pricing()).isEmpty();
        assertThat(m.lifecycle().shutdown()).isEmpty();
    }

    @Test
    void withOverride_replacesByIdAndKeepsOthers() {
        ModelSpec base = spec("gpt-image-1");
        ModelSpec cheaper = new ModelSpec(base.id(), List.of("gpt-image-1-custom"), "azure", true, base.inputFormats(),
                base.maxImageBytes(), 4, base.squareOnly(), base.mask(), base.promptMaxLength(), base.minN(),
                base.maxN(), base.sizes(), base.params(), base.streaming(), Optional.empty(), base.lifecycle());
        ModelCatalog over = CATALOG.withOverride(cheaper);
        assertThat(over.find("gpt-image-1")).contains(cheaper);
        assertThat(over.find("gpt-image-1-custom")).contains(cheaper);
        assertThat(over.models()).hasSameSizeAs(CATALOG.models());
        assertThat(CATALOG.find("gpt-image-1").orElseThrow().maxImages()).isEqualTo(16);
    }

    @Test
    void withOverride_newIdIsAddedAndCanTakeOverAnAlias() {
        ModelSpec snapshot = ModelCatalog.permissive("gpt-image-2-2026-04-21", "openai");
        ModelCatalog over = CATALOG.withOverride(snapshot);
        assertThat(over.find("gpt-image-2-2026-04-21")).contains(snapshot);
        assertThat(over.find("gpt-image-2").orElseThrow().aliases()).isEmpty();
        assertThat(over.models()).last().isEqualTo(snapshot);
    }

    private static ModelCatalog parse(String json) {
        return ModelCatalog.fromJson(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)));
    }

    private static final String MINIMAL = """
            {"id": "m", "provider": "p", "input_formats": ["png"], "max_image_bytes": 10, "max_images": 1,
             "mask": {"supported": false}, "prompt_max_length": 5, "n": {"min": 1, "max": 1},
             "sizes": {"type": "any"}, "streaming": false}""";

    @Test
    void fromJson_minimalModel_hasDefaults() {
        ModelSpec m = parse("{\"models\": [" + MINIMAL + "]}").find("m").orElseThrow();
        assertThat(m.params()).isEmpty();
        assertThat(m.pricing()).isEmpty();
        assertThat(m.aliases()).isEmpty();
        assertThat(m.mask().supported()).isFalse();
        assertThat(m.squareOnly()).isFalse();
    }

    @Test
    void fromJson_extends_mergesParamsAndRemovesNulls() {
        ModelCatalog c = parse("""
                {"models": [
                  {"id": "a", "provider": "p", "input_formats": ["png"], "max_image_bytes": 10, "max_images": 1,
                   "mask": {"supported": false}, "prompt_max_length": 5, "n": {"min": 1, "max": 1},
                   "sizes": {"type": "any"}, "streaming": false, "aliases": ["a-1"],
                   "params": {"x": {}, "y": {"min": 0, "max": 3}},
                   "lifecycle": {"shutdown": "2026-01-01"}},
                  {"id": "b", "extends": "a", "max_images": 2, "params": {"x": null, "z": {"values": ["q"]}}}
                ]}""");
        ModelSpec b = c.find("b").orElseThrow();
        assertThat(b.maxImages()).isEqualTo(2);
        assertThat(b.params().keySet()).containsExactlyInAnyOrder("y", "z");
        assertThat(b.aliases()).isEmpty();
        assertThat(b.lifecycle().shutdown()).isEmpty();
    }

    @Test
    void fromJson_errorsNameTheJsonPath() {
        assertThatThrownBy(() -> parse("{\"models\": [" + MINIMAL.replace("\"streaming\"", "\"streeming\"") + "]}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model catalogue: models[0] (m): unknown key 'streeming'");
        assertThatThrownBy(() -> parse("{\"models\": [{\"id\": \"b\", \"extends\": \"nope\"}]}"))
                .hasMessage("model catalogue: models[0] (b).extends: unknown model 'nope' (it must appear earlier in the list)");
        assertThatThrownBy(() -> parse("{\"models\": [" + MINIMAL + "," + MINIMAL + "]}"))
                .hasMessage("model catalogue: models[1] (m): id or alias 'm' is already used by an earlier model");
        assertThatThrownBy(() -> parse("{\"models\": [" + MINIMAL.replace("\"png\"", "\"gif\"") + "]}"))
                .hasMessage("model catalogue: models[0] (m).input_formats: unknown format 'gif' (expected png, jpeg or webp)");
        assertThatThrownBy(() -> parse("{\"models\": [" + MINIMAL.replace("\"any\"", "\"odd\"") + "]}"))
                .hasMessage("model catalogue: models[0] (m).sizes.type: unknown size rule 'odd' (expected fixed, flexible, aspect_ratios or any)");
        assertThatThrownBy(() -> parse("{\"models\": [" + MINIMAL.replace("\"max_images\": 1", "\"max_images\": 0") + "]}"))
                .hasMessage("model catalogue: models[0] (m).max_images: expected a positive integer");
        assertThatThrownBy(() -> parse("{\"models\": "))
                .hasMessageStartingWith("model catalogue: invalid json: ");
    }

    @Test
    void bundledJson_modelSpecificParamsAreOnlyKnownNames() {
        Set<String> allowed = Set.of("quality", "background", "output_format", "output_compression", "input_fidelity",
                "response_format", "partial_images", "moderation", "user", "safety_identifier", "complexity",
                "frame_count", "frame_duration_ms", "svg");
        assertThat(CATALOG.models()).allSatisfy(m -> assertThat(allowed).containsAll(m.params().keySet()));
        assertThat(spec("gpt-image-1").pricing().orElseThrow().perImage().get("high|1024x1536"))
                .isEqualTo(new BigDecimal("0.25"));
    }
}
