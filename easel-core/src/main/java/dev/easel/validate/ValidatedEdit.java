package dev.easel.validate;

import dev.easel.provider.ImagePart;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The result of validation: inspected images and the accepted parameters as wire strings, in a stable
 * order (known parameters first, in OpenAI's order, then unknown extras in the order given).
 *
 * @param images     inspected images, in order
 * @param maskOrNull inspected mask, or null
 * @param params     accepted parameters, wire name → string value (nested extras flattened to {@code a[b]})
 * @param dropped    parameters removed because the model does not take them ({@code drop_params})
 * @param warnings   human-readable warnings (unknown model, retired model, dropped parameters)
 */
public record ValidatedEdit(List<ImagePart> images, ImagePart maskOrNull, Map<String, String> params,
                            List<String> dropped, List<String> warnings) {
    public ValidatedEdit {
        images = List.copyOf(images);
        params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        dropped = List.copyOf(dropped);
        warnings = List.copyOf(warnings);
    }
}
