package dev.easel.adapt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.catalog.ModelSpec.SizeRule;
import dev.easel.provider.EditParams.Size;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** OpenAI sizes mapped to what a model takes: the table in docs/providers.md, row by row. */
class SizesTest {

    static final Map<String, Integer> TIERS = new LinkedHashMap<>();

    static {
        TIERS.put("1K", 1024);
        TIERS.put("2K", 2048);
        TIERS.put("4K", 4096);
    }

    static final SizeRule.AspectRatios GEMINI = new SizeRule.AspectRatios(List.of("1:1", "2:3", "3:2", "3:4", "4:3",
            "4:5", "5:4", "9:16", "16:9", "21:9"), TIERS);

    @ParameterizedTest(name = "{0} -> {1} {2}")
    @CsvSource({
            "1024x1024, 1:1, 1K",
            "1024x1536, 2:3, 2K",
            "1536x1024, 3:2, 2K",
            "1024x768, 4:3, 1K",
            "768x1024, 3:4, 1K",
            "1920x1080, 16:9, 2K",
            "1080x1920, 9:16, 2K",
            "2560x1080, 21:9, 4K",
            "2048x2048, 1:1, 2K",
            "3840x2160, 16:9, 4K",
            "8000x8000, 1:1, 4K",
            "512x512, 1:1, 1K",
    })
    void pixels_mapToTheNearestRatio_andTheSmallestTierCoveringTheLongSide(String size, String ratio, String tier) {
        assertThat(Sizes.forModel(Size.parse(size).orElseThrow(), GEMINI))
                .contains(new Size.Aspect(ratio, Optional.of(tier)));
    }

    @org.junit.jupiter.api.Test
    void auto_isLeftToTheProvider_andAModelWithoutTiersGetsARatioOnly() {
        assertThat(Sizes.forModel(Size.AUTO, GEMINI)).isEmpty();
        assertThat(Sizes.forModel(Size.parse("1536x1024").orElseThrow(),
                new SizeRule.AspectRatios(List.of("1:1", "3:2"), Map.of())))
                .contains(new Size.Aspect("3:2", Optional.empty()));
        assertThat(Sizes.forModel(Size.parse("1536x1024").orElseThrow(), new SizeRule.Any()))
                .contains(new Size.Pixels(1536, 1024));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "1000x1000, 1008x1008",
            "1024x1536, ",
            "5000x5000, 2048x2048",
            "100x3000, 256x768",
            "32x32, 256x256",
    })
    void freeSize_nearestSizeTheRulesAllow(String size, String expected) {
        // FLUX.2-like rules: multiples of 16, sides 64..4096 (here 256 min), at most 4 MP, at most 3:1
        SizeRule.Flexible flux = new SizeRule.Flexible(16, 4096, 65_536, 4_194_304, 3.0, false, 256);
        Optional<String> mapped = Sizes.nearestAllowed(size, flux);
        if (expected == null) {
            assertThat(mapped).isEmpty();
        } else {
            assertThat(mapped).contains(expected);
            int x = expected.indexOf('x');
            assertThat(Sizes.fits(Integer.parseInt(expected.substring(0, x)), Integer.parseInt(expected.substring(x + 1)),
                    flux)).isTrue();
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"1536x1024, 1024x1024", "256x256, 256x256", "1792x1024, 1024x1024"})
    void fixedList_nearestShapeThenNearestArea(String size, String expected) {
        SizeRule.Fixed dalle2 = new SizeRule.Fixed(List.of("256x256", "512x512", "1024x1024"), false);
        assertThat(Sizes.nearestAllowed(size, dalle2)).isEqualTo(size.equals(expected) ? Optional.empty()
                : Optional.of(expected));
    }

    @org.junit.jupiter.api.Test
    void aspect_tiersListedLargestFirst_stillTheSmallestCoveringElseTheLargest() {
        // regression (found by SizesPropertyTest): the first covering tier in map order was taken, and the last one
        // when none covered, so a rule whose tiers were not listed smallest first got 4K for 1024x1024
        Map<String, Integer> descending = new LinkedHashMap<>();
        descending.put("4K", 4096);
        descending.put("2K", 2048);
        descending.put("1K", 1024);
        SizeRule.AspectRatios rule = new SizeRule.AspectRatios(List.of("1:1"), descending);

        assertThat(Sizes.aspect(new Size.Pixels(1024, 1024), rule).tier()).contains("1K");
        assertThat(Sizes.aspect(new Size.Pixels(1500, 1500), rule).tier()).contains("2K");
        assertThat(Sizes.aspect(new Size.Pixels(8000, 8000), rule).tier()).contains("4K");
    }

    @org.junit.jupiter.api.Test
    void freeSize_onlyOneSizeFitsFarFromTheClampedTarget_thatSizeIsFound() {
        // regression (found by SizesPropertyTest): the search looked only at +-8 grid steps around the clamped
        // target (here 341x1024), so a rule that only 1024x1024 fits got nothing for 100x3000
        SizeRule.Flexible only1024 = new SizeRule.Flexible(16, 1024, 1_048_576, 1_048_576, 3.0, false, 1024);

        assertThat(Sizes.nearestAllowed("100x3000", only1024)).contains("1024x1024");
        assertThat(Sizes.nearestAllowed("5000x20", only1024)).contains("1024x1024");
    }

    @org.junit.jupiter.api.Test
    void sizeFromInput_nothingIsSent_andAFallbackLeavesTheSizeToValidation() {
        SizeRule input = new SizeRule.FromInput();
        assertThat(Sizes.forModel(Size.AUTO, input)).isEmpty();
        assertThat(Sizes.forModel(new Size.Pixels(1024, 1536), input)).isEmpty();
        // not mapped to another size: validation drops it for a fallback (which runs with drop_params)
        assertThat(Sizes.nearestAllowed("1024x1536", input)).isEmpty();
    }
}
