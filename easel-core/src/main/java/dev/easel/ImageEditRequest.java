package dev.easel;

import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * An image edit, as OpenAI's {@code POST /v1/images/edits} takes it. Immutable; build one with
 * {@link #builder()} and change a copy with {@link #toBuilder()}.
 *
 * <p>Parameter names follow OpenAI's wire names in camel case ({@code output_format} →
 * {@link Builder#outputFormat(String)}). Anything Easel has no setter for goes into
 * {@link Builder#extraBody(Map)} and is forwarded unchanged.
 */
public final class ImageEditRequest {

    private final String model;
    private final List<ImageInput> images;
    private final ImageInput mask;
    private final String prompt;
    private final Integer n;
    private final String size;
    private final String quality;
    private final String background;
    private final String outputFormat;
    private final Integer outputCompression;
    private final String inputFidelity;
    private final String responseFormat;
    private final String user;
    private final String safetyIdentifier;
    private final Boolean stream;
    private final Integer partialImages;
    private final Duration timeout;
    private final Map<String, String> extraHeaders;
    private final Map<String, Object> extraBody;

    private ImageEditRequest(Builder b) {
        this.model = b.model;
        this.images = List.copyOf(b.images);
        this.mask = b.mask;
        this.prompt = b.prompt;
        this.n = b.n;
        this.size = b.size;
        this.quality = b.quality;
        this.background = b.background;
        this.outputFormat = b.outputFormat;
        this.outputCompression = b.outputCompression;
        this.inputFidelity = b.inputFidelity;
        this.responseFormat = b.responseFormat;
        this.user = b.user;
        this.safetyIdentifier = b.safetyIdentifier;
        this.stream = b.stream;
        this.partialImages = b.partialImages;
        this.timeout = b.timeout;
        this.extraHeaders = Collections.unmodifiableMap(new LinkedHashMap<>(b.extraHeaders));
        this.extraBody = Collections.unmodifiableMap(new LinkedHashMap<>(b.extraBody));
    }

    /** A new, empty builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this request's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.model = model;
        b.images.addAll(images);
        b.mask = mask;
        b.prompt = prompt;
        b.n = n;
        b.size = size;
        b.quality = quality;
        b.background = background;
        b.outputFormat = outputFormat;
        b.outputCompression = outputCompression;
        b.inputFidelity = inputFidelity;
        b.responseFormat = responseFormat;
        b.user = user;
        b.safetyIdentifier = safetyIdentifier;
        b.stream = stream;
        b.partialImages = partialImages;
        b.timeout = timeout;
        b.extraHeaders.putAll(extraHeaders);
        b.extraBody.putAll(extraBody);
        return b;
    }

    /** Model or deployment name, e.g. {@code gpt-image-1}, {@code azure/my-deployment}, {@code mock/edit}. */
    public Optional<String> model() { return Optional.ofNullable(model); }

    /** The images to edit, in order (the mask applies to the first). */
    public List<ImageInput> images() { return images; }

    /** Mask whose fully transparent pixels mark where to edit. */
    public Optional<ImageInput> mask() { return Optional.ofNullable(mask); }

    /** What to change. */
    public Optional<String> prompt() { return Optional.ofNullable(prompt); }

    /** Number of images to return (1–10). */
    public OptionalInt n() { return n == null ? OptionalInt.empty() : OptionalInt.of(n); }

    /** Output size, {@code WxH} or {@code auto}. */
    public Optional<String> size() { return Optional.ofNullable(size); }

    /** {@code low}, {@code medium}, {@code high}, {@code auto}, … */
    public Optional<String> quality() { return Optional.ofNullable(quality); }

    /** {@code transparent}, {@code opaque} or {@code auto}. */
    public Optional<String> background() { return Optional.ofNullable(background); }

    /** {@code png}, {@code jpeg} or {@code webp}. */
    public Optional<String> outputFormat() { return Optional.ofNullable(outputFormat); }

    /** 0–100, for jpeg and webp output. */
    public OptionalInt outputCompression() {
        return outputCompression == null ? OptionalInt.empty() : OptionalInt.of(outputCompression);
    }

    /** {@code high} or {@code low}. */
    public Optional<String> inputFidelity() { return Optional.ofNullable(inputFidelity); }

    /** {@code url} or {@code b64_json}; Easel honours it for every model (see {@link ImageData}). */
    public Optional<String> responseFormat() { return Optional.ofNullable(responseFormat); }

    /** End-user id (OpenAI's deprecated {@code user}). */
    public Optional<String> user() { return Optional.ofNullable(user); }

    /** Stable hashed end-user id (OpenAI's {@code safety_identifier}). */
    public Optional<String> safetyIdentifier() { return Optional.ofNullable(safetyIdentifier); }

    /** Whether partial images are streamed ({@code stream=true}). */
    public boolean stream() { return Boolean.TRUE.equals(stream); }

    /** Number of partial images to stream (0–3). */
    public OptionalInt partialImages() {
        return partialImages == null ? OptionalInt.empty() : OptionalInt.of(partialImages);
    }

    /** Time allowed for the whole call. */
    public Optional<Duration> timeout() { return Optional.ofNullable(timeout); }

    /** Headers added to the upstream request. */
    public Map<String, String> extraHeaders() { return extraHeaders; }

    /** Fields forwarded to the provider unchanged (nested maps become {@code a[b]} form keys). */
    public Map<String, Object> extraBody() { return extraBody; }

    @Override
    public String toString() {
        // No prompt text and no image bytes: this string may end up in logs.
        return "ImageEditRequest[model=" + model + ", images=" + images.size() + ", mask=" + (mask != null)
                + ", n=" + n + ", size=" + size + ", quality=" + quality + ", stream=" + stream() + "]";
    }

    /** Builder for {@link ImageEditRequest}. Not thread-safe. */
    public static final class Builder {
        private String model;
        private final List<ImageInput> images = new ArrayList<>();
        private ImageInput mask;
        private String prompt;
        private Integer n;
        private String size;
        private String quality;
        private String background;
        private String outputFormat;
        private Integer outputCompression;
        private String inputFidelity;
        private String responseFormat;
        private String user;
        private String safetyIdentifier;
        private Boolean stream;
        private Integer partialImages;
        private Duration timeout;
        private final Map<String, String> extraHeaders = new LinkedHashMap<>();
        private final Map<String, Object> extraBody = new LinkedHashMap<>();

        private Builder() {
        }

        /** Model or deployment name. */
        public Builder model(String model) { this.model = model; return this; }

        /** The one image to edit (replaces any images set before). */
        public Builder image(Path image) { return image(ImageInput.of(image)); }

        /** The one image to edit, as bytes (replaces any images set before). */
        public Builder image(byte[] image) { return image(ImageInput.of(image)); }

        /** The one image to edit, as a stream read when the edit runs (replaces any images set before). */
        public Builder image(InputStream image) { return image(ImageInput.of(image)); }

        /** The one image to edit (replaces any images set before). */
        public Builder image(ImageInput image) {
            images.clear();
            images.add(Objects.requireNonNull(image, "image"));
            return this;
        }

        /** Several images, in order (replaces any images set before). */
        public Builder images(List<Path> paths) {
            images.clear();
            for (Path p : paths) {
                images.add(ImageInput.of(p));
            }
            return this;
        }

        /** Several images, in order (replaces any images set before). */
        public Builder images(ImageInput... inputs) {
            images.clear();
            for (ImageInput i : inputs) {
                images.add(Objects.requireNonNull(i, "image"));
            }
            return this;
        }

        /** Appends one image after those already set. */
        public Builder addImage(ImageInput image) {
            images.add(Objects.requireNonNull(image, "image"));
            return this;
        }

        /** Mask: fully transparent pixels mark the area to edit. */
        public Builder mask(Path mask) { return mask(ImageInput.of(mask)); }

        /** Mask as bytes. */
        public Builder mask(byte[] mask) { return mask(ImageInput.of(mask)); }

        /** Mask as a stream. */
        public Builder mask(InputStream mask) { return mask(ImageInput.of(mask)); }

        /** Mask. */
        public Builder mask(ImageInput mask) { this.mask = mask; return this; }

        /** What to change. */
        public Builder prompt(String prompt) { this.prompt = prompt; return this; }

        /** Number of images (1–10). */
        public Builder n(int n) { this.n = n; return this; }

        /** Output size, e.g. {@code 1024x1024} or {@code auto}. */
        public Builder size(String size) { this.size = size; return this; }

        /** Quality, e.g. {@code high}. */
        public Builder quality(String quality) { this.quality = quality; return this; }

        /** Background: {@code transparent}, {@code opaque} or {@code auto}. */
        public Builder background(String background) { this.background = background; return this; }

        /** Output format: {@code png}, {@code jpeg} or {@code webp}. */
        public Builder outputFormat(String outputFormat) { this.outputFormat = outputFormat; return this; }

        /** Output compression 0–100 (jpeg/webp). */
        public Builder outputCompression(int outputCompression) {
            this.outputCompression = outputCompression;
            return this;
        }

        /** Input fidelity: {@code high} or {@code low}. */
        public Builder inputFidelity(String inputFidelity) { this.inputFidelity = inputFidelity; return this; }

        /** {@code url} or {@code b64_json}. */
        public Builder responseFormat(String responseFormat) { this.responseFormat = responseFormat; return this; }

        /** End-user id. */
        public Builder user(String user) { this.user = user; return this; }

        /** Stable hashed end-user id. */
        public Builder safetyIdentifier(String id) { this.safetyIdentifier = id; return this; }

        /** Stream partial images (use {@link Easel#imageEditStream(ImageEditRequest)}). */
        public Builder stream(boolean stream) { this.stream = stream; return this; }

        /** Number of partial images to stream (0–3). */
        public Builder partialImages(int partialImages) { this.partialImages = partialImages; return this; }

        /** Time allowed for this call (overrides the client's default). */
        public Builder timeout(Duration timeout) { this.timeout = timeout; return this; }

        /** Adds headers to the upstream request. */
        public Builder extraHeaders(Map<String, String> headers) { extraHeaders.putAll(headers); return this; }

        /** Adds fields forwarded to the provider unchanged. */
        public Builder extraBody(Map<String, ?> body) { extraBody.putAll(body); return this; }

        /** The request. Validation against the model happens when it is sent, not here. */
        public ImageEditRequest build() {
            return new ImageEditRequest(this);
        }
    }
}
