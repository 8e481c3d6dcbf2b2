package dev.easel.validate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.easel.BadRequestException;
import dev.easel.catalog.ModelCatalog;
import dev.easel.catalog.ModelSpec;
import dev.easel.image.ImageFormat;
import dev.easel.image.TestImages;
import dev.easel.internal.Blob;
import dev.easel.provider.ImagePart;
import dev.easel.validate.EditInput.RawImage;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RequestValidatorTest {

    private static final LocalDate TODAY = LocalDate.of(2026, 11, 24);
    private static final ModelCatalog CATALOG = ModelCatalog.bundled();
    private static final RequestValidator VALIDATOR = new RequestValidator();

    private static final byte[] PNG = TestImages.png(64, 64, false);
    private static final byte[] MASK = TestImages.maskWithHole(64, 64);

    private static ModelSpec model(String id) {
        return CATALOG.find(id).orElseThrow();
    }

    /** A small builder for inputs: one 64×64 PNG and a prompt unless told otherwise. */
    private static final class In {
        private String prompt = "make the sky purple";
        private final List<RawImage> images = new ArrayList<>(List.of(new RawImage(Blob.ofBytes(PNG), "a.png", "image")));
        private RawImage mask;
        private final Map<String, Object> params = new LinkedHashMap<>();
        private boolean stream;

        In prompt(String p) {
            prompt = p;
            return this;
        }

        In images(Blob... blobs) {
            images.clear();
            for (int i = 0; i < blobs.length; i++) {
                images.add(new RawImage(blobs[i], null, blobs.length == 1 ? "image" : "image[" + i + "]"));
            }
            return this;
        }

        In images(byte[]... bytes) {
            return images(Arrays.stream(bytes).map(Blob::ofBytes).toArray(Blob[]::new));
        }

        In mask(byte[] bytes) {
            mask = new RawImage(Blob.ofBytes(bytes), null, "mask");
            return this;
        }

        In param(String key, Object value) {
            params.put(key, value);
            return this;
        }

        In stream() {
            stream = true;
            return this;
        }

        EditInput build() {
            return new EditInput(prompt, images, mask, params, stream);
        }
    }

    private static In in() {
        return new In();
    }

    private static ValidatedEdit validate(In input, String model) {
        return VALIDATOR.validate(input.build(), model(model), false, TODAY);
    }

    // ---------------------------------------------------------------- every rule, exact errors

    private static Arguments bad(String name, String model, Supplier<In> input, String message, String code,
                                 String param) {
        return arguments(name, model.equals("no-mask") ? noMaskModel() : model.startsWith("?")
                ? ModelCatalog.permissive(model.substring(1), "mock") : model(model), input, message, code, param);
    }

    private static ModelSpec noMaskModel() {
        ModelSpec b = model("gpt-image-1");
        return new ModelSpec("no-mask", List.of(), "openai", true, b.inputFormats(), b.maxImageBytes(), b.maxImages(),
                false, new ModelSpec.MaskRule(false, 0, false, false, false), b.promptMaxLength(), 1, 10, b.sizes(),
                b.params(), true, b.pricing(), b.lifecycle());
    }

    static Stream<Arguments> badRequests() {
        String fixedSizes = "Supported sizes are 1024x1024, 1024x1536, 1536x1024, and auto.";
        String gptFormats = "Supported formats are 'png', 'jpeg', and 'webp'.";
        return Stream.of(
                bad("prompt missing", "gpt-image-1", () -> in().prompt(null),
                        "Missing required parameter: 'prompt'.", "missing_required_parameter", "prompt"),
                bad("prompt blank", "gpt-image-1", () -> in().prompt("  \n"),
                        "Missing required parameter: 'prompt'.", "missing_required_parameter", "prompt"),
                bad("prompt too long", "gpt-image-1", () -> in().prompt("a".repeat(32001)),
                        "Invalid 'prompt': string too long. Expected a string with maximum length 32000, but got a "
                                + "string with length 32001 instead.", "string_above_max_length", "prompt"),
                bad("prompt too long, dall-e-2", "dall-e-2", () -> in().prompt("é".repeat(1001)),
                        "Invalid 'prompt': string too long. Expected a string with maximum length 1000, but got a "
                                + "string with length 1001 instead.", "string_above_max_length", "prompt"),
                bad("no image", "gpt-image-1", () -> in().images(new byte[0][]),
                        "Missing required parameter: 'image'.", "missing_required_parameter", "image"),
                bad("too many images", "gpt-image-1", () -> in().images(repeat(PNG, 17)),
                        "Too many images: model 'gpt-image-1' accepts at most 16 images (was 17).",
                        "array_above_max_length", "image"),
                bad("too many images, dall-e-2", "dall-e-2", () -> in().images(PNG, PNG),
                        "Too many images: model 'dall-e-2' accepts at most 1 image (was 2).",
                        "array_above_max_length", "image"),
                bad("gif image", "gpt-image-1", () -> in().images(gif()),
                        "Invalid file 'image': unsupported image format 'gif'. " + gptFormats,
                        "invalid_image_format", "image"),
                bad("unknown bytes", "gpt-image-2", () -> in().images(PNG, "hello world".getBytes(StandardCharsets.UTF_8)),
                        "Invalid file 'image[1]': unknown image format. " + gptFormats,
                        "invalid_image_format", "image[1]"),
                bad("jpeg to dall-e-2", "dall-e-2", () -> in().images(TestImages.jpeg(64, 64)),
                        "Invalid file 'image': unsupported image format 'jpeg'. Supported formats are 'png'.",
                        "invalid_image_format", "image"),
                bad("image of 50 MB", "gpt-image-1", () -> in().images(Blob.ofBytes(PNG), sparsePng(52_428_800L)),
                        "Invalid file 'image[1]': 52428800 bytes (50 MB) is too large; model 'gpt-image-1' accepts "
                                + "files smaller than 52428800 bytes (50 MB).", "image_too_large", "image[1]"),
                bad("image over 4 MB, dall-e-2", "dall-e-2", () -> in().images(sparsePng(5_000_000L)),
                        "Invalid file 'image': 5000000 bytes (4.8 MB) is too large; model 'dall-e-2' accepts files "
                                + "smaller than 4194304 bytes (4 MB).", "image_too_large", "image"),
                bad("not square, dall-e-2", "dall-e-2", () -> in().images(TestImages.png(64, 32, true)),
                        "Invalid file 'image': model 'dall-e-2' needs a square image (was 64x32).",
                        "invalid_image_dimensions", "image"),
                bad("truncated png", "gpt-image-1", () -> in().images(PNG, TestImages.truncate(PNG, PNG.length - 5)),
                        "Invalid image file 'image[1]': truncated png: the file does not end with an IEND chunk.",
                        "invalid_image_file", "image[1]"),
                bad("png with bad IHDR checksum", "gpt-image-1", () -> in().images(zeroIhdrCrc(PNG)),
                        "Invalid image file 'image': corrupt png: IHDR checksum mismatch (stored 0x00000000, computed "
                                + ihdrCrc(PNG) + ").", "invalid_image_file", "image"),
                bad("truncated jpeg", "gpt-image-1.5", () -> in().images(TestImages.truncate(TestImages.jpeg(64, 64), 400)),
                        "Invalid image file 'image': truncated jpeg: the file does not end with the EOI marker (FF D9).",
                        "invalid_image_file", "image"),
                bad("mask not png", "gpt-image-1", () -> in().mask(TestImages.jpeg(64, 64)),
                        "Invalid file 'mask': the mask must be a png (was jpeg).", "invalid_image_format", "mask"),
                bad("mask without alpha", "gpt-image-1", () -> in().mask(TestImages.png(64, 64, false)),
                        "Invalid file 'mask': the mask must have an alpha channel (fully transparent pixels mark the "
                                + "area to edit).", "invalid_image_format", "mask"),
                bad("mask of other dimensions", "gpt-image-2", () -> in().mask(TestImages.maskWithHole(32, 48)),
                        "Invalid file 'mask': the mask is 32x48 but the first image is 64x64; they must have the same "
                                + "dimensions.", "invalid_image_dimensions", "mask"),
                bad("mask of 4 MB", "gpt-image-1", () -> in().mask(Arrays.copyOf(MASK, 4_194_304)),
                        "Invalid file 'mask': 4194304 bytes (4 MB) is too large; model 'gpt-image-1' accepts files "
                                + "smaller than 4194304 bytes (4 MB).", "image_too_large", "mask"),
                bad("mask to a model without masks", "no-mask", () -> in().mask(MASK),
                        "The model 'no-mask' does not support the 'mask' parameter.", "unsupported_parameter", "mask"),
                bad("n above max", "gpt-image-1", () -> in().param("n", "11"),
                        "n must be between 1 and 10 (was 11)", "integer_above_max_value", "n"),
                bad("n below min", "gpt-image-1", () -> in().param("n", 0),
                        "n must be between 1 and 10 (was 0)", "integer_below_min_value", "n"),
                bad("n not a number", "gpt-image-1", () -> in().param("n", "abc"),
                        "n must be an integer between 1 and 10 (was 'abc')", "invalid_type", "n"),
                bad("n a fraction", "?some/model", () -> in().param("n", 2.5),
                        "n must be an integer between 1 and 10 (was 2.5)", "invalid_type", "n"),
                bad("size not in fixed list", "gpt-image-1", () -> in().param("size", "1024x512"),
                        "Invalid size '1024x512'. " + fixedSizes, "invalid_value", "size"),
                bad("size auto, dall-e-2", "dall-e-2", () -> in().param("size", "auto"),
                        "Invalid size 'auto'. Supported sizes are 256x256, 512x512, and 1024x1024.", "invalid_value", "size"),
                bad("size not divisible by 16", "gpt-image-2", () -> in().param("size", "1254x1254"),
                        "Invalid size '1254x1254'. Width and height must both be divisible by 16.", "invalid_value", "size"),
                bad("size edge above 3840", "gpt-image-2.5-flare", () -> in().param("size", "4096x1536"),
                        "Invalid size '4096x1536'. Width and height must be at most 3840 pixels.", "invalid_value", "size"),
                bad("size aspect above 3:1", "gpt-image-2", () -> in().param("size", "3840x1152"),
                        "Invalid size '3840x1152'. The aspect ratio must be at most 3:1 (was 3.33:1).",
                        "invalid_value", "size"),
                bad("size too few pixels", "gpt-image-2", () -> in().param("size", "512x512"),
                        "Invalid size '512x512'. The total pixel count must be between 655360 and 8294400 (was 262144).",
                        "invalid_value", "size"),
                bad("size too many pixels", "gpt-image-2.6-sunburst", () -> in().param("size", "3840x2880"),
                        "Invalid size '3840x2880'. The total pixel count must be between 655360 and 8294400 (was 11059200).",
                        "invalid_value", "size"),
                bad("size malformed", "gpt-image-2", () -> in().param("size", "big"),
                        "Invalid size 'big'. Expected 'auto' or WIDTHxHEIGHT, e.g. '1024x1024'.", "invalid_value", "size"),
                bad("size malformed, unknown model", "?some/model", () -> in().param("size", "1024"),
                        "Invalid size '1024'. Expected 'auto' or WIDTHxHEIGHT, e.g. '1024x1024'.", "invalid_value", "size"),
                bad("size not a string", "gpt-image-2", () -> in().param("size", 1024),
                        "Invalid type for 'size': expected a string, but got an integer instead.", "invalid_type", "size"),
                bad("quality not allowed", "gpt-image-1", () -> in().param("quality", "ultra"),
                        "Invalid value: 'ultra'. Supported values are: 'low', 'medium', 'high', and 'auto'.",
                        "invalid_value", "quality"),
                bad("quality xhigh before 2.5", "gpt-image-2", () -> in().param("quality", "xhigh"),
                        "Invalid value: 'xhigh'. Supported values are: 'low', 'medium', 'high', and 'auto'.",
                        "invalid_value", "quality"),
                bad("input_fidelity high on mini", "gpt-image-1-mini", () -> in().param("input_fidelity", "high"),
                        "Invalid value: 'high'. Supported values are: 'low'.", "invalid_value", "input_fidelity"),
                bad("response_format png, dall-e-2", "dall-e-2", () -> in().param("response_format", "png"),
                        "Invalid value: 'png'. Supported values are: 'url' and 'b64_json'.", "invalid_value",
                        "response_format"),
                bad("quality as object", "gpt-image-1", () -> in().param("quality", Map.of("level", "high")),
                        "Invalid type for 'quality': expected a string, but got an object instead.", "invalid_type",
                        "quality"),
                bad("output_compression above max", "gpt-image-1", () -> in().param("output_compression", "101"),
                        "output_compression must be between 0 and 100 (was 101)", "integer_above_max_value",
                        "output_compression"),
                bad("output_compression below min", "gpt-image-2", () -> in().param("output_compression", -1),
                        "output_compression must be between 0 and 100 (was -1)", "integer_below_min_value",
                        "output_compression"),
                bad("partial_images above max", "gpt-image-1.5", () -> in().param("partial_images", "4"),
                        "partial_images must be between 0 and 3 (was 4)", "integer_above_max_value", "partial_images"),
                bad("frame_duration_ms negative", "gpt-image-2.5-sunburst", () -> in().param("frame_duration_ms", -10),
                        "frame_duration_ms must be at least 0 (was -10)", "integer_below_min_value", "frame_duration_ms"),
                bad("stream with n=2", "gpt-image-1", () -> in().stream().param("n", "2"),
                        "Streaming is only supported with n=1.", "invalid_value", "stream"),
                bad("stream, dall-e-2", "dall-e-2", () -> in().stream(),
                        "The model 'dall-e-2' does not support streaming.", "unsupported_parameter", "stream"),
                bad("input_fidelity on gpt-image-2", "gpt-image-2", () -> in().param("input_fidelity", "high"),
                        "The model 'gpt-image-2' does not support the 'input_fidelity' parameter.",
                        "unsupported_parameter", "input_fidelity"),
                bad("background on dall-e-2", "dall-e-2", () -> in().param("background", "transparent"),
                        "The model 'dall-e-2' does not support the 'background' parameter.", "unsupported_parameter",
                        "background"),
                bad("complexity on gpt-image-2", "gpt-image-2", () -> in().param("complexity", "high"),
                        "The model 'gpt-image-2' does not support the 'complexity' parameter.", "unsupported_parameter",
                        "complexity"),
                bad("svg not an object", "gpt-image-2.6-flare", () -> in().param("svg", "gpt-5"),
                        "Invalid type for 'svg': expected an object, but got a string instead.", "invalid_type", "svg"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badRequests")
    void validate_badRequest_failsWithOpenAiShapedError(String name, ModelSpec spec, Supplier<In> input, String message,
                                                        String code, String param) {
        assertThatThrownBy(() -> VALIDATOR.validate(input.get().build(), spec, false, TODAY))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.status()).hasValue(400);
                    assertThat(e.type()).isEqualTo("invalid_request_error");
                    assertThat(e.code()).contains(code);
                    assertThat(e.param()).contains(param);
                })
                .hasMessage(message);
    }

    // ---------------------------------------------------------------- accepted requests

    @Test
    void validate_params_knownInOpenAiOrderThenExtrasAsGiven() {
        In input = in()
                .param("zeta", "1")
                .param("safety_identifier", "u-hash")
                .param("quality", "high")
                .param("model", "gpt-image-2.5-sunburst")
                .param("svg", Map.of("model", "gpt-5"))
                .param("n", 1)
                .param("output_compression", 80.0)
                .param("size", "2048x1152")
                .param("prompt", "ignored")
                .param("stream", "true")
                .param("flags", List.of("a", true, 3))
                .param("moderation", "low")
                .param("nested", new LinkedHashMap<>(Map.of("reasoning", Map.of("effort", "high"))));
        ValidatedEdit edit = validate(input, "gpt-image-2.5-sunburst");
        assertThat(edit.params().formFields()).containsExactly(
                Map.entry("n", "1"),
                Map.entry("size", "2048x1152"),
                Map.entry("quality", "high"),
                Map.entry("output_compression", "80"),
                Map.entry("moderation", "low"),
                Map.entry("safety_identifier", "u-hash"),
                Map.entry("zeta", "1"),
                Map.entry("svg[model]", "gpt-5"),
                Map.entry("flags[0]", "a"),
                Map.entry("flags[1]", "true"),
                Map.entry("flags[2]", "3"),
                Map.entry("nested[reasoning][effort]", "high"));
        assertThat(edit.dropped()).isEmpty();
        assertThat(edit.warnings()).isEmpty();
    }

    @Test
    void validate_unknownExtraField_passesThroughForKnownModels() {
        ValidatedEdit edit = validate(in().param("frame_rate_hint", "fast").param("response_format", "b64_json"),
                "gpt-image-1.5");
        assertThat(edit.params().formFields()).containsExactly(Map.entry("response_format", "b64_json"),
                Map.entry("frame_rate_hint", "fast"));
    }

    @Test
    void validate_dropParams_dropsUnsupportedParameterWithWarning() {
        In input = in().param("input_fidelity", "high").param("quality", "low").param("complexity", "low");
        ValidatedEdit edit = VALIDATOR.validate(input.build(), model("gpt-image-2"), true, TODAY);
        assertThat(edit.params().formFields()).containsExactly(Map.entry("quality", "low"));
        assertThat(edit.dropped()).containsExactly("input_fidelity", "complexity");
        assertThat(edit.warnings()).containsExactly(
                "dropped 'input_fidelity': model 'gpt-image-2' does not support it",
                "dropped 'complexity': model 'gpt-image-2' does not support it");
    }

    @Test
    void validate_dropParams_stillRejectsBadValues() {
        In input = in().param("quality", "ultra");
        assertThatThrownBy(() -> VALIDATOR.validate(input.build(), model("gpt-image-2"), true, TODAY))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("Invalid value: 'ultra'. Supported values are: 'low', 'medium', 'high', and 'auto'.");
    }

    @Test
    void validate_unknownModel_warnsAndPassesEverythingThrough() {
        In input = in().param("quality", "ultra").param("input_fidelity", "high").param("size", "4000x10")
                .param("n", "3").param("images_per_call", 2);
        ValidatedEdit edit = VALIDATOR.validate(input.build(), ModelCatalog.permissive("acme/edit-v9", "acme"), false,
                TODAY);
        assertThat(edit.params().formFields()).containsExactly(Map.entry("n", "3"), Map.entry("size", "4000x10"),
                Map.entry("quality", "ultra"), Map.entry("input_fidelity", "high"), Map.entry("images_per_call", "2"));
        assertThat(edit.warnings()).containsExactly(
                "model 'acme/edit-v9' is not in easel's catalogue; passing it through with permissive rules");
    }

    @Test
    void validate_retiredModel_warnsWithShutdownDateAndReplacement() {
        ValidatedEdit edit = validate(in().param("input_fidelity", "high"), "gpt-image-1");
        assertThat(edit.params().formFields()).containsExactly(Map.entry("input_fidelity", "high"));
        assertThat(edit.warnings()).containsExactly("model 'gpt-image-1' was shut down on 2026-10-23 "
                + "(replacement: 'gpt-image-2.5-sunburst'); sending the request unchanged");
    }

    @Test
    void validate_retiredModelWithoutReplacement_warnsWithShutdownDate() {
        assertThat(validate(in().mask(MASK), "dall-e-2").warnings())
                .containsExactly("model 'dall-e-2' was shut down on 2026-05-12; sending the request unchanged");
    }

    @Test
    void validate_deprecatedModel_warnsBeforeShutdownAndCountsShutdownDayAsRetired() {
        EditInput input = in().build();
        assertThat(VALIDATOR.validate(input, model("gpt-image-1.5"), false, LocalDate.of(2026, 11, 30)).warnings())
                .containsExactly("model 'gpt-image-1.5' is deprecated and shuts down on 2026-12-01 "
                        + "(replacement: 'gpt-image-2.6-sunburst')");
        assertThat(VALIDATOR.validate(input, model("gpt-image-1.5"), false, LocalDate.of(2026, 12, 1)).warnings())
                .containsExactly("model 'gpt-image-1.5' was shut down on 2026-12-01 "
                        + "(replacement: 'gpt-image-2.6-sunburst'); sending the request unchanged");
    }

    @Test
    void validate_activeModel_hasNoWarnings() {
        assertThat(validate(in().mask(MASK), "gpt-image-2").warnings()).isEmpty();
    }

    @Test
    void validate_maskWithoutTransparentPixel_warns() {
        ValidatedEdit edit = validate(in().mask(TestImages.png(64, 64, true)), "gpt-image-2");
        assertThat(edit.warnings())
                .containsExactly("the mask has no fully transparent pixel, so the edit may change nothing");
        assertThat(edit.maskOrNull().info().hasAlpha()).isTrue();
    }

    @Test
    void validate_images_inspectedAndRenamedToDetectedFormat() {
        In input = in();
        input.images.clear();
        input.images.add(new RawImage(Blob.ofBytes(PNG), "C:\\photos\\photo.jpg", "image[0]"));
        input.images.add(new RawImage(Blob.ofBytes(TestImages.jpeg(30, 20)), null, "image[1]"));
        input.images.add(new RawImage(Blob.ofBytes(TestImages.webpVp8l(10, 10, true)), "dir/x.y.png", "image[2]"));
        input.images.add(new RawImage(Blob.ofBytes(PNG), "bad\"name\r\n.png", "image[3]"));
        input.images.add(new RawImage(Blob.ofBytes(PNG), ".png", "image[4]"));
        input.mask(MASK);
        ValidatedEdit edit = validate(input, "gpt-image-2");
        assertThat(edit.images()).extracting(ImagePart::fileName)
                .containsExactly("photo.png", "image_1.jpg", "x.y.webp", "bad_name__.png", "image_4.png");
        assertThat(edit.images()).extracting(p -> p.info().format())
                .containsExactly(ImageFormat.PNG, ImageFormat.JPEG, ImageFormat.WEBP, ImageFormat.PNG, ImageFormat.PNG);
        assertThat(edit.images().get(1).info().dimensions()).isEqualTo("30x20");
        assertThat(edit.maskOrNull().fileName()).isEqualTo("mask.png");
        assertThat(edit.maskOrNull().blob().readAll()).isEqualTo(MASK);
    }

    @Test
    void validate_singleUnnamedImage_isCalledImagePng() {
        ValidatedEdit edit = validate(in().images(TestImages.jpeg(8, 8)), "gpt-image-1.5");
        assertThat(edit.images()).singleElement().extracting(ImagePart::fileName).isEqualTo("image.jpg");
        assertThat(edit.maskOrNull()).isNull();
    }

    @Test
    void validate_limitsAreInclusiveWhereOpenAiSaysSo() {
        In input = in().images(repeat(PNG, 16)).prompt("a".repeat(32000)).param("n", "10")
                .param("size", "3840x2160").param("output_compression", "0").param("partial_images", 3);
        ValidatedEdit edit = validate(input, "gpt-image-2");
        assertThat(edit.images()).hasSize(16);
        assertThat(edit.params().formFields()).containsEntry("size", "3840x2160").containsEntry("n", "10");
        assertThat(validate(in().param("size", "auto").stream().param("n", 1), "gpt-image-2").params().formFields())
                .containsEntry("size", "auto");
        assertThat(validate(in().param("size", "1536x1024"), "gpt-image-1-mini").params().formFields())
                .containsEntry("size", "1536x1024");
        assertThat(validate(in().param("size", "3072x1024"), "gpt-image-2").params().formFields())
                .containsEntry("size", "3072x1024");
    }

    @Test
    void validate_imageJustBelowFiftyMegabytes_passesTheSizeRule() {
        // a sparse 50 MB - 1 byte PNG: passes the size rule, then fails inspection (no IEND), proving the order
        assertThatThrownBy(() -> validate(in().images(sparsePng(52_428_799L)), "gpt-image-1"))
                .isInstanceOfSatisfying(BadRequestException.class,
                        e -> assertThat(e.code()).contains("invalid_image_file"));
    }

    @Test
    void validate_dallE2_acceptsSquarePngWithMaskAndUrl() {
        ValidatedEdit edit = validate(in().mask(MASK).param("size", "512x512").param("response_format", "url")
                .param("quality", "standard").param("user", "u1"), "dall-e-2");
        assertThat(edit.params().formFields()).containsExactly(Map.entry("size", "512x512"), Map.entry("quality", "standard"),
                Map.entry("response_format", "url"), Map.entry("user", "u1"));
    }

    @Test
    void validate_dallE2WithoutMask_rgbImage_isRefusedLikeOpenAi() {
        // without a mask dall-e-2 edits the image's transparent area; OpenAI answers this 400 for an RGB png
        for (byte[] image : List.of(TestImages.png(64, 64, false), TestImages.pngWithTrns(64, 64, true))) {
            assertThatThrownBy(() -> validate(in().images(image), "dall-e-2"))
                    .isInstanceOfSatisfying(BadRequestException.class, e -> {
                        assertThat(e.getMessage()).matches("Invalid input image - format must be in \\['RGBA', 'LA', "
                                + "'L'], got (RGB|P)\\. Without a mask, model 'dall-e-2' edits the transparent area "
                                + "of the image: send a png with an alpha channel, or a mask\\.");
                        assertThat(e.code()).contains("invalid_image_format");
                        assertThat(e.param()).contains("image");
                    });
        }
    }

    @Test
    void validate_dallE2WithoutMask_acceptsTheModesOpenAiAccepts() {
        assertThat(validate(in().images(TestImages.png(64, 64, true)), "dall-e-2").maskOrNull()).isNull();
        assertThat(validate(in().images(TestImages.grayPng(64, 64)), "dall-e-2").images()).hasSize(1);
    }

    @Test
    void validate_rgbImageWithoutMask_isFineForGptImageModels() {
        assertThat(validate(in().images(TestImages.png(64, 64, false)), "gpt-image-1").images()).hasSize(1);
    }

    @Test
    void validate_nullParameterValues_areOmitted() {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("quality", null);
        params.put("extra", null);
        EditInput input = new EditInput("p", in().images, null, params, false);
        assertThat(VALIDATOR.validate(input, model("gpt-image-2"), false, TODAY).params().formFields()).isEmpty();
    }

    // ---------------------------------------------------------------- input rules (providers that keep the size,
    // ignore unknown fields, need some fields, limit dimensions, read the image's alpha as the mask)

    /** A model with every input rule, the way a provider's catalogue declares them (Stability's). */
    private static final ModelSpec RULED = ModelCatalog.fromJson(new java.io.ByteArrayInputStream("""
            {"models": [{"id": "ruled", "provider": "p", "input_formats": ["png", "jpeg"], "max_image_bytes": 100000,
              "max_images": 1, "prompt_max_length": 100, "n": {"min": 1, "max": 4}, "streaming": false,
              "mask": {"supported": true, "convention": "white_on_black", "max_bytes": 100000, "png_only": true,
                       "alpha_required": true, "same_dimensions": true, "image_alpha_without_mask": true},
              "sizes": {"type": "from_input"},
              "image_limits": {"min_edge": 64, "min_pixels": 4096, "max_pixels": 20000, "max_aspect": 2.5},
              "strict_params": true, "required_params": [["left", "right"], ["search"]],
              "params": {"left": {"min": 0, "max": 2000}, "right": {"min": 0, "max": 2000}, "search": {},
                         "creativity": {"min": 0, "max": 1, "decimal": true}, "seed": {"min": 0, "max": 4294967294},
                         "output_format": {"values": ["png"]}, "user": {"upstream": false}}}]}"""
            .getBytes(StandardCharsets.UTF_8))).find("ruled").orElseThrow();

    private static In ruled() {
        return in().images(TestImages.png(64, 64, true)).param("left", 10).param("search", "cat");
    }

    private static ValidatedEdit validateRuled(In input, boolean dropParams) {
        return VALIDATOR.validate(input.build(), RULED, dropParams, TODAY);
    }

    static Stream<Arguments> ruledBadRequests() {
        return Stream.of(
                arguments("size other than auto", (Supplier<In>) () -> ruled().param("size", "1024x1024"),
                        "The model 'ruled' does not support the 'size' parameter: its output's size follows from the "
                                + "input image (send 'auto' or no size).", "unsupported_parameter", "size"),
                arguments("malformed size", (Supplier<In>) () -> ruled().param("size", "big"),
                        "Invalid size 'big'. Expected 'auto' or WIDTHxHEIGHT, e.g. '1024x1024'.", "invalid_value",
                        "size"),
                arguments("a field the model does not list", (Supplier<In>) () -> ruled().param("grow_mask", 5),
                        "The model 'ruled' does not support the 'grow_mask' parameter.", "unsupported_parameter",
                        "grow_mask"),
                arguments("an OpenAI field the model does not list", (Supplier<In>) () -> ruled().param("quality",
                        "high"), "The model 'ruled' does not support the 'quality' parameter.",
                        "unsupported_parameter", "quality"),
                arguments("required field missing", (Supplier<In>) () -> in().images(TestImages.png(64, 64, true))
                        .param("left", 10), "Missing required parameter: 'search' (model 'ruled' needs it).",
                        "missing_required_parameter", "search"),
                arguments("required field blank", (Supplier<In>) () -> ruled().param("search", " "),
                        "Missing required parameter: 'search' (model 'ruled' needs it).",
                        "missing_required_parameter", "search"),
                arguments("none of a group", (Supplier<In>) () -> in().images(TestImages.png(64, 64, true))
                        .param("search", "cat"), "Missing required parameter: model 'ruled' needs at least one of "
                        + "'left' or 'right', other than 0.", "missing_required_parameter", "left"),
                arguments("a group all 0", (Supplier<In>) () -> ruled().param("left", "0").param("right", 0.0),
                        "Missing required parameter: model 'ruled' needs at least one of 'left' or 'right', other "
                                + "than 0.", "missing_required_parameter", "left"),
                arguments("decimal above max", (Supplier<In>) () -> ruled().param("creativity", 1.5),
                        "creativity must be between 0 and 1 (was 1.5)", "decimal_above_max_value", "creativity"),
                arguments("decimal below min", (Supplier<In>) () -> ruled().param("creativity", "-0.25"),
                        "creativity must be between 0 and 1 (was -0.25)", "decimal_below_min_value", "creativity"),
                arguments("decimal not a number", (Supplier<In>) () -> ruled().param("creativity", "lots"),
                        "creativity must be a number between 0 and 1 (was 'lots')", "invalid_type", "creativity"),
                arguments("integer above a bound beyond an int", (Supplier<In>) () -> ruled().param("seed",
                        4_294_967_295L), "seed must be between 0 and 4294967294 (was 4294967295)",
                        "integer_above_max_value", "seed"),
                arguments("image side below the minimum", (Supplier<In>) () -> ruled().images(TestImages.png(63,
                        100, true)), "Invalid file 'image': model 'ruled' takes images of at least 64 pixels on "
                        + "each side (was 63x100).", "invalid_image_dimensions", "image"),
                arguments("image with too many pixels", (Supplier<In>) () -> ruled().images(TestImages.png(150,
                        150, true)), "Invalid file 'image': model 'ruled' takes images of between 4,096 and 20,000 "
                        + "pixels (was 150x150 = 22,500).", "invalid_image_dimensions", "image"),
                arguments("image too narrow", (Supplier<In>) () -> ruled().images(TestImages.png(64, 161, true)),
                        "Invalid file 'image': model 'ruled' takes images of an aspect ratio between 1:2.5 and "
                                + "2.5:1 (was 64x161).", "invalid_image_dimensions", "image"),
                arguments("no mask and no alpha (jpeg)", (Supplier<In>) () -> ruled().images(TestImages.jpeg(64,
                        64)), "Invalid file 'image': without a mask, model 'ruled' edits the transparent area of the "
                        + "image, and this jpeg has no alpha channel: send an image with transparency, or a mask.",
                        "invalid_image_format", "image"),
                arguments("no mask and no alpha (grayscale png)", (Supplier<In>) () -> ruled().images(
                        TestImages.grayPng(64, 64)), "Invalid file 'image': without a mask, model 'ruled' edits the "
                        + "transparent area of the image, and this png has no alpha channel: send an image with "
                        + "transparency, or a mask.", "invalid_image_format", "image"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ruledBadRequests")
    void validate_inputRules_refuseBeforeTheCall(String name, Supplier<In> input, String message, String code,
                                                 String param) {
        assertThatThrownBy(() -> validateRuled(input.get(), false))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.status()).hasValue(400);
                    assertThat(e.code()).contains(code);
                    assertThat(e.param()).contains(param);
                })
                .hasMessage(message);
    }

    @Test
    void validate_inputRules_acceptWhatTheModelTakes() {
        ValidatedEdit edit = validateRuled(ruled().param("right", 0).param("size", "auto").param("creativity", "0.5")
                .param("seed", 4_294_967_294L).param("output_format", "png").param("user", "u1"), false);
        assertThat(edit.params().formFields()).containsExactly(Map.entry("size", "auto"),
                Map.entry("output_format", "png"), Map.entry("user", "u1"), Map.entry("left", "10"),
                Map.entry("search", "cat"), Map.entry("right", "0"), Map.entry("creativity", "0.5"),
                Map.entry("seed", "4294967294"));
        assertThat(edit.dropped()).isEmpty();
        // the image's alpha is the mask; with a mask, an image without alpha is fine
        assertThat(validateRuled(ruled().images(TestImages.png(64, 64, false)).mask(MASK), false).maskOrNull())
                .isNotNull();
        assertThat(validateRuled(ruled().images(TestImages.png(100, 200, true)), false).images()).hasSize(1);
    }

    @Test
    void validate_inputRules_dropParams_dropsTheSizeAndUnlistedFields_notRequiredOnes() {
        ValidatedEdit edit = validateRuled(ruled().param("size", "1536x1024").param("grow_mask", 5)
                .param("quality", "high"), true);
        assertThat(edit.params().formFields()).containsExactly(Map.entry("left", "10"), Map.entry("search", "cat"));
        assertThat(edit.dropped()).containsExactly("size", "grow_mask", "quality");
        assertThat(edit.warnings()).containsExactly(
                "dropped 'size': the output of model 'ruled' takes its size from the input image",
                "dropped 'grow_mask': model 'ruled' does not support it",
                "dropped 'quality': model 'ruled' does not support it");
        assertThatThrownBy(() -> validateRuled(in().images(TestImages.png(64, 64, true)).param("left", 1), true))
                .hasMessage("Missing required parameter: 'search' (model 'ruled' needs it).");
    }

    // ---------------------------------------------------------------- helpers

    private static byte[][] repeat(byte[] bytes, int times) {
        byte[][] out = new byte[times][];
        Arrays.fill(out, bytes);
        return out;
    }

    private static byte[] gif() {
        return TestImages.concat("GIF89a".getBytes(StandardCharsets.US_ASCII), new byte[40]);
    }

    /** A file of {@code size} bytes that starts like a PNG and is otherwise sparse (no disk or heap cost). */
    private static Blob sparsePng(long size) {
        try {
            Path file = Files.createTempFile("easel-big", ".png");
            file.toFile().deleteOnExit();
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                raf.write(Arrays.copyOf(PNG, 64));
                raf.setLength(size);
            }
            return Blob.ofFile(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] zeroIhdrCrc(byte[] png) {
        byte[] copy = png.clone();
        Arrays.fill(copy, 29, 33, (byte) 0);
        return copy;
    }

    private static String ihdrCrc(byte[] png) {
        CRC32 crc = new CRC32();
        crc.update(png, 12, 17);
        return String.format("0x%08X", crc.getValue());
    }
}
