package dev.easel.provider.mock;

import dev.easel.BadRequestException;
import dev.easel.image.ImageFormat;
import dev.easel.provider.ImagePart;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * The mock's "model": real pixel work with {@code java.awt}, no randomness. The fill and tint colours come
 * from the prompt's hash, so the same request always gives the same images.
 */
final class MockPainter {

    /** Share of the tint colour blended into every pixel of a final image. */
    static final float TINT = 0.15f;
    /** Largest side the mock will render. */
    static final int MAX_SIDE = 4096;

    private MockPainter() {
    }

    /** The first image as ARGB; WebP (which ImageIO cannot read) becomes a neutral grey canvas of its size. */
    static BufferedImage base(ImagePart image) {
        BufferedImage decoded = image.info().format() == ImageFormat.WEBP ? null : decode(image);
        if (decoded == null) {
            BufferedImage canvas = new BufferedImage(image.info().width(), image.info().height(),
                    BufferedImage.TYPE_INT_ARGB);
            Graphics2D g = canvas.createGraphics();
            g.setColor(new Color(128, 128, 128));
            g.fillRect(0, 0, canvas.getWidth(), canvas.getHeight());
            g.dispose();
            return canvas;
        }
        return toArgb(decoded);
    }

    /** The mask as ARGB scaled to {@code w×h}. */
    static BufferedImage mask(ImagePart mask, int w, int h) {
        BufferedImage decoded = decode(mask);
        if (decoded == null) {
            throw new BadRequestException("the mock provider could not decode the mask ("
                    + mask.info().format().wireName() + ")", "invalid_image_file", "mask");
        }
        BufferedImage argb = toArgb(decoded);
        return argb.getWidth() == w && argb.getHeight() == h ? argb : resize(argb, w, h);
    }

    private static BufferedImage decode(ImagePart part) {
        try (InputStream in = part.blob().open()) {
            return ImageIO.read(in);
        } catch (IOException e) {
            return null;
        }
    }

    static BufferedImage toArgb(BufferedImage src) {
        if (src.getType() == BufferedImage.TYPE_INT_ARGB) {
            return src;
        }
        BufferedImage out = new BufferedImage(src.getWidth(), src.getHeight(), BufferedImage.TYPE_INT_ARGB);
        Graphics2D g = out.createGraphics();
        g.drawImage(src, 0, 0, null);
        g.dispose();
        return out;
    }

    /**
     * One edited image: masked pixels (mask alpha 0) filled with {@code fill}, then every pixel blended
     * with {@code tint} at {@code strength}, then scaled to {@code w×h}.
     */
    static BufferedImage paint(BufferedImage base, BufferedImage maskOrNull, Color fill, Color tint,
                               float strength, int w, int h) {
        int bw = base.getWidth();
        int bh = base.getHeight();
        BufferedImage out = new BufferedImage(bw, bh, BufferedImage.TYPE_INT_ARGB);
        int fillArgb = 0xFF000000 | (fill.getRGB() & 0xFFFFFF);
        int tr = tint.getRed();
        int tg = tint.getGreen();
        int tb = tint.getBlue();
        for (int y = 0; y < bh; y++) {
            for (int x = 0; x < bw; x++) {
                int p = base.getRGB(x, y);
                if (maskOrNull != null && (maskOrNull.getRGB(x, y) >>> 24) == 0) {
                    p = fillArgb;
                }
                int a = p >>> 24;
                int r = blend((p >> 16) & 0xFF, tr, strength);
                int g = blend((p >> 8) & 0xFF, tg, strength);
                int b = blend(p & 0xFF, tb, strength);
                out.setRGB(x, y, (a << 24) | (r << 16) | (g << 8) | b);
            }
        }
        return bw == w && bh == h ? out : resize(out, w, h);
    }

    private static int blend(int c, int t, float s) {
        return Math.round(c * (1 - s) + t * s);
    }

    /** A blurred version: scaled down by {@code factor} and back up. */
    static BufferedImage blur(BufferedImage img, int factor) {
        int w = img.getWidth();
        int h = img.getHeight();
        BufferedImage small = resize(img, Math.max(1, w / factor), Math.max(1, h / factor));
        return resize(small, w, h);
    }

    static BufferedImage resize(BufferedImage src, int w, int h) {
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        g.drawImage(src, 0, 0, w, h, null);
        g.dispose();
        return out;
    }

    /** The image composited on white, without alpha. */
    static BufferedImage flatten(BufferedImage img) {
        BufferedImage out = new BufferedImage(img.getWidth(), img.getHeight(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.drawImage(img, 0, 0, null);
        g.dispose();
        return out;
    }

    /** Whether any pixel is not fully opaque. */
    static boolean hasTransparency(BufferedImage img) {
        if (!img.getColorModel().hasAlpha()) {
            return false;
        }
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                if ((img.getRGB(x, y) >>> 24) != 0xFF) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Encodes as PNG, or as JPEG at {@code compression} (0–100, where 100 keeps the most detail). */
    static byte[] encode(BufferedImage img, ImageFormat format, int compression) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            if (format == ImageFormat.PNG) {
                ImageIO.write(img, "png", bytes);
                return bytes.toByteArray();
            }
            if (format != ImageFormat.JPEG) {
                throw new IllegalArgumentException("cannot encode " + format);
            }
            BufferedImage rgb = img.getType() == BufferedImage.TYPE_INT_RGB ? img : flatten(img);
            Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("jpeg");
            ImageWriter writer = writers.next();
            try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
                writer.setOutput(out);
                ImageWriteParam param = writer.getDefaultWriteParam();
                param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                param.setCompressionQuality(Math.max(0, Math.min(100, compression)) / 100f);
                writer.write(null, new IIOImage(rgb, null, null), param);
            } finally {
                writer.dispose();
            }
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A colour for the prompt: stable across runs, saturated and bright; {@code shift} turns the hue. */
    static Color colour(String prompt, float shift, float saturation, float brightness) {
        int h = prompt.hashCode();
        h ^= h >>> 16;
        h *= 0x85EBCA6B;
        h ^= h >>> 13;
        float hue = ((h & 0xFFFF) / 65536f + shift) % 1f;
        return Color.getHSBColor(hue, saturation, brightness);
    }
}
