package dev.easel;

import dev.easel.catalog.ModelSpec;
import dev.easel.validate.EditInput;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adapts a request to a fallback model: a {@code size} the model does not take is mapped to its allowed
 * size with the nearest aspect ratio (or {@code auto}); a value the model does not list for a parameter
 * it takes is dropped; parameters it does not take are dropped later by validation with
 * {@code drop_params}.
 */
final class FallbackAdapter {

    private FallbackAdapter() {
    }

    static EditInput adapt(EditInput input, ModelSpec spec) {
        Map<String, Object> params = new LinkedHashMap<>(input.params());
        // a value the model does not list (quality 'high' for dall-e-2) is dropped: its default applies
        params.entrySet().removeIf(e -> !e.getKey().equals("size") && e.getValue() instanceof String v
                && spec.param(e.getKey()).map(r -> !r.values().isEmpty() && !r.values().contains(v)).orElse(false));
        Object size = params.get("size");
        if (size instanceof String s && spec.sizes() instanceof ModelSpec.SizeRule.Fixed fixed
                && !fixed.sizes().contains(s) && !(fixed.auto() && s.equals("auto"))) {
            String mapped = nearest(s, fixed);
            if (mapped != null) {
                params.put("size", mapped);
            }
        }
        if (params.equals(input.params())) {
            return input;
        }
        return new EditInput(input.prompt(), input.images(), input.maskOrNull(), params, input.stream());
    }

    private static String nearest(String size, ModelSpec.SizeRule.Fixed fixed) {
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
