package dev.easel.provider.bfl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.BadRequestException;
import dev.easel.http.JsonBody;
import dev.easel.provider.EditCall;
import dev.easel.provider.EditParams;
import dev.easel.provider.ImagePart;
import java.math.BigDecimal;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The JSON body of one BFL submission, per endpoint family: the prompt, the images as base64 (streamed from the
 * spooled upload, never held whole), the size as BFL takes it, {@code output_format}, and the client's extra fields
 * passed through with BFL's types (a form field {@code seed=42} is sent as the number 42).
 */
final class BflRequest {

    /** The endpoints, by how they take images and sizes. */
    enum Family {
        /** FLUX.1 Kontext: {@code input_image}, {@code input_image_2…}, {@code aspect_ratio}. */
        KONTEXT("input_image"),
        /** FLUX.2: {@code input_image}, {@code input_image_2…}, {@code width}/{@code height}. */
        FLUX2("input_image"),
        /** FLUX.1 Fill: {@code image} and a white-on-black {@code mask}; the result has the image's size. */
        FILL("image"),
        /** FLUX.1 Expand: {@code image} and the pixels to add on each side. */
        EXPAND("image");

        final String imageField;

        Family(String imageField) {
            this.imageField = imageField;
        }

        /** The family of a BFL endpoint ({@code flux-2-klein-4b} is FLUX.2, {@code …-fill-finetuned} Fill). */
        static java.util.Optional<Family> of(String model) {
            String m = model.toLowerCase(Locale.ROOT);
            if (m.startsWith("flux-kontext-")) {
                return java.util.Optional.of(KONTEXT);
            }
            if (m.startsWith("flux-2-")) {
                return java.util.Optional.of(FLUX2);
            }
            if (m.startsWith("flux-pro-1.0-fill")) {
                return java.util.Optional.of(FILL);
            }
            if (m.startsWith("flux-pro-1.0-expand")) {
                return java.util.Optional.of(EXPAND);
            }
            return java.util.Optional.empty();
        }

        boolean multiImage() {
            return this == KONTEXT || this == FLUX2;
        }
    }

    /** BFL's field types, so that form fields (always text) arrive as the JSON types BFL validates. */
    private enum Kind { INTEGER, NUMBER, BOOLEAN }

    private static final Map<String, Kind> KINDS = Map.ofEntries(Map.entry("seed", Kind.INTEGER),
            Map.entry("safety_tolerance", Kind.INTEGER), Map.entry("steps", Kind.INTEGER),
            Map.entry("width", Kind.INTEGER), Map.entry("height", Kind.INTEGER), Map.entry("top", Kind.INTEGER),
            Map.entry("bottom", Kind.INTEGER), Map.entry("left", Kind.INTEGER), Map.entry("right", Kind.INTEGER),
            Map.entry("guidance", Kind.NUMBER), Map.entry("prompt_upsampling", Kind.BOOLEAN));

    /** Fields Easel sets itself from the request's prompt, images and mask: an extra field may not replace them. */
    private static final Set<String> FROM_REQUEST = Set.of("prompt", "image", "mask");

    private static final Pattern INPUT_IMAGE = Pattern.compile("input_image(_[0-9]+)?");
    private static final Pattern INTEGER = Pattern.compile("-?[0-9]{1,18}");
    private static final Pattern NUMBER = Pattern.compile("-?[0-9]{1,18}(\\.[0-9]{1,18})?");

    private BflRequest() {
    }

    /**
     * The submission for {@code call} to an endpoint of {@code family}.
     *
     * @throws BadRequestException when the call asks for something the endpoint cannot take (a webhook, a second
     *                             image for Fill, an extra field that is not of BFL's type, …)
     */
    static JsonBody body(EditCall call, Family family) {
        String model = call.deployment().model();
        JsonNodeFactory f = JsonNodeFactory.instance;
        JsonBody.Builder blobs = JsonBody.builder();
        ObjectNode root = f.objectNode();
        root.put("prompt", call.prompt());
        List<ImagePart> images = call.images();
        if (!family.multiImage() && images.size() > 1) {
            throw new BadRequestException("Too many images: model '" + model + "' edits one image (was "
                    + images.size() + ").", "array_above_max_length", "image");
        }
        for (int i = 0; i < images.size(); i++) {
            String field = i == 0 ? family.imageField : family.imageField + "_" + (i + 1);
            root.put(field, blobs.base64(images.get(i).blob()));
        }
        if (call.mask().isPresent()) {
            if (family != Family.FILL) {
                throw new BadRequestException("The model '" + model + "' does not support the 'mask' parameter.",
                        "unsupported_parameter", "mask");
            }
            root.put("mask", blobs.base64(call.mask().get().blob()));
        }
        EditParams params = call.params();
        params.size().ifPresent(size -> size(root, size, family, model));
        params.outputFormat().ifPresent(format -> root.put("output_format", outputFormat(format, model)));
        for (Map.Entry<String, JsonNode> e : params.extras().entrySet()) {
            extra(root, e.getKey(), e.getValue(), model);
        }
        return blobs.build(root);
    }

