package dev.easel.cost;

import dev.easel.Usage;
import dev.easel.catalog.ModelCatalog;
import dev.easel.catalog.ModelSpec;
import dev.easel.catalog.ModelSpec.Pricing;
import dev.easel.config.ModelInfo;
import dev.easel.cost.Cost.Breakdown;
import dev.easel.cost.Cost.Method;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The cost of an edit, from the catalogue's prices, a deployment's custom prices and what the provider
 * returned. Pure and thread-safe; exact ({@link BigDecimal}, no floating point, except that a price scaled
 * by a pixel ratio is rounded to 34 significant digits).
 *
 * <p>With token usage, each kind of token is billed at its own rate: text input, image input, image output
 * and text output (gpt-image-1.5 and later report {@code output_tokens_details}; without them every output
 * token is an image token). The usage is taken as the whole bill, including streamed partial images. A
 * deployment's {@code output_cost_per_image} replaces every output token price, and so, without it, do its
 * {@code input_cost_per_pixel} and {@code output_cost_per_pixel} (per pixel of each returned image, LiteLLM's
 * meaning); its {@code input_cost_per_image} replaces the image input token price. Without usage, output is
 * priced per returned image from the catalogue's {@code quality|size} table (or per megapixel), using the
 * response's resolved size and quality, else the requested ones, else {@code 1024x1024} / {@code medium};
 * partial images then add 100 image output tokens each. When nothing is known the cost is
 * {@linkplain Method#UNPRICED unpriced}, never zero. Every assumption is written to {@link Cost#notes()}.
 * See {@code docs/cost.md}.
 */
public final class CostCalculator {

    /** Size used when neither the response nor the request gives one. */
    public static final String DEFAULT_SIZE = "1024x1024";
    /** Quality used when neither the response nor the request gives one (OpenAI's per-image default). */
    public static final String DEFAULT_QUALITY = "medium";
    /** Image output tokens OpenAI bills per streamed partial image. */
    public static final long PARTIAL_IMAGE_TOKENS = 100;

    private static final CostCalculator STANDARD = new CostCalculator();
    private static final Pattern SIZE = Pattern.compile("([1-9][0-9]{0,5})x([1-9][0-9]{0,5})");

    private CostCalculator() {
    }

    /** The calculator. */
    public static CostCalculator standard() {
        return STANDARD;
    }

    /**
     * The catalogue model a deployment is priced as: its {@code model_info.base_model} when set (an Azure
     * deployment name says nothing about the model behind it), else {@code model}; a stand-in without prices
     * when the catalogue does not know it.
     */
    public static ModelSpec pricedAs(ModelCatalog catalog, String model, ModelInfo info) {
        Objects.requireNonNull(catalog, "catalog");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(info, "info");
        String id = info.baseModel().orElse(model);
        return catalog.find(id).orElseGet(() -> ModelCatalog.permissive(id, "unknown"));
    }

    /**
     * The cost of one edit.
     *
     * @param spec      the model it is priced as (see {@link #pricedAs})
     * @param overrides the deployment's custom prices ({@link PriceOverrides#none()} for none)
     * @param input     what the edit returned
     */
    public Cost cost(ModelSpec spec, PriceOverrides overrides, CostInput input) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(overrides, "overrides");
        Objects.requireNonNull(input, "input");
        return new Run(spec, overrides, input).cost();
    }

    /**
     * The prices an edit on {@code spec} with {@code overrides} is charged at, in LiteLLM's units (USD per token, per
     * image, per pixel), after the same rules {@link #cost} applies: a custom price replaces the catalogue's, and a
     * price the rules leave unused is empty (with {@code output_cost_per_image} set, no output token rate applies).
     * For a gateway's model-info answers, so what they show is what the bill uses.
     */
    public Rates rates(ModelSpec spec, PriceOverrides overrides) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(overrides, "overrides");
        Run run = new Run(spec, overrides, CostInput.builder().build());
        Optional<BigDecimal> imageInput = overrides.inputCostPerImage().isPresent() ? Optional.empty()
                : run.imageInputRate(false);
        Optional<BigDecimal> imageOutput = Optional.empty();
        Optional<BigDecimal> textOutput = Optional.empty();
        Optional<BigDecimal> perImage = Optional.empty();
        Optional<BigDecimal> pixelIn = Optional.empty();
        Optional<BigDecimal> pixelOut = Optional.empty();
        Map<String, BigDecimal> table = Map.of();
        Optional<Pricing> pricing = spec.pricing();
        if (overrides.outputCostPerImage().isPresent()) {
            perImage = overrides.outputCostPerImage();
        } else if (overrides.pricesPixels()) {
            pixelIn = overrides.inputCostPerPixel();
            pixelOut = overrides.outputCostPerPixel();
        } else {
            imageOutput = run.imageOutputRate(false);
            if (imageOutput.isPresent()) {
                textOutput = run.textOutputRate();
            }
            perImage = pricing.flatMap(Pricing::outputPerImage);
            table = pricing.map(Pricing::perImage).orElse(Map.of());
        }
        return new Rates(run.textInputRate(), imageInput, imageOutput, textOutput, perImage,
                overrides.inputCostPerImage(), pixelIn, pixelOut, table,
                perImage.isPresent() || pixelIn.isPresent() || pixelOut.isPresent() ? Optional.empty()
                        : pricing.flatMap(Pricing::outputPerMegapixel),
                perImage.isPresent() || pixelIn.isPresent() || pixelOut.isPresent() ? Optional.empty()
                        : pricing.flatMap(Pricing::megapixels));
    }

    /**
     * The prices a deployment is charged at ({@link #rates}), USD; each empty when nothing of that kind is charged.
     *
     * @param inputCostPerToken       per text input token
     * @param inputCostPerImageToken  per image input token
     * @param outputCostPerImageToken per image output token
     * @param outputCostPerToken      per text output token
     * @param outputCostPerImage      per returned image, flat (a custom {@code output_cost_per_image}, or the
     *                                catalogue's per-call price)
     * @param inputCostPerImage       per input image sent (custom {@code input_cost_per_image})
     * @param inputCostPerPixel       LiteLLM's {@code input_cost_per_pixel}: per pixel of each returned image
     * @param outputCostPerPixel      per pixel of each returned image, added to {@code inputCostPerPixel}
     * @param outputCostPerImageTable per returned image by {@code quality|WxH}, used when no usage is reported
     * @param outputCostPerMegapixel  per megapixel (10^6 pixels) of each returned image
     * @param megapixels              FLUX.2-style megapixel prices
     */
    public record Rates(Optional<BigDecimal> inputCostPerToken, Optional<BigDecimal> inputCostPerImageToken,
                        Optional<BigDecimal> outputCostPerImageToken, Optional<BigDecimal> outputCostPerToken,
                        Optional<BigDecimal> outputCostPerImage, Optional<BigDecimal> inputCostPerImage,
                        Optional<BigDecimal> inputCostPerPixel, Optional<BigDecimal> outputCostPerPixel,
                        Map<String, BigDecimal> outputCostPerImageTable, Optional<BigDecimal> outputCostPerMegapixel,
                        Optional<ModelSpec.MegapixelRates> megapixels) {

        /** Checks that nothing is null and copies the table (sorted by key, for stable output). */
        public Rates {
            Objects.requireNonNull(inputCostPerToken, "inputCostPerToken");
            Objects.requireNonNull(inputCostPerImageToken, "inputCostPerImageToken");
            Objects.requireNonNull(outputCostPerImageToken, "outputCostPerImageToken");
            Objects.requireNonNull(outputCostPerToken, "outputCostPerToken");
            Objects.requireNonNull(outputCostPerImage, "outputCostPerImage");
            Objects.requireNonNull(inputCostPerImage, "inputCostPerImage");
            Objects.requireNonNull(inputCostPerPixel, "inputCostPerPixel");
            Objects.requireNonNull(outputCostPerPixel, "outputCostPerPixel");
            outputCostPerImageTable = java.util.Collections.unmodifiableMap(
                    new java.util.TreeMap<>(outputCostPerImageTable));
            Objects.requireNonNull(outputCostPerMegapixel, "outputCostPerMegapixel");
            Objects.requireNonNull(megapixels, "megapixels");
        }

        /** Whether any price is known: an edit at these rates can be priced. */
        public boolean priced() {
            return inputCostPerToken.isPresent() || inputCostPerImageToken.isPresent()
                    || outputCostPerImageToken.isPresent() || outputCostPerToken.isPresent()
                    || outputCostPerImage.isPresent() || inputCostPerImage.isPresent() || inputCostPerPixel.isPresent()
                    || outputCostPerPixel.isPresent() || !outputCostPerImageTable.isEmpty()
                    || outputCostPerMegapixel.isPresent() || megapixels.isPresent();
        }
    }

    /** Megapixels of 2^20 pixels, rounded to two decimals, then up to a whole one (as FLUX.2 bills). */
    static long wholeMegapixels(long pixels) {
        BigDecimal mp = BigDecimal.valueOf(pixels).divide(BigDecimal.valueOf(1L << 20), 2,
                java.math.RoundingMode.HALF_UP);
        return mp.setScale(0, java.math.RoundingMode.CEILING).longValueExact();
    }

    /** One computation; collects notes. */
    private static final class Run {
        private final ModelSpec spec;
        private final PriceOverrides overrides;
        private final CostInput input;
        private final Optional<Pricing> pricing;
        /** The catalogue's token rates, when the model is priced by tokens at all (it has an image output rate). */
        private final Optional<Pricing> tokenPricing;
        private final List<String> notes = new ArrayList<>();

        Run(ModelSpec spec, PriceOverrides overrides, CostInput input) {
            this.spec = spec;
            this.overrides = overrides;
            this.input = input;
            this.pricing = spec.pricing();
            this.tokenPricing = pricing.filter(p -> p.imageOutputPerMillion().signum() > 0);
        }

        Cost cost() {
            if (input.providerCost().isPresent()) {
                if (overrides.isEmpty()) {
                    return providerReported(input.providerCost().get());
                }
                notes.add("the provider's reported charge of " + input.providerCost().get().toPlainString()
                        + " USD not used: the deployment's custom prices apply");
            }
            return input.usage().map(this::byTokens).orElseGet(this::withoutUsage);
        }

        /**
         * The provider's own figure for the call. The catalogue's price is computed beside it only to say when the
         * two differ (a price table out of date is then visible in the logs, not in the bill).
         */
        private Cost providerReported(BigDecimal charged) {
            List<String> own = new ArrayList<>();
            own.add("priced by the charge the provider reported");
            Cost table = new Run(spec, overrides, withoutProviderCost()).cost();
            if (table.usd().isPresent() && table.usd().get().compareTo(charged) != 0) {
                own.add("the catalogue's price for " + spec.id() + " would be " + table.usd().get().toPlainString()
                        + " USD; the provider's " + charged.toPlainString() + " USD is used");
            }
            notes.addAll(own);
            return Cost.priced(Method.PROVIDER_REPORTED, new Breakdown(BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO,
                    BigDecimal.ZERO, charged), notes);
        }

        private CostInput withoutProviderCost() {
            return new CostInput(input.usage(), input.imagesReturned(), input.size(), input.quality(),
                    input.requestedSize(), input.requestedQuality(), input.partialImages(), input.streamed(),
                    input.inputImages(), input.inputPixels(), Optional.empty());
        }

        // ------------------------------------------------------------ with usage

        private Cost byTokens(Usage u) {
            long inText = u.inputTextTokens();
            long inImage = u.inputImageTokens();
            long inRest = u.inputTokens() - inText - inImage;
            if (inRest > 0) {
                notes.add("input_tokens " + u.inputTokens() + " exceed input_tokens_details (text " + inText
                        + " + image " + inImage + "); the remaining " + inRest + " priced as text input tokens");
                inText += inRest;
            }
            long outImage;
            long outText;
            if (u.outputDetailsReported()) {
                outImage = u.outputImageTokens();
                outText = u.outputTextTokens();
                long outRest = u.outputTokens() - outImage - outText;
                if (outRest > 0) {
                    notes.add("output_tokens " + u.outputTokens() + " exceed output_tokens_details (image " + outImage
                            + " + text " + outText + "); the remaining " + outRest + " priced as image output tokens");
                    outImage += outRest;
                }
            } else {
                outImage = u.outputTokens(); // no split reported: every output token is an image token
                outText = 0;
            }

            BigDecimal textInput = tokens(inText, textInputRate(), "text input");
            BigDecimal imageInput = overrides.inputCostPerImage().isPresent() ? perInputImage(inImage)
                    : tokens(inImage, imageInputRate(inImage > 0), "image input");

            if (overrides.pricesPixels()) {
                notes.add("output priced by the deployment's per-pixel price instead of " + (outImage + outText)
                        + " output tokens");
                return Cost.priced(Method.PER_PIXEL, new Breakdown(textInput, imageInput, BigDecimal.ZERO,
                        BigDecimal.ZERO, pixelOutput()), notes);
            }
            if (overrides.outputCostPerImage().isPresent()) {
                BigDecimal perImage = overrides.outputCostPerImage().get().multiply(BigDecimal.valueOf(input.imagesReturned()));
                notes.add("output priced by the deployment's output_cost_per_image × " + input.imagesReturned()
                        + " image(s) instead of " + (outImage + outText) + " output tokens");
                return Cost.priced(Method.PER_IMAGE, new Breakdown(textInput, imageInput, BigDecimal.ZERO,
                        BigDecimal.ZERO, perImage), notes);
            }
            Optional<BigDecimal> imageOutRate = imageOutputRate(outImage > 0);
            if (imageOutRate.isPresent()) {
                BigDecimal imageOutput = BigDecimal.valueOf(outImage).multiply(imageOutRate.get());
                BigDecimal textOutput = tokens(outText, textOutputRate(), "text output");
                if (input.partialImages() > 0) {
                    notes.add(input.partialImages() + " partial image(s) taken as included in the reported usage");
                }
                return Cost.priced(Method.TOKENS, new Breakdown(textInput, imageInput, imageOutput, textOutput,
                        BigDecimal.ZERO), notes);
            }
            notes.add("usage reported but no image output token rate for " + spec.id() + "; output priced per image");
            Optional<Output> output = outputPerImage();
            if (output.isEmpty()) {
                return Cost.unpriced(notes);
            }
            return Cost.priced(output.get().method(), new Breakdown(textInput, imageInput.add(megapixelInput()),
                    output.get().partialTokens(), BigDecimal.ZERO, output.get().perImage()), notes);
        }

        /** Tokens × rate; a note when there are tokens but no rate (or a zero one). */
        private BigDecimal tokens(long count, Optional<BigDecimal> rate, String kind) {
            if (count == 0) {
                return BigDecimal.ZERO;
            }
            if (rate.isEmpty()) {
                notes.add(count + " " + kind + " tokens not priced: no " + kind + " rate for " + spec.id());
                return BigDecimal.ZERO;
            }
            if (rate.get().signum() == 0) {
                notes.add(count + " " + kind + " tokens priced at 0: the " + kind + " rate of " + spec.id() + " is 0");
            }
            return BigDecimal.valueOf(count).multiply(rate.get());
        }

        // ------------------------------------------------------------ without usage

        private Cost withoutUsage() {
            Optional<Output> output = outputPerImage();
            if (output.isEmpty()) {
                return Cost.unpriced(notes);
            }
            if (tokenPricing.isPresent() || overrides.inputCostPerToken().isPresent()
                    || overrides.inputCostPerImageToken().isPresent()) {
                notes.add(0, "no usage reported; input tokens not billed, output priced per image");
            }
            BigDecimal imageInput = overrides.inputCostPerImage().isPresent() ? perInputImage(0) : megapixelInput();
            return Cost.priced(output.get().method(), new Breakdown(BigDecimal.ZERO, imageInput,
                    output.get().partialTokens(), BigDecimal.ZERO, output.get().perImage()), notes);
        }

        /** The deployment's {@code input_cost_per_image} × images sent, in place of image input tokens. */
        private BigDecimal perInputImage(long imageTokens) {
            notes.add("image input priced by the deployment's input_cost_per_image × " + input.inputImages()
                    + " image(s)" + (imageTokens > 0 ? " instead of " + imageTokens + " image input tokens" : ""));
            return overrides.inputCostPerImage().get().multiply(BigDecimal.valueOf(input.inputImages()));
        }

        /**
         * The deployment's per-pixel price ({@code input_cost_per_pixel + output_cost_per_pixel}) × width × height
         * × images returned: LiteLLM's image cost, which multiplies {@code input_cost_per_pixel} by the
         * generated size and count.
         */
        private BigDecimal pixelOutput() {
            long[] wh = resolvedSize();
            return overrides.perPixel().multiply(BigDecimal.valueOf(wh[0] * wh[1]))
                    .multiply(BigDecimal.valueOf(input.imagesReturned()));
        }

        private record Output(Method method, BigDecimal perImage, BigDecimal partialTokens) {
        }

        /** Output priced per returned image (or megapixel), plus streamed partial images as tokens. */
        private Optional<Output> outputPerImage() {
            BigDecimal images = BigDecimal.valueOf(input.imagesReturned());
            Method method;
            BigDecimal perImage;
            if (overrides.outputCostPerImage().isPresent()) {
                method = Method.PER_IMAGE;
                perImage = overrides.outputCostPerImage().get().multiply(images);
            } else if (overrides.pricesPixels()) {
                method = Method.PER_PIXEL;
                perImage = pixelOutput();
            } else if (pricing.flatMap(Pricing::outputPerImage).isPresent()) {
                method = Method.PER_IMAGE;
                perImage = pricing.get().outputPerImage().get().multiply(images);
            } else if (pricing.flatMap(Pricing::megapixels).isPresent()) {
                method = Method.PER_MEGAPIXEL;
                perImage = megapixelOutput(pricing.get().megapixels().get()).multiply(images);
            } else if (pricing.isPresent() && !pricing.get().perImage().isEmpty()) {
                method = Method.PER_IMAGE;
                perImage = tablePrice(pricing.get().perImage()).multiply(images);
            } else if (pricing.flatMap(Pricing::outputPerMegapixel).isPresent()) {
                method = Method.PER_MEGAPIXEL;
                long[] wh = resolvedSize();
                perImage = pricing.get().outputPerMegapixel().get()
                        .multiply(BigDecimal.valueOf(wh[0] * wh[1]).movePointLeft(6)).multiply(images);
            } else {
                notes.add("no price for " + spec.id() + ": neither token rates with usage, nor a per-image or"
                        + " per-megapixel price, nor custom prices");
                return Optional.empty();
            }
            BigDecimal partials = BigDecimal.ZERO;
            if (input.partialImages() > 0) {
                long partialTokens = PARTIAL_IMAGE_TOKENS * input.partialImages();
                Optional<BigDecimal> rate = imageOutputRate(true);
                if (rate.isPresent()) {
                    partials = BigDecimal.valueOf(partialTokens).multiply(rate.get());
                    notes.add(input.partialImages() + " partial image(s) priced as " + partialTokens
                            + " image output tokens");
                } else {
                    notes.add(input.partialImages() + " partial image(s) not priced: no image output token rate for "
                            + spec.id());
                }
            }
            return Optional.of(new Output(method, perImage, partials));
        }

        /** One returned image at FLUX.2-style rates: the first megapixel, then each further (started) one. */
        private BigDecimal megapixelOutput(ModelSpec.MegapixelRates rates) {
            long[] wh = resolvedSize();
            long extra = Math.max(0, wholeMegapixels(wh[0] * wh[1]) - 1);
            return rates.firstOutput().add(rates.extraOutput().multiply(BigDecimal.valueOf(extra)));
        }

        /**
         * The input images at the model's megapixel input rate, once per call (zero without megapixel rates).
         * Without the inputs' pixel count each input image is taken as one megapixel, said in the notes.
         */
        private BigDecimal megapixelInput() {
            Optional<ModelSpec.MegapixelRates> rates = pricing.flatMap(Pricing::megapixels)
                    .filter(r -> r.input().signum() > 0);
            if (rates.isEmpty() || input.inputImages() == 0 && input.inputPixels() == 0) {
                return BigDecimal.ZERO;
            }
            long megapixels;
            if (input.inputPixels() > 0) {
                megapixels = wholeMegapixels(input.inputPixels());
            } else {
                megapixels = input.inputImages();
                notes.add("input pixels unknown; each of the " + input.inputImages() + " input image(s) priced as one"
                        + " megapixel");
            }
            return rates.get().input().multiply(BigDecimal.valueOf(megapixels));
        }

        /** The per-image price for the resolved quality and size; scaled by pixel count off the table. */
        private BigDecimal tablePrice(Map<String, BigDecimal> table) {
            Set<String> qualities = new LinkedHashSet<>();
            table.keySet().forEach(k -> qualities.add(k.substring(0, k.indexOf('|'))));
            String quality = resolvedQuality(qualities, table);
            long[] wh = resolvedSize();
            String size = wh[0] + "x" + wh[1];
            BigDecimal exact = table.get(quality + "|" + size);
            if (exact != null) {
                return exact;
            }
            String nearest = table.keySet().stream()
                    .filter(k -> k.startsWith(quality + "|"))
                    .min(Comparator.<String>comparingDouble(k -> aspectDistance(parse(sizeOf(k)), wh))
                            .thenComparingDouble(k -> pixelDistance(parse(sizeOf(k)), wh)))
                    .orElseThrow();
            long[] at = parse(sizeOf(nearest));
            long pixels = wh[0] * wh[1];
            long tablePixels = at[0] * at[1];
            notes.add("size " + size + " has no per-image price for " + spec.id() + "; priced as " + nearest
                    + " scaled by pixel count (" + pixels + "/" + tablePixels + ")");
            return table.get(nearest).multiply(BigDecimal.valueOf(pixels))
                    .divide(BigDecimal.valueOf(tablePixels), MathContext.DECIMAL128);
        }

        private String resolvedQuality(Set<String> qualities, Map<String, BigDecimal> table) {
            String quality = null;
            if (usable(input.quality())) {
                quality = input.quality().get();
            } else if (usable(input.requestedQuality())) {
                quality = input.requestedQuality().get();
                notes.add("no resolved quality in the response; priced at the requested quality '" + quality + "'");
            } else if (qualities.size() == 1) {
                return qualities.iterator().next(); // e.g. dall-e-2's one 'standard' quality
            } else if (qualities.contains(DEFAULT_QUALITY)) {
                notes.add("quality unknown ('auto' or absent); priced as '" + DEFAULT_QUALITY + "'");
                return DEFAULT_QUALITY;
            }
            if (quality != null && qualities.contains(quality)) {
                return quality;
            }
            String dearest = qualities.stream()
                    .max(Comparator.comparing(q -> dearestPrice(q, table)))
                    .orElseThrow();
            notes.add((quality == null ? "quality unknown" : "quality '" + quality + "' has no per-image price for "
                    + spec.id()) + "; priced as '" + dearest + "', the dearest listed");
            return dearest;
        }

        private static BigDecimal dearestPrice(String quality, Map<String, BigDecimal> table) {
            return table.entrySet().stream().filter(e -> e.getKey().startsWith(quality + "|"))
                    .map(Map.Entry::getValue).max(Comparator.naturalOrder()).orElse(BigDecimal.ZERO);
        }

        private long[] resolvedSize() {
            if (validSize(input.size(), "resolved")) {
                return parse(input.size().get());
            }
            if (validSize(input.requestedSize(), "requested")) {
                notes.add("no resolved size in the response; priced at the requested size "
                        + input.requestedSize().get());
                return parse(input.requestedSize().get());
            }
            notes.add("size unknown ('auto' or absent); priced as " + DEFAULT_SIZE);
            return parse(DEFAULT_SIZE);
        }

        private boolean validSize(Optional<String> size, String which) {
            if (!usable(size)) {
                return false;
            }
            if (!SIZE.matcher(size.get()).matches()) {
                notes.add(which + " size '" + size.get() + "' is not WIDTHxHEIGHT; ignored");
                return false;
            }
            return true;
        }

        private static boolean usable(Optional<String> value) {
            return value.isPresent() && !value.get().isBlank() && !value.get().equals("auto");
        }

        private static String sizeOf(String key) {
            return key.substring(key.indexOf('|') + 1);
        }

        private static long[] parse(String size) {
            Matcher m = SIZE.matcher(size);
            if (!m.matches()) {
                throw new IllegalStateException("not a size: " + size);
            }
            return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
        }

        // Choosing the nearest table entry uses doubles; the price itself is scaled exactly.
        private static double aspectDistance(long[] a, long[] b) {
            return Math.abs(Math.log((double) a[0] / a[1]) - Math.log((double) b[0] / b[1]));
        }

        private static double pixelDistance(long[] a, long[] b) {
            return Math.abs(Math.log((double) (a[0] * a[1]) / (b[0] * b[1])));
        }

        // ------------------------------------------------------------ rates (USD per token)

        private Optional<BigDecimal> textInputRate() {
            return overrides.inputCostPerToken().or(() -> tokenPricing.map(p -> perToken(p.textInputPerMillion())));
        }

        private Optional<BigDecimal> imageInputRate(boolean used) {
            Optional<BigDecimal> rate = overrides.inputCostPerImageToken()
                    .or(() -> tokenPricing.map(p -> perToken(p.imageInputPerMillion())));
            if (rate.isEmpty() && overrides.inputCostPerToken().isPresent()) {
                if (used) {
                    notes.add("image input tokens priced at input_cost_per_token: no image input rate for " + spec.id());
                }
                return overrides.inputCostPerToken();
            }
            return rate;
        }

        private Optional<BigDecimal> imageOutputRate(boolean used) {
            Optional<BigDecimal> rate = overrides.outputCostPerImageToken()
                    .or(() -> tokenPricing.map(p -> perToken(p.imageOutputPerMillion())));
            if (rate.isEmpty() && overrides.outputCostPerToken().isPresent()) {
                if (used) {
                    notes.add("image output tokens priced at output_cost_per_token: no image output rate for "
                            + spec.id());
                }
                return overrides.outputCostPerToken();
            }
            return rate;
        }

        private Optional<BigDecimal> textOutputRate() {
            return overrides.outputCostPerToken().or(() -> tokenPricing.map(p -> perToken(p.textOutputPerMillion())));
        }

        private static BigDecimal perToken(BigDecimal perMillion) {
            return perMillion.movePointLeft(6);
        }
    }
}
