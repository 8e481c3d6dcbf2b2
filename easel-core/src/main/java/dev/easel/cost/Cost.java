package dev.easel.cost;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What an edit cost, in USD, exactly.
 *
 * @param total     the sum of the breakdown, full precision; empty when the edit could not be priced
 *                  ({@link Method#UNPRICED}) — never a silent zero
 * @param method    how it was priced
 * @param breakdown the parts of the total (all zero when unpriced)
 * @param notes     every assumption made (defaults used, rates missing, tokens not billed), for logs
 */
public record Cost(Optional<BigDecimal> total, Method method, Breakdown breakdown, List<String> notes) {

    /** How a cost was computed. */
    public enum Method {
        /** From the reported token usage and per-token rates. */
        TOKENS,
        /** Output priced per returned image (by quality and size, or a deployment's {@code output_cost_per_image}). */
        PER_IMAGE,
        /** Output priced per megapixel of the returned images. */
        PER_MEGAPIXEL,
        /** Output priced per pixel of the returned images (a deployment's {@code input_cost_per_pixel} and
         * {@code output_cost_per_pixel}). */
        PER_PIXEL,
        /** The charge the provider reported for the call (BFL's {@code cost}), ahead of the catalogue's prices. */
        PROVIDER_REPORTED,
        /** No price was known: {@link Cost#total()} is empty. */
        UNPRICED
    }

    /**
     * The parts of a cost, USD. Partial images priced as output tokens count in {@code imageOutput}.
     *
     * @param textInput   text input tokens
     * @param imageInput  image input tokens
     * @param imageOutput image output tokens
     * @param textOutput  text output tokens
     * @param perImage    output priced per image, per megapixel or per pixel
     */
    public record Breakdown(BigDecimal textInput, BigDecimal imageInput, BigDecimal imageOutput,
                            BigDecimal textOutput, BigDecimal perImage) {

        /** All zero. */
        public static final Breakdown ZERO = new Breakdown(BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO,
                BigDecimal.ZERO, BigDecimal.ZERO);

        /** Checks that nothing is null; drops trailing zeros, so equal amounts are equal parts. */
        public Breakdown {
            textInput = plain(Objects.requireNonNull(textInput, "textInput"));
            imageInput = plain(Objects.requireNonNull(imageInput, "imageInput"));
            imageOutput = plain(Objects.requireNonNull(imageOutput, "imageOutput"));
            textOutput = plain(Objects.requireNonNull(textOutput, "textOutput"));
            perImage = plain(Objects.requireNonNull(perImage, "perImage"));
        }

        /** The sum of the parts, without trailing zeros. */
        public BigDecimal sum() {
            return Cost.plain(textInput.add(imageInput).add(imageOutput).add(textOutput).add(perImage));
        }
    }

    /** Checks that nothing is null, and that a total is present exactly when the edit was priced. */
    public Cost {
        Objects.requireNonNull(total, "total");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(breakdown, "breakdown");
        notes = List.copyOf(notes);
        if (total.isEmpty() != (method == Method.UNPRICED)) {
            throw new IllegalArgumentException("a cost has a total exactly when it is priced (method " + method
                    + ", total " + total.map(BigDecimal::toPlainString).orElse("none") + ")");
        }
    }

    /** A priced cost: the total is the breakdown's sum. */
    static Cost priced(Method method, Breakdown breakdown, List<String> notes) {
        return new Cost(Optional.of(breakdown.sum()), method, breakdown, notes);
    }

    /** No price known. */
    static Cost unpriced(List<String> notes) {
        return new Cost(Optional.empty(), Method.UNPRICED, Breakdown.ZERO, notes);
    }

    /** Whether a total is known. */
    public boolean priced() {
        return total.isPresent();
    }

    /** The total rounded half-up to 6 decimal places (a millionth of a dollar), for display. */
    public Optional<BigDecimal> usd() {
        return total.map(t -> plain(t.setScale(6, RoundingMode.HALF_UP)));
    }

    static BigDecimal plain(BigDecimal v) {
        if (v.signum() == 0) {
            return BigDecimal.ZERO;
        }
        BigDecimal s = v.stripTrailingZeros();
        return s.scale() < 0 ? s.setScale(0) : s; // 1E+2 would print badly in JSON
    }
}
