package dev.easel.validate;

import dev.easel.BadRequestException;
import dev.easel.catalog.ModelSpec;
import dev.easel.catalog.ModelSpec.MaskRule;
import dev.easel.catalog.ModelSpec.ParamRule;
import dev.easel.catalog.ModelSpec.SizeRule;
import dev.easel.image.ImageFormat;
import dev.easel.image.ImageInfo;
import dev.easel.image.ImageInspectionException;
import dev.easel.image.ImageInspector;
import dev.easel.provider.EditParams;
import dev.easel.provider.ImagePart;
import dev.easel.validate.EditInput.RawImage;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks an edit against a model's rules before anything is sent upstream, and turns it into the
 * parameters and inspected images a provider receives. Every failure is a {@link BadRequestException}
 * shaped like OpenAI's 400s ({@code code}, {@code param}, a message naming the bad value); things that
 * are allowed but probably not meant (unknown or retired model, dropped parameter, a mask that masks
 * nothing) become warnings.
 *
 * <p>Stateless and thread-safe.
 */
public final class RequestValidator {

    /** Parameters Easel knows, in the order they are emitted; other parameters follow in the order given. */
    public static final List<String> KNOWN_PARAMS = List.of("n", "size", "quality", "background", "output_format",
            "output_compression", "input_fidelity", "response_format", "partial_images", "moderation", "user",
            "safety_identifier");

    /**
     * Parameters only some models take: sent to a model whose rules list parameters but not these, they
     * are rejected ({@code unsupported_parameter}) or, with {@code drop_params}, dropped. A model with an
     * empty parameter map (the permissive stand-in) takes everything. Other unknown fields are passed
     * through for every model.
     */
    public static final Set<String> MODEL_SPECIFIC_PARAMS = Set.of("quality", "background", "output_format",
            "output_compression", "input_fidelity", "response_format", "partial_images", "moderation", "complexity",
            "frame_count", "frame_duration_ms", "svg");

    /** Parameters whose value is an object, sent as bracketed keys ({@code svg[model]}). */
    private static final Set<String> OBJECT_PARAMS = Set.of("svg");

    /** Fields that are never parameters: they travel separately. */
    private static final Set<String> NOT_PARAMS = Set.of("model", "prompt", "stream");

    /** Masks with more pixels than this are not decoded to look for transparent pixels. */
    private static final long MAX_DECODED_MASK_PIXELS = 4096L * 4096L;

    private static final Pattern SIZE = Pattern.compile("([1-9][0-9]{0,5})x([1-9][0-9]{0,5})");
    private static final Pattern INTEGER = Pattern.compile("-?[0-9]+");

    /** Creates a validator. */
    public RequestValidator() {
    }

    /**
     * Validates {@code input} against {@code spec}.
     *
     * @param dropParams drop model-specific parameters the model does not take instead of failing
     * @param today      the date lifecycle warnings are computed for
     * @throws BadRequestException on the first rule the request breaks
     */
    public ValidatedEdit validate(EditInput input, ModelSpec spec, boolean dropParams, LocalDate today) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(today, "today");
        List<String> warnings = new ArrayList<>();
        modelWarnings(spec, today, warnings);

        checkPrompt(input.prompt(), spec);
        checkImageCount(input.images(), spec);
        List<String> dropped = new ArrayList<>();
        RawImage rawMask = input.maskOrNull();
        if (rawMask != null && !spec.mask().supported()) {
            if (!dropParams) {
                throw new BadRequestException(unsupported(spec, "mask"), "unsupported_parameter", "mask");
            }
            rawMask = null; // drop_params: the model edits without one
            dropped.add("mask");
            warnings.add("dropped 'mask': model '" + spec.id() + "' takes no mask");
        }
        if (input.stream() && !spec.streaming()) {
            throw new BadRequestException("The model '" + spec.id() + "' does not support streaming.",
                    "unsupported_parameter", "stream");
        }

