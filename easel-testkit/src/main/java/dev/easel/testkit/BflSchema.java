package dev.easel.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The request models of BFL's editing endpoints, checked the way BFL's FastAPI/Pydantic v2 service checks them:
 * every problem is one entry of a 422 {@code {"detail":[{"type","loc","msg","input","ctx"?}]}}, with Pydantic's
 * types and messages ({@code missing}/"Field required", {@code greater_than_equal}, {@code multiple_of},
 * {@code enum}, {@code extra_forbidden}, …). Cross-field rules (mask size, Kontext's safety limit with an input
 * image, FLUX.2's 4 MP) are model validators: {@code value_error} at {@code ["body"]}.
 */
final class BflSchema {

    enum Type { STRING, INT, FLOAT, BOOL, IMAGE, FORMAT }

    /** One field: its type and, for numbers, its bounds (null when unbounded). */
    record Field(Type type, boolean required, Number min, Number max, Integer multipleOf, Integer maxLength) {
    }

    /** The editing endpoints (the path after {@code /v1/}) and their request models. */
    static final Map<String, Map<String, Field>> MODELS = new LinkedHashMap<>();

    static final int FLUX2_MAX_PIXELS = 4 * 1024 * 1024;

    static {
        for (String kontext : List.of("flux-kontext-pro", "flux-kontext-max")) {
            Map<String, Field> f = common(true, 6);
            images(f, 4);
            f.put("aspect_ratio", new Field(Type.STRING, false, null, null, null, null));
            MODELS.put(kontext, f);
        }
        Map<String, Field> fill = common(false, 6);
        fill.put("image", new Field(Type.IMAGE, true, null, null, null, null));
        fill.put("mask", new Field(Type.IMAGE, false, null, null, null, null));
        steps(fill, 15, 50, 1.5, 100);
        MODELS.put("flux-pro-1.0-fill", fill);
        Map<String, Field> expand = common(false, 6);
        expand.put("image", new Field(Type.IMAGE, true, null, null, null, null));
        for (String side : List.of("top", "bottom", "left", "right")) {
            expand.put(side, new Field(Type.INT, false, 0, 2048, null, null));
        }
        steps(expand, 15, 50, 1.5, 100);
        MODELS.put("flux-pro-1.0-expand", expand);
        for (String flux2 : List.of("flux-2-pro", "flux-2-max", "flux-2-flex")) {
            Map<String, Field> f = common(true, 5);
            images(f, flux2.equals("flux-2-flex") ? 10 : 8);
            f.put("width", new Field(Type.INT, false, 64, null, 16, null));
            f.put("height", new Field(Type.INT, false, 64, null, 16, null));
            if (flux2.equals("flux-2-flex")) {
                steps(f, 1, 50, 1.5, 10);
            }
            MODELS.put(flux2, f);
        }
    }

    private BflSchema() {
    }

    /** Every field problem of one submission, in field order; the body is an object. */
    static List<ObjectNode> check(String model, ObjectNode body, boolean allowUnknown) {
        Map<String, Field> fields = MODELS.get(model);
        List<ObjectNode> errors = new ArrayList<>();
        for (Map.Entry<String, Field> e : fields.entrySet()) {
            JsonNode value = body.get(e.getKey());
            if (value == null || value.isNull()) {
                if (e.getValue().required()) {
                    errors.add(error("missing", loc(e.getKey()), "Field required", body, null));
                }
                continue;
            }
            check(e.getKey(), e.getValue(), value).ifPresent(errors::add);
        }
        if (!allowUnknown) {
            for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!fields.containsKey(name)) {
                    errors.add(error("extra_forbidden", loc(name), "Extra inputs are not permitted", body.get(name),
                            null));
                }
            }
        }
        return errors;
    }

    private static Optional<ObjectNode> check(String name, Field field, JsonNode value) {
        ArrayNode loc = loc(name);
        switch (field.type()) {
            case STRING, IMAGE -> {
                if (!value.isTextual()) {
                    return Optional.of(error("string_type", loc, "Input should be a valid string", value, null));
                }
                if (field.maxLength() != null && value.asText().length() > field.maxLength()) {
                    return Optional.of(error("string_too_long", loc, "String should have at most "
                            + field.maxLength() + " characters", value, ctx("max_length", field.maxLength())));
                }
                if (field.type() == Type.IMAGE && image(value.asText()).isEmpty() && !isUrl(value.asText())) {
                    return Optional.of(valueError(loc, name + " must be a base64-encoded JPEG, PNG or WebP image or "
                            + "an http(s) URL", value));
                }
                return Optional.empty();
            }
            case FORMAT -> {
                return value.isTextual() && (value.asText().equals("jpeg") || value.asText().equals("png"))
                        ? Optional.empty()
                        : Optional.of(error("enum", loc, "Input should be 'jpeg' or 'png'", value,
                        ctx("expected", "'jpeg' or 'png'")));
            }
            case BOOL -> {
                boolean ok = value.isBoolean() || value.isTextual() && List.of("true", "false", "1", "0", "yes",
                        "no", "on", "off").contains(value.asText().toLowerCase(java.util.Locale.ROOT))
                        || value.isIntegralNumber() && (value.asInt() == 0 || value.asInt() == 1);
                return ok ? Optional.empty() : Optional.of(error(value.isTextual() ? "bool_parsing" : "bool_type",
                        loc, "Input should be a valid boolean" + (value.isTextual() ? ", unable to interpret input"
                                : ""), value, null));
            }
            case INT, FLOAT -> {
                Optional<Double> number = number(field.type(), value);
                if (number.isEmpty()) {
                    return Optional.of(numberError(field.type(), loc, value));
                }
                double v = number.get();
                if (field.min() != null && v < field.min().doubleValue()) {
                    return Optional.of(error("greater_than_equal", loc, "Input should be greater than or equal to "
                            + field.min(), value, ctx("ge", field.min())));
                }
                if (field.max() != null && v > field.max().doubleValue()) {
                    return Optional.of(error("less_than_equal", loc, "Input should be less than or equal to "
                            + field.max(), value, ctx("le", field.max())));
                }
                if (field.multipleOf() != null && v % field.multipleOf() != 0) {
                    return Optional.of(error("multiple_of", loc, "Input should be a multiple of "
                            + field.multipleOf(), value, ctx("multiple_of", field.multipleOf())));
                }
                return Optional.empty();
            }
            default -> throw new IllegalStateException(field.type().toString());
        }
    }

    /** A number as Pydantic's lax mode reads it: JSON numbers and numeric strings; ints must be whole. */
    static Optional<Double> number(Type type, JsonNode value) {
        if (value.isBoolean()) {
            return Optional.empty();
        }
        double v;
        if (value.isNumber()) {
            v = value.asDouble();
        } else if (value.isTextual()) {
            try {
                v = Double.parseDouble(value.asText().trim());
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        } else {
            return Optional.empty();
        }
        return type == Type.INT && v != Math.rint(v) ? Optional.empty() : Optional.of(v);
    }

    private static ObjectNode numberError(Type type, ArrayNode loc, JsonNode value) {
        if (type == Type.INT) {
            if (value.isNumber()) {
                return error("int_from_float", loc, "Input should be a valid integer, got a number with a "
                        + "fractional part", value, null);
            }
            return value.isTextual()
                    ? error("int_parsing", loc, "Input should be a valid integer, unable to parse string as an "
                    + "integer", value, null)
                    : error("int_type", loc, "Input should be a valid integer", value, null);
        }
        return value.isTextual()
                ? error("float_parsing", loc, "Input should be a valid number, unable to parse string as a number",
                value, null)
                : error("float_type", loc, "Input should be a valid number", value, null);
    }

    /** The image in a base64 string (a {@code data:} URI prefix allowed), when it is one. */
    static Optional<ImageInfo> image(String text) {
        int comma = text.startsWith("data:") ? text.indexOf(',') : -1;
        try {
            return ImageInfo.of(Base64.getMimeDecoder().decode(text.substring(comma + 1)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    static byte[] imageBytes(String text) {
        int comma = text.startsWith("data:") ? text.indexOf(',') : -1;
        return Base64.getMimeDecoder().decode(text.substring(comma + 1));
    }

    static boolean isUrl(String text) {
        return text.startsWith("https://") || text.startsWith("http://");
    }

    static ArrayNode loc(String... names) {
        ArrayNode loc = Json.MAPPER.createArrayNode().add("body");
        for (String name : names) {
            loc.add(name);
        }
        return loc;
    }

    static ObjectNode valueError(ArrayNode loc, String message, JsonNode input) {
        ObjectNode ctx = Json.object();
        ctx.putObject("error");
        return error("value_error", loc, "Value error, " + message, input, ctx);
    }

    static ObjectNode error(String type, ArrayNode loc, String msg, JsonNode input, ObjectNode ctx) {
        ObjectNode error = Json.object();
        error.put("type", type);
        error.set("loc", loc);
        error.put("msg", msg);
        error.set("input", input == null ? Json.MAPPER.nullNode() : input);
        if (ctx != null) {
            error.set("ctx", ctx);
        }
        return error;
    }

    /** FastAPI's 422 body. */
    static byte[] detail(List<ObjectNode> errors) {
        ObjectNode root = Json.object();
        ArrayNode detail = root.putArray("detail");
        errors.forEach(detail::add);
        return Json.bytes(root);
    }

    private static ObjectNode ctx(String key, Object value) {
        ObjectNode ctx = Json.object();
        switch (value) {
            case Integer i -> ctx.put(key, i);
            case Double d -> ctx.put(key, d);
            default -> ctx.put(key, value.toString());
        }
        return ctx;
    }

    private static Map<String, Field> common(boolean promptRequired, int maxSafety) {
        Map<String, Field> f = new LinkedHashMap<>();
        f.put("prompt", new Field(Type.STRING, promptRequired, null, null, null, null));
        f.put("seed", new Field(Type.INT, false, null, null, null, null));
        f.put("prompt_upsampling", new Field(Type.BOOL, false, null, null, null, null));
        f.put("safety_tolerance", new Field(Type.INT, false, 0, maxSafety, null, null));
        f.put("output_format", new Field(Type.FORMAT, false, null, null, null, null));
        f.put("webhook_url", new Field(Type.STRING, false, null, null, null, 2083));
        f.put("webhook_secret", new Field(Type.STRING, false, null, null, null, null));
        return f;
    }

    private static void images(Map<String, Field> f, int max) {
        f.put("input_image", new Field(Type.IMAGE, false, null, null, null, null));
        for (int i = 2; i <= max; i++) {
            f.put("input_image_" + i, new Field(Type.IMAGE, false, null, null, null, null));
        }
    }

    private static void steps(Map<String, Field> f, int minSteps, int maxSteps, Number minGuidance,
                              Number maxGuidance) {
        f.put("steps", new Field(Type.INT, false, minSteps, maxSteps, null, null));
        f.put("guidance", new Field(Type.FLOAT, false, minGuidance, maxGuidance, null, null));
    }
}
