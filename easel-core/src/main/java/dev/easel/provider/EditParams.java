package dev.easel.provider;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The parameters of one edit call, typed: what OpenAI's edit API defines as fields of their own type, and every
 * other field the client sent as {@link #extras()} (JSON values, passed through). Built by validation; an adapter
 * reads the fields it maps and forwards the extras its wire format can carry. Immutable.
 *
 * <p>A value of a known field that Easel cannot type (a {@code quality} of {@code ultra} sent to a model the
 * catalogue does not know, and so passes through unchecked) travels in {@link #extras()} under its wire name.
 */
public final class EditParams {

    /** No parameters. */
    public static final EditParams NONE = builder().build();

    /** OpenAI's {@code quality}. */
    public enum Quality {
        LOW, MEDIUM, HIGH, XHIGH, MAX, AUTO, STANDARD;

        /** The wire name ({@code low}, …). */
        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** OpenAI's {@code background}. */
    public enum Background {
        TRANSPARENT, OPAQUE, AUTO;

        /** The wire name. */
        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** OpenAI's {@code output_format}. */
    public enum OutputFormat {
        PNG, JPEG, WEBP, GIF, SVG;

        /** The wire name. */
        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** OpenAI's {@code input_fidelity}. */
    public enum InputFidelity {
        HIGH, LOW;

        /** The wire name. */
        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** OpenAI's {@code response_format}. */
    public enum ResponseFormat {
        URL, B64_JSON;

        /** The wire name ({@code url}, {@code b64_json}). */
        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** OpenAI's {@code moderation}. */
    public enum Moderation {
        LOW, AUTO;

        /** The wire name. */
        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The enum constant whose wire name is {@code wire}, if any. */
    public static <E extends Enum<E>> Optional<E> parse(Class<E> type, String wire) {
        for (E e : type.getEnumConstants()) {
            if (e.name().toLowerCase(Locale.ROOT).equals(wire)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /**
     * The requested size: {@code auto}, pixels ({@code 1024x1536}), or, once adapted to a model that takes aspect
     * ratios and resolution tiers (Gemini), a ratio and a tier.
     */
    public sealed interface Size permits Size.Auto, Size.Pixels, Size.Aspect {

        /** The provider's default size. */
        Size AUTO = new Auto();

        /** OpenAI's wire form: {@code auto}, {@code 1024x1536}, or {@code 16:9} (plus {@code @2K}) when adapted. */
        String wire();

        /** {@code auto}. */
        record Auto() implements Size {
            @Override
            public String wire() {
                return "auto";
            }
        }

        /** {@code WIDTHxHEIGHT}. */
        record Pixels(int width, int height) implements Size {
            public Pixels {
                if (width < 1 || height < 1) {
                    throw new IllegalArgumentException("size must be positive (was " + width + "x" + height + ")");
                }
            }

            @Override
            public String wire() {
                return width + "x" + height;
            }

            /** Pixels in all. */
            public long pixels() {
                return (long) width * height;
            }
        }

        /**
         * An aspect ratio ({@code 16:9}) and, when the model has resolution tiers, one of them ({@code 2K}).
         */
        record Aspect(String ratio, Optional<String> tier) implements Size {
            public Aspect {
                Objects.requireNonNull(ratio, "ratio");
                Objects.requireNonNull(tier, "tier");
            }

            @Override
            public String wire() {
                return ratio + tier.map(t -> "@" + t).orElse("");
            }
        }

        /** {@code auto} or {@code WIDTHxHEIGHT}; empty for anything else. */
        static Optional<Size> parse(String s) {
            if (s.equals("auto")) {
                return Optional.of(AUTO);
            }
            int x = s.indexOf('x');
            if (x <= 0 || x == s.length() - 1 || s.length() > 13) {
                return Optional.empty();
            }
            try {
                int w = Integer.parseInt(s.substring(0, x));
                int h = Integer.parseInt(s.substring(x + 1));
                return w > 0 && h > 0 && s.equals(w + "x" + h) ? Optional.of(new Pixels(w, h)) : Optional.empty();
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
    }

    private final Integer n;
    private final Size size;
    private final Quality quality;
    private final Background background;
    private final OutputFormat outputFormat;
    private final Integer outputCompression;
    private final InputFidelity inputFidelity;
    private final ResponseFormat responseFormat;
    private final Integer partialImages;
    private final Moderation moderation;
    private final String user;
    private final String safetyIdentifier;
    private final Map<String, JsonNode> extras;

    private EditParams(Builder b) {
        this.n = b.n;
        this.size = b.size;
        this.quality = b.quality;
        this.background = b.background;
        this.outputFormat = b.outputFormat;
        this.outputCompression = b.outputCompression;
        this.inputFidelity = b.inputFidelity;
        this.responseFormat = b.responseFormat;
        this.partialImages = b.partialImages;
        this.moderation = b.moderation;
        this.user = b.user;
        this.safetyIdentifier = b.safetyIdentifier;
        this.extras = Collections.unmodifiableMap(new LinkedHashMap<>(b.extras));
    }

    /** A builder with nothing set. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these parameters. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.n = n;
        b.size = size;
        b.quality = quality;
        b.background = background;
        b.outputFormat = outputFormat;
        b.outputCompression = outputCompression;
        b.inputFidelity = inputFidelity;
        b.responseFormat = responseFormat;
        b.partialImages = partialImages;
        b.moderation = moderation;
        b.user = user;
        b.safetyIdentifier = safetyIdentifier;
        b.extras.putAll(extras);
        return b;
    }

    /** {@code n}: images wanted from this call. */
    public OptionalInt n() {
        return n == null ? OptionalInt.empty() : OptionalInt.of(n);
    }

    /** {@code size}. */
    public Optional<Size> size() {
        return Optional.ofNullable(size);
    }

    /** {@code quality}. */
    public Optional<Quality> quality() {
        return Optional.ofNullable(quality);
    }

    /** {@code background}. */
    public Optional<Background> background() {
        return Optional.ofNullable(background);
    }

    /** {@code output_format}. */
    public Optional<OutputFormat> outputFormat() {
        return Optional.ofNullable(outputFormat);
    }

    /** {@code output_compression} (0..100). */
    public OptionalInt outputCompression() {
        return outputCompression == null ? OptionalInt.empty() : OptionalInt.of(outputCompression);
    }

    /** {@code input_fidelity}. */
    public Optional<InputFidelity> inputFidelity() {
        return Optional.ofNullable(inputFidelity);
    }

    /** {@code response_format}. */
    public Optional<ResponseFormat> responseFormat() {
        return Optional.ofNullable(responseFormat);
    }

    /** {@code partial_images} (streaming). */
    public OptionalInt partialImages() {
        return partialImages == null ? OptionalInt.empty() : OptionalInt.of(partialImages);
    }

    /** {@code moderation}. */
    public Optional<Moderation> moderation() {
        return Optional.ofNullable(moderation);
    }

    /** {@code user}: the end user's id. */
    public Optional<String> user() {
        return Optional.ofNullable(user);
    }

    /** {@code safety_identifier}. */
    public Optional<String> safetyIdentifier() {
        return Optional.ofNullable(safetyIdentifier);
    }

    /**
     * Every other field, by wire name, in the order given: strings from a multipart form, JSON values (numbers,
     * booleans, objects, arrays) from a JSON body, nested values kept as JSON.
     */
    public Map<String, JsonNode> extras() {
        return extras;
    }

    /** A copy without the field named {@code wireName} (typed or extra). */
    public EditParams without(String wireName) {
        Builder b = toBuilder();
        switch (wireName) {
            case "n" -> b.n = null;
            case "size" -> b.size = null;
            case "quality" -> b.quality = null;
            case "background" -> b.background = null;
            case "output_format" -> b.outputFormat = null;
            case "output_compression" -> b.outputCompression = null;
            case "input_fidelity" -> b.inputFidelity = null;
            case "response_format" -> b.responseFormat = null;
            case "partial_images" -> b.partialImages = null;
            case "moderation" -> b.moderation = null;
            case "user" -> b.user = null;
            case "safety_identifier" -> b.safetyIdentifier = null;
            default -> {
                // an extra
            }
        }
        b.extras.remove(wireName);
        return b.build();
    }

    /** Whether the field named {@code wireName} is set (typed or extra). */
    public boolean has(String wireName) {
        return formFields().keySet().stream().anyMatch(k -> k.equals(wireName) || k.startsWith(wireName + "["))
                || extras.containsKey(wireName);
    }

    /**
     * The parameters as multipart form fields, in a stable order: the typed ones in OpenAI's order ({@code n},
     * {@code size}, {@code quality}, {@code background}, {@code output_format}, {@code output_compression},
     * {@code input_fidelity}, {@code response_format}, {@code partial_images}, {@code moderation}, {@code user},
     * {@code safety_identifier}), then the extras in the order given, nested ones flattened ({@code a[b]},
     * {@code a[0]}), decimals written plainly ({@code 2.5}, never {@code 2.50} or {@code 2.5E0}), nulls left out.
     */
    public Map<String, String> formFields() {
        Map<String, String> typed = new LinkedHashMap<>();
        if (n != null) {
            typed.put("n", Integer.toString(n));
        }
        if (size != null) {
            typed.put("size", size.wire());
        }
        if (quality != null) {
            typed.put("quality", quality.wire());
        }
        if (background != null) {
            typed.put("background", background.wire());
        }
        if (outputFormat != null) {
            typed.put("output_format", outputFormat.wire());
        }
        if (outputCompression != null) {
            typed.put("output_compression", Integer.toString(outputCompression));
        }
        if (inputFidelity != null) {
            typed.put("input_fidelity", inputFidelity.wire());
        }
        if (responseFormat != null) {
            typed.put("response_format", responseFormat.wire());
        }
        if (partialImages != null) {
            typed.put("partial_images", Integer.toString(partialImages));
        }
        if (moderation != null) {
            typed.put("moderation", moderation.wire());
        }
        if (user != null) {
            typed.put("user", user);
        }
        if (safetyIdentifier != null) {
            typed.put("safety_identifier", safetyIdentifier);
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String known : KNOWN) {
            // a known field's untyped value (an extra) keeps the known field's place
            if (typed.containsKey(known)) {
                out.put(known, typed.get(known));
            } else if (extras.containsKey(known)) {
                flatten(known, extras.get(known), out);
            }
        }
        extras.forEach((k, v) -> {
            if (!KNOWN.contains(k)) {
                flatten(k, v, out);
            }
        });
        return out;
    }

    /** The typed fields' wire names, in OpenAI's order. */
    private static final java.util.List<String> KNOWN = java.util.List.of("n", "size", "quality", "background",
            "output_format", "output_compression", "input_fidelity", "response_format", "partial_images", "moderation",
            "user", "safety_identifier");

    private static void flatten(String key, JsonNode v, Map<String, String> out) {
        if (v == null || v.isNull() || v.isMissingNode()) {
            return;
        }
        if (v.isObject()) {
            v.properties().forEach(e -> flatten(key + "[" + e.getKey() + "]", e.getValue(), out));
        } else if (v.isArray()) {
            for (int i = 0; i < v.size(); i++) {
                flatten(key + "[" + i + "]", v.get(i), out);
            }
        } else {
            out.put(key, text(v));
        }
    }

    /** A scalar's form-field text: strings as they are, decimals plain. */
    public static String text(JsonNode v) {
        if (v.isTextual()) {
            return v.textValue();
        }
        if (v.isFloatingPointNumber()) {
            try {
                BigDecimal d = v.decimalValue();
                return d.stripTrailingZeros().toPlainString();
            } catch (NumberFormatException e) {
                return v.asText(); // NaN, Infinity
            }
        }
        return v.asText();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EditParams p && formFields().equals(p.formFields()) && extras.equals(p.extras);
    }

    @Override
    public int hashCode() {
        return formFields().hashCode();
    }

    @Override
    public String toString() {
        return "EditParams" + formFields();
    }

    /** Builder for {@link EditParams}. */
    public static final class Builder {
        private Integer n;
        private Size size;
        private Quality quality;
        private Background background;
        private OutputFormat outputFormat;
        private Integer outputCompression;
        private InputFidelity inputFidelity;
        private ResponseFormat responseFormat;
        private Integer partialImages;
        private Moderation moderation;
        private String user;
        private String safetyIdentifier;
        private final Map<String, JsonNode> extras = new LinkedHashMap<>();

        private Builder() {
        }

        /** {@code n}, at least 1. */
        public Builder n(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("n must be at least 1 (was " + n + ")");
            }
            this.n = n;
            return this;
        }

        /** {@code size}. */
        public Builder size(Size size) {
            this.size = Objects.requireNonNull(size, "size");
            return this;
        }

        /** {@code quality}. */
        public Builder quality(Quality quality) {
            this.quality = Objects.requireNonNull(quality, "quality");
            return this;
        }

        /** {@code background}. */
        public Builder background(Background background) {
            this.background = Objects.requireNonNull(background, "background");
            return this;
        }

        /** {@code output_format}. */
        public Builder outputFormat(OutputFormat format) {
            this.outputFormat = Objects.requireNonNull(format, "format");
            return this;
        }

        /** {@code output_compression}, 0..100. */
        public Builder outputCompression(int compression) {
            if (compression < 0 || compression > 100) {
                throw new IllegalArgumentException("output_compression must be between 0 and 100 (was "
                        + compression + ")");
            }
            this.outputCompression = compression;
            return this;
        }

        /** {@code input_fidelity}. */
        public Builder inputFidelity(InputFidelity fidelity) {
            this.inputFidelity = Objects.requireNonNull(fidelity, "fidelity");
            return this;
        }

        /** {@code response_format}. */
        public Builder responseFormat(ResponseFormat format) {
            this.responseFormat = Objects.requireNonNull(format, "format");
            return this;
        }

        /** {@code partial_images}, 0 or more. */
        public Builder partialImages(int partials) {
            if (partials < 0) {
                throw new IllegalArgumentException("partial_images must be 0 or more (was " + partials + ")");
            }
            this.partialImages = partials;
            return this;
        }

        /** {@code moderation}. */
        public Builder moderation(Moderation moderation) {
            this.moderation = Objects.requireNonNull(moderation, "moderation");
            return this;
        }

        /** {@code user}. */
        public Builder user(String user) {
            this.user = Objects.requireNonNull(user, "user");
            return this;
        }

        /** {@code safety_identifier}. */
        public Builder safetyIdentifier(String id) {
            this.safetyIdentifier = Objects.requireNonNull(id, "id");
            return this;
        }

        /** Adds (or replaces) an extra field. */
        public Builder extra(String wireName, JsonNode value) {
            extras.put(Objects.requireNonNull(wireName, "wireName"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** The parameters. */
        public EditParams build() {
            return new EditParams(this);
        }
    }
}
