package dev.easel.adapt;

import dev.easel.catalog.ModelSpec;
import dev.easel.validate.EditInput;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Adapts a request to a fallback model before it is validated for it: a {@code size} the model does not take is
 * mapped to its nearest allowed size ({@link Sizes#nearestAllowed}); a value the model does not list for a
 * parameter it takes is dropped (its default applies); parameters it does not take at all are dropped by
 * validation, which runs with {@code drop_params} for fallbacks.
 */
public final class FallbackAdapter {

    private FallbackAdapter() {
    }

    /** {@code input} adapted to {@code spec}, or {@code input} itself when nothing changes. */
    public static EditInput adapt(EditInput input, ModelSpec spec) {
        Map<String, Object> params = new LinkedHashMap<>(input.params());
        // a value the model does not list (quality 'high' for dall-e-2) is dropped: its default applies
        params.entrySet().removeIf(e -> !e.getKey().equals("size") && e.getValue() instanceof String v
                && spec.param(e.getKey()).map(r -> !r.values().isEmpty() && !r.values().contains(v)).orElse(false));
        Object size = params.get("size");
        if (size instanceof String s) {
            Optional<String> mapped = Sizes.nearestAllowed(s, spec.sizes());
            mapped.ifPresent(m -> params.put("size", m));
        }
        if (params.equals(input.params())) {
            return input;
        }
        return new EditInput(input.prompt(), input.images(), input.maskOrNull(), params, input.stream());
    }
}
