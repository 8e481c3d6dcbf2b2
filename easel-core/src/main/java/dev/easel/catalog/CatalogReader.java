package dev.easel.catalog;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.catalog.ModelSpec.Lifecycle;
import dev.easel.catalog.ModelSpec.MaskRule;
import dev.easel.catalog.ModelSpec.ParamRule;
import dev.easel.catalog.ModelSpec.Pricing;
import dev.easel.catalog.ModelSpec.SizeRule;
import dev.easel.image.ImageFormat;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns the {@code models.json} tree into {@link ModelSpec}s. Strict: unknown keys are errors (keys
 * starting with {@code _} are comments), and every error names its JSON path.
 */
final class CatalogReader {

    private static final Set<String> MODEL_KEYS = Set.of("id", "extends", "aliases", "provider", "input_formats",
            "max_image_bytes", "max_images", "square_only", "mask", "prompt_max_length", "n", "sizes", "params",
            "streaming", "pricing", "lifecycle", "images_per_call", "output", "mode");
    /** Keys a model does not take over from the model it {@code extends}: they are facts of one model. */
    private static final Set<String> NOT_INHERITED = Set.of("id", "extends", "aliases", "pricing", "lifecycle");

    /** Parameters whose values are typed in {@link dev.easel.provider.EditParams}: listed values must be theirs. */
    private static final Map<String, Class<? extends Enum<?>>> TYPED = Map.of(
            "quality", dev.easel.provider.EditParams.Quality.class,
            "background", dev.easel.provider.EditParams.Background.class,
            "output_format", dev.easel.provider.EditParams.OutputFormat.class,
            "input_fidelity", dev.easel.provider.EditParams.InputFidelity.class,
            "response_format", dev.easel.provider.EditParams.ResponseFormat.class,
            "moderation", dev.easel.provider.EditParams.Moderation.class);

    private CatalogReader() {
    }

    static List<ModelSpec> read(JsonNode root) {
        return read(List.of(new Source("", root, null)));
    }

    /**
     * One catalogue file.
     *
     * @param label    where it comes from, put before error paths (empty for the bundled file)
     * @param root     its JSON
     * @param provider the provider every model in it must name, or null for any
     */
    record Source(String label, JsonNode root, String provider) {
    }

    /** Reads several files as one list: later files may extend models of earlier ones; ids are unique in all. */
    static List<ModelSpec> read(List<Source> sources) {
        Map<String, ObjectNode> merged = new HashMap<>();
        Set<String> taken = new HashSet<>();
        List<ModelSpec> out = new ArrayList<>();
        for (Source source : sources) {
            String at = source.label().isEmpty() ? "" : source.label() + ": ";
            JsonNode root = source.root();
            if (root == null || !root.isObject()) {
                throw error(at, "expected a json object with a 'models' array");
            }
            checkKeys(root, at, Set.of("models"));
            JsonNode models = root.get("models");
            if (models == null || !models.isArray()) {
                throw error(at + "models", "expected an array");
            }
            for (int i = 0; i < models.size(); i++) {
                JsonNode raw = models.get(i);
                String path = at + "models[" + i + "]";
                if (!raw.isObject()) {
                    throw error(path, "expected an object");
                }
                String id = text(raw, path, "id");
                path = path + " (" + id + ")";
                checkKeys(raw, path, MODEL_KEYS);
                ObjectNode node = inherit((ObjectNode) raw, merged, path);
                ModelSpec spec = model(node, path);
                if (source.provider() != null && !spec.provider().equals(source.provider())) {
                    throw error(path + ".provider", "expected '" + source.provider() + "', the provider whose "
                            + "catalogue this is (was '" + spec.provider() + "')");
                }
                for (String name : concat(spec.id(), spec.aliases())) {
                    if (!taken.add(name)) {
                        throw error(path, "id or alias '" + name + "' is already used by an earlier model");
                    }
                }
                merged.put(id, node);
                out.add(spec);
            }
        }
        return out;
    }

    private static List<String> concat(String id, List<String> aliases) {
        List<String> all = new ArrayList<>();
        all.add(id);
        all.addAll(aliases);
        return all;
    }

