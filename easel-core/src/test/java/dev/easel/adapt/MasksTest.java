package dev.easel.adapt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.BadRequestException;
import dev.easel.catalog.ModelSpec.MaskConvention;
import dev.easel.image.ImageFormat;
import dev.easel.image.ImageInfo;
import dev.easel.image.ImageInspector;
import dev.easel.image.TestImages;
import dev.easel.internal.Blob;
import dev.easel.provider.ImagePart;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** The OpenAI alpha mask in the other conventions: binary grayscale, same dimensions, converted once. */
class MasksTest {

    static ImagePart part(byte[] png) {
        ImageInfo info = ImageInspector.inspect(Blob.ofBytes(png));
        return new ImagePart(Blob.ofBytes(png), info, "mask.png");
    }

    static BufferedImage decode(ImagePart p) throws Exception {
        try (InputStream in = p.blob().open()) {
            return ImageIO.read(in);
        }
    }

    @Test
    void whiteOnBlack_editIs255_blackOnWhite_editIs0_dimensionsKept() throws Exception {
        // 16x16 opaque with a transparent 8x8 hole in the middle (TestImages.maskWithHole)
        ImagePart alpha = part(TestImages.maskWithHole(16, 16));
        BufferedImage src = ImageIO.read(new ByteArrayInputStream(TestImages.maskWithHole(16, 16)));
        Masks masks = new Masks(alpha);

        ImagePart white = masks.forConvention(MaskConvention.WHITE_ON_BLACK, "stability/inpaint");
        ImagePart black = masks.forConvention(MaskConvention.BLACK_ON_WHITE, "nova");
        BufferedImage w = decode(white);
        BufferedImage b = decode(black);

        assertThat(white.info().format()).isEqualTo(ImageFormat.PNG);
        assertThat(white.info().hasAlpha()).isFalse();
        assertThat(w.getWidth()).isEqualTo(16);
        assertThat(w.getHeight()).isEqualTo(16);
        assertThat(w.getType()).isEqualTo(BufferedImage.TYPE_BYTE_GRAY);
        int edited = 0;
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                boolean edit = (src.getRGB(x, y) >>> 24) == 0;
                edited += edit ? 1 : 0;
                assertThat(w.getRaster().getSample(x, y, 0)).isEqualTo(edit ? 255 : 0);
                assertThat(b.getRaster().getSample(x, y, 0)).isEqualTo(edit ? 0 : 255);
            }
        }
        assertThat(edited).isPositive().isLessThan(256);
    }

    @Test
    void eachConventionIsConvertedOnce_theOriginalServesAlphaModels() {
        ImagePart alpha = part(TestImages.maskWithHole(16, 16));
        Masks masks = new Masks(alpha);
        ImagePart first = masks.forConvention(MaskConvention.WHITE_ON_BLACK, "m");
        assertThat(masks.forConvention(MaskConvention.WHITE_ON_BLACK, "other")).isSameAs(first);
        assertThat(masks.forConvention(MaskConvention.ALPHA_TRANSPARENT, "gpt-image-2")).isSameAs(alpha);
    }

    @Test
    void maskAboveThePixelBound_isAClear400_withoutDecoding() {
        // the header claims 5000x5000; the bound is checked before any pixel is decoded
        ImagePart huge = new ImagePart(Blob.ofBytes(new byte[] {1}), new ImageInfo(ImageFormat.PNG, 5000, 5000, true,
                1), "mask.png");
        assertThatThrownBy(() -> new Masks(huge).forConvention(MaskConvention.WHITE_ON_BLACK, "stability/inpaint"))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.param()).contains("mask");
                    assertThat(e.code()).contains("image_too_large");
                })
                .hasMessage("Invalid file 'mask': it is 5000x5000 (25000000 pixels); converting it to the "
                        + "white_on_black mask that model 'stability/inpaint' takes decodes at most 16777216 pixels.");
    }
}
