package dev.easel.config;

import java.math.BigDecimal;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A deployment's {@code model_info}: its stable id, the model to price it as, and custom prices (USD,
 * exact as written in the file).
 *
 * @param id                       {@code id}: stable deployment id
 * @param baseModel                {@code base_model}: catalogue model for pricing (e.g. behind an Azure
 *                                 deployment name)
 * @param inputCostPerToken        {@code input_cost_per_token}: per text input token
 * @param inputCostPerImageToken   {@code input_cost_per_image_token}: per image input token
 * @param outputCostPerImageToken  {@code output_cost_per_image_token}: per image output token
 * @param outputCostPerToken       {@code output_cost_per_token}: per text output token
 * @param outputCostPerImage       {@code output_cost_per_image}: per generated image
 * @param inputCostPerImage        {@code input_cost_per_image}: per input image (the mask is not counted)
 * @param inputCostPerPixel        {@code input_cost_per_pixel}: LiteLLM's meaning, per pixel of each generated
 *                                 image (width × height × images returned)
 * @param outputCostPerPixel       {@code output_cost_per_pixel}: per pixel of each generated image, added to
 *                                 {@code input_cost_per_pixel}
 * @param extra                    every other key, unchanged
 */
public record ModelInfo(Optional<String> id, Optional<String> baseModel, Optional<BigDecimal> inputCostPerToken,
                        Optional<BigDecimal> inputCostPerImageToken, Optional<BigDecimal> outputCostPerImageToken,
                        Optional<BigDecimal> outputCostPerToken, Optional<BigDecimal> outputCostPerImage,
                        Optional<BigDecimal> inputCostPerImage, Optional<BigDecimal> inputCostPerPixel,
                        Optional<BigDecimal> outputCostPerPixel, Map<String, Object> extra) {

    /** Checks that nothing is null and copies the collections (unmodifiable, order kept). */
    public ModelInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(baseModel, "baseModel");
        Objects.requireNonNull(inputCostPerToken, "inputCostPerToken");
        Objects.requireNonNull(inputCostPerImageToken, "inputCostPerImageToken");
        Objects.requireNonNull(outputCostPerImageToken, "outputCostPerImageToken");
        Objects.requireNonNull(outputCostPerToken, "outputCostPerToken");
        Objects.requireNonNull(outputCostPerImage, "outputCostPerImage");
        Objects.requireNonNull(inputCostPerImage, "inputCostPerImage");
        Objects.requireNonNull(inputCostPerPixel, "inputCostPerPixel");
        Objects.requireNonNull(outputCostPerPixel, "outputCostPerPixel");
        extra = Copies.orderedMap(extra);
    }

    /** Model info without the per-input-image and per-pixel prices. */
    public ModelInfo(Optional<String> id, Optional<String> baseModel, Optional<BigDecimal> inputCostPerToken,
                     Optional<BigDecimal> inputCostPerImageToken, Optional<BigDecimal> outputCostPerImageToken,
                     Optional<BigDecimal> outputCostPerToken, Optional<BigDecimal> outputCostPerImage,
                     Map<String, Object> extra) {
        this(id, baseModel, inputCostPerToken, inputCostPerImageToken, outputCostPerImageToken, outputCostPerToken,
                outputCostPerImage, Optional.empty(), Optional.empty(), Optional.empty(), extra);
    }

    /** No {@code model_info} at all. */
    public static ModelInfo empty() {
        return new ModelInfo(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Map.of());
    }

    /**
     * {@code access_groups}: the groups a virtual key or team may name in its {@code models} to be allowed this
     * deployment's model group (checked at load: a list of names).
     */
    public java.util.List<String> accessGroups() {
        Object g = extra.get("access_groups");
        return g instanceof java.util.List<?> l ? l.stream().map(Object::toString).toList() : java.util.List.of();
    }

    /** Whether any custom price is set. */
    public boolean hasCustomPricing() {
        return inputCostPerToken.isPresent() || inputCostPerImageToken.isPresent()
                || outputCostPerImageToken.isPresent() || outputCostPerToken.isPresent()
                || outputCostPerImage.isPresent() || inputCostPerImage.isPresent() || inputCostPerPixel.isPresent()
                || outputCostPerPixel.isPresent();
    }

    @Override
    public String toString() {
        return "ModelInfo[id=" + id + ", baseModel=" + baseModel + ", inputCostPerToken=" + inputCostPerToken
                + ", inputCostPerImageToken=" + inputCostPerImageToken + ", outputCostPerImageToken="
                + outputCostPerImageToken + ", outputCostPerToken=" + outputCostPerToken
                + ", outputCostPerImage=" + outputCostPerImage + ", inputCostPerImage=" + inputCostPerImage
                + ", inputCostPerPixel=" + inputCostPerPixel + ", outputCostPerPixel=" + outputCostPerPixel + ", extra=" + Copies.maskedMap(extra) + "]";
    }
}
