package dev.easel.langchain4j;

import dev.easel.Easel;
import dev.easel.EaselException;
import dev.easel.ImageData;
import dev.easel.ImageEditRequest;
import dev.easel.ImageInput;
import dev.easel.ImageResponse;
import dev.langchain4j.data.image.Image;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.model.image.ImageModel;
import dev.langchain4j.model.output.Response;
import dev.langchain4j.model.output.TokenUsage;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A LangChain4j {@link ImageModel} that edits through Easel: every Easel provider, with Easel's validation,
 * fallbacks, retries and cost.
 *
 * <pre>{@code
 * Easel easel = Easel.fromConfig(Path.of("config.yaml"));
 * ImageModel model = EaselImageModel.builder().easel(easel).model("gpt-image-2").build();
 * Response<Image> edited = model.edit(Image.builder().base64Data(png).mimeType("image/png").build(),
 *         "Add a red hat");
 * }</pre>
 *
 * <p>Images are given as base64 data, as a {@code data:} URL or as a {@code file:} URL; an {@code http(s)} URL is
 * refused with an {@link InvalidRequestException}, since Easel's SDK takes image bytes and files, never fetches
 * them. The answer is base64 or a URL as {@link Builder#responseFormat} says; its metadata carries Easel's cost
 * and where the edit went ({@link #COST_USD} ...), its token usage the provider's. Easel's exceptions become
 * LangChain4j's ({@code RateLimitException}, {@code InvalidRequestException}, ...) with Easel's as the cause.
 * {@link #generate(String)} is refused: Easel edits images, it does not generate them from text alone.
 * Thread-safe. The model does not own the client: close the {@link Easel} yourself.
 */
public final class EaselImageModel implements ImageModel {

    /** Metadata key: Easel's cost of the edit in USD ({@link java.math.BigDecimal}), when the model is priced. */
    public static final String COST_USD = "cost_usd";
    /** Metadata key: the cost the provider reported, in USD ({@link java.math.BigDecimal}), when it reports one. */
    public static final String PROVIDER_COST_USD = "provider_cost_usd";
    /** Metadata key: the provider that served the edit. */
    public static final String PROVIDER = "provider";
    /** Metadata key: the provider's model that served the edit. */
    public static final String MODEL = "model";
    /** Metadata key: the request id. */
    public static final String REQUEST_ID = "request_id";
    /** Metadata key: Easel's warnings about the edit ({@code List<String>}, e.g. a retired model). */
    public static final String WARNINGS = "warnings";

    private final Easel easel;
    private final String model;
    private final String responseFormat;
    private final String size;
    private final String quality;
    private final String background;
    private final String outputFormat;
    private final String user;

    private EaselImageModel(Builder b) {
        this.easel = Objects.requireNonNull(b.easel, "easel");
        this.model = Objects.requireNonNull(b.model, "model");
        this.responseFormat = b.responseFormat;
        this.size = b.size;
        this.quality = b.quality;
        this.background = b.background;
        this.outputFormat = b.outputFormat;
        this.user = b.user;
    }

    /** A builder; {@link Builder#easel} and {@link Builder#model} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Refused: Easel edits images and does not generate them from text alone.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public Response<Image> generate(String prompt) {
        throw notAnEdit();
    }

    /**
     * Refused: Easel edits images and does not generate them from text alone.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public Response<List<Image>> generate(String prompt, int n) {
        throw notAnEdit();
    }

    /** Edits {@code image} as {@code prompt} says. */
    @Override
    public Response<Image> edit(Image image, String prompt) {
        return edit(List.of(Objects.requireNonNull(image, "image")), prompt);
    }

    /** Edits {@code image} where {@code mask} is transparent, as {@code prompt} says. */
    @Override
    public Response<Image> edit(Image image, Image mask, String prompt) {
        return edit(List.of(Objects.requireNonNull(image, "image")), mask, prompt);
    }

    /**
     * Edits several images into one, as {@code prompt} says (for models that take several, such as gpt-image-2;
     * Easel refuses more than a model takes).
     */
    public Response<Image> edit(List<Image> images, String prompt) {
        return run(images, null, prompt);
    }

    /** Edits several images into one where {@code mask} (for the first image) is transparent. */
    public Response<Image> edit(List<Image> images, Image mask, String prompt) {
        return run(images, Objects.requireNonNull(mask, "mask (use edit(images, prompt) for none)"), prompt);
    }

    private Response<Image> run(List<Image> images, Image mask, String prompt) {
        Objects.requireNonNull(images, "images");
        if (images.isEmpty()) {
            throw new InvalidRequestException("images: at least one image is needed for an edit");
        }
        ImageEditRequest.Builder request = ImageEditRequest.builder().model(model).prompt(prompt);
        for (int i = 0; i < images.size(); i++) {
            String what = images.size() == 1 ? "image" : "images[" + i + "]";
            request.addImage(input(Objects.requireNonNull(images.get(i), what), what));
        }
        if (mask != null) {
            request.mask(input(mask, "mask"));
        }
        if (responseFormat != null) {
            request.responseFormat(responseFormat);
        }
        if (size != null) {
            request.size(size);
        }
        if (quality != null) {
            request.quality(quality);
        }
        if (background != null) {
            request.background(background);
        }
        if (outputFormat != null) {
            request.outputFormat(outputFormat);
        }
        if (user != null) {
            request.user(user);
        }
        ImageResponse response;
        try {
            response = easel.imageEdit(request.build());
        } catch (EaselException e) {
            throw Exceptions.toLangChain4j(e);
        }
        return response(response);
    }

    /** LangChain4j's image as Easel's input: base64 data, a data: URL or a file: URL. */
    static ImageInput input(Image image, String what) {
        String name = "image" + extension(image.mimeType());
        if (image.base64Data() != null) {
            return ImageInput.of(decode(image.base64Data(), what), name);
        }
        URI url = image.url();
        if (url == null) {
            throw new InvalidRequestException(what + ": has neither base64 data nor a URL");
        }
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        switch (scheme) {
            case "data" -> {
                return ImageInput.of(dataUrl(url, what), name);
            }
            case "file" -> {
                Path path;
                try {
                    path = Path.of(url);
                } catch (IllegalArgumentException e) {
                    throw new InvalidRequestException(what + ": not a usable file URL: " + url, e);
                }
                return ImageInput.of(path);
            }
            default -> throw new InvalidRequestException(what + ": " + (scheme.isEmpty() ? "a URL without a scheme"
                    : "a " + scheme + " URL") + " is not fetched: Easel takes images as bytes or files; pass "
                    + "base64Data, a data: URL or a file: URL");
        }
    }

    private static byte[] decode(String base64, String what) {
        try {
            return Base64.getMimeDecoder().decode(base64.getBytes(StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(what + ": base64Data is not valid base64 (" + e.getMessage() + ")", e);
        }
    }

    private static byte[] dataUrl(URI url, String what) {
        String s = url.getRawSchemeSpecificPart();
        int comma = s.indexOf(',');
        if (comma < 0 || !s.substring(0, comma).toLowerCase(Locale.ROOT).endsWith(";base64")) {
            throw new InvalidRequestException(what + ": a data: URL must be base64 (data:image/png;base64,...)");
        }
        return decode(s.substring(comma + 1), what);
    }

    private static String extension(String mimeType) {
        if (mimeType == null) {
            return "";
        }
        return switch (mimeType.toLowerCase(Locale.ROOT)) {
            case "image/png" -> ".png";
            case "image/jpeg", "image/jpg" -> ".jpg";
            case "image/webp" -> ".webp";
            default -> "";
        };
    }

    private static Response<Image> response(ImageResponse r) {
        if (r.data().isEmpty()) {
            throw new dev.langchain4j.exception.InternalServerException("the provider answered without an image");
        }
        ImageData d = r.data().get(0);
        Image.Builder image = Image.builder();
        d.b64Json().ifPresent(image::base64Data);
        d.url().ifPresent(image::url);
        d.revisedPrompt().ifPresent(image::revisedPrompt);
        r.outputFormat().map(f -> "image/" + f.toLowerCase(Locale.ROOT)).ifPresent(image::mimeType);
        TokenUsage usage = r.usage().map(u -> new TokenUsage(tokens(u.inputTokens()), tokens(u.outputTokens()),
                tokens(u.totalTokens()))).orElse(null);
        Map<String, Object> metadata = new LinkedHashMap<>();
        r.cost().ifPresent(c -> metadata.put(COST_USD, c));
        r.providerCost().ifPresent(c -> metadata.put(PROVIDER_COST_USD, c));
        r.provider().ifPresent(p -> metadata.put(PROVIDER, p));
        r.model().ifPresent(m -> metadata.put(MODEL, m));
        r.requestId().ifPresent(id -> metadata.put(REQUEST_ID, id));
        if (!r.warnings().isEmpty()) {
            metadata.put(WARNINGS, new ArrayList<>(r.warnings()));
        }
        return Response.from(image.build(), usage, null, metadata);
    }

    private static Integer tokens(long n) {
        return n > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) n;
    }

    private static UnsupportedOperationException notAnEdit() {
        return new UnsupportedOperationException("EaselImageModel edits images: generating an image from text alone "
                + "is not an edit; call edit(image, prompt) or use an image generation model");
    }

    /** Builder for {@link EaselImageModel}. */
    public static final class Builder {
        private Easel easel;
        private String model;
        private String responseFormat;
        private String size;
        private String quality;
        private String background;
        private String outputFormat;
        private String user;

        private Builder() {
        }

        /** The client to edit through (required; not closed by the model). */
        public Builder easel(Easel easel) {
            this.easel = Objects.requireNonNull(easel, "easel");
            return this;
        }

        /** The model: a config model group, or a model string such as {@code openai/gpt-image-2} (required). */
        public Builder model(String model) {
            this.model = Objects.requireNonNull(model, "model");
            return this;
        }

        /** {@code b64_json} (base64 in the answer) or {@code url}; default: the model's own default. */
        public Builder responseFormat(String responseFormat) {
            this.responseFormat = responseFormat;
            return this;
        }

        /** Output size, e.g. {@code 1024x1024} or {@code auto}. */
        public Builder size(String size) {
            this.size = size;
            return this;
        }

        /** Quality, e.g. {@code low}, {@code medium}, {@code high}. */
        public Builder quality(String quality) {
            this.quality = quality;
            return this;
        }

        /** Background, e.g. {@code transparent}. */
        public Builder background(String background) {
            this.background = background;
            return this;
        }

        /** Output format: {@code png}, {@code jpeg} or {@code webp}. */
        public Builder outputFormat(String outputFormat) {
            this.outputFormat = outputFormat;
            return this;
        }

        /** The end user, for the provider's abuse checks and Easel's spend records. */
        public Builder user(String user) {
            this.user = user;
            return this;
        }

        /** The model. */
        public EaselImageModel build() {
            return new EaselImageModel(this);
        }
    }
}