        Map<String, Object> accepted = new LinkedHashMap<>();
        Map<String, Boolean> ruled = new LinkedHashMap<>();
        long n = 1;
        for (Map.Entry<String, Object> e : input.params().entrySet()) {
            String key = e.getKey();
            Object value = e.getValue();
            if (value == null || NOT_PARAMS.contains(key)) {
                continue;
            }
            if (key.equals("n")) {
                n = integer("n", value, spec.minN(), spec.maxN());
                accepted.put(key, n);
            } else if (key.equals("size") && spec.sizes() instanceof SizeRule.FromInput && !"auto".equals(value)) {
                size(value, new SizeRule.Any()); // a malformed size is still named as such
                if (!dropParams) {
                    throw new BadRequestException("The model '" + spec.id() + "' does not support the 'size' "
                            + "parameter: its output's size follows from the input image (send 'auto' or no size).",
                            "unsupported_parameter", key);
                }
                dropped.add(key);
                warnings.add("dropped 'size': the output of model '" + spec.id() + "' takes its size from the input "
                        + "image");
            } else if (key.equals("size")) {
                accepted.put(key, size(value, spec.sizes()));
            } else if (spec.param(key).isEmpty() && (spec.strictParams()
                    || (!spec.params().isEmpty() && MODEL_SPECIFIC_PARAMS.contains(key)))) {
                if (!dropParams) {
                    throw new BadRequestException(unsupported(spec, key), "unsupported_parameter", key);
                }
                dropped.add(key);
                warnings.add("dropped '" + key + "': model '" + spec.id() + "' does not support it");
                continue;
            } else if (spec.param(key).isPresent()) {
                accepted.put(key, checked(key, value, spec.param(key).get()));
                ruled.put(key, true);
            } else {
                accepted.put(key, value);
                ruled.put(key, false);
            }
        }
        if (input.stream() && n > 1) {
            throw new BadRequestException("Streaming is only supported with n=1.", "invalid_value", "stream");
        }
        checkRequired(accepted, spec);
        EditParams params = typed(accepted, ruled);

        List<ImagePart> images = new ArrayList<>();
        for (int i = 0; i < input.images().size(); i++) {
            RawImage raw = input.images().get(i);
            ImageInfo info = inspectImage(raw, spec);
            images.add(new ImagePart(raw.blob(), info, fileName(raw.fileNameOrNull(), info.format(),
                    i == 0 ? "image" : "image_" + i)));
        }
        ImagePart mask = null;
        if (rawMask != null) {
            RawImage raw = rawMask;
            ImageInfo info = inspectMask(raw, spec, images.get(0).info(), warnings);
            mask = new ImagePart(raw.blob(), info, fileName(raw.fileNameOrNull(), info.format(), "mask"));
        } else if (spec.mask().imageAlphaWithoutMask() && !images.isEmpty()
                && spec.mask().convention() == ModelSpec.MaskConvention.ALPHA_TRANSPARENT
                && images.get(0).info().format() == ImageFormat.PNG) {
            // the image's own transparency is the mask: OpenAI refuses dall-e-2 edits of an image without it
            String mode = ImageInspector.pngMode(images.get(0).blob());
            if (!List.of("RGBA", "LA", "L").contains(mode)) {
                throw new BadRequestException("Invalid input image - format must be in ['RGBA', 'LA', 'L'], got "
                        + mode + ". Without a mask, model '" + spec.id() + "' edits the transparent area of the image:"
                        + " send a png with an alpha channel, or a mask.", "invalid_image_format",
                        input.images().get(0).param());
            }
        } else if (spec.mask().imageAlphaWithoutMask() && !images.isEmpty() && !images.get(0).info().hasAlpha()) {
            // a provider that reads the image's alpha channel as the mask (Stability inpaint, erase) needs one
            throw new BadRequestException("Invalid file '" + input.images().get(0).param() + "': without a mask, "
                    + "model '" + spec.id() + "' edits the transparent area of the image, and this "
                    + images.get(0).info().format().wireName() + " has no alpha channel: send an image with "
                    + "transparency, or a mask.", "invalid_image_format", input.images().get(0).param());
        }

