package dev.easel.adapt;

import dev.easel.catalog.ModelSpec.SizeRule;
import dev.easel.provider.EditParams.Size;
import java.util.Map;
import java.util.Optional;

/**
 * OpenAI {@code size}s mapped to what a model takes. The table in docs/providers.md ("Sizes") is what these
 * functions compute; a test checks it.
 */
public final class Sizes {

    private Sizes() {
    }

    /**
     * The size to send to a model with {@code rule}: pixels become the nearest aspect ratio and the smallest tier
     * that covers their long side for an aspect-ratio model; {@code auto} is left out there (the provider's
     * default); nothing for a model whose output takes its size from the input; anything else is sent as it is
     * (validation already checked it).
     */
    public static Optional<Size> forModel(Size requested, SizeRule rule) {
        if (rule instanceof SizeRule.FromInput) {
            return Optional.empty(); // only 'auto' passes validation: nothing to send
        }
        if (rule instanceof SizeRule.AspectRatios aspects) {
            return switch (requested) {
                case Size.Auto a -> Optional.empty();
                case Size.Pixels p -> Optional.of(aspect(p, aspects));
                case Size.Aspect a -> Optional.of(a);
            };
        }
        return Optional.of(requested);
    }

    /** The nearest ratio (by the logarithm of the aspect) and the smallest tier whose long side covers {@code p}'s. */
    public static Size.Aspect aspect(Size.Pixels p, SizeRule.AspectRatios rule) {
        double want = Math.log((double) p.width() / p.height());
        String best = rule.ratios().get(0);
        double bestDiff = Double.MAX_VALUE;
        for (String r : rule.ratios()) {
            int colon = r.indexOf(':');
            double diff = Math.abs(Math.log(Double.parseDouble(r.substring(0, colon))
                    / Double.parseDouble(r.substring(colon + 1))) - want);
            if (diff < bestDiff - 1e-12) {
                bestDiff = diff;
                best = r;
            }
        }
        return new Size.Aspect(best, tier(Math.max(p.width(), p.height()), rule.tiers()));
    }

    /**
     * The smallest tier that covers {@code longSide}, else the largest (the first listed among equal ones), whatever
     * the map's order: a rule built in Java may hold its tiers in a {@code Map.of}.
     */
    private static Optional<String> tier(int longSide, Map<String, Integer> tiers) {
        Map.Entry<String, Integer> covering = null;
        Map.Entry<String, Integer> largest = null;
        for (Map.Entry<String, Integer> t : tiers.entrySet()) {
            if (t.getValue() >= longSide && (covering == null || t.getValue() < covering.getValue())) {
                covering = t;
            }
            if (largest == null || t.getValue() > largest.getValue()) {
                largest = t;
            }
        }
        return Optional.ofNullable(covering != null ? covering : largest).map(Map.Entry::getKey);
    }

    /**
     * For a fallback model: the allowed size nearest to {@code size} ({@code auto} when it has none and takes
     * {@code auto}), or empty when the model takes {@code size} as it is or nothing fits.
     */
    static Optional<String> nearestAllowed(String size, SizeRule rule) {
        return switch (rule) {
            case SizeRule.Fixed fixed -> fixed.sizes().contains(size) || (fixed.auto() && size.equals("auto"))
                    ? Optional.empty() : Optional.ofNullable(nearestFixed(size, fixed));
            case SizeRule.Flexible flex -> nearestFlexible(size, flex);
            case SizeRule.AspectRatios a -> Optional.empty(); // mapped when the call is adapted
            case SizeRule.Any any -> Optional.empty();
            case SizeRule.FromInput input -> Optional.empty(); // validation drops it (fallbacks run with drop_params)
        };
    }

    private static String nearestFixed(String size, SizeRule.Fixed fixed) {
        double aspect = aspect(size);
        if (Double.isNaN(aspect)) {
            return fixed.auto() ? "auto" : null;
        }
        double pixels = pixels(size);
        String best = null;
        double bestDiff = Double.MAX_VALUE;
        double bestArea = Double.MAX_VALUE;
        for (String candidate : fixed.sizes()) {
            double diff = Math.abs(Math.log(aspect(candidate) / aspect));
            // among equal shapes, the size closest in pixels (1536x1024 → 1024x1024, not 256x256)
            double area = Math.abs(Math.log(pixels(candidate) / pixels));
            if (diff < bestDiff - 1e-9 || (diff < bestDiff + 1e-9 && area < bestArea)) {
                bestDiff = Math.min(diff, bestDiff);
                bestArea = area;
                best = candidate;
            }
        }
        return best;
    }

