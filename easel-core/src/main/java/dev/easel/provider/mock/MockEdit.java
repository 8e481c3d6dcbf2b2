package dev.easel.provider.mock;

import dev.easel.BadRequestException;
import dev.easel.Usage;
import dev.easel.image.ImageFormat;
import dev.easel.provider.EditCall;
import dev.easel.provider.ImagePart;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.util.Locale;
import java.util.Map;

/**
 * One mock edit with its parameters resolved the way OpenAI resolves them ({@code auto} → a concrete
 * value), and the pixel work to produce its images.
 */
final class MockEdit {

    /** Hue step between the {@code n} variants of one request. */
    private static final float VARIANT_HUE_STEP = 0.09f;

    final String prompt;
    final ImagePart first;
    final ImagePart maskOrNull;
    final int imageCount;
    final int n;
    final int width;
    final int height;
    final String quality;
    final String requestedBackground;
    final ImageFormat format;
    final int compression;
    final int partialImages;
    final boolean highFidelity;

    private MockEdit(EditCall call) {
        Map<String, String> p = call.params().formFields();
        this.prompt = call.prompt();
        this.first = call.images().getFirst();
        this.maskOrNull = call.maskOrNull();
        this.imageCount = call.images().size();
        this.n = intParam(p, "n", 1, 1, 10);
        String size = p.getOrDefault("size", "auto").trim().toLowerCase(Locale.ROOT);
        if (size.equals("auto")) {
            this.width = first.info().width();
            this.height = first.info().height();
        } else {
            int[] wh = parseSize(size);
            this.width = wh[0];
            this.height = wh[1];
        }
        String q = p.getOrDefault("quality", "auto").toLowerCase(Locale.ROOT);
        this.quality = q.equals("auto") ? "medium" : q;
        this.requestedBackground = p.getOrDefault("background", "auto").toLowerCase(Locale.ROOT);
        String fmt = p.getOrDefault("output_format", "png");
        ImageFormat f = ImageFormat.fromName(fmt).orElseThrow(() -> new BadRequestException(
                "the mock provider cannot write " + fmt + " output; use png or jpeg", "unsupported_parameter",
                "output_format"));
        if (f == ImageFormat.WEBP) {
            throw new BadRequestException("the mock provider cannot write webp output; use png or jpeg",
                    "unsupported_parameter", "output_format");
        }
        this.format = f;
        if (format == ImageFormat.JPEG && requestedBackground.equals("transparent")) {
            throw new BadRequestException("transparent background requires output_format png or webp (was jpeg)",
                    "invalid_value", "background");
        }
        this.compression = intParam(p, "output_compression", 100, 0, 100);
        this.partialImages = intParam(p, "partial_images", 0, 0, 3);
        this.highFidelity = "high".equalsIgnoreCase(p.get("input_fidelity"));
        if (call.stream() && n != 1) {
            throw new BadRequestException("Streaming is only supported with n=1.", "invalid_value", "n");
        }
    }

    static MockEdit of(EditCall call) {
        return new MockEdit(call);
    }

    private static int intParam(Map<String, String> p, String key, int dflt, int min, int max) {
        String v = p.get(key);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        int i;
        try {
            i = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new BadRequestException(key + " must be an integer (was '" + v + "')", "invalid_value", key);
        }
        if (i < min || i > max) {
            throw new BadRequestException(key + " must be between " + min + " and " + max + " (was " + i + ")",
                    "invalid_value", key);
        }
        return i;
    }

    private static int[] parseSize(String size) {
        int x = size.indexOf('x');
        try {
            if (x > 0) {
                int w = Integer.parseInt(size.substring(0, x));
                int h = Integer.parseInt(size.substring(x + 1));
                if (w < 1 || h < 1) {
                    throw new NumberFormatException();
                }
                if (w > MockPainter.MAX_SIDE || h > MockPainter.MAX_SIDE) {
                    throw new BadRequestException("the mock provider makes images up to " + MockPainter.MAX_SIDE
                            + " pixels per side (size was " + size + ")", "invalid_value", "size");
                }
                return new int[] {w, h};
            }
        } catch (NumberFormatException e) {
            // fall through to the error below
        }
        throw new BadRequestException("invalid size '" + size + "' (expected WxH or auto)", "invalid_value", "size");
    }

    /** {@code WxH} of the output. */
    String size() {
        return width + "x" + height;
    }

    /** The colour that fills the masked area. */
    Color fill(int variant) {
        return MockPainter.colour(prompt, variant * VARIANT_HUE_STEP / 2, 0.65f, 0.95f);
    }

    /** The tint laid over the whole image. */
    Color tint(int variant) {
        return MockPainter.colour(prompt, 0.5f + variant * VARIANT_HUE_STEP, 0.8f, 0.9f);
    }

    /** The final image of variant {@code i}, before background handling and encoding. */
    BufferedImage render(BufferedImage base, BufferedImage maskOrNull, int variant) {
        return MockPainter.paint(base, maskOrNull, fill(variant), tint(variant), MockPainter.TINT, width, height);
    }

    /** The resolved background of the response ({@code transparent} or {@code opaque}). */
    String background(BufferedImage rendered) {
        return switch (requestedBackground) {
            case "transparent" -> "transparent";
            case "opaque" -> "opaque";
            default -> format == ImageFormat.PNG && MockPainter.hasTransparency(rendered) ? "transparent" : "opaque";
        };
    }

    /** The bytes to return for a rendered image. */
    byte[] encode(BufferedImage rendered) {
        BufferedImage img = requestedBackground.equals("opaque") ? MockPainter.flatten(rendered) : rendered;
        return MockPainter.encode(img, format, compression);
    }

    /** Usage as gpt-image-1 would bill this edit; {@code partials} streamed partial images add 100 tokens each. */
    Usage usage(int partials) {
        long text = (prompt.codePointCount(0, prompt.length()) + 3) / 4;
        long image = (long) imageCount * inputImageTokens(first.info().width(), first.info().height());
        return Usage.of(text, image, (long) n * outputTokens(quality, width, height) + 100L * partials);
    }

    /**
     * Input tokens for one image, gpt-image-1's low-fidelity rule: fit in 2048×2048, scale the shortest side
     * to 512, then 65 + 129 per 512-pixel tile; high fidelity adds 4160 (square) or 6240.
     */
    long inputImageTokens(int w, int h) {
        double scale = Math.min(1.0, 2048.0 / Math.max(w, h));
        double sw = w * scale;
        double sh = h * scale;
        double shortScale = 512.0 / Math.min(sw, sh);
        sw *= shortScale;
        sh *= shortScale;
        long tiles = (long) Math.ceil(Math.round(sw) / 512.0) * (long) Math.ceil(Math.round(sh) / 512.0);
        long tokens = 65 + 129 * tiles;
        if (highFidelity) {
            tokens += w == h ? 4160 : 6240;
        }
        return tokens;
    }

    /** Output tokens per image from OpenAI's table (square / portrait / landscape). */
    static long outputTokens(String quality, int w, int h) {
        int shape = w == h ? 0 : h > w ? 1 : 2;
        long[] row = switch (quality) {
            case "low" -> new long[] {272, 408, 400};
            case "medium", "standard" -> new long[] {1056, 1584, 1568};
            default -> new long[] {4160, 6240, 6208};
        };
        return row[shape];
    }
}