    private static ObjectNode inherit(ObjectNode raw, Map<String, ObjectNode> earlier, String path) {
        JsonNode ext = raw.get("extends");
        if (ext == null) {
            return raw;
        }
        if (!ext.isTextual()) {
            throw error(path + ".extends", "expected a string");
        }
        ObjectNode parent = earlier.get(ext.asText());
        if (parent == null) {
            throw error(path + ".extends", "unknown model '" + ext.asText() + "' (it must appear earlier in the list)");
        }
        ObjectNode node = parent.deepCopy();
        NOT_INHERITED.forEach(node::remove);
        for (Map.Entry<String, JsonNode> e : raw.properties()) {
            if (e.getKey().equals("params") && e.getValue().isObject() && node.get("params") instanceof ObjectNode params) {
                ObjectNode mergedParams = params.deepCopy();
                e.getValue().properties().forEach(p -> {
                    if (p.getValue().isNull()) {
                        mergedParams.remove(p.getKey()); // "name": null removes an inherited parameter
                    } else {
                        mergedParams.set(p.getKey(), p.getValue());
                    }
                });
                node.set("params", mergedParams);
            } else {
                node.set(e.getKey(), e.getValue());
            }
        }
        node.remove("extends");
        return node;
    }

    private static ModelSpec model(JsonNode n, String path) {
        String id = text(n, path, "id");
        List<String> aliases = strings(n, path, "aliases", true);
        String provider = text(n, path, "provider");
        Set<ImageFormat> formats = EnumSet.noneOf(ImageFormat.class);
        List<String> formatNames = strings(n, path, "input_formats", false);
        for (int i = 0; i < formatNames.size(); i++) {
            String f = formatNames.get(i);
            formats.add(ImageFormat.fromName(f).orElseThrow(
                    () -> error(path + ".input_formats", "unknown format '" + f + "' (expected png, jpeg or webp)")));
        }
        if (formats.isEmpty()) {
            throw error(path + ".input_formats", "must not be empty");
        }
        long maxBytes = positiveLong(n, path, "max_image_bytes");
        int maxImages = (int) positiveLong(n, path, "max_images");
        boolean squareOnly = bool(n, path, "square_only", false);
        MaskRule mask = mask(object(n, path, "mask"), path + ".mask");
        int promptMax = (int) positiveLong(n, path, "prompt_max_length");
        JsonNode nn = object(n, path, "n");
        checkKeys(nn, path + ".n", Set.of("min", "max"));
        int minN = (int) positiveLong(nn, path + ".n", "min");
        int maxN = (int) positiveLong(nn, path + ".n", "max");
        if (minN > maxN) {
            throw error(path + ".n", "min " + minN + " is greater than max " + maxN);
        }
        SizeRule sizes = sizes(object(n, path, "sizes"), path + ".sizes");
        Map<String, ParamRule> params = params(n.get("params"), path + ".params");
        boolean streaming = bool(n, path, "streaming", null);
        Optional<Pricing> pricing = n.has("pricing") ? Optional.of(pricing(object(n, path, "pricing"), path + ".pricing"))
                : Optional.empty();
        Lifecycle lifecycle = n.has("lifecycle") ? lifecycle(object(n, path, "lifecycle"), path + ".lifecycle")
                : new Lifecycle(Optional.empty(), Optional.empty(), Optional.empty());
        int perCall = n.has("images_per_call") ? (int) positiveLong(n, path, "images_per_call") : maxN;
        ModelSpec.Output output = choice(n, path, "output", ModelSpec.Output.class, ModelSpec.Output.INLINE);
        ModelSpec.Mode mode = choice(n, path, "mode", ModelSpec.Mode.class, ModelSpec.Mode.SYNC);
        return new ModelSpec(id, aliases, provider, true, formats, maxBytes, maxImages, squareOnly, mask, promptMax,
                minN, maxN, sizes, params, streaming, pricing, lifecycle, perCall, output, mode);
    }

