package dev.easel;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The result of an edit, shaped like OpenAI's {@code ImagesResponse}, plus what Easel knows about the
 * call: which provider and deployment answered, and warnings (dropped parameters, unknown or retired
 * model).
 */
public final class ImageResponse {

    private final long created;
    private final List<ImageData> data;
    private final Usage usage;
    private final String background;
    private final String outputFormat;
    private final String size;
    private final String quality;
    private final String provider;
    private final String model;
    private final String requestId;
    private final List<String> warnings;
    private final java.math.BigDecimal cost;
    private final java.math.BigDecimal providerCost;

    private ImageResponse(Builder b) {
        this.created = b.created;
        this.data = List.copyOf(b.data);
        this.usage = b.usage;
        this.background = b.background;
        this.outputFormat = b.outputFormat;
        this.size = b.size;
        this.quality = b.quality;
        this.provider = b.provider;
        this.model = b.model;
        this.requestId = b.requestId;
        this.warnings = List.copyOf(b.warnings);
        this.cost = b.cost;
        this.providerCost = b.providerCost;
        if (providerCost != null && providerCost.signum() < 0) {
            throw new IllegalArgumentException("providerCost must not be negative (was " + providerCost + ")");
        }
    }

    /** A new builder (used by providers). */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this response's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.created = created;
        b.data.addAll(data);
        b.usage = usage;
        b.background = background;
        b.outputFormat = outputFormat;
        b.size = size;
        b.quality = quality;
        b.provider = provider;
        b.model = model;
        b.requestId = requestId;
        b.warnings.addAll(warnings);
        b.cost = cost;
        b.providerCost = providerCost;
        return b;
    }

    /** Unix seconds when the images were made. */
    public long created() { return created; }

    /** The images, one per {@code n}. */
    public List<ImageData> data() { return data; }

    /** Token usage, when the provider reports it. */
    public Optional<Usage> usage() { return Optional.ofNullable(usage); }

    /** Resolved background ({@code transparent}/{@code opaque}). */
    public Optional<String> background() { return Optional.ofNullable(background); }

    /** Resolved output format. */
    public Optional<String> outputFormat() { return Optional.ofNullable(outputFormat); }

    /** Resolved size {@code WxH}. */
    public Optional<String> size() { return Optional.ofNullable(size); }

    /** Resolved quality. */
    public Optional<String> quality() { return Optional.ofNullable(quality); }

    /** Provider that answered ({@code openai}, {@code azure}, {@code mock}, …). */
    public Optional<String> provider() { return Optional.ofNullable(provider); }

    /** Model (or deployment) the provider was called with. */
    public Optional<String> model() { return Optional.ofNullable(model); }

    /** Upstream request id. */
    public Optional<String> requestId() { return Optional.ofNullable(requestId); }

    /** Things the caller should know: dropped parameters, unknown or retired model. */
    public List<String> warnings() { return warnings; }

    /** What the edit cost in USD (full precision), when the model is priced. */
    public Optional<java.math.BigDecimal> cost() { return Optional.ofNullable(cost); }

    /**
     * What the provider itself says the call was charged, in USD (BFL's {@code cost} credits), when it says so:
     * {@link dev.easel.cost.CostCalculator} prices the edit by it ahead of the catalogue's table.
     */
    public Optional<java.math.BigDecimal> providerCost() { return Optional.ofNullable(providerCost); }

    @Override
    public String toString() {
        return "ImageResponse[created=" + created + ", data=" + data + ", usage=" + usage + ", cost=" + cost + ", provider="
                + provider + ", model=" + model + (warnings.isEmpty() ? "" : ", warnings=" + warnings) + "]";
    }

    /** Builder for {@link ImageResponse}. */
    public static final class Builder {
        private long created;
        private final List<ImageData> data = new ArrayList<>();
        private Usage usage;
        private String background;
        private String outputFormat;
        private String size;
        private String quality;
        private String provider;
        private String model;
        private String requestId;
        private final List<String> warnings = new ArrayList<>();
        private java.math.BigDecimal cost;
        private java.math.BigDecimal providerCost;

        private Builder() {
        }

        public Builder created(long created) { this.created = created; return this; }

        public Builder data(List<ImageData> images) {
            data.clear();
            images.forEach(i -> data.add(Objects.requireNonNull(i)));
            return this;
        }

        public Builder addData(ImageData image) { data.add(Objects.requireNonNull(image)); return this; }

        public Builder usage(Usage usage) { this.usage = usage; return this; }

        public Builder background(String background) { this.background = background; return this; }

        public Builder outputFormat(String outputFormat) { this.outputFormat = outputFormat; return this; }

        public Builder size(String size) { this.size = size; return this; }

        public Builder quality(String quality) { this.quality = quality; return this; }

        public Builder provider(String provider) { this.provider = provider; return this; }

        public Builder model(String model) { this.model = model; return this; }

        public Builder requestId(String requestId) { this.requestId = requestId; return this; }

        public Builder addWarning(String warning) { warnings.add(Objects.requireNonNull(warning)); return this; }

        public Builder addWarnings(List<String> more) { more.forEach(this::addWarning); return this; }

        public Builder cost(java.math.BigDecimal cost) { this.cost = cost; return this; }

        /** The charge the provider reported for this call, USD (set by adapters whose provider reports one). */
        public Builder providerCost(java.math.BigDecimal usd) { this.providerCost = usd; return this; }

        public ImageResponse build() { return new ImageResponse(this); }
    }
}