    private static void size(ObjectNode root, EditParams.Size size, Family family, String model) {
        switch (size) {
            case EditParams.Size.Auto a -> {
                // BFL's default: the input's ratio (Kontext) or size (FLUX.2)
            }
            case EditParams.Size.Aspect a when family == Family.KONTEXT -> root.put("aspect_ratio", a.ratio());
            case EditParams.Size.Pixels p when family == Family.KONTEXT -> root.put("aspect_ratio", ratio(p));
            case EditParams.Size.Pixels p when family == Family.FLUX2 -> {
                root.put("width", p.width());
                root.put("height", p.height());
            }
            default -> throw new BadRequestException("Invalid size '" + size.wire() + "'. Model '" + model + "' "
                    + (family == Family.FLUX2 ? "takes WIDTHxHEIGHT or auto." : family == Family.KONTEXT
                    ? "takes an aspect ratio, WIDTHxHEIGHT or auto." : "takes only auto: the result has the "
                    + (family == Family.FILL ? "image's size." : "image's size plus the sides added.")),
                    "invalid_value", "size");
        }
    }

    /** {@code 1024x1536} as {@code 2:3}. */
    private static String ratio(EditParams.Size.Pixels p) {
        int g = java.math.BigInteger.valueOf(p.width()).gcd(java.math.BigInteger.valueOf(p.height())).intValue();
        return p.width() / g + ":" + p.height() / g;
    }

    private static String outputFormat(EditParams.OutputFormat format, String model) {
        return switch (format) {
            case JPEG, PNG -> format.wire();
            default -> throw new BadRequestException("Invalid value: '" + format.wire() + "'. Supported values are: "
                    + "'jpeg' and 'png' (model '" + model + "').", "invalid_value", "output_format");
        };
    }

    private static void extra(ObjectNode root, String name, JsonNode value, String model) {
        if (name.equals("webhook_url") || name.equals("webhook_secret")) {
            throw new BadRequestException("The '" + name + "' parameter is not supported: Easel polls Black Forest "
                    + "Labs for the result and returns it in the response.", "unsupported_parameter", name);
        }
        if (FROM_REQUEST.contains(name) || INPUT_IMAGE.matcher(name).matches()) {
            throw new BadRequestException("The '" + name + "' field is set by Easel from the request's prompt, "
                    + "images and mask; it cannot be sent as an extra field to model '" + model + "'.",
                    "invalid_value", name);
        }
        if ((name.equals("aspect_ratio") || name.equals("width") || name.equals("height")) && root.has(name)) {
            throw new BadRequestException("'" + name + "' is also given by 'size'; send one of them.",
                    "invalid_value", name);
        }
        if (value.isNull()) {
            return;
        }
        Kind kind = KINDS.get(name);
        root.set(name, kind == null ? value : typed(name, value, kind));
    }

    private static JsonNode typed(String name, JsonNode value, Kind kind) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        String text = value.isTextual() ? value.asText().strip() : null;
        switch (kind) {
            case INTEGER -> {
                if (value.isIntegralNumber()) {
                    return value;
                }
                if (value.isNumber() && value.decimalValue().stripTrailingZeros().scale() <= 0) {
                    return f.numberNode(value.decimalValue().toBigInteger());
                }
                if (text != null && INTEGER.matcher(text).matches()) {
                    return f.numberNode(Long.parseLong(text));
                }
            }
            case NUMBER -> {
                if (value.isNumber()) {
                    return value;
                }
                if (text != null && NUMBER.matcher(text).matches()) {
                    return f.numberNode(new BigDecimal(text));
                }
            }
            case BOOLEAN -> {
                if (value.isBoolean()) {
                    return value;
                }
                if (text != null && (text.equalsIgnoreCase("true") || text.equalsIgnoreCase("false"))) {
                    return f.booleanNode(Boolean.parseBoolean(text));
                }
            }
        }
        String expected = switch (kind) {
            case INTEGER -> "an integer";
            case NUMBER -> "a number";
            case BOOLEAN -> "true or false";
        };
        throw new BadRequestException("Invalid '" + name + "': expected " + expected + " (was "
                + (text != null ? "'" + text + "'" : value.toString()) + ").", "invalid_type", name);
    }
}