    /**
     * The nearest size the free-size rule allows: the aspect clamped to the rule's, the area into its pixel
     * bounds, the sides into its edge bounds, then each side rounded to its multiple; empty when {@code size}
     * already fits or is not {@code WxH}.
     */
    private static Optional<String> nearestFlexible(String size, SizeRule.Flexible flex) {
        Optional<Size> parsed = Size.parse(size);
        if (parsed.isEmpty() || !(parsed.get() instanceof Size.Pixels p)) {
            return Optional.empty();
        }
        if (fits(p.width(), p.height(), flex)) {
            return Optional.empty();
        }
        double w = p.width();
        double h = p.height();
        double aspect = Math.max(w, h) / Math.min(w, h);
        if (aspect > flex.maxAspect()) { // shorten the long side
            if (w >= h) {
                w = h * flex.maxAspect();
            } else {
                h = w * flex.maxAspect();
            }
        }
        double area = w * h;
        double scale = area > flex.maxPixels() ? Math.sqrt(flex.maxPixels() / area)
                : area < flex.minPixels() ? Math.sqrt(flex.minPixels() / area) : 1;
        w *= scale;
        h *= scale;
        double up = Math.min(w, h) < flex.minEdge() ? flex.minEdge() / Math.min(w, h) : 1;
        w *= up;
        h *= up;
        double edge = Math.max(w, h) > flex.maxEdge() ? flex.maxEdge() / Math.max(w, h) : 1;
        w *= edge;
        h *= edge;
        // the clamped target, then the fitting size on the rule's grid nearest to it in shape and in area
        int m = flex.multipleOf();
        int cw = (int) Math.round(w / m);
        int ch = (int) Math.round(h / m);
        double wantAspect = Math.log(w / h);
        double wantArea = Math.log(w * h);
        String best = null;
        double bestScore = Double.MAX_VALUE;
        for (int dw = -8; dw <= 8; dw++) {
            for (int dh = -8; dh <= 8; dh++) {
                int ww = (cw + dw) * m;
                int hh = (ch + dh) * m;
                if (ww <= 0 || hh <= 0 || !fits(ww, hh, flex)) {
                    continue;
                }
                double score = Math.abs(Math.log((double) ww / hh) - wantAspect)
                        + Math.abs(Math.log((double) ww * hh) - wantArea);
                if (score < bestScore) {
                    bestScore = score;
                    best = ww + "x" + hh;
                }
            }
        }
        if (best == null) {
            // tight bounds can leave no fitting size near the clamped target: search the whole grid
            best = nearestOnGrid(flex, wantAspect, wantArea);
        }
        if (best != null) {
            return Optional.of(best);
        }
        return flex.auto() ? Optional.of("auto") : Optional.empty();
    }

    /**
     * The fitting size with the best score (distance in log-aspect plus distance in log-area) over every width on
     * the rule's grid, or null when no size fits the rule. For one width the score is convex in log(height) with
     * its minimum between the heights that match the aspect and the area, so a few heights per width are enough:
     * those two and the ends of the width's allowed range, each rounded both ways to the grid.
     */
    private static String nearestOnGrid(SizeRule.Flexible flex, double wantAspect, double wantArea) {
        int m = flex.multipleOf();
        long minW = Math.max(1, ceilDiv(flex.minEdge(), m));
        long maxW = flex.maxEdge() / m;
        String best = null;
        double bestScore = Double.MAX_VALUE;
        for (long i = minW; i <= maxW; i++) {
            double w = (double) i * m;
            double lo = Math.max(Math.max(flex.minEdge(), flex.minPixels() / w), w / flex.maxAspect());
            double hi = Math.min(Math.min(flex.maxEdge(), flex.maxPixels() / w), w * flex.maxAspect());
            if (lo > hi + m) {
                continue;
            }
            double[] targets = {lo, hi, clamp(w / Math.exp(wantAspect), lo, hi), clamp(Math.exp(wantArea) / w, lo, hi)};
            for (double target : targets) {
                long down = (long) Math.floor(target / m);
                for (long j = down - 1; j <= down + 2; j++) {
                    if (j < 1 || j * m > Integer.MAX_VALUE || !fits((int) w, (int) (j * m), flex)) {
                        continue;
                    }
                    double score = Math.abs(Math.log(w / (j * m)) - wantAspect) + Math.abs(Math.log(w * j * m) - wantArea);
                    if (score < bestScore) {
                        bestScore = score;
                        best = (int) w + "x" + (j * m);
                    }
                }
            }
        }
        return best;
    }

    private static long ceilDiv(long a, long b) {
        return -Math.floorDiv(-a, b);
    }

    private static double clamp(double v, double lo, double hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    static boolean fits(int w, int h, SizeRule.Flexible flex) {
        long px = (long) w * h;
        return w % flex.multipleOf() == 0 && h % flex.multipleOf() == 0 && Math.max(w, h) <= flex.maxEdge()
                && Math.min(w, h) >= flex.minEdge() && px >= flex.minPixels() && px <= flex.maxPixels()
                && (double) Math.max(w, h) / Math.min(w, h) <= flex.maxAspect();
    }

    private static double pixels(String size) {
        int x = size.indexOf('x');
        return Double.parseDouble(size.substring(0, x)) * Double.parseDouble(size.substring(x + 1));
    }

    private static double aspect(String size) {
        int x = size.indexOf('x');
        if (x <= 0) {
            return Double.NaN;
        }
        try {
            return Double.parseDouble(size.substring(0, x)) / Double.parseDouble(size.substring(x + 1));
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }
}
