package dev.easel.cost;

import dev.easel.config.ModelInfo;
import java.math.BigDecimal;
import java.util.Objects;
import java.util.Optional;

/**
 * A deployment's custom prices, in USD <b>per token</b> and <b>per image</b> (LiteLLM's {@code model_info} keys),
 * unlike the catalogue whose token rates are per one million tokens. Each one that is set replaces the
 * catalogue's rate for the same kind of token.
 *
 * @param inputCostPerToken       {@code input_cost_per_token}: per text input token
 * @param inputCostPerImageToken  {@code input_cost_per_image_token}: per image input token
 * @param outputCostPerImageToken {@code output_cost_per_image_token}: per image output token
 * @param outputCostPerToken      {@code output_cost_per_token}: per text output token
 * @param outputCostPerImage      {@code output_cost_per_image}: per returned image; replaces every output
 *                                token price
 * @param inputCostPerImage       {@code input_cost_per_image}: per input image (the mask not counted); replaces
 *                                the image input token price
 * @param inputCostPerPixel       {@code input_cost_per_pixel}: LiteLLM's meaning, per pixel of each returned
 *                                image; unless {@code output_cost_per_image} is set, replaces every output token
 *                                price
 * @param outputCostPerPixel      {@code output_cost_per_pixel}: per pixel of each returned image, added to
 *                                {@code input_cost_per_pixel}
 */
public record PriceOverrides(Optional<BigDecimal> inputCostPerToken, Optional<BigDecimal> inputCostPerImageToken,
                             Optional<BigDecimal> outputCostPerImageToken, Optional<BigDecimal> outputCostPerToken,
                             Optional<BigDecimal> outputCostPerImage, Optional<BigDecimal> inputCostPerImage,
                             Optional<BigDecimal> inputCostPerPixel, Optional<BigDecimal> outputCostPerPixel) {

    private static final PriceOverrides NONE = new PriceOverrides(Optional.empty(), Optional.empty(),
            Optional.empty(), Optional.empty(), Optional.empty());

    /** Checks that nothing is null and no price is negative. */
    public PriceOverrides {
        check(inputCostPerToken, "input_cost_per_token");
        check(inputCostPerImageToken, "input_cost_per_image_token");
        check(outputCostPerImageToken, "output_cost_per_image_token");
        check(outputCostPerToken, "output_cost_per_token");
        check(outputCostPerImage, "output_cost_per_image");
        check(inputCostPerImage, "input_cost_per_image");
        check(inputCostPerPixel, "input_cost_per_pixel");
        check(outputCostPerPixel, "output_cost_per_pixel");
    }

    /** Custom prices without the per-input-image and per-pixel ones. */
    public PriceOverrides(Optional<BigDecimal> inputCostPerToken, Optional<BigDecimal> inputCostPerImageToken,
                          Optional<BigDecimal> outputCostPerImageToken, Optional<BigDecimal> outputCostPerToken,
                          Optional<BigDecimal> outputCostPerImage) {
        this(inputCostPerToken, inputCostPerImageToken, outputCostPerImageToken, outputCostPerToken,
                outputCostPerImage, Optional.empty(), Optional.empty(), Optional.empty());
    }

    /** No custom prices: the catalogue's apply. */
    public static PriceOverrides none() {
        return NONE;
    }

    /** The custom prices of a deployment's {@code model_info}. */
    public static PriceOverrides of(ModelInfo info) {
        Objects.requireNonNull(info, "info");
        return new PriceOverrides(info.inputCostPerToken(), info.inputCostPerImageToken(),
                info.outputCostPerImageToken(), info.outputCostPerToken(), info.outputCostPerImage(),
                info.inputCostPerImage(), info.inputCostPerPixel(), info.outputCostPerPixel());
    }

    /** Whether no custom price is set. */
    public boolean isEmpty() {
        return inputCostPerToken.isEmpty() && inputCostPerImageToken.isEmpty() && outputCostPerImageToken.isEmpty()
                && outputCostPerToken.isEmpty() && outputCostPerImage.isEmpty() && inputCostPerImage.isEmpty()
                && inputCostPerPixel.isEmpty() && outputCostPerPixel.isEmpty();
    }

    /** Whether output is priced per pixel: a pixel price is set and {@code output_cost_per_image} is not. */
    public boolean pricesPixels() {
        return outputCostPerImage.isEmpty() && (inputCostPerPixel.isPresent() || outputCostPerPixel.isPresent());
    }

    /** The price of one pixel of a returned image: {@code input_cost_per_pixel + output_cost_per_pixel}. */
    public BigDecimal perPixel() {
        return inputCostPerPixel.orElse(BigDecimal.ZERO).add(outputCostPerPixel.orElse(BigDecimal.ZERO));
    }

    private static void check(Optional<BigDecimal> price, String key) {
        Objects.requireNonNull(price, key);
        price.ifPresent(p -> {
            if (p.signum() < 0) {
                throw new IllegalArgumentException(key + " must not be negative (was " + p.toPlainString() + ")");
            }
        });
    }
}
