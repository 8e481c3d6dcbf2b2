package dev.easel.adapt;

import dev.easel.BadRequestException;
import dev.easel.catalog.ModelSpec.MaskConvention;
import dev.easel.image.ImageFormat;
import dev.easel.image.ImageInfo;
import dev.easel.internal.Blob;
import dev.easel.provider.ImagePart;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.EnumMap;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * The client's OpenAI mask (a PNG whose fully transparent pixels mark the area to edit) in the convention of the
 * model it goes to: a binary grayscale PNG of the same dimensions, edit = 255 ({@code white_on_black}) or edit = 0
 * ({@code black_on_white}). One instance per request: each convention is converted once, however many retries and
 * fallbacks use it. Thread-safe.
 */
public final class Masks {

    /** Most pixels decoded to convert a mask (4096 x 4096); a larger mask is a 400. */
    public static final long MAX_PIXELS = 4096L * 4096L;

    private final ImagePart original;
    private final Map<MaskConvention, ImagePart> converted = new EnumMap<>(MaskConvention.class);

    /** The conversions of {@code original} (the validated client mask). */
    public Masks(ImagePart original) {
        this.original = original;
    }

    /**
     * The mask for a model with {@code convention}: the original for {@code alpha_transparent}, a converted copy for
     * the binary conventions (made on first use).
     *
     * @throws BadRequestException when the mask has more than {@link #MAX_PIXELS} pixels or cannot be decoded
     * @throws IllegalArgumentException for {@code none} (validation drops or refuses such a mask first)
     */
    public synchronized ImagePart forConvention(MaskConvention convention, String model) {
        if (convention == MaskConvention.ALPHA_TRANSPARENT) {
            return original;
        }
        if (convention == MaskConvention.NONE) {
            throw new IllegalArgumentException("model '" + model + "' takes no mask");
        }
        ImagePart done = converted.get(convention);
        if (done == null) {
            done = convert(original, convention, model);
            converted.put(convention, done);
        }
        return done;
    }

    static ImagePart convert(ImagePart mask, MaskConvention convention, String model) {
        ImageInfo info = mask.info();
        long pixels = (long) info.width() * info.height();
        if (pixels > MAX_PIXELS) {
            throw new BadRequestException("Invalid file 'mask': it is " + info.dimensions() + " (" + pixels
                    + " pixels); converting it to the " + convention.wire() + " mask that model '" + model
                    + "' takes decodes at most " + MAX_PIXELS + " pixels.", "image_too_large", "mask");
        }
        BufferedImage src;
        try (InputStream in = mask.blob().open()) {
            src = ImageIO.read(in);
        } catch (IOException | RuntimeException e) {
            src = null;
        }
        if (src == null) {
            throw new BadRequestException("Invalid image file 'mask': it cannot be decoded to convert it to the "
                    + convention.wire() + " mask model '" + model + "' takes.", "invalid_image_file", "mask");
        }
        int w = src.getWidth();
        int h = src.getHeight();
        boolean alpha = src.getColorModel().hasAlpha();
        byte edit = convention == MaskConvention.WHITE_ON_BLACK ? (byte) 255 : 0;
        byte keep = convention == MaskConvention.WHITE_ON_BLACK ? 0 : (byte) 255;
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        byte[] raster = ((java.awt.image.DataBufferByte) out.getRaster().getDataBuffer()).getData();
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            src.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                // OpenAI edits where the mask is fully transparent; a mask without alpha edits nothing
                raster[y * w + x] = alpha && (row[x] >>> 24) == 0 ? edit : keep;
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try {
            ImageIO.write(out, "png", png);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // writing to memory
        }
        byte[] bytes = png.toByteArray();
        ImageInfo converted = new ImageInfo(ImageFormat.PNG, w, h, false, bytes.length);
        String name = mask.fileName().endsWith(".png") ? mask.fileName() : mask.fileName() + ".png";
        return new ImagePart(Blob.ofBytes(bytes), converted, name);
    }
}