    /** An enum given by its lowercase name, or {@code dflt} when absent. */
    private static <E extends Enum<E>> E choice(JsonNode n, String path, String key, Class<E> type, E dflt) {
        JsonNode v = n.get(key);
        if (v == null) {
            return dflt;
        }
        List<String> names = java.util.Arrays.stream(type.getEnumConstants())
                .map(e -> e.name().toLowerCase(java.util.Locale.ROOT)).toList();
        if (v.isTextual() && names.contains(v.asText())) {
            return type.getEnumConstants()[names.indexOf(v.asText())];
        }
        throw error(path + "." + key, "expected one of " + String.join(", ", names) + " (was " + v + ")");
    }

    private static MaskRule mask(JsonNode m, String path) {
        checkKeys(m, path, Set.of("supported", "max_bytes", "png_only", "alpha_required", "same_dimensions",
                "image_alpha_without_mask", "convention"));
        boolean supported = bool(m, path, "supported", null);
        ModelSpec.MaskConvention convention = choice(m, path, "convention", ModelSpec.MaskConvention.class,
                supported ? ModelSpec.MaskConvention.ALPHA_TRANSPARENT : ModelSpec.MaskConvention.NONE);
        if (supported == (convention == ModelSpec.MaskConvention.NONE)) {
            throw error(path + ".convention", supported ? "'none' contradicts supported: true"
                    : "a model without masks has convention 'none' (was '" + convention.wire() + "')");
        }
        if (!supported) {
            return new MaskRule(false, 0, false, false, false);
        }
        return new MaskRule(true, positiveLong(m, path, "max_bytes"), bool(m, path, "png_only", null),
                bool(m, path, "alpha_required", null), bool(m, path, "same_dimensions", null),
                bool(m, path, "image_alpha_without_mask", false), convention);
    }

    private static SizeRule sizes(JsonNode s, String path) {
        String type = text(s, path, "type");
        return switch (type) {
            case "fixed" -> {
                checkKeys(s, path, Set.of("type", "sizes", "auto"));
                List<String> list = strings(s, path, "sizes", false);
                for (String size : list) {
                    if (!size.matches("[1-9][0-9]*x[1-9][0-9]*")) {
                        throw error(path + ".sizes", "'" + size + "' is not of the form WIDTHxHEIGHT");
                    }
                }
                yield new SizeRule.Fixed(list, bool(s, path, "auto", null));
            }
            case "flexible" -> {
                checkKeys(s, path, Set.of("type", "multiple_of", "max_edge", "min_pixels", "max_pixels", "max_aspect",
                        "auto", "min_edge"));
                JsonNode aspect = s.get("max_aspect");
                if (aspect == null || !aspect.isNumber() || aspect.doubleValue() < 1) {
                    throw error(path + ".max_aspect", "expected a number of at least 1");
                }
                yield new SizeRule.Flexible((int) positiveLong(s, path, "multiple_of"), (int) positiveLong(s, path, "max_edge"),
                        positiveLong(s, path, "min_pixels"), positiveLong(s, path, "max_pixels"), aspect.doubleValue(),
                        bool(s, path, "auto", null), s.has("min_edge") ? (int) positiveLong(s, path, "min_edge") : 1);
            }
            case "aspect_ratios" -> {
                checkKeys(s, path, Set.of("type", "ratios", "tiers"));
                List<String> ratios = strings(s, path, "ratios", false);
                for (String r : ratios) {
                    if (!r.matches("[1-9][0-9]*:[1-9][0-9]*")) {
                        throw error(path + ".ratios", "'" + r + "' is not of the form W:H");
                    }
                }
                if (ratios.isEmpty()) {
                    throw error(path + ".ratios", "must not be empty");
                }
                Map<String, Integer> tiers = new LinkedHashMap<>();
                JsonNode t = s.get("tiers");
                if (t != null) {
                    if (!t.isObject()) {
                        throw error(path + ".tiers", "expected an object of tier name to long side in pixels");
                    }
                    int previous = 0;
                    for (Map.Entry<String, JsonNode> e : t.properties()) {
                        int side = (int) positiveLong(t, path + ".tiers", e.getKey());
                        if (side <= previous) {
                            throw error(path + ".tiers", "tiers must be listed smallest first ('" + e.getKey()
                                    + "' is " + side + ")");
                        }
                        previous = side;
                        tiers.put(e.getKey(), side);
                    }
                }
                yield new SizeRule.AspectRatios(ratios, tiers);
            }
            case "any" -> {
                checkKeys(s, path, Set.of("type"));
                yield new SizeRule.Any();
            }
            default -> throw error(path + ".type", "unknown size rule '" + type + "' (expected fixed, flexible, aspect_ratios or any)");
        };
    }