        return new ValidatedEdit(images, mask, params, dropped, warnings);
    }

    // ---------------------------------------------------------------- model, prompt, counts

    private static void modelWarnings(ModelSpec spec, LocalDate today, List<String> warnings) {
        // The mock provider serves any name offline; it has no catalogue entries to miss.
        if (!spec.known() && !"mock".equals(spec.provider())) {
            warnings.add("model '" + spec.id() + "' is not in easel's catalogue; passing it through with permissive rules");
        }
        ModelSpec.Lifecycle life = spec.lifecycle();
        String replacement = life.replacement().map(r -> " (replacement: '" + r + "')").orElse("");
        if (life.retiredOn(today)) {
            warnings.add("model '" + spec.id() + "' was shut down on " + life.shutdown().orElseThrow() + replacement
                    + "; sending the request unchanged");
        } else if (life.shutdown().isPresent()) {
            warnings.add("model '" + spec.id() + "' is deprecated and shuts down on " + life.shutdown().get()
                    + replacement);
        } else if (life.deprecated().filter(d -> !today.isBefore(d)).isPresent()) {
            warnings.add("model '" + spec.id() + "' is deprecated since " + life.deprecated().get() + replacement);
        }
    }

    private static void checkPrompt(String prompt, ModelSpec spec) {
        if (prompt == null || prompt.isBlank()) {
            throw new BadRequestException("Missing required parameter: 'prompt'.", "missing_required_parameter",
                    "prompt");
        }
        int length = prompt.codePointCount(0, prompt.length());
        if (length > spec.promptMaxLength()) {
            throw new BadRequestException("Invalid 'prompt': string too long. Expected a string with maximum length "
                    + spec.promptMaxLength() + ", but got a string with length " + length + " instead.",
                    "string_above_max_length", "prompt");
        }
    }

    private static void checkImageCount(List<RawImage> images, ModelSpec spec) {
        if (images.isEmpty()) {
            throw new BadRequestException("Missing required parameter: 'image'.", "missing_required_parameter",
                    "image");
        }
        if (images.size() > spec.maxImages()) {
            throw new BadRequestException("Too many images: model '" + spec.id() + "' accepts at most "
                    + spec.maxImages() + (spec.maxImages() == 1 ? " image" : " images") + " (was " + images.size() + ").",
                    "array_above_max_length", "image");
        }
    }

    /** Each of the model's required groups has a parameter given with a value other than 0 (or blank). */
    private static void checkRequired(Map<String, Object> accepted, ModelSpec spec) {
        for (List<String> group : spec.requiredParams()) {
            boolean given = group.stream().map(accepted::get).anyMatch(v -> v != null && !zeroOrBlank(v));
            if (given) {
                continue;
            }
            if (group.size() == 1) {
                throw new BadRequestException("Missing required parameter: '" + group.get(0) + "' (model '"
                        + spec.id() + "' needs it).", "missing_required_parameter", group.get(0));
            }
            List<String> quoted = group.stream().map(p -> "'" + p + "'").toList();
            throw new BadRequestException("Missing required parameter: model '" + spec.id() + "' needs at least one "
                    + "of " + String.join(", ", quoted.subList(0, quoted.size() - 1)) + " or " + quoted.getLast()
                    + ", other than 0.", "missing_required_parameter", group.get(0));
        }
    }

    private static boolean zeroOrBlank(Object v) {
        if (v instanceof Number num) {
            try {
                return new BigDecimal(num.toString()).signum() == 0;
            } catch (NumberFormatException e) {
                return false; // NaN, infinity: not zero, and refused by the parameter's own rule
            }
        }
        return v.toString().isBlank();
    }

    private static String unsupported(ModelSpec spec, String param) {
        return "The model '" + spec.id() + "' does not support the '" + param + "' parameter.";
    }

    // ---------------------------------------------------------------- parameters

    /**
     * Validates a value against the model's rule for it: an integer rule gives a {@code Long}, an object parameter
     * its map, any other a string.
     */
    private static Object checked(String key, Object value, ParamRule rule) {
        if (rule.integer()) {
            return integer(key, value, rule.min(), rule.max());
        }
        if (rule.decimal()) {
            return decimal(key, value, rule.min(), rule.max());
        }
        if (OBJECT_PARAMS.contains(key)) {
            if (!(value instanceof Map<?, ?>)) {
                throw invalidType(key, "an object", value);
            }
            return value;
        }
        if (value instanceof Map<?, ?> || value instanceof List<?>) {
            throw invalidType(key, "a string", value);
        }
        String s = scalar(value);
        if (!rule.values().isEmpty() && !rule.values().contains(s)) {
            throw new BadRequestException("Invalid value: '" + s + "'. Supported values are: "
                    + joinOxford(rule.values().stream().map(v -> "'" + v + "'").toList()) + ".", "invalid_value", key);
        }
        return s;
    }

    /**
     * The accepted parameters, typed: known fields whose value Easel can type go to their field (a value the model's
     * rule checked must type, else it is a 400 naming the values OpenAI defines); values of unchecked fields that do
     * not type, and every other field, go to the extras as JSON.
     */
    private static EditParams typed(Map<String, Object> accepted, Map<String, Boolean> ruled) {
        EditParams.Builder b = EditParams.builder();
        for (String known : KNOWN_PARAMS) {
            Object v = accepted.get(known);
            if (v == null) {
                continue;
            }
            boolean checkedByRule = ruled.getOrDefault(known, false);
            boolean typedOk = switch (known) {
                case "n" -> {
                    b.n((int) (long) (Long) v);
                    yield true;
                }
                case "size" -> {
                    EditParams.Size size = EditParams.Size.parse((String) v).orElse(null);
                    if (size == null && ((String) v).indexOf(':') > 0) {
                        size = new EditParams.Size.Aspect((String) v, java.util.Optional.empty());
                    }
                    if (size != null) {
                        b.size(size);
                    }
                    yield size != null;
                }
                case "quality" -> enumField(v, EditParams.Quality.class, b::quality);
                case "background" -> enumField(v, EditParams.Background.class, b::background);
                case "output_format" -> enumField(v, EditParams.OutputFormat.class, b::outputFormat);
                case "input_fidelity" -> enumField(v, EditParams.InputFidelity.class, b::inputFidelity);
                case "response_format" -> enumField(v, EditParams.ResponseFormat.class, b::responseFormat);
                case "moderation" -> enumField(v, EditParams.Moderation.class, b::moderation);
                case "output_compression" -> intField(v, 0, 100, b::outputCompression);
                case "partial_images" -> intField(v, 0, Integer.MAX_VALUE, b::partialImages);
                case "user" -> stringField(v, b::user);
                case "safety_identifier" -> stringField(v, b::safetyIdentifier);
                default -> false;
            };
            if (!typedOk) {
                if (checkedByRule && v instanceof String s) {
                    throw new BadRequestException("Invalid value: '" + s + "' for '" + known + "'.", "invalid_value",
                            known);
                }
                b.extra(known, json(v));
            }
        }
        accepted.forEach((k, v) -> {
            if (!KNOWN_PARAMS.contains(k)) {
                b.extra(k, json(v));
            }
        });
        return b.build();
    }

    private static <E extends Enum<E>> boolean enumField(Object v, Class<E> type, java.util.function.Consumer<E> set) {
        if (!(v instanceof String s)) {
            return false;
        }
        java.util.Optional<E> e = EditParams.parse(type, s);
        e.ifPresent(set);
        return e.isPresent();
    }

    private static boolean intField(Object v, int min, int max, java.util.function.IntConsumer set) {
        BigInteger i = parseInteger(v);
        if (i == null || i.compareTo(BigInteger.valueOf(min)) < 0 || i.compareTo(BigInteger.valueOf(max)) > 0) {
            return false;
        }
        set.accept(i.intValue());
        return true;
    }

    private static boolean stringField(Object v, java.util.function.Consumer<String> set) {
        if (v instanceof Map<?, ?> || v instanceof List<?>) {
            return false;
        }
        set.accept(scalar(v));
        return true;
    }

    /** A parameter value as JSON: strings stay strings, numbers keep their type, maps and lists nest. */
    static com.fasterxml.jackson.databind.JsonNode json(Object v) {
        var f = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance;
        return switch (v) {
            case null -> f.nullNode();
            case String s -> f.textNode(s);
            case Boolean bool -> f.booleanNode(bool);
            case Integer i -> f.numberNode(i);
            case Long l -> f.numberNode(l);
            case Short sh -> f.numberNode(sh);
            case Byte by -> f.numberNode(by);
            case BigInteger bi -> f.numberNode(bi);
            case BigDecimal bd -> f.numberNode(bd);
            case Double d when d.isNaN() || d.isInfinite() -> f.textNode(d.toString());
            case Float fl when fl.isNaN() || fl.isInfinite() -> f.textNode(fl.toString());
            case Number num -> f.numberNode(new BigDecimal(num.toString()));
            case Map<?, ?> map -> {
                var o = f.objectNode();
                map.forEach((k, x) -> {
                    if (x != null) {
                        o.set(String.valueOf(k), json(x));
                    }
                });
                yield o;
            }
            case List<?> list -> {
                var a = f.arrayNode();
                list.forEach(x -> {
                    if (x != null) {
                        a.add(json(x));
                    }
                });
                yield a;
            }
            default -> f.textNode(v.toString());
        };
    }

    /**
     * Parses an integer parameter ({@code "2"}, 2, 2.0) and checks its range; {@code min}/{@code max} may be
     * null for an open bound.
     */
    private static long integer(String key, Object value, Integer min, Integer max) {
        return integer(key, value, min == null ? null : BigDecimal.valueOf(min),
                max == null ? null : BigDecimal.valueOf(max));
    }

    /** Like {@link #integer(String, Object, Integer, Integer)}, with bounds beyond an int (seeds up to 2^32 - 2). */
    private static long integer(String key, Object value, BigDecimal min, BigDecimal max) {
        BigInteger parsed = parseInteger(value);
        if (parsed == null) {
            String range = min != null && max != null ? " between " + min.toPlainString() + " and "
                    + max.toPlainString() : "";
            throw new BadRequestException(key + " must be an integer" + range + " (was " + shown(value) + ")",
                    "invalid_type", key);
        }
        BigDecimal d = new BigDecimal(parsed);
        boolean below = min != null && d.compareTo(min) < 0;
        boolean above = max != null && d.compareTo(max) > 0;
        if (below || above) {
            throw new BadRequestException(key + " must be " + range(min, max) + " (was " + parsed + ")",
                    below ? "integer_below_min_value" : "integer_above_max_value", key);
        }
        return parsed.longValueExact();
    }

    /** Parses a decimal parameter ({@code "0.5"}, 0.5, 1) and checks its range; a bound may be null (open). */
    private static BigDecimal decimal(String key, Object value, BigDecimal min, BigDecimal max) {
        BigDecimal parsed = null;
        if (value instanceof Number || value instanceof String) {
            try {
                parsed = new BigDecimal(value.toString().strip());
            } catch (NumberFormatException e) {
                parsed = null; // NaN, infinity, words
            }
        }
        if (parsed == null) {
            String range = min != null && max != null ? " between " + min.toPlainString() + " and "
                    + max.toPlainString() : "";
            throw new BadRequestException(key + " must be a number" + range + " (was " + shown(value) + ")",
                    "invalid_type", key);
        }
        boolean below = min != null && parsed.compareTo(min) < 0;
        boolean above = max != null && parsed.compareTo(max) > 0;
        if (below || above) {
            throw new BadRequestException(key + " must be " + range(min, max) + " (was " + parsed.toPlainString()
                    + ")", below ? "decimal_below_min_value" : "decimal_above_max_value", key);
        }
        return parsed;
    }

    private static String range(BigDecimal min, BigDecimal max) {
        return min != null && max != null ? "between " + min.toPlainString() + " and " + max.toPlainString()
                : min != null ? "at least " + min.toPlainString() : "at most " + max.toPlainString();
    }

    private static String shown(Object value) {
        if (value instanceof Map<?, ?> || value instanceof List<?>) {
            return value instanceof Map<?, ?> ? "an object" : "an array";
        }
        return value instanceof String s ? "'" + s + "'" : String.valueOf(value);
    }

    private static BigInteger parseInteger(Object value) {
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            return BigInteger.valueOf(((Number) value).longValue());
        }
        if (value instanceof BigInteger b) {
            return b;
        }
        if (value instanceof Number num) {
            try {
                BigDecimal d = num instanceof BigDecimal bd ? bd : new BigDecimal(num.toString());
                return d.stripTrailingZeros().scale() <= 0 ? d.toBigIntegerExact() : null;
            } catch (NumberFormatException | ArithmeticException e) {
                return null; // NaN, infinity, fractions
            }
        }
        if (value instanceof String s && INTEGER.matcher(s).matches()) {
            return new BigInteger(s);
        }
        return null;
    }

    private static String size(Object value, SizeRule rule) {
        if (!(value instanceof String s)) {
            throw invalidType("size", "a string", value);
        }
        switch (rule) {
            case SizeRule.Fixed fixed -> {
                if ((fixed.auto() && s.equals("auto")) || fixed.sizes().contains(s)) {
                    return s;
                }
                List<String> supported = new ArrayList<>(fixed.sizes());
                if (fixed.auto()) {
                    supported.add("auto");
                }
                throw badSize(s, "Supported sizes are " + joinOxford(supported) + ".");
            }
            case SizeRule.Flexible flex -> {
                if (flex.auto() && s.equals("auto")) {
                    return s;
                }
                int[] wh = parseSize(s, flex.auto());
                int w = wh[0];
                int h = wh[1];
                if (w % flex.multipleOf() != 0 || h % flex.multipleOf() != 0) {
                    throw badSize(s, "Width and height must both be divisible by " + flex.multipleOf() + ".");
                }
                if (Math.max(w, h) > flex.maxEdge()) {
                    throw badSize(s, "Width and height must be at most " + flex.maxEdge() + " pixels.");
                }
                if (Math.min(w, h) < flex.minEdge()) {
                    throw badSize(s, "Width and height must be at least " + flex.minEdge() + " pixels.");
                }
                double aspect = (double) Math.max(w, h) / Math.min(w, h);
                if (aspect > flex.maxAspect()) {
                    throw badSize(s, "The aspect ratio must be at most " + plain(flex.maxAspect()) + ":1 (was "
                            + plain(BigDecimal.valueOf(aspect).setScale(2, RoundingMode.HALF_UP).doubleValue()) + ":1).");
                }
                long pixels = (long) w * h;
                if (pixels < flex.minPixels() || pixels > flex.maxPixels()) {
                    throw badSize(s, "The total pixel count must be between " + flex.minPixels() + " and "
                            + flex.maxPixels() + " (was " + pixels + ").");
                }
                return s;
            }
            case SizeRule.AspectRatios aspect -> {
                // pixels are mapped to the nearest ratio and tier when the call is adapted; a listed ratio is taken
                if (s.equals("auto") || aspect.ratios().contains(s)) {
                    return s;
                }
                if (s.indexOf(':') > 0) {
                    throw badSize(s, "Supported aspect ratios are " + joinOxford(aspect.ratios()) + ".");
                }
                parseSize(s, true);
                return s;
            }
            case SizeRule.Any any -> {
                if (!s.equals("auto")) {
                    parseSize(s, true);
                }
                return s;
            }
            case SizeRule.FromInput input -> {
                return s; // only 'auto' gets here (see validate)
            }
        }
    }

    private static int[] parseSize(String s, boolean auto) {
        Matcher m = SIZE.matcher(s);
        if (!m.matches()) {
            throw badSize(s, "Expected " + (auto ? "'auto' or " : "") + "WIDTHxHEIGHT, e.g. '1024x1024'.");
        }
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }

    private static BadRequestException badSize(String size, String why) {
        return new BadRequestException("Invalid size '" + size + "'. " + why, "invalid_value", "size");
    }

    private static BadRequestException invalidType(String key, String expected, Object value) {
        return new BadRequestException("Invalid type for '" + key + "': expected " + expected + ", but got "
                + typeName(value) + " instead.", "invalid_type", key);
    }

    private static String typeName(Object value) {
        return switch (value) {
            case Map<?, ?> m -> "an object";
            case List<?> l -> "an array";
            case Boolean b -> "a boolean";
            case Number num -> parseInteger(num) != null ? "an integer" : "a decimal";
            default -> "a string";
        };
    }

    private static String scalar(Object value) {
        if (value instanceof Double || value instanceof Float || value instanceof BigDecimal) {
            try {
                BigDecimal d = value instanceof BigDecimal bd ? bd : new BigDecimal(value.toString());
                return d.stripTrailingZeros().toPlainString();
            } catch (NumberFormatException e) {
                return value.toString(); // NaN, Infinity
            }
        }
        return value.toString();
    }

    private static String plain(double d) {
        return BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
    }

    /** {@code a}, {@code a and b}, {@code a, b, and c} (OpenAI's style). */
    static String joinOxford(List<String> items) {
        return switch (items.size()) {
            case 0 -> "";
            case 1 -> items.get(0);
            case 2 -> items.get(0) + " and " + items.get(1);
            default -> String.join(", ", items.subList(0, items.size() - 1)) + ", and " + items.get(items.size() - 1);
        };
    }

    // ---------------------------------------------------------------- images

    private static ImageInfo inspectImage(RawImage raw, ModelSpec spec) {
        checkBytes(raw, spec, spec.maxImageBytes());
        ImageInfo info = inspect(raw, spec);
        if (spec.squareOnly() && !info.square()) {
            throw new BadRequestException("Invalid file '" + raw.param() + "': model '" + spec.id()
                    + "' needs a square image (was " + info.dimensions() + ").", "invalid_image_dimensions", raw.param());
        }
        checkLimits(raw.param(), info, spec);
        return info;
    }

    private static void checkLimits(String param, ImageInfo info, ModelSpec spec) {
        ModelSpec.ImageLimits limits = spec.imageLimits();
        String why = null;
        long pixels = (long) info.width() * info.height();
        if (Math.min(info.width(), info.height()) < limits.minEdge()) {
            why = "at least " + limits.minEdge() + " pixels on each side (was " + info.dimensions() + ")";
        } else if (pixels < limits.minPixels() || pixels > limits.maxPixels()) {
            why = (limits.maxPixels() == Long.MAX_VALUE ? "at least " + String.format("%,d", limits.minPixels())
                    : "between " + String.format("%,d", limits.minPixels()) + " and "
                    + String.format("%,d", limits.maxPixels())) + " pixels (was " + info.dimensions() + " = "
                    + String.format("%,d", pixels) + ")";
        } else if ((double) Math.max(info.width(), info.height()) / Math.min(info.width(), info.height())
                > limits.maxAspect()) {
            why = "an aspect ratio between 1:" + plain(limits.maxAspect()) + " and " + plain(limits.maxAspect())
                    + ":1 (was " + info.dimensions() + ")";
        }
        if (why != null) {
            throw new BadRequestException("Invalid file '" + param + "': model '" + spec.id() + "' takes images of "
                    + why + ".", "invalid_image_dimensions", param);
        }
    }

    private static ImageInfo inspectMask(RawImage raw, ModelSpec spec, ImageInfo first, List<String> warnings) {
        MaskRule rule = spec.mask();
        checkBytes(raw, spec, rule.maxBytes());
        ImageInfo info = inspect(raw, spec);
        String param = raw.param();
        if (rule.pngOnly() && info.format() != ImageFormat.PNG) {
            throw new BadRequestException("Invalid file '" + param + "': the mask must be a png (was "
                    + info.format().wireName() + ").", "invalid_image_format", param);
        }
        if (rule.alphaRequired() && !info.hasAlpha()) {
            throw new BadRequestException("Invalid file '" + param + "': the mask must have an alpha channel "
                    + "(fully transparent pixels mark the area to edit).", "invalid_image_format", param);
        }
        if (rule.sameDimensions() && (info.width() != first.width() || info.height() != first.height())) {
            throw new BadRequestException("Invalid file '" + param + "': the mask is " + info.dimensions()
                    + " but the first image is " + first.dimensions() + "; they must have the same dimensions.",
                    "invalid_image_dimensions", param);
        }
        if (info.format() == ImageFormat.PNG && info.hasAlpha()
                && (long) info.width() * info.height() <= MAX_DECODED_MASK_PIXELS) {
            boolean transparent;
            try {
                transparent = ImageInspector.hasTransparentPixel(raw.blob());
            } catch (ImageInspectionException e) {
                throw new BadRequestException("Invalid image file '" + param + "': " + e.getMessage() + ".",
                        "invalid_image_file", param);
            }
            if (!transparent) {
                warnings.add("the mask has no fully transparent pixel, so the edit may change nothing");
            }
        }
        return info;
    }

    private static void checkBytes(RawImage raw, ModelSpec spec, long max) {
        long size = raw.blob().size();
        if (size >= max) {
            throw new BadRequestException("Invalid file '" + raw.param() + "': " + size + " bytes (" + mb(size)
                    + ") is too large; model '" + spec.id() + "' accepts files smaller than " + max + " bytes ("
                    + mb(max) + ").", "image_too_large", raw.param());
        }
    }

    private static ImageInfo inspect(RawImage raw, ModelSpec spec) {
        String param = raw.param();
        ImageInfo info;
        try {
            info = ImageInspector.inspect(raw.blob());
        } catch (ImageInspectionException e) {
            if (e.reason() == ImageInspectionException.Reason.UNKNOWN_FORMAT) {
                String what = e.detectedFormat().map(f -> "unsupported image format '" + f + "'")
                        .orElse("unknown image format");
                throw new BadRequestException("Invalid file '" + param + "': " + what + ". Supported formats are "
                        + supportedFormats(spec) + ".", "invalid_image_format", param);
            }
            throw new BadRequestException("Invalid image file '" + param + "': " + e.getMessage() + ".",
                    "invalid_image_file", param);
        }
        if (!spec.inputFormats().contains(info.format())) {
            throw new BadRequestException("Invalid file '" + param + "': unsupported image format '"
                    + info.format().wireName() + "'. Supported formats are " + supportedFormats(spec) + ".",
                    "invalid_image_format", param);
        }
        return info;
    }

    private static String supportedFormats(ModelSpec spec) {
        List<String> names = new ArrayList<>();
        for (ImageFormat f : ImageFormat.values()) {
            if (spec.inputFormats().contains(f)) {
                names.add("'" + f.wireName() + "'");
            }
        }
        return joinOxford(names);
    }

    private static String mb(long bytes) {
        BigDecimal mb = BigDecimal.valueOf(bytes).divide(BigDecimal.valueOf(1024L * 1024L), 1, RoundingMode.HALF_UP);
        return mb.stripTrailingZeros().toPlainString() + " MB";
    }

    /**
     * The file name to send: the client's base name with the detected format's extension, or
     * {@code fallback} plus that extension when the client gave none.
     */
    static String fileName(String clientName, ImageFormat format, String fallback) {
        String base = "";
        if (clientName != null) {
            base = clientName.substring(Math.max(clientName.lastIndexOf('/'), clientName.lastIndexOf('\\')) + 1);
            int dot = base.lastIndexOf('.');
            if (dot >= 0) {
                base = base.substring(0, dot);
            }
            // the name ends up in a multipart header: no quotes or control characters
            base = base.replaceAll("[\\p{Cntrl}\"]", "_").strip();
        }
        if (base.isEmpty()) {
            base = fallback;
        }
        return base + "." + format.extension();
    }
}
