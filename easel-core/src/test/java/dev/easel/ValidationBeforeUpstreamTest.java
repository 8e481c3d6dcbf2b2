package dev.easel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.image.TestImages;
import dev.easel.testkit.FakeOpenAi;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every validation rule, end to end through the SDK: the caller gets the {@link BadRequestException}
 * and the (fake) provider receives nothing. The exact messages of every rule are pinned in
 * {@code RequestValidatorTest}; this test proves none of them costs an upstream call.
 */
class ValidationBeforeUpstreamTest {

    static FakeOpenAi fake;
    static Easel easel;
    static final byte[] PNG = TestImages.png(64, 64, false);
    static final byte[] MASK = TestImages.maskWithHole(64, 64);

    @BeforeAll
    static void start() {
        fake = FakeOpenAi.start();
        easel = Easel.builder().apiKey("sk-x").apiBase(fake.baseUrl()).build();
    }

    @AfterAll
    static void stop() {
        fake.close();
    }

    @BeforeEach
    void reset() {
        fake.reset();
    }

    static Arguments rule(String name, String model, UnaryOperator<ImageEditRequest.Builder> change, String param,
                          String messagePart) {
        return Arguments.of(name, model, change, param, messagePart);
    }

    static Stream<Arguments> rules() {
        return Stream.of(
                rule("model missing", null, b -> b, "model", "you must provide a model"),
                rule("unknown provider", "foo/bar", b -> b, "model", "unknown provider 'foo'"),
                rule("prompt missing", "gpt-image-2", b -> b.prompt(null), "prompt", "prompt"),
                rule("prompt blank", "gpt-image-2", b -> b.prompt("   "), "prompt", "prompt"),
                rule("prompt too long", "gpt-image-2", b -> b.prompt("a".repeat(32_001)), "prompt", "32000"),
                rule("no image", "gpt-image-2", b -> b.images(new ImageInput[0]), "image", "image"),
                rule("too many images", "gpt-image-2", b -> b.images(Stream.generate(() -> ImageInput.of(PNG))
                        .limit(17).toArray(ImageInput[]::new)), "image", "16"),
                rule("not an image", "gpt-image-2", b -> b.image("hello".getBytes(StandardCharsets.UTF_8)),
                        "image", "image"),
                rule("jpeg to dall-e-2", "dall-e-2", b -> b.image(TestImages.jpeg(64, 64)), "image", "png"),
                rule("dall-e-2 not square", "dall-e-2", b -> b.image(TestImages.png(64, 32, true)), "image",
                        "square"),
                rule("truncated png", "gpt-image-2", b -> b.image(TestImages.truncate(PNG, PNG.length - 5)),
                        "image", "truncated"),
                rule("mask not png", "gpt-image-2", b -> b.mask(TestImages.jpeg(64, 64)), "mask", "must be a png (was jpeg)"),
                rule("mask without alpha", "gpt-image-2", b -> b.mask(TestImages.png(64, 64, false)), "mask",
                        "alpha"),
                rule("mask other size", "gpt-image-2", b -> b.mask(TestImages.maskWithHole(32, 48)), "mask",
                        "32x48"),
                rule("mask too large", "gpt-image-1.5", b -> b.mask(Arrays.copyOf(MASK, 4_194_304)), "mask",
                        "mask"),
                rule("n too large", "gpt-image-2", b -> b.n(11), "n", "11"),
                rule("n zero", "gpt-image-2", b -> b.n(0), "n", "0"),
                rule("size not allowed", "gpt-image-1.5", b -> b.size("512x512"), "size", "512x512"),
                rule("size not multiple of 16", "gpt-image-2", b -> b.size("1254x1254"), "size", "1254x1254"),
                rule("quality not allowed", "gpt-image-2", b -> b.quality("ultra"), "quality", "ultra"),
                rule("output_compression over 100", "gpt-image-2", b -> b.outputCompression(101),
                        "output_compression", "101"),
                rule("stream with n=2", "gpt-image-2", b -> b.stream(true).n(2), "stream", "n=1"),
                rule("input_fidelity on gpt-image-2", "gpt-image-2", b -> b.inputFidelity("high"), "input_fidelity",
                        "input_fidelity"),
                rule("unsupported extra parameter", "gpt-image-2", b -> b.extraBody(Map.of("complexity", "high")),
                        "complexity", "complexity"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rules")
    void invalidRequest_refusedBeforeAnyUpstreamCall(String name, String model,
                                                     UnaryOperator<ImageEditRequest.Builder> change, String param,
                                                     String messagePart) {
        ImageEditRequest.Builder b = ImageEditRequest.builder().model(model).image(PNG).prompt("add a hat");
        ImageEditRequest request = change.apply(b).build();

        assertThatThrownBy(() -> easel.imageEdit(request))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.status()).hasValue(400);
                    assertThat(e.type()).isEqualTo("invalid_request_error");
                    assertThat(e.param()).contains(param);
                    assertThat(e.getMessage()).contains(messagePart);
                });
        assertThatThrownBy(() -> easel.imageEditStream(request.toBuilder().build()).close())
                .isInstanceOf(BadRequestException.class);
        assertThat(fake.requestCount()).as("requests the provider received").isZero();
    }
}
