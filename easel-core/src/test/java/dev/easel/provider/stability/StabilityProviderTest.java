package dev.easel.provider.stability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ConnectionException;
import dev.easel.ContentPolicyViolationException;
import dev.easel.Easel;
import dev.easel.EaselException;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import dev.easel.InternalServerException;
import dev.easel.NotFoundException;
import dev.easel.PermissionDeniedException;
import dev.easel.RateLimitException;
import dev.easel.ServiceUnavailableException;
import dev.easel.image.TestImages;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.FakeStability;
import dev.easel.testkit.RecordedPart;
import dev.easel.testkit.RecordedRequest;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Stability adapter through a real client against the testkit's strict fake: the exact form that arrives for
 * each operation (fields, image, the mask in Stability's convention), what is refused before any call, and every
 * answer Stability gives.
 */
class StabilityProviderTest {

    static final String KEY = "sk-stab-0123456789abcdef";

    private final FakeStability fake = FakeStability.builder().apiKey(KEY).start();

    @AfterEach
    void stop() {
        fake.close();
    }

    private Easel easel(boolean dropParams) {
        return Easel.builder().apiKey(KEY).apiBase(fake.baseUrl()).maxRetries(0).dropParams(dropParams).build();
    }

    private ImageResponse edit(ImageEditRequest request) {
        return easel(false).imageEdit(request);
    }

    private static ImageEditRequest.Builder request(String op) {
        return ImageEditRequest.builder().model("stability/" + op).prompt("a red door")
                .image(TestImages.png(64, 64, true));
    }

    private static Map<String, Object> extras(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    // ---------------------------------------------------------------- what reaches Stability

    @Test
    void inpaint_sendsTheFormStabilityReads_andTheMaskWhiteOnBlack() throws IOException {
        byte[] image = TestImages.png(64, 64, false);
        ImageResponse r = edit(ImageEditRequest.builder().model("stability/inpaint").prompt("a red door")
                .image(image).mask(TestImages.maskWithHole(64, 64)).outputFormat("webp").user("end-user-1")
                .extraBody(extras("negative_prompt", "blur", "grow_mask", 7, "seed", 4_294_967_294L,
                        "style_preset", "photographic"))
                .build());

        RecordedRequest req = fake.takeRequest();
        assertThat(req.method()).isEqualTo("POST");
        assertThat(req.path()).isEqualTo("/v2beta/stable-image/edit/inpaint");
        assertThat(req.header("Authorization")).contains("Bearer " + KEY);
        assertThat(req.header("accept")).contains("application/json");
        // nothing Stability does not read: no n, size, response_format or user
        assertThat(req.fieldNames()).containsExactly("prompt", "output_format", "negative_prompt", "grow_mask",
                "seed", "style_preset", "image", "mask");
        assertThat(req.textField("prompt")).contains("a red door");
        assertThat(req.textField("output_format")).contains("webp");
        assertThat(req.textField("grow_mask")).contains("7");
        assertThat(req.textField("seed")).contains("4294967294");
        RecordedPart sent = req.part("image");
        assertThat(sent.bytes()).isEqualTo(image);
        assertThat(sent.contentType()).contains("image/png");
        assertThat(sent.filename()).hasValueSatisfying(f -> assertThat(f).endsWith(".png"));
        // OpenAI's alpha mask (transparent = edit) arrives as a binary grayscale mask, white = edit
        RecordedPart mask = req.part("mask");
        assertThat(mask.contentType()).contains("image/png");
        BufferedImage m = ImageIO.read(new ByteArrayInputStream(mask.bytes()));
        assertThat(m.getType()).isEqualTo(BufferedImage.TYPE_BYTE_GRAY);
        assertThat(m.getWidth()).isEqualTo(64);
        assertThat(m.getHeight()).isEqualTo(64);
        assertThat(m.getRaster().getSample(32, 32, 0)).isEqualTo(255); // inside the hole
        assertThat(m.getRaster().getSample(2, 2, 0)).isZero();
        assertThat(m.getRaster().getSample(63, 63, 0)).isZero();

        assertThat(r.data()).singleElement().satisfies(d ->
                assertThat(new String(d.bytes(), 8, 4, StandardCharsets.US_ASCII)).isEqualTo("WEBP"));
        assertThat(r.outputFormat()).contains("webp");
        assertThat(r.provider()).contains("stability");
        assertThat(r.model()).contains("inpaint");
    }

    @Test
    void inpaintAndErase_withoutMask_sendTheImageWhoseTransparencyIsTheMask() {
        edit(request("inpaint").build());
        assertThat(fake.takeRequest().fieldNames()).containsExactly("prompt", "image");
        edit(request("erase").extraBody(extras("grow_mask", 20)).build());
        // erase reads no prompt: the OpenAI prompt a client must send is not forwarded
        RecordedRequest erase = fake.takeRequest();
        assertThat(erase.path()).isEqualTo("/v2beta/stable-image/edit/erase");
        assertThat(erase.fieldNames()).containsExactly("grow_mask", "image");
    }

    @Test
    void outpaint_sendsItsMargins_andTheAnswerIsTheGrownImage() throws IOException {
        ImageResponse r = edit(request("outpaint").extraBody(extras("left", 100, "up", "20", "creativity", 0.25,
                "style_preset", "anime")).build());
        RecordedRequest req = fake.takeRequest();
        assertThat(req.path()).isEqualTo("/v2beta/stable-image/edit/outpaint");
        assertThat(req.fieldNames()).containsExactly("prompt", "left", "up", "creativity", "style_preset", "image");
        assertThat(req.textField("creativity")).contains("0.25");
        BufferedImage out = ImageIO.read(new ByteArrayInputStream(r.data().get(0).bytes()));
        assertThat(out.getWidth()).isEqualTo(164);
        assertThat(out.getHeight()).isEqualTo(84);
    }

    @Test
    void searchAndReplace_searchAndRecolor_removeBackground_sendTheirOwnFields() {
        edit(request("search-and-replace").image(TestImages.jpeg(80, 64)).extraBody(extras("search_prompt", "cat",
                "grow_mask", 3)).build());
        RecordedRequest replace = fake.takeRequest();
        assertThat(replace.path()).isEqualTo("/v2beta/stable-image/edit/search-and-replace");
        assertThat(replace.fieldNames()).containsExactly("prompt", "search_prompt", "grow_mask", "image");
        assertThat(replace.part("image").contentType()).contains("image/jpeg");

        edit(request("search-and-recolor").extraBody(extras("select_prompt", "the door")).build());
        RecordedRequest recolor = fake.takeRequest();
        assertThat(recolor.path()).isEqualTo("/v2beta/stable-image/edit/search-and-recolor");
        assertThat(recolor.textField("select_prompt")).contains("the door");

        ImageResponse r = edit(request("remove-background").outputFormat("webp").build());
        RecordedRequest remove = fake.takeRequest();
        assertThat(remove.path()).isEqualTo("/v2beta/stable-image/edit/remove-background");
        assertThat(remove.fieldNames()).containsExactly("output_format", "image");
        assertThat(r.outputFormat()).contains("webp");
    }

    @Test
    void apiBaseWithTrailingSlash_andMultipartFromAJsonStyleExtraOfEachType() {
        Easel slash = Easel.builder().apiKey(KEY).apiBase(fake.baseUrl() + "/").maxRetries(0).build();
        slash.imageEdit(request("outpaint").extraBody(extras("right", 1.0, "creativity", 1)).build());
        RecordedRequest req = fake.takeRequest();
        assertThat(req.path()).isEqualTo("/v2beta/stable-image/edit/outpaint");
        assertThat(req.textField("right")).contains("1");
        assertThat(req.textField("creativity")).contains("1");
    }

    // ---------------------------------------------------------------- refused before any call

    static Stream<Arguments> refusedBeforeTheCall() {
        return Stream.of(
                refused("an explicit size", () -> request("inpaint").size("1024x1024"),
                        "unsupported_parameter", "size", "The model 'inpaint' does not support the 'size' parameter: "
                                + "its output's size follows from the input image (send 'auto' or no size)."),
                refused("quality", () -> request("inpaint").quality("high"), "unsupported_parameter", "quality",
                        "The model 'inpaint' does not support the 'quality' parameter."),
                refused("a field of another operation", () -> request("outpaint").extraBody(extras("left", 5,
                        "grow_mask", 5)), "unsupported_parameter", "grow_mask",
                        "The model 'outpaint' does not support the 'grow_mask' parameter."),
                refused("an unknown field", () -> request("erase").extraBody(extras("strength", 0.5)),
                        "unsupported_parameter", "strength", "The model 'erase' does not support the 'strength' "
                                + "parameter."),
                refused("a mask to an operation without one", () -> request("search-and-replace")
                        .mask(TestImages.maskWithHole(64, 64)).extraBody(extras("search_prompt", "cat")),
                        "unsupported_parameter", "mask",
                        "The model 'search-and-replace' does not support the 'mask' parameter."),
                refused("search_prompt missing", () -> request("search-and-replace"), "missing_required_parameter",
                        "search_prompt", "Missing required parameter: 'search_prompt' (model 'search-and-replace' "
                                + "needs it)."),
                refused("select_prompt missing", () -> request("search-and-recolor"), "missing_required_parameter",
                        "select_prompt", "Missing required parameter: 'select_prompt' (model 'search-and-recolor' "
                                + "needs it)."),
                refused("no outpaint margin", () -> request("outpaint").extraBody(extras("left", 0)),
                        "missing_required_parameter", "left", "Missing required parameter: model 'outpaint' needs "
                                + "at least one of 'left', 'right', 'up' or 'down', other than 0."),
                refused("grow_mask beyond erase's range", () -> request("erase").extraBody(extras("grow_mask", 21)),
                        "integer_above_max_value", "grow_mask", "grow_mask must be between 0 and 20 (was 21)"),
                refused("creativity beyond 1", () -> request("outpaint").extraBody(extras("up", 8, "creativity",
                        1.5)), "decimal_above_max_value", "creativity", "creativity must be between 0 and 1 (was 1.5)"),
                refused("seed beyond Stability's", () -> request("inpaint").extraBody(extras("seed", 4_294_967_295L)),
                        "integer_above_max_value", "seed", "seed must be between 0 and 4294967294 (was 4294967295)"),
                refused("a style Stability has not", () -> request("inpaint").extraBody(extras("style_preset",
                        "watercolour")), "invalid_value", "style_preset", "Invalid value: 'watercolour'. Supported "
                        + "values are: '3d-model', 'analog-film', 'anime', 'cinematic', 'comic-book', 'digital-art', "
                        + "'enhance', 'fantasy-art', 'isometric', 'line-art', 'low-poly', 'modeling-compound', "
                        + "'neon-punk', 'origami', 'photographic', 'pixel-art', and 'tile-texture'."),
                refused("jpeg out of remove-background", () -> request("remove-background").outputFormat("jpeg"),
                        "invalid_value", "output_format", "Invalid value: 'jpeg'. Supported values are: 'png' and "
                                + "'webp'."),
                refused("an image below 64 px", () -> request("inpaint").image(TestImages.png(48, 100, true)),
                        "invalid_image_dimensions", "image", "Invalid file 'image': model 'inpaint' takes images of "
                                + "at least 64 pixels on each side (was 48x100)."),
                refused("an image too wide", () -> request("erase").image(TestImages.png(170, 64, true)),
                        "invalid_image_dimensions", "image", "Invalid file 'image': model 'erase' takes images of an "
                                + "aspect ratio between 1:2.5 and 2.5:1 (was 170x64)."),
                refused("no mask and no transparency", () -> request("inpaint").image(TestImages.jpeg(64, 64)),
                        "invalid_image_format", "image", "Invalid file 'image': without a mask, model 'inpaint' edits "
                                + "the transparent area of the image, and this jpeg has no alpha channel: send an "
                                + "image with transparency, or a mask."),
                refused("two images", () -> request("inpaint").images(dev.easel.ImageInput.of(TestImages.png(64, 64,
                        true)), dev.easel.ImageInput.of(TestImages.png(64, 64, true))), "array_above_max_length",
                        "image", "Too many images: model 'inpaint' accepts at most 1 image (was 2)."),
                refused("a stream", () -> request("inpaint").stream(true), "unsupported_parameter", "stream",
                        "The model 'inpaint' does not support streaming."));
    }

    private static Arguments refused(String name, Supplier<ImageEditRequest.Builder> request, String code,
                                     String param, String message) {
        return Arguments.of(name, request, code, param, message);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedBeforeTheCall")
    void refusedBeforeTheCall_is400NamingTheProblem_andNothingIsSent(String name,
                                                                      Supplier<ImageEditRequest.Builder> request,
                                                                      String code, String param, String message) {
        assertThatThrownBy(() -> {
            ImageEditRequest r = request.get().build();
            if (r.stream()) {
                easel(false).imageEditStream(r);
            } else {
                edit(r);
            }
        }).isInstanceOfSatisfying(BadRequestException.class, e -> {
            assertThat(e.status()).hasValue(400);
            assertThat(e.code()).contains(code);
            assertThat(e.param()).contains(param);
        }).hasMessage(message);
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void removeBackground_refusesMoreThanItsPixelLimit_beforeTheCall() {
        // 2,049 x 2,049 = 4,198,401 pixels: within the other operations' 9,437,184, above remove-background's 4,194,304
        byte[] big = TestImages.png(2049, 2049, true);
        assertThatThrownBy(() -> edit(request("remove-background").image(big).build()))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("Invalid file 'image': model 'remove-background' takes images of between 4,096 and "
                        + "4,194,304 pixels (was 2049x2049 = 4,198,401).");
        edit(request("erase").image(big).build()); // the same image is fine for erase
        assertThat(fake.requestCount()).isEqualTo(1);
    }

    @Test
    void requestAbove10MiB_isRefusedBeforeTheCall_namingItsSize() {
        // an image just under the 10 MiB image limit, so that the whole form is above Stability's 10 MiB
        byte[] padded = padPng(TestImages.png(64, 64, true), 10 * 1024 * 1024 - 100);
        assertThatThrownBy(() -> edit(request("inpaint").image(padded).build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.code()).contains("request_too_large");
                    assertThat(e.getMessage()).matches("The request to Stability would be 10,48[0-9],[0-9]{3} bytes; "
                            + "Stability accepts at most 10 MiB \\(10,485,760 bytes\\) per request: send a smaller "
                            + "image\\.");
                });
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void dropParams_dropsWhatTheOperationDoesNotTake_andSaysSo() {
        ImageResponse r = easel(true).imageEdit(request("outpaint").size("1536x1024").quality("high")
                .mask(TestImages.maskWithHole(64, 64)).extraBody(extras("down", 64, "grow_mask", 5)).build());
        RecordedRequest req = fake.takeRequest();
        assertThat(req.fieldNames()).containsExactly("prompt", "down", "image");
        assertThat(r.warnings()).contains("dropped 'mask': model 'outpaint' takes no mask",
                "dropped 'size': the output of model 'outpaint' takes its size from the input image",
                "dropped 'quality': model 'outpaint' does not support it",
                "dropped 'grow_mask': model 'outpaint' does not support it");
    }

    @Test
    void sizeAuto_isAccepted_andNotSent() {
        edit(request("inpaint").size("auto").build());
        assertThat(fake.takeRequest().fieldNames()).containsExactly("prompt", "image");
    }

    @Test
    void unknownName_isServedAsInpaint_asLiteLlmDoes_withAWarning() {
        ImageResponse r = edit(request("sd3").build());

        assertThat(fake.takeRequest().path()).isEqualTo("/v2beta/stable-image/edit/inpaint");
        assertThat(r.data()).hasSize(1);
        assertThat(r.warnings()).contains("model 'stability/sd3': 'sd3' is not a Stability edit operation (Easel "
                + "serves inpaint, erase, outpaint, search-and-replace, search-and-recolor, remove-background); served "
                + "as inpaint, as LiteLLM does; write 'stability/inpaint' to say so");
    }

    @Test
    void anotherStabilityService_is400InvalidModel_neverSentToInpaint() {
        assertThatThrownBy(() -> edit(request("style-transfer").build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.code()).contains("invalid_model");
                    assertThat(e.param()).contains("model");
                })
                .hasMessage("model 'stability/style-transfer': 'style-transfer' is Stability's control/style-transfer "
                        + "endpoint, not an edit; Easel serves the edit operations inpaint, erase, outpaint, "
                        + "search-and-replace, search-and-recolor, remove-background");
        assertThat(fake.requestCount()).isZero();
    }

    // ---------------------------------------------------------------- Stability's answers

    @Test
    void contentFiltered_isModerationBlocked_likeOpenAisRefusal() {
        fake.enqueue(FakeStability.contentFiltered());
        assertThatThrownBy(() -> edit(request("inpaint").build()))
                .isInstanceOfSatisfying(ContentPolicyViolationException.class, e -> {
                    assertThat(e.status()).hasValue(400);
                    assertThat(e.type()).isEqualTo("image_generation_user_error");
                    assertThat(e.code()).contains("moderation_blocked");
                    assertThat(e.provider()).contains("stability");
                })
                .hasMessage("Stability's content moderation filtered the result of 'inpaint' (finish_reason "
                        + "CONTENT_FILTERED); it was not returned, nor billed.");
    }

    static Stream<Arguments> errors() {
        return Stream.of(
                Arguments.of("402 out of credits", FakeStability.paymentRequired(), RateLimitException.class, 429,
                        "insufficient_quota", "stability returned HTTP 402 payment_required: You lack sufficient "
                                + "credits"),
                Arguments.of("403 moderation", FakeStability.contentModeration(),
                        ContentPolicyViolationException.class, 400, "moderation_blocked", "stability returned HTTP "
                                + "403 content_moderation: Your request was flagged"),
                Arguments.of("403 other", FakeStability.error(403, "forbidden", "this key may not use edit"),
                        PermissionDeniedException.class, 403, "forbidden", "stability returned HTTP 403 forbidden: "
                                + "this key may not use edit"),
                Arguments.of("404", FakeStability.error(404, "not_found", "no such path"), NotFoundException.class,
                        404, "not_found", "stability returned HTTP 404 not_found: no such path"),
                Arguments.of("413", FakeStability.error(413, "payload_too_large",
                        "body: payloads cannot be larger than 10MiB in size"), BadRequestException.class, 400,
                        "request_too_large", "Stability refused the request as larger than 10 MiB: it was "),
                Arguments.of("422 language", FakeStability.invalidLanguage(), BadRequestException.class, 400,
                        "invalid_language", "stability returned HTTP 422 invalid_language: English is the only "
                                + "supported language"),
                Arguments.of("429", FakeStability.rateLimited().withHeader("Retry-After", "60"),
                        RateLimitException.class, 429, "rate_limit_exceeded", "stability returned HTTP 429 "
                                + "rate_limit_exceeded: You have exceeded the rate limit"),
                Arguments.of("500", FakeStability.internalError(), InternalServerException.class, 500,
                        "internal_error", "stability returned HTTP 500 internal_error: An unexpected server error"),
                Arguments.of("503", FakeStability.error(503, "service_unavailable", "down for maintenance"),
                        ServiceUnavailableException.class, 503, "service_unavailable", "stability returned HTTP 503 "
                                + "service_unavailable: down for maintenance"),
                Arguments.of("500 not JSON", FakeResponse.body(500, "text/html", "<h1>oops</h1>"
                        .getBytes(StandardCharsets.UTF_8)), InternalServerException.class, 500, null,
                        "stability returned HTTP 500: <h1>oops</h1>"),
                Arguments.of("200 garbage", FakeResponse.malformedJson(), InternalServerException.class, 502,
                        "bad_upstream_response", "stability returned an unreadable response (invalid JSON)"),
                Arguments.of("200 without image", FakeResponse.json(200, "{\"finish_reason\":\"SUCCESS\",\"seed\":1}"),
                        InternalServerException.class, 502, "bad_upstream_response",
                        "stability returned an unreadable response (no 'image')"),
                Arguments.of("200 unknown finish", FakeResponse.json(200, "{\"image\":\"iVBORw0KGgo=\","
                        + "\"finish_reason\":\"ERROR\"}"), InternalServerException.class, 502, "bad_upstream_response",
                        "stability returned an unreadable response (finish_reason 'ERROR')"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("errors")
    void errors_mapByMeaning(String name, FakeResponse answer, Class<? extends EaselException> type, int status,
                             String code, String message) {
        fake.enqueue(answer);
        assertThatThrownBy(() -> edit(request("inpaint").build()))
                .isInstanceOfSatisfying(type, e -> {
                    assertThat(e.httpStatus()).isEqualTo(status);
                    if (code == null) {
                        assertThat(e.code()).isEmpty();
                    } else {
                        assertThat(e.code()).contains(code);
                    }
                    assertThat(e.getMessage()).startsWith(message).doesNotContain(KEY);
                    assertThat(e.provider()).contains("stability");
                });
    }

    @Test
    void outOfCredits_isNotRetried_aRateLimitCarriesRetryAfter() {
        fake.enqueue(FakeStability.paymentRequired());
        assertThatThrownBy(() -> edit(request("inpaint").build()))
                .isInstanceOfSatisfying(RateLimitException.class, e -> assertThat(e.retryable()).isFalse());
        fake.enqueue(FakeStability.rateLimited().withHeader("Retry-After", "60"));
        assertThatThrownBy(() -> edit(request("inpaint").build()))
                .isInstanceOfSatisfying(RateLimitException.class, e -> {
                    assertThat(e.retryable()).isTrue();
                    assertThat(e.retryAfter()).contains(Duration.ofSeconds(60));
                });
    }

    @Test
    void wrongKey_is401AuthenticationError_withoutTheKey() {
        Easel wrong = Easel.builder().apiKey("sk-wrong-key-000000").apiBase(fake.baseUrl()).maxRetries(0).build();
        assertThatThrownBy(() -> wrong.imageEdit(request("inpaint").build()))
                .isInstanceOfSatisfying(AuthenticationException.class, e -> {
                    assertThat(e.status()).hasValue(401);
                    assertThat(e.type()).isEqualTo("authentication_error");
                    assertThat(e.code()).contains("invalid_api_key");
                })
                .hasMessage("stability returned HTTP 401 unauthorized: authorization: invalid or missing header "
                        + "value");
        Easel none = Easel.builder().apiBase(fake.baseUrl()).maxRetries(0).build();
        assertThatThrownBy(() -> none.imageEdit(request("inpaint").build()))
                .isInstanceOf(AuthenticationException.class)
                .hasMessage("no api key for stability: set litellm_params.api_key (e.g. os.environ/STABILITY_API_KEY)");
        assertThat(fake.requestCount()).isEqualTo(1);
    }

    @Test
    void fieldErrorFromStability_namesTheField() {
        fake.enqueue(FakeStability.error(400, "bad_request", "negative_prompt: must be at most 10000 characters"));
        assertThatThrownBy(() -> edit(request("inpaint").build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.param()).contains("negative_prompt");
                    assertThat(e.code()).contains("bad_request");
                    assertThat(e.requestId()).hasValueSatisfying(id -> assertThat(id).matches("[0-9a-f]{32}"));
                });
    }

    @Test
    void connectionReset_isAConnectionError() {
        fake.enqueue(FakeResponse.dropConnection());
        assertThatThrownBy(() -> edit(request("inpaint").build())).isInstanceOf(ConnectionException.class);
    }

    // ---------------------------------------------------------------- helpers

    /** {@code png} grown to {@code size} bytes by a text chunk before its end: still a valid PNG. */
    static byte[] padPng(byte[] png, int size) {
        int iend = png.length - 12;
        int text = size - png.length - 12; // the chunk's length, type and CRC take 12 bytes
        byte[] data = new byte[text];
        byte[] keyword = "Comment\0".getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(keyword, 0, data, 0, keyword.length);
        java.util.Arrays.fill(data, keyword.length, text, (byte) 'a');
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(size);
        b.put(png, 0, iend);
        b.putInt(text);
        byte[] type = "tEXt".getBytes(StandardCharsets.US_ASCII);
        b.put(type);
        b.put(data);
        CRC32 crc = new CRC32();
        crc.update(type);
        crc.update(data);
        b.putInt((int) crc.getValue());
        b.put(png, iend, 12);
        return b.array();
    }
}
