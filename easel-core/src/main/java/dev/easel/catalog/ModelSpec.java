package dev.easel.catalog;

import dev.easel.image.ImageFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What Easel knows about one image-edit model: who serves it, what it accepts, what it costs, and when
 * it goes away. Loaded from the bundled {@code models.json}; see {@link ModelCatalog}.
 *
 * @param id              canonical id, e.g. {@code gpt-image-1}
 * @param aliases         other ids for the same model (dated snapshots)
 * @param provider        default provider ({@code openai}, …)
 * @param known           false for the permissive stand-in used for ids the catalogue does not know
 * @param inputFormats    accepted image formats
 * @param maxImageBytes   largest accepted image, bytes (exclusive limit as OpenAI states "&lt; 50 MB")
 * @param maxImages       most images per request
 * @param squareOnly      whether input images must be square (dall-e-2)
 * @param mask            mask rules
 * @param promptMaxLength longest prompt in characters
 * @param minN            smallest {@code n}
 * @param maxN            largest {@code n}
 * @param sizes           which {@code size} values are accepted
 * @param params          optional parameters the model takes, by wire name ({@code quality}, …)
 * @param streaming       whether {@code stream=true} is supported
 * @param pricing         prices, if known
 * @param lifecycle       deprecation and shutdown
 * @param imagesPerCall   most images one provider call returns (OpenAI 10; Gemini, BFL, Stability 1): a larger
 *                        {@code n} is fanned out into parallel calls
 * @param output          how the provider returns images: inline base64, or expiring URLs Easel downloads
 * @param mode            one synchronous call, or a job that is submitted and polled
 * @param imageLimits     the dimensions each input image must have ({@link ImageLimits#NONE}: any)
 * @param strictParams    whether the model takes only the parameters in {@code params}: for a provider that
 *                        ignores fields it does not know (Stability), so that a field it would ignore is refused (or
 *                        dropped with {@code drop_params}) instead of silently lost
 * @param requiredParams  groups of parameters of which at least one must be given (with a value other than 0):
 *                        {@code [["search_prompt"]]} makes one parameter required
 */
public record ModelSpec(
        String id,
        List<String> aliases,
        String provider,
        boolean known,
        Set<ImageFormat> inputFormats,
        long maxImageBytes,
        int maxImages,
        boolean squareOnly,
        MaskRule mask,
        int promptMaxLength,
        int minN,
        int maxN,
        SizeRule sizes,
        Map<String, ParamRule> params,
        boolean streaming,
        Optional<Pricing> pricing,
        Lifecycle lifecycle,
        int imagesPerCall,
        Output output,
        Mode mode,
        ImageLimits imageLimits,
        boolean strictParams,
        List<List<String>> requiredParams) {

    public ModelSpec {
        aliases = List.copyOf(aliases);
        inputFormats = Set.copyOf(inputFormats);
        params = Map.copyOf(params);
        if (imagesPerCall < 1) {
            throw new IllegalArgumentException("imagesPerCall must be at least 1 (was " + imagesPerCall + ")");
        }
        java.util.Objects.requireNonNull(output, "output");
        java.util.Objects.requireNonNull(mode, "mode");
        java.util.Objects.requireNonNull(imageLimits, "imageLimits");
        requiredParams = requiredParams.stream().map(List::copyOf).toList();
    }

    /** A model without input dimension limits, strict parameters or required parameters. */
    public ModelSpec(String id, List<String> aliases, String provider, boolean known, Set<ImageFormat> inputFormats,
                     long maxImageBytes, int maxImages, boolean squareOnly, MaskRule mask, int promptMaxLength,
                     int minN, int maxN, SizeRule sizes, Map<String, ParamRule> params, boolean streaming,
                     Optional<Pricing> pricing, Lifecycle lifecycle, int imagesPerCall, Output output, Mode mode) {
        this(id, aliases, provider, known, inputFormats, maxImageBytes, maxImages, squareOnly, mask, promptMaxLength,
                minN, maxN, sizes, params, streaming, pricing, lifecycle, imagesPerCall, output, mode, ImageLimits.NONE,
                false, List.of());
    }

    /** A synchronous model with inline output that returns up to {@code maxN} images per call (OpenAI's kind). */
    public ModelSpec(String id, List<String> aliases, String provider, boolean known, Set<ImageFormat> inputFormats,
                     long maxImageBytes, int maxImages, boolean squareOnly, MaskRule mask, int promptMaxLength,
                     int minN, int maxN, SizeRule sizes, Map<String, ParamRule> params, boolean streaming,
                     Optional<Pricing> pricing, Lifecycle lifecycle) {
        this(id, aliases, provider, known, inputFormats, maxImageBytes, maxImages, squareOnly, mask, promptMaxLength,
                minN, maxN, sizes, params, streaming, pricing, lifecycle, maxN, Output.INLINE, Mode.SYNC);
    }

    /** A copy with other aliases. */
    public ModelSpec withAliases(List<String> newAliases) {
        return new ModelSpec(id, newAliases, provider, known, inputFormats, maxImageBytes, maxImages, squareOnly, mask,
                promptMaxLength, minN, maxN, sizes, params, streaming, pricing, lifecycle, imagesPerCall, output, mode,
                imageLimits, strictParams, requiredParams);
    }

    /** A copy with other parameter rules. */
    public ModelSpec withParams(Map<String, ParamRule> newParams) {
        return new ModelSpec(id, aliases, provider, known, inputFormats, maxImageBytes, maxImages, squareOnly, mask,
                promptMaxLength, minN, maxN, sizes, newParams, streaming, pricing, lifecycle, imagesPerCall, output,
                mode, imageLimits, strictParams, requiredParams);
    }

    /**
     * The dimensions every input image must have (Stability: each side at least 64 px, 4,096 to 9,437,184 pixels,
     * an aspect ratio within 1:2.5 and 2.5:1), checked before anything is sent.
     *
     * @param minEdge   shortest side at least this
     * @param minPixels width × height at least this
     * @param maxPixels width × height at most this
     * @param maxAspect long side / short side at most this (2.5 means 2.5:1)
     */
    public record ImageLimits(int minEdge, long minPixels, long maxPixels, double maxAspect) {

        /** No limits. */
        public static final ImageLimits NONE = new ImageLimits(1, 1, Long.MAX_VALUE, Double.POSITIVE_INFINITY);

        public ImageLimits {
            if (minEdge < 1 || minPixels < 1 || maxPixels < minPixels || !(maxAspect >= 1)) {
                throw new IllegalArgumentException("image limits need min_edge >= 1, 1 <= min_pixels <= max_pixels and "
                        + "max_aspect >= 1 (were " + minEdge + ", " + minPixels + ", " + maxPixels + ", " + maxAspect
                        + ")");
            }
        }
    }

    /** How a provider returns images. */
    public enum Output {
        /** Base64 in the answer. */
        INLINE,
        /** URLs that expire: Easel downloads them at once. */
        URL
    }

    /** How a provider runs an edit. */
    public enum Mode {
        /** One HTTP call answers with the images. */
        SYNC,
        /** The edit is submitted, then polled until it is done ({@code dev.easel.provider.JobRunner}). */
        JOB
    }

    /**
     * Which pixels of a mask mark the area to edit. OpenAI's clients send {@link #ALPHA_TRANSPARENT}; Easel
     * converts the mask once per request to the model's convention.
     */
    public enum MaskConvention {
        /** A PNG with alpha; fully transparent pixels are edited (OpenAI, Azure OpenAI). */
        ALPHA_TRANSPARENT,
        /** A binary grayscale mask; white (255) is edited (Stability inpaint, BFL Fill). */
        WHITE_ON_BLACK,
        /** A binary grayscale mask; black (0) is edited (Nova Canvas / Titan inpainting). */
        BLACK_ON_WHITE,
        /** The model takes no mask. */
        NONE;

        /** The catalogue's name ({@code alpha_transparent}, …). */
        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The rule for a parameter, if the model takes it. */
    public Optional<ParamRule> param(String wireName) {
        return Optional.ofNullable(params.get(wireName));
    }

    /**
     * Mask rules.
     *
     * @param supported     whether a mask may be sent at all
     * @param maxBytes      largest mask in bytes
     * @param pngOnly       mask must be PNG
     * @param alphaRequired mask must have an alpha channel
     * @param sameDimensions mask must match the first image's dimensions
     * @param imageAlphaWithoutMask without a mask the provider uses the first image's own transparency as the
     *                      mask, so that image must carry alpha (dall-e-2)
     * @param convention    which pixels the provider edits ({@link MaskConvention#NONE} exactly when not supported);
     *                      the rules above are for the mask the client sends (OpenAI's alpha mask)
     */
    public record MaskRule(boolean supported, long maxBytes, boolean pngOnly, boolean alphaRequired,
                           boolean sameDimensions, boolean imageAlphaWithoutMask, MaskConvention convention) {

        public MaskRule {
            java.util.Objects.requireNonNull(convention, "convention");
            if (supported == (convention == MaskConvention.NONE)) {
                throw new IllegalArgumentException("a mask rule's convention is 'none' exactly when masks are not "
                        + "supported (was supported=" + supported + ", convention " + convention.wire() + ")");
            }
        }

        /** An OpenAI-style rule (alpha-transparent masks when supported). */
        public MaskRule(boolean supported, long maxBytes, boolean pngOnly, boolean alphaRequired,
                        boolean sameDimensions, boolean imageAlphaWithoutMask) {
            this(supported, maxBytes, pngOnly, alphaRequired, sameDimensions, imageAlphaWithoutMask,
                    supported ? MaskConvention.ALPHA_TRANSPARENT : MaskConvention.NONE);
        }

        /** A rule where a request without a mask needs nothing of the image. */
        public MaskRule(boolean supported, long maxBytes, boolean pngOnly, boolean alphaRequired,
                        boolean sameDimensions) {
            this(supported, maxBytes, pngOnly, alphaRequired, sameDimensions, false);
        }
    }

    /**
     * A parameter the model takes.
     *
     * @param name     wire name
     * @param values   allowed string values; empty = any string (or a number, see min/max and decimal)
     * @param min      smallest value of a number, or null
     * @param max      largest value of a number, or null
     * @param decimal  whether the number may have decimals ({@code creativity} 0..1); else it is an integer when
     *                 bounded
     * @param upstream whether it is sent to the provider; false for parameters Easel itself honours
     *                 (e.g. {@code response_format} on GPT image models, which only return base64)
     */
    public record ParamRule(String name, List<String> values, java.math.BigDecimal min, java.math.BigDecimal max,
                            boolean decimal, boolean upstream) {
        public ParamRule {
            values = List.copyOf(values);
            min = plain(min);
            max = plain(max);
            if (decimal && !values.isEmpty()) {
                throw new IllegalArgumentException("parameter '" + name + "' is a decimal number and has values");
            }
        }

        /** A string rule ({@code values}, empty for any) or an integer one ({@code min}/{@code max}). */
        public ParamRule(String name, List<String> values, Integer min, Integer max, boolean upstream) {
            this(name, values, min == null ? null : java.math.BigDecimal.valueOf(min),
                    max == null ? null : java.math.BigDecimal.valueOf(max), false, upstream);
        }

        /** Whether the rule is for an integer parameter. */
        public boolean integer() {
            return !decimal && (min != null || max != null);
        }

        /** This rule, sent to the provider or not. */
        public ParamRule withUpstream(boolean send) {
            return new ParamRule(name, values, min, max, decimal, send);
        }

        /** Bounds compare by value: {@code 1}, {@code 1.0} and {@code 1E+0} are one bound. */
        private static java.math.BigDecimal plain(java.math.BigDecimal d) {
            if (d == null) {
                return null;
            }
            java.math.BigDecimal s = d.stripTrailingZeros();
            return s.scale() < 0 ? s.setScale(0) : s;
        }
    }

    /** Accepted {@code size} values. */
    public sealed interface SizeRule permits SizeRule.Fixed, SizeRule.Flexible, SizeRule.AspectRatios, SizeRule.Any,
            SizeRule.FromInput {

        /**
         * A fixed list of sizes (e.g. {@code 1024x1024}), plus {@code auto} when allowed.
         */
        record Fixed(List<String> sizes, boolean auto) implements SizeRule {
            public Fixed {
                sizes = List.copyOf(sizes);
            }
        }

        /**
         * Any {@code WxH} within bounds (gpt-image-2 and later), plus {@code auto} when allowed.
         *
         * @param multipleOf both sides divisible by this
         * @param maxEdge    longest side at most this
         * @param minPixels  W×H at least this
         * @param maxPixels  W×H at most this
         * @param maxAspect  long side / short side at most this (3 means 3:1)
         * @param minEdge    shortest side at least this
         */
        record Flexible(int multipleOf, int maxEdge, long minPixels, long maxPixels, double maxAspect,
                        boolean auto, int minEdge) implements SizeRule {

            /** Rules without a smallest side. */
            public Flexible(int multipleOf, int maxEdge, long minPixels, long maxPixels, double maxAspect,
                            boolean auto) {
                this(multipleOf, maxEdge, minPixels, maxPixels, maxAspect, auto, 1);
            }
        }

        /**
         * Aspect ratios and resolution tiers instead of pixels (Gemini's {@code imageConfig}): a request's
         * {@code WxH} is mapped to the nearest ratio and the smallest tier that covers its long side (see
         * docs/providers.md); {@code auto} keeps the provider's default.
         *
         * @param ratios {@code W:H} ratios, e.g. {@code 1:1}, {@code 16:9}
         * @param tiers  resolution tiers by name ({@code 1K}) with the long side they give in pixels, in any order
         *               (catalogs list them smallest first); empty when the model has one resolution
         */
        record AspectRatios(List<String> ratios, Map<String, Integer> tiers) implements SizeRule {
            public AspectRatios {
                ratios = List.copyOf(ratios);
                tiers = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(tiers));
                if (ratios.isEmpty()) {
                    throw new IllegalArgumentException("an aspect-ratio size rule needs at least one ratio");
                }
            }
        }

        /** Anything of the form {@code WxH} or {@code auto} (unknown models). */
        record Any() implements SizeRule {
        }

        /**
         * No size to choose: the output's size follows from the input (Stability's edits keep it; outpaint adds its
         * margins). Only {@code auto} is taken; another size is a parameter the model does not support (a 400
         * {@code unsupported_parameter}, or dropped with {@code drop_params}).
         */
        record FromInput() implements SizeRule {
        }
    }

    /**
     * Prices in USD. Token rates are per one million tokens (zero = those tokens are not billed); per-image
     * prices are keyed by {@code quality + "|" + size} (e.g. {@code "medium|1024x1024"}, or
     * {@code "standard|256x256"} for dall-e-2); {@code outputPerMegapixel} is for providers that bill
     * output by pixel count (1 megapixel = 1,000,000 pixels).
     *
     * @param source where the numbers come from, and when they were read
     */
    public record Pricing(java.math.BigDecimal textInputPerMillion,
                          java.math.BigDecimal cachedTextInputPerMillion,
                          java.math.BigDecimal imageInputPerMillion,
                          java.math.BigDecimal cachedImageInputPerMillion,
                          java.math.BigDecimal imageOutputPerMillion,
                          java.math.BigDecimal textOutputPerMillion,
                          Map<String, java.math.BigDecimal> perImage,
                          Optional<java.math.BigDecimal> outputPerMegapixel,
                          Optional<java.math.BigDecimal> outputPerImage,
                          Optional<MegapixelRates> megapixels,
                          String source) {
        public Pricing {
            perImage = Map.copyOf(perImage);
            java.util.Objects.requireNonNull(outputPerMegapixel, "outputPerMegapixel");
            java.util.Objects.requireNonNull(outputPerImage, "outputPerImage");
            java.util.Objects.requireNonNull(megapixels, "megapixels");
        }
    }

    /**
     * Megapixel prices as FLUX.2 bills them, USD: each returned image costs {@code firstOutput} for its first
     * megapixel and {@code extraOutput} for every further one; the input images cost {@code input} per megapixel,
     * once per call. A megapixel is 2^20 pixels; each count is rounded to two decimals, then up to a whole
     * megapixel (output beyond the first, input images summed).
     *
     * @param firstOutput the first output megapixel of each image
     * @param extraOutput each further output megapixel
     * @param input       each input megapixel (all input images of the call together)
     */
    public record MegapixelRates(java.math.BigDecimal firstOutput, java.math.BigDecimal extraOutput,
                                 java.math.BigDecimal input) {
        public MegapixelRates {
            java.util.Objects.requireNonNull(firstOutput, "firstOutput");
            java.util.Objects.requireNonNull(extraOutput, "extraOutput");
            java.util.Objects.requireNonNull(input, "input");
        }
    }

    /**
     * Lifecycle dates (ISO {@code yyyy-MM-dd}).
     */
    public record Lifecycle(Optional<java.time.LocalDate> deprecated, Optional<java.time.LocalDate> shutdown,
                            Optional<String> replacement) {

        /** No dates and no replacement. */
        public static final Lifecycle NONE = new Lifecycle(Optional.empty(), Optional.empty(), Optional.empty());

        /** Whether the model is shut down on {@code day}. */
        public boolean retiredOn(java.time.LocalDate day) {
            return shutdown.map(s -> !day.isBefore(s)).orElse(false);
        }
    }
}
