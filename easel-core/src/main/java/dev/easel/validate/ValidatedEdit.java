package dev.easel.validate;

import dev.easel.provider.EditParams;
import dev.easel.provider.ImagePart;
import java.util.List;
import java.util.Objects;

/**
 * The result of validation: inspected images and the accepted parameters, typed.
 *
 * @param images     inspected images, in order
 * @param maskOrNull inspected mask, or null
 * @param params     accepted parameters (those Easel honours itself, such as {@code response_format} on GPT image
 *                   models, included)
 * @param dropped    parameters removed because the model does not take them ({@code drop_params}); {@code mask}
 *                   when a mask was sent to a model that takes none
 * @param warnings   human-readable warnings (unknown model, retired model, dropped parameters)
 */
public record ValidatedEdit(List<ImagePart> images, ImagePart maskOrNull, EditParams params,
                            List<String> dropped, List<String> warnings) {
    public ValidatedEdit {
        images = List.copyOf(images);
        Objects.requireNonNull(params, "params");
        dropped = List.copyOf(dropped);
        warnings = List.copyOf(warnings);
    }
}
