package dev.easel;

import dev.easel.catalog.ModelSpec;
import dev.easel.validate.EditInput;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adapts a request to a fallback model: a {@code size} the model does not take is mapped to its allowed
 * size with the nearest aspect ratio (or {@code auto}); parameters it does not take are dropped later by
 * validation with {@code drop_params}.
 */
final class FallbackAdapter {

    private FallbackAdapter() {
    }

    static EditInput adapt(EditInput input, ModelSpec spec) {
        Object size = input.params().get("size");
        if (!(size instanceof String s) || !(spec.sizes() instanceof ModelSpec.SizeRule.Fixed fixed)
                || fixed.sizes().contains(s) || (fixed.auto() && s.equals("auto"))) {
            return input;
        }
        String mapped = nearest(s, fixed);
        if (mapped == null) {
            return input;
        }
        Map<String, Object> params = new LinkedHashMap<>(input.params());
        params.put("size", mapped);
        return new EditInput(input.prompt(), input.images(), input.maskOrNull(), params, input.stream());
    }

    private static String nearest(String size, ModelSpec.SizeRule.Fixed fixed) {
        double aspect = aspect(size);
        if (Double.isNaN(aspect)) {
            return fixed.auto() ? "auto" : null;
        }
        String best = null;
        double bestDiff = Double.MAX_VALUE;
        for (String candidate : fixed.sizes()) {
            double diff = Math.abs(Math.log(aspect(candidate) / aspect));
            if (diff < bestDiff - 1e-9) {
                bestDiff = diff;
                best = candidate;
            }
        }
        return best;
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