    private static Map<String, ParamRule> params(JsonNode p, String path) {
        if (p == null) {
            return Map.of();
        }
        if (!p.isObject()) {
            throw error(path, "expected an object");
        }
        Map<String, ParamRule> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : p.properties()) {
            String name = e.getKey();
            if (name.startsWith("_")) {
                continue;
            }
            String at = path + "." + name;
            JsonNode r = e.getValue();
            if (!r.isObject()) {
                throw error(at, "expected an object");
            }
            checkKeys(r, at, Set.of("values", "min", "max", "upstream"));
            List<String> values = strings(r, at, "values", true);
            Integer min = optionalInt(r, at, "min");
            Integer max = optionalInt(r, at, "max");
            if (!values.isEmpty() && (min != null || max != null)) {
                throw error(at, "a parameter has either values or min/max, not both");
            }
            if (min != null && max != null && min > max) {
                throw error(at, "min " + min + " is greater than max " + max);
            }
            Class<? extends Enum<?>> typed = TYPED.get(name);
            for (String v : values) {
                if (typed != null && java.util.Arrays.stream(typed.getEnumConstants())
                        .noneMatch(c -> c.name().toLowerCase(java.util.Locale.ROOT).equals(v))) {
                    throw error(at + ".values", "'" + v + "' is not a value of OpenAI's '" + name + "' (use an extra "
                            + "parameter for provider-specific values)");
                }
            }
            out.put(name, new ParamRule(name, values, min, max, bool(r, at, "upstream", true)));
        }
        return out;
    }

    private static Pricing pricing(JsonNode p, String path) {
        checkKeys(p, path, Set.of("text_input", "cached_text_input", "image_input", "cached_image_input",
                "image_output", "text_output", "per_image", "output_per_megapixel", "output_per_image",
                "output_first_megapixel", "output_extra_megapixel", "input_megapixel", "source"));
        Map<String, BigDecimal> perImage = new LinkedHashMap<>();
        JsonNode table = p.get("per_image");
        if (table != null) {
            if (!table.isObject()) {
                throw error(path + ".per_image", "expected an object");
            }
            for (Map.Entry<String, JsonNode> e : table.properties()) {
                if (e.getKey().startsWith("_")) {
                    continue;
                }
                if (!e.getKey().matches("[a-z]+\\|[1-9][0-9]*x[1-9][0-9]*")) {
                    throw error(path + ".per_image", "key '" + e.getKey() + "' is not of the form quality|WIDTHxHEIGHT");
                }
                perImage.put(e.getKey(), decimal(e.getValue(), path + ".per_image." + e.getKey()));
            }
        }
        Optional<BigDecimal> flat = optionalDecimal(p, path, "output_per_image");
        Optional<BigDecimal> perMegapixel = optionalDecimal(p, path, "output_per_megapixel");
        Optional<ModelSpec.MegapixelRates> tiers = Optional.empty();
        Optional<BigDecimal> first = optionalDecimal(p, path, "output_first_megapixel");
        if (first.isPresent()) {
            tiers = Optional.of(new ModelSpec.MegapixelRates(first.get(),
                    optionalDecimal(p, path, "output_extra_megapixel").orElse(BigDecimal.ZERO),
                    optionalDecimal(p, path, "input_megapixel").orElse(BigDecimal.ZERO)));
        } else if (p.has("output_extra_megapixel") || p.has("input_megapixel")) {
            throw error(path, "output_extra_megapixel and input_megapixel need output_first_megapixel");
        }
        int forms = (perImage.isEmpty() ? 0 : 1) + (flat.isPresent() ? 1 : 0) + (perMegapixel.isPresent() ? 1 : 0)
                + (tiers.isPresent() ? 1 : 0);
        if (forms > 1) {
            throw error(path, "give one per-image price form: per_image, output_per_image, output_per_megapixel or "
                    + "output_first_megapixel (with output_extra_megapixel, input_megapixel)");
        }
        return new Pricing(rate(p, path, "text_input"), rate(p, path, "cached_text_input"), rate(p, path, "image_input"),
                rate(p, path, "cached_image_input"), rate(p, path, "image_output"), rate(p, path, "text_output"),
                perImage, perMegapixel, flat, tiers, text(p, path, "source"));
    }

    private static Optional<BigDecimal> optionalDecimal(JsonNode p, String path, String key) {
        return Optional.ofNullable(p.get(key)).map(v -> decimal(v, path + "." + key));
    }

    /** A token rate per million; absent means the model does not bill those tokens. */
    private static BigDecimal rate(JsonNode p, String path, String key) {
        JsonNode v = p.get(key);
        return v == null ? BigDecimal.ZERO : decimal(v, path + "." + key);
    }

    private static BigDecimal decimal(JsonNode v, String path) {
        if (!v.isNumber() || v.decimalValue().signum() < 0) {
            throw error(path, "expected a non-negative number");
        }
        return v.decimalValue();
    }

    private static Lifecycle lifecycle(JsonNode l, String path) {
        checkKeys(l, path, Set.of("deprecated", "shutdown", "replacement"));
        JsonNode replacement = l.get("replacement");
        if (replacement != null && !replacement.isTextual()) {
            throw error(path + ".replacement", "expected a string");
        }
        return new Lifecycle(date(l, path, "deprecated"), date(l, path, "shutdown"),
                Optional.ofNullable(replacement).map(JsonNode::asText));
    }

    private static Optional<LocalDate> date(JsonNode n, String path, String key) {
        JsonNode v = n.get(key);
        if (v == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(LocalDate.parse(v.asText()));
        } catch (DateTimeParseException e) {
            throw error(path + "." + key, "expected a date yyyy-MM-dd (was '" + v.asText() + "')");
        }
    }

    // ---------------------------------------------------------------- primitives

    private static void checkKeys(JsonNode n, String path, Set<String> allowed) {
        n.fieldNames().forEachRemaining(k -> {
            if (!k.startsWith("_") && !allowed.contains(k)) {
                throw error(path, "unknown key '" + k + "'");
            }
        });
    }

    private static JsonNode object(JsonNode n, String path, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.isObject()) {
            throw error(path + "." + key, v == null ? "missing" : "expected an object");
        }
        return v;
    }

    private static String text(JsonNode n, String path, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            throw error(path + "." + key, v == null ? "missing" : "expected a non-empty string");
        }
        return v.asText();
    }

    private static List<String> strings(JsonNode n, String path, String key, boolean optional) {
        JsonNode v = n.get(key);
        if (v == null && optional) {
            return List.of();
        }
        if (v == null || !v.isArray()) {
            throw error(path + "." + key, v == null ? "missing" : "expected an array of strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                throw error(path + "." + key, "expected an array of strings");
            }
            out.add(e.asText());
        }
        return out;
    }

    private static long positiveLong(JsonNode n, String path, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.canConvertToLong() || !v.isIntegralNumber() || v.asLong() <= 0) {
            throw error(path + "." + key, v == null ? "missing" : "expected a positive integer");
        }
        if (!key.equals("max_image_bytes") && !key.endsWith("pixels") && !key.equals("max_bytes")
                && v.asLong() > Integer.MAX_VALUE) {
            throw error(path + "." + key, "expected an integer up to " + Integer.MAX_VALUE);
        }
        return v.asLong();
    }

    private static Integer optionalInt(JsonNode n, String path, String key) {
        JsonNode v = n.get(key);
        if (v == null) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw error(path + "." + key, "expected an integer");
        }
        return v.asInt();
    }

    private static boolean bool(JsonNode n, String path, String key, Boolean dflt) {
        JsonNode v = n.get(key);
        if (v == null && dflt != null) {
            return dflt;
        }
        if (v == null || !v.isBoolean()) {
            throw error(path + "." + key, v == null ? "missing" : "expected true or false");
        }
        return v.asBoolean();
    }

    private static IllegalArgumentException error(String path, String message) {
        String at = path.isEmpty() ? "" : path.endsWith(": ") ? path : path + ": ";
        return new IllegalArgumentException("model catalogue: " + at + message);
    }
}
