package dev.easel.provider.mock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.EaselException;
import dev.easel.ImageData;
import dev.easel.ImageEditEvent;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.InternalServerException;
import dev.easel.RateLimitException;
import dev.easel.ServiceUnavailableException;
import dev.easel.TimeoutException;
import dev.easel.Usage;
import dev.easel.catalog.ModelSpec;
import dev.easel.image.ImageFormat;
import dev.easel.image.ImageInfo;
import dev.easel.internal.Blob;
import dev.easel.provider.Deployment;
import dev.easel.provider.EditCall;
import dev.easel.provider.ImagePart;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class MockProviderTest {

    private static final Instant NOW = Instant.parse("2026-11-24T12:00:00Z");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<Duration> slept = new ArrayList<>();
    private final MockProvider mock = new MockProvider(Clock.fixed(NOW, ZoneOffset.UTC), slept::add);

    @Test
    void name_isItsFactorysPrefix_andTheFactoryIsInstalled() {
        assertThat(new MockProvider().name()).isEqualTo("mock");
        assertThat(dev.easel.provider.ProviderRegistry.installed().find("mock"))
                .hasValueSatisfying(f -> assertThat(f.settingKeys()).isEqualTo(MockProvider.SETTINGS));
    }

    @Test
    void edit_defaults_returnsOnePngOfInputSizeWithResolvedFields() {
        ImageResponse r = mock.edit(call(png(64, 48, Color.DARK_GRAY), null, Map.of(), Map.of()));

        assertThat(r.data()).hasSize(1);
        BufferedImage img = decode(r.data().getFirst(), ImageFormat.PNG);
        assertThat(img.getWidth()).isEqualTo(64);
        assertThat(img.getHeight()).isEqualTo(48);
        assertThat(r.created()).isEqualTo(NOW.getEpochSecond());
        assertThat(r.size()).contains("64x48");
        assertThat(r.quality()).contains("medium");
        assertThat(r.outputFormat()).contains("png");
        assertThat(r.background()).contains("opaque");
        assertThat(r.provider()).contains("mock");
        assertThat(r.model()).contains("edit");
        assertThat(slept).isEmpty();
    }

    @Test
    void edit_sizeAndN_returnsNDifferentImagesOfRequestedSize() {
        ImageResponse r = mock.edit(call(png(64, 64, Color.GRAY), null, Map.of("n", "3", "size", "96x32"), Map.of()));

        assertThat(r.data()).hasSize(3);
        assertThat(r.size()).contains("96x32");
        List<Integer> centres = new ArrayList<>();
        for (ImageData d : r.data()) {
            BufferedImage img = decode(d, ImageFormat.PNG);
            assertThat(img.getWidth()).isEqualTo(96);
            assertThat(img.getHeight()).isEqualTo(32);
            centres.add(img.getRGB(48, 16));
        }
        assertThat(Set.copyOf(centres)).hasSize(3);
    }

    @Test
    void edit_samePromptTwice_givesSameBytes() {
        EditCall c = call(png(32, 32, Color.GRAY), null, Map.of(), Map.of());
        assertThat(mock.edit(c).data().getFirst().b64Json()).isEqualTo(mock.edit(c).data().getFirst().b64Json());
    }

    @Test
    void edit_mask_fillsTransparentAreaAndKeepsTheRest() {
        // Left half of the mask transparent (edit), right half opaque (keep).
        BufferedImage mask = new BufferedImage(40, 20, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 20; y++) {
            for (int x = 0; x < 40; x++) {
                mask.setRGB(x, y, x < 20 ? 0x00000000 : 0xFF000000);
            }
        }
        byte[] base = png(40, 20, new Color(10, 20, 30));
        ImageResponse r = mock.edit(call(base, encode(mask), Map.of(), Map.of()));

        BufferedImage out = decode(r.data().getFirst(), ImageFormat.PNG);
        Color edited = new Color(out.getRGB(5, 10));
        Color kept = new Color(out.getRGB(35, 10));
        // Unmasked pixels stay within the light tint of the original.
        assertThat(distance(kept, new Color(10, 20, 30))).isLessThan(60);
        // Masked pixels become the bright prompt colour.
        assertThat(distance(edited, new Color(10, 20, 30))).isGreaterThan(200);
        assertThat(Math.max(edited.getRed(), Math.max(edited.getGreen(), edited.getBlue()))).isGreaterThan(180);
    }

    @Test
    void edit_jpegOutput_returnsJpegAndHonoursCompression() {
        byte[] input = noisyPng(128, 128);
        ImageResponse best = mock.edit(call(input, null, Map.of("output_format", "jpeg"), Map.of()));
        ImageResponse small = mock.edit(call(input, null,
                Map.of("output_format", "jpeg", "output_compression", "10"), Map.of()));

        assertThat(best.outputFormat()).contains("jpeg");
        BufferedImage img = decode(best.data().getFirst(), ImageFormat.JPEG);
        assertThat(img.getWidth()).isEqualTo(128);
        assertThat(small.data().getFirst().bytes().length).isLessThan(best.data().getFirst().bytes().length);
    }

    @Test
    void edit_webpOutput_isRefusedNamingTheParameter() {
        assertThatThrownBy(() -> mock.edit(call(png(8, 8, Color.GRAY), null, Map.of("output_format", "webp"),
                Map.of())))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.getMessage()).isEqualTo("the mock provider cannot write webp output; use png or jpeg");
                    assertThat(e.code()).contains("unsupported_parameter");
                    assertThat(e.param()).contains("output_format");
                });
    }

    @Test
    void edit_webpInput_startsFromNeutralCanvasOfItsSize() {
        byte[] webp = "RIFF\0\0\0\0WEBPVP8L".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        ImagePart part = new ImagePart(Blob.ofBytes(webp), new ImageInfo(ImageFormat.WEBP, 30, 10, false,
                webp.length), "image.webp");
        ImageResponse r = mock.edit(call(List.of(part), null, Map.of(), Map.of(), false));

        BufferedImage img = decode(r.data().getFirst(), ImageFormat.PNG);
        assertThat(img.getWidth()).isEqualTo(30);
        assertThat(img.getHeight()).isEqualTo(10);
    }

    @Test
    void edit_transparentInput_reportsTransparentBackground() {
        BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_ARGB);
        ImageResponse r = mock.edit(call(encode(img), null, Map.of(), Map.of()));
        assertThat(r.background()).contains("transparent");

        ImageResponse opaque = mock.edit(call(encode(img), null, Map.of("background", "opaque"), Map.of()));
        assertThat(opaque.background()).contains("opaque");
        assertThat(decode(opaque.data().getFirst(), ImageFormat.PNG).getRGB(3, 3) >>> 24).isEqualTo(0xFF);
    }

    @Test
    void edit_usage_billsLikeGptImage1() {
        String prompt = "x".repeat(200);
        ImageResponse r = mock.edit(call(List.of(part(png(1024, 1024, Color.GRAY))), null, Map.of(), Map.of(),
                false, prompt));
        assertThat(r.usage()).contains(Usage.of(50, 194, 1056));

        ImageResponse portrait = mock.edit(call(List.of(part(png(64, 64, Color.GRAY)), part(png(64, 64, Color.GRAY))),
                null, Map.of("n", "2", "size", "32x48", "quality", "high"), Map.of(), false, "abcde"));
        assertThat(portrait.usage()).contains(Usage.of(2, 2 * 194, 2 * 6240));

        ImageResponse low = mock.edit(call(List.of(part(png(1024, 1536, Color.GRAY))), null,
                Map.of("quality", "low", "size", "48x32"), Map.of(), false, "abcd"));
        assertThat(low.usage()).contains(Usage.of(1, 323, 400));
    }

    @Test
    void edit_latency_waitsBeforeAnswering() {
        mock.edit(call(png(8, 8, Color.GRAY), null, Map.of(), Map.of("latency_ms", 250)));
        assertThat(slept).containsExactly(Duration.ofMillis(250));

        MockProvider real = new MockProvider();
        long start = System.nanoTime();
        real.edit(call(png(8, 8, Color.GRAY), null, Map.of(), Map.of("latency_ms", "60")));
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(60));
    }

    @Test
    void edit_latencyBeyondTimeout_throwsTimeoutAfterTheTimeout() {
        EditCall c = call(List.of(part(png(8, 8, Color.GRAY))), null, Map.of(), Map.of("latency_ms", 5000), false,
                "p", Duration.ofSeconds(2));
        assertThatThrownBy(() -> mock.edit(c))
                .isInstanceOf(TimeoutException.class)
                .hasMessage("mock/edit did not answer within 2000 ms (latency_ms 5000)");
        assertThat(slept).containsExactly(Duration.ofSeconds(2));
    }

    @Test
    void edit_failureRateOne_alwaysThrowsServiceUnavailable() {
        EditCall c = call(png(8, 8, Color.GRAY), null, Map.of(), Map.of("failure_rate", 1.0));
        for (int i = 0; i < 5; i++) {
            assertThatThrownBy(() -> mock.edit(c))
                    .isInstanceOfSatisfying(ServiceUnavailableException.class, e -> {
                        assertThat(e.getMessage())
                                .isEqualTo("mock/edit: simulated failure (failure_rate 1.0, failure_status 503)");
                        assertThat(e.status()).hasValue(503);
                        assertThat(e.provider()).contains("mock");
                        assertThat(e.retryable()).isTrue();
                    });
        }
    }

    @Test
    void edit_failureStatus_picksTheExceptionType() {
        assertThat(failWith(429)).isInstanceOfSatisfying(RateLimitException.class,
                e -> assertThat(e.retryAfter()).contains(Duration.ofSeconds(1)));
        assertThat(failWith(500)).isInstanceOf(InternalServerException.class)
                .isNotInstanceOf(ServiceUnavailableException.class);
        assertThat(failWith(400)).isInstanceOfSatisfying(BadRequestException.class,
                e -> assertThat(e.retryable()).isFalse());
        assertThat(failWith(401)).isInstanceOf(AuthenticationException.class);
        assertThat(failWith(504)).isInstanceOf(TimeoutException.class);
    }

    private EaselException failWith(int status) {
        EditCall c = call(png(8, 8, Color.GRAY), null, Map.of(),
                Map.of("failure_rate", "1", "failure_status", String.valueOf(status)));
        try {
            mock.edit(c);
        } catch (EaselException e) {
            assertThat(e.status()).hasValue(status);
            return e;
        }
        throw new AssertionError("no failure for status " + status);
    }

    @Test
    void edit_seededFailureRate_isRepeatableAndMixed() {
        EditCall c = call(png(4, 4, Color.GRAY), null, Map.of(), Map.of("failure_rate", 0.5, "seed", 42));
        List<Boolean> first = outcomes(new MockProvider(Clock.systemUTC(), d -> { }), c, 30);
        List<Boolean> second = outcomes(new MockProvider(Clock.systemUTC(), d -> { }), c, 30);
        assertThat(first).isEqualTo(second).contains(true, false);
    }

    private static List<Boolean> outcomes(MockProvider p, EditCall c, int calls) {
        List<Boolean> out = new ArrayList<>();
        for (int i = 0; i < calls; i++) {
            try {
                p.edit(c);
                out.add(true);
            } catch (ServiceUnavailableException e) {
                out.add(false);
            }
        }
        return out;
    }

    @Test
    void edit_badSettings_failNamingTheSettingAndValue() {
        assertThatThrownBy(() -> mock.edit(call(png(4, 4, Color.GRAY), null, Map.of(), Map.of("failure_rate", 1.5))))
                .isInstanceOf(EaselException.class)
                .hasMessage("mock setting failure_rate must be between 0 and 1 (was 1.5)");
        assertThatThrownBy(() -> mock.edit(call(png(4, 4, Color.GRAY), null, Map.of(), Map.of("failure_status", 418))))
                .hasMessage("mock setting failure_status must be one of 400, 401, 429, 500, 503, 504 (was 418)");
        assertThatThrownBy(() -> mock.edit(call(png(4, 4, Color.GRAY), null, Map.of(), Map.of("latency_ms", "soon"))))
                .hasMessage("mock setting latency_ms must be an integer (was 'soon')");
    }

    @Test
    void edit_badSize_isRejectedNamingTheValue() {
        assertThatThrownBy(() -> mock.edit(call(png(4, 4, Color.GRAY), null, Map.of("size", "big"), Map.of())))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).contains("size"))
                .hasMessage("invalid size 'big' (expected WxH or auto)");
    }

    @Test
    void editStream_partialImages_yieldsPartialsThenCompleted() throws Exception {
        EditCall c = call(List.of(part(png(32, 32, Color.GRAY))), null,
                Map.of("partial_images", "2", "size", "64x64"), Map.of(), true, "p");
        List<ImageEditEvent> events = new ArrayList<>();
        try (ImageEditStream s = mock.editStream(c)) {
            s.forEach(events::add);
        }

        assertThat(events).hasSize(3);
        assertThat(events.get(0)).isInstanceOfSatisfying(ImageEditEvent.PartialImage.class,
                p -> assertThat(p.index()).isZero());
        assertThat(events.get(1)).isInstanceOfSatisfying(ImageEditEvent.PartialImage.class,
                p -> assertThat(p.index()).isEqualTo(1));
        ImageEditEvent.Completed done = (ImageEditEvent.Completed) events.get(2);
        assertThat(done.usage()).contains(Usage.of(1, 194, 1056 + 200));
        for (ImageEditEvent e : events) {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(java.util.Base64.getDecoder().decode(e.b64Json())));
            assertThat(img.getWidth()).isEqualTo(64);
            JsonNode json = JSON.readTree(e.json());
            assertThat(json.get("type").asText()).isEqualTo(e.type());
            assertThat(json.get("b64_json").asText()).isEqualTo(e.b64Json());
            assertThat(json.get("size").asText()).isEqualTo("64x64");
            assertThat(json.get("quality").asText()).isEqualTo("medium");
            assertThat(json.get("output_format").asText()).isEqualTo("png");
            assertThat(json.get("created_at").asLong()).isEqualTo(NOW.getEpochSecond());
        }
        assertThat(JSON.readTree(events.get(1).json()).get("partial_image_index").asInt()).isEqualTo(1);
        JsonNode usage = JSON.readTree(done.json()).get("usage");
        assertThat(usage.get("total_tokens").asLong()).isEqualTo(1 + 194 + 1256);
        assertThat(usage.get("input_tokens_details").get("image_tokens").asLong()).isEqualTo(194);
        // The completed image is the sharp one: same bytes as a non-streamed edit.
        ImageResponse plain = mock.edit(call(List.of(part(png(32, 32, Color.GRAY))), null, Map.of("size", "64x64"),
                Map.of(), false, "p"));
        assertThat(done.b64Json()).isEqualTo(plain.data().getFirst().b64Json().orElseThrow());
    }

    @Test
    void editStream_noPartials_yieldsOnlyCompleted() {
        EditCall c = call(List.of(part(png(16, 16, Color.GRAY))), null, Map.of(), Map.of(), true, "p");
        try (ImageEditStream s = mock.editStream(c)) {
            Iterator<ImageEditEvent> it = s.iterator();
            assertThat(it.next()).isInstanceOf(ImageEditEvent.Completed.class);
            assertThat(it.hasNext()).isFalse();
        }
    }

    @Test
    void editStream_close_wakesAWaitingReaderAndEndsTheStream() throws Exception {
        EditCall c = call(List.of(part(png(16, 16, Color.GRAY))), null, Map.of("partial_images", "1"),
                Map.of("latency_ms", 20_000), true, "p");
        ImageEditStream s = new MockProvider().editStream(c);
        Iterator<ImageEditEvent> it = s.iterator();
        CompletableFuture<Object> reader = new CompletableFuture<>();
        Thread readerThread = Thread.ofPlatform().start(() -> {
            try {
                reader.complete(it.next());
            } catch (NoSuchElementException e) {
                reader.complete(e);
            }
        });
        // close only once the reader waits for the next event (the 20 s latency), so close has to wake it
        dev.easel.testkit.Await.until("the reader to wait for an event", () -> readerThread.getState()
                == Thread.State.TIMED_WAITING || readerThread.getState() == Thread.State.WAITING);
        long start = System.nanoTime();
        s.close();
        assertThat(reader.get(5, TimeUnit.SECONDS)).isInstanceOf(NoSuchElementException.class);
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
        assertThat(it.hasNext()).isFalse();
    }

    @Test
    void editStream_failureRateOne_failsTheCall() {
        EditCall c = call(List.of(part(png(8, 8, Color.GRAY))), null, Map.of(),
                Map.of("failure_rate", 1, "failure_status", 429), true, "p");
        assertThatThrownBy(() -> mock.editStream(c)).isInstanceOf(RateLimitException.class);
    }

    @Test
    void editStream_nAboveOne_isRejected() {
        EditCall c = call(List.of(part(png(8, 8, Color.GRAY))), null, Map.of("n", "2"), Map.of(), true, "p");
        assertThatThrownBy(() -> mock.editStream(c)).isInstanceOf(BadRequestException.class)
                .hasMessage("Streaming is only supported with n=1.");
    }

    // ---- helpers ----

    static EditCall call(byte[] image, byte[] maskOrNull, Map<String, String> params, Map<String, Object> settings) {
        return call(List.of(part(image)), maskOrNull == null ? null : part(maskOrNull), params, settings, false);
    }

    static EditCall call(List<ImagePart> images, ImagePart mask, Map<String, String> params,
                         Map<String, Object> settings, boolean stream) {
        return call(images, mask, params, settings, stream, "add a red hat");
    }

    static EditCall call(List<ImagePart> images, ImagePart mask, Map<String, String> params,
                         Map<String, Object> settings, boolean stream, String prompt) {
        return call(images, mask, params, settings, stream, prompt, Duration.ofSeconds(60));
    }

    static EditCall call(List<ImagePart> images, ImagePart mask, Map<String, String> params,
                         Map<String, Object> settings, boolean stream, String prompt, Duration timeout) {
        Deployment d = new Deployment("mock", "edit", null, null, null, null, settings);
        return new EditCall(d, spec(), prompt, images, mask, params(params), stream, Map.of(), timeout);
    }

    /** Form fields as the typed parameters validation would make of them. */
    static dev.easel.provider.EditParams params(Map<String, String> form) {
        var b = dev.easel.provider.EditParams.builder();
        form.forEach((k, v) -> {
            switch (k) {
                case "n" -> b.n(Integer.parseInt(v));
                case "size" -> dev.easel.provider.EditParams.Size.parse(v).ifPresentOrElse(b::size,
                        () -> b.extra(k, com.fasterxml.jackson.databind.node.TextNode.valueOf(v)));
                case "quality" -> b.quality(dev.easel.provider.EditParams.Quality.valueOf(v.toUpperCase()));
                case "background" -> b.background(dev.easel.provider.EditParams.Background.valueOf(v.toUpperCase()));
                case "output_format" -> b.outputFormat(
                        dev.easel.provider.EditParams.OutputFormat.valueOf(v.toUpperCase()));
                case "output_compression" -> b.outputCompression(Integer.parseInt(v));
                case "input_fidelity" -> b.inputFidelity(
                        dev.easel.provider.EditParams.InputFidelity.valueOf(v.toUpperCase()));
                case "partial_images" -> b.partialImages(Integer.parseInt(v));
                default -> b.extra(k, com.fasterxml.jackson.databind.node.TextNode.valueOf(v));
            }
        });
        return b.build();
    }

    static ModelSpec spec() {
        return new ModelSpec("edit", List.of(), "mock", false, Set.of(ImageFormat.PNG, ImageFormat.JPEG,
                ImageFormat.WEBP), 50L << 20, 16, false, new ModelSpec.MaskRule(true, 4L << 20, true, true, true),
                32000, 1, 10, new ModelSpec.SizeRule.Any(), Map.of(), true, Optional.empty(),
                new ModelSpec.Lifecycle(Optional.empty(), Optional.empty(), Optional.empty()));
    }

    static ImagePart part(byte[] bytes) {
        try {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(bytes));
            ImageFormat f = ImageFormat.sniff(bytes).orElseThrow();
            return new ImagePart(Blob.ofBytes(bytes), new ImageInfo(f, img.getWidth(), img.getHeight(),
                    img.getColorModel().hasAlpha(), bytes.length), "image." + f.extension());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] png(int w, int h, Color c) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(c);
        g.fillRect(0, 0, w, h);
        g.dispose();
        return encode(img);
    }

    static byte[] noisyPng(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        java.util.Random r = new java.util.Random(7);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, r.nextInt(0x1000000));
            }
        }
        return encode(img);
    }

    static byte[] encode(BufferedImage img) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(img, "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static BufferedImage decode(ImageData data, ImageFormat expected) {
        byte[] bytes = data.bytes();
        assertThat(ImageFormat.sniff(bytes)).contains(expected);
        try {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(bytes));
            assertThat(img).isNotNull();
            return img;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int distance(Color a, Color b) {
        return Math.abs(a.getRed() - b.getRed()) + Math.abs(a.getGreen() - b.getGreen())
                + Math.abs(a.getBlue() - b.getBlue());
    }
}
