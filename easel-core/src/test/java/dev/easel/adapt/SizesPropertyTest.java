package dev.easel.adapt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.catalog.ModelSpec.SizeRule;
import dev.easel.provider.EditParams.Size;
import dev.easel.testkit.Seeds;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Properties of {@link Sizes} over generated sizes and rules (seeded, see {@link Seeds}): the aspect-ratio mapping
 * picks one of the rule's ratios with none closer, the smallest tier covering the long side (else the largest), and
 * ignores scale; a free-size rule's nearest size always fits it.
 */
class SizesPropertyTest {

    private static final int TRIES = 2_000;

    static Stream<Long> aspectSeeds() {
        return Seeds.of("sizes.aspect", TRIES);
    }

    static Stream<Long> flexibleSeeds() {
        return Seeds.of("sizes.flexible", TRIES);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("aspectSeeds")
    void aspect_isTheRulesNearestRatio_andTheSmallestCoveringTier_atAnyScale(long seed) {
        Seeds.check(seed, random -> {
            SizeRule.AspectRatios rule = aspectRule(random);
            Size.Pixels p = new Size.Pixels(1 + random.nextInt(4096), 1 + random.nextInt(4096));

            Size.Aspect a = Sizes.aspect(p, rule);

            assertThat(rule.ratios()).contains(a.ratio());
            double distance = logDistance(a.ratio(), p);
            for (String other : rule.ratios()) {
                assertThat(logDistance(other, p)).as("%s vs %s for %s", other, a.ratio(), p.wire())
                        .isGreaterThanOrEqualTo(distance - 1e-9);
            }
            assertThat(a.tier()).isEqualTo(expectedTier(rule.tiers(), Math.max(p.width(), p.height())));

            int k = 2 + random.nextInt(4);
            Size.Aspect scaled = Sizes.aspect(new Size.Pixels(p.width() * k, p.height() * k), rule);
            assertThat(scaled.ratio()).as("ratio for %dx the size", k).isEqualTo(a.ratio());
            // through forModel, as a request reaches it
            assertThat(Sizes.forModel(p, rule)).contains(a);
        });
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("flexibleSeeds")
    void nearestAllowed_forAFreeSizeRule_fitsTheRule_orIsEmptyWhenTheSizeFits(long seed) {
        Seeds.check(seed, random -> {
            SizeRule.Flexible rule = satisfiableFlexibleRule(random);
            int w = 1 + random.nextInt(random.nextBoolean() ? 12_000 : 2_000);
            int h = 1 + random.nextInt(random.nextBoolean() ? 12_000 : 2_000);

            Optional<String> nearest = Sizes.nearestAllowed(w + "x" + h, rule);

            if (Sizes.fits(w, h, rule)) {
                assertThat(nearest).isEmpty();
            } else {
                assertThat(nearest).as("nearest to %dx%d under %s", w, h, rule).isPresent();
                Size.Pixels n = (Size.Pixels) Size.parse(nearest.get()).orElseThrow();
                assertThat(Sizes.fits(n.width(), n.height(), rule)).as("%s fits %s", nearest.get(), rule).isTrue();
            }
        });
    }

    // ---------------------------------------------------------------- generators

    /** 1 to 12 ratios {@code W:H} (sides 1..32, repeats allowed) and 0 to 5 tiers in any order. */
    private static SizeRule.AspectRatios aspectRule(Random random) {
        List<String> ratios = new ArrayList<>();
        for (int i = 0, n = 1 + random.nextInt(12); i < n; i++) {
            ratios.add((1 + random.nextInt(32)) + ":" + (1 + random.nextInt(32)));
        }
        List<Integer> sides = new ArrayList<>();
        for (int i = 0, n = random.nextInt(6); i < n; i++) {
            sides.add(256 * (1 + random.nextInt(32)));
        }
        if (random.nextBoolean()) {
            Collections.sort(sides);
        }
        Map<String, Integer> tiers = new LinkedHashMap<>();
        for (int i = 0; i < sides.size(); i++) {
            tiers.put("T" + i, sides.get(i));
        }
        return new SizeRule.AspectRatios(ratios, tiers);
    }

    /**
     * A free-size rule that some size fits: bounds drawn around a witness size on the rule's grid, from tight (only
     * the witness fits) to loose.
     */
    private static SizeRule.Flexible satisfiableFlexibleRule(Random random) {
        int[] multiples = {1, 2, 8, 16, 32, 64};
        int m = multiples[random.nextInt(multiples.length)];
        int wa = m * (1 + random.nextInt(4096 / m));
        int wb = m * (1 + random.nextInt(4096 / m));
        int longSide = Math.max(wa, wb);
        int shortSide = Math.min(wa, wb);
        long area = (long) wa * wb;
        int maxEdge = longSide + (int) (slack(random) * 4096);
        int minEdge = Math.max(1, shortSide - (int) (slack(random) * shortSide));
        long minPixels = Math.max(1, area - (long) (slack(random) * area));
        long maxPixels = area + (long) (slack(random) * area * 4);
        double maxAspect = (double) longSide / shortSide + slack(random) * 4;
        return new SizeRule.Flexible(m, maxEdge, minPixels, maxPixels, maxAspect, random.nextBoolean(), minEdge);
    }

    /** 0 (a bound right at the witness) a third of the time, else anything up to 1. */
    private static double slack(Random random) {
        return random.nextInt(3) == 0 ? 0 : random.nextDouble();
    }

    // ---------------------------------------------------------------- the properties' own reference

    private static double logDistance(String ratio, Size.Pixels p) {
        int colon = ratio.indexOf(':');
        double r = Double.parseDouble(ratio.substring(0, colon)) / Double.parseDouble(ratio.substring(colon + 1));
        return Math.abs(Math.log(r) - Math.log((double) p.width() / p.height()));
    }

    /** The smallest tier whose side covers {@code longSide}, else the largest; the first listed among equals. */
    private static Optional<String> expectedTier(Map<String, Integer> tiers, int longSide) {
        String covering = null;
        String largest = null;
        for (Map.Entry<String, Integer> t : tiers.entrySet()) {
            if (t.getValue() >= longSide && (covering == null || t.getValue() < tiers.get(covering))) {
                covering = t.getKey();
            }
            if (largest == null || t.getValue() > tiers.get(largest)) {
                largest = t.getKey();
            }
        }
        return Optional.ofNullable(covering != null ? covering : largest);
    }
}
