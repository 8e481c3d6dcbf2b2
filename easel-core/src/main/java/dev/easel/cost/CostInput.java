package dev.easel.cost;

import dev.easel.ImageEditEvent;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import dev.easel.Usage;
import java.util.Objects;
import java.util.Optional;

/**
 * What an edit returned, as far as its price depends on it.
 *
 * @param usage            token usage as the provider reported it (for a streamed edit: from the
 *                         {@code image_edit.completed} event), if any
 * @param imagesReturned   images actually returned (not the requested {@code n})
 * @param size             the response's resolved size {@code WxH}, if it gave one
 * @param quality          the response's resolved quality, if it gave one
 * @param requestedSize    the size the client asked for, used when the response has none (or says {@code auto})
 * @param requestedQuality the quality the client asked for, used likewise
 * @param partialImages    partial images streamed before the final image
 * @param streamed         whether the edit was streamed; kept for logs only, since a streamed edit is priced
 *                         exactly like a non-streamed one
 * @param inputImages      images sent (the mask not counted), for {@code input_cost_per_image}
 * @param inputPixels      pixels of all images sent together (the mask not counted), for megapixel input prices;
 *                         0 when not known
 * @param providerCost     what the provider said it charged for the call, USD, when it says so
 */
public record CostInput(Optional<Usage> usage, int imagesReturned, Optional<String> size, Optional<String> quality,
                        Optional<String> requestedSize, Optional<String> requestedQuality, int partialImages,
                        boolean streamed, int inputImages, long inputPixels, Optional<java.math.BigDecimal> providerCost) {

    /** Checks that nothing is null and the counts are not negative. */
    public CostInput {
        Objects.requireNonNull(usage, "usage");
        Objects.requireNonNull(size, "size");
        Objects.requireNonNull(quality, "quality");
        Objects.requireNonNull(requestedSize, "requestedSize");
        Objects.requireNonNull(requestedQuality, "requestedQuality");
        if (imagesReturned < 0) {
            throw new IllegalArgumentException("imagesReturned must be at least 0 (was " + imagesReturned + ")");
        }
        if (partialImages < 0) {
            throw new IllegalArgumentException("partialImages must be at least 0 (was " + partialImages + ")");
        }
        if (inputImages < 0) {
            throw new IllegalArgumentException("inputImages must be at least 0 (was " + inputImages + ")");
        }
        if (inputPixels < 0) {
            throw new IllegalArgumentException("inputPixels must be at least 0 (was " + inputPixels + ")");
        }
        Objects.requireNonNull(providerCost, "providerCost");
    }

    /** A builder with nothing set (no usage, no images, nothing streamed). */
    public static Builder builder() {
        return new Builder();
    }

    /** The input for a non-streamed response: its usage, image count, resolved size and quality. */
    public static CostInput of(ImageResponse response) {
        return builder().response(response).build();
    }

    /** Builder for {@link CostInput}; {@code null} clears a value. */
    public static final class Builder {
        private Usage usage;
        private int imagesReturned;
        private String size;
        private String quality;
        private String requestedSize;
        private String requestedQuality;
        private int partialImages;
        private boolean streamed;
        private int inputImages;
        private long inputPixels;
        private java.math.BigDecimal providerCost;

        private Builder() {
        }

        /** Takes the usage, image count, resolved size and quality of a response. */
        public Builder response(ImageResponse response) {
            Objects.requireNonNull(response, "response");
            usage = response.usage().orElse(null);
            imagesReturned = response.data().size();
            size = response.size().orElse(null);
            quality = response.quality().orElse(null);
            providerCost = response.providerCost().orElse(null);
            return this;
        }

        /** Takes the usage, size and quality of a stream's final event: one image, streamed. */
        public Builder completed(ImageEditEvent.Completed event) {
            Objects.requireNonNull(event, "event");
            usage = event.usage().orElse(null);
            imagesReturned = 1;
            size = event.size();
            quality = event.quality();
            streamed = true;
            return this;
        }

        /** Takes the requested size and quality (fallbacks for the resolved ones) and whether it streams. */
        public Builder request(ImageEditRequest request) {
            Objects.requireNonNull(request, "request");
            requestedSize = request.size().orElse(null);
            requestedQuality = request.quality().orElse(null);
            streamed = request.stream();
            inputImages = request.images().size();
            return this;
        }

        public Builder usage(Usage usage) { this.usage = usage; return this; }

        public Builder imagesReturned(int imagesReturned) { this.imagesReturned = imagesReturned; return this; }

        public Builder size(String size) { this.size = size; return this; }

        public Builder quality(String quality) { this.quality = quality; return this; }

        public Builder requestedSize(String size) { this.requestedSize = size; return this; }

        public Builder requestedQuality(String quality) { this.requestedQuality = quality; return this; }

        public Builder partialImages(int partialImages) { this.partialImages = partialImages; return this; }

        public Builder streamed(boolean streamed) { this.streamed = streamed; return this; }

        /** Images sent, the mask not counted. */
        public Builder inputImages(int inputImages) { this.inputImages = inputImages; return this; }

        /** Pixels of all images sent together, the mask not counted. */
        public Builder inputPixels(long inputPixels) { this.inputPixels = inputPixels; return this; }

        /** What the provider said it charged, USD. */
        public Builder providerCost(java.math.BigDecimal usd) { this.providerCost = usd; return this; }

        public CostInput build() {
            return new CostInput(Optional.ofNullable(usage), imagesReturned, Optional.ofNullable(size),
                    Optional.ofNullable(quality), Optional.ofNullable(requestedSize),
                    Optional.ofNullable(requestedQuality), partialImages, streamed, inputImages, inputPixels,
                    Optional.ofNullable(providerCost));
        }
    }
}
