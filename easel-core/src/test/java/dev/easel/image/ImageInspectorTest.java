package dev.easel.image;

import static dev.easel.image.TestImages.concat;
import static dev.easel.image.TestImages.truncate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.image.ImageInspectionException.Reason;
import dev.easel.internal.Blob;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageInspectorTest {

    private static ImageInfo inspect(byte[] bytes) {
        return ImageInspector.inspect(Blob.ofBytes(bytes));
    }

    private static AbstractThrowableAssert<?, ?> assertFails(byte[] bytes, Reason reason, String message) {
        return assertThatThrownBy(() -> inspect(bytes))
                .isInstanceOfSatisfying(ImageInspectionException.class, e -> assertThat(e.reason()).isEqualTo(reason))
                .hasMessage(message);
    }

    @Test
    void inspect_pngRgb_readsDimensionsWithoutAlpha() {
        byte[] png = TestImages.png(300, 200, false);
        assertThat(inspect(png)).isEqualTo(new ImageInfo(ImageFormat.PNG, 300, 200, false, png.length));
    }

    @Test
    void inspect_pngRgba_hasAlpha() {
        byte[] png = TestImages.png(64, 128, true);
        assertThat(inspect(png)).isEqualTo(new ImageInfo(ImageFormat.PNG, 64, 128, true, png.length));
    }

    @Test
    void inspect_palettePngWithTrns_hasAlpha() {
        ImageInfo info = inspect(TestImages.pngWithTrns(40, 30, false));
        assertThat(info.hasAlpha()).isTrue();
        assertThat(info.dimensions()).isEqualTo("40x30");
    }

    @Test
    void inspect_grayscalePng_hasNoAlpha() {
        ImageInfo info = inspect(TestImages.grayPng(17, 9));
        assertThat(info).isEqualTo(new ImageInfo(ImageFormat.PNG, 17, 9, false, info.bytes()));
    }

    @Test
    void inspect_jpeg_walksSegmentsToFrameHeader() {
        byte[] jpeg = TestImages.jpeg(321, 123);
        assertThat(inspect(jpeg)).isEqualTo(new ImageInfo(ImageFormat.JPEG, 321, 123, false, jpeg.length));
    }

    @Test
    void inspect_jpegWithTrailingZeroPadding_isAccepted() {
        byte[] jpeg = concat(TestImages.jpeg(20, 10), new byte[7]);
        assertThat(inspect(jpeg).dimensions()).isEqualTo("20x10");
    }

    @Test
    void inspect_webpVp8_readsDimensions() {
        byte[] webp = TestImages.webpVp8(1024, 768);
        assertThat(inspect(webp)).isEqualTo(new ImageInfo(ImageFormat.WEBP, 1024, 768, false, webp.length));
    }

    @Test
    void inspect_webpVp8l_readsDimensionsAndAlphaBit() {
        assertThat(inspect(TestImages.webpVp8l(16000, 1, true)))
                .extracting(ImageInfo::width, ImageInfo::height, ImageInfo::hasAlpha).containsExactly(16000, 1, true);
        assertThat(inspect(TestImages.webpVp8l(5, 7, false)).hasAlpha()).isFalse();
    }

    @Test
    void inspect_webpVp8x_readsCanvasAndAlphaFlag() {
        assertThat(inspect(TestImages.webpVp8x(3000, 2000, true)))
                .extracting(ImageInfo::width, ImageInfo::height, ImageInfo::hasAlpha).containsExactly(3000, 2000, true);
        assertThat(inspect(TestImages.webpVp8x(3000, 2000, false)).hasAlpha()).isFalse();
    }

    @Test
    void inspect_fileBlob_readsHeadAndTail(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("a.png");
        Files.write(file, TestImages.png(10, 20, true));
        assertThat(ImageInspector.inspect(Blob.ofFile(file)).dimensions()).isEqualTo("10x20");
    }

    @Test
    void inspect_truncatedPng_isTruncated() {
        byte[] png = TestImages.png(50, 50, false);
        assertFails(truncate(png, png.length - 1), Reason.TRUNCATED,
                "truncated png: the file does not end with an IEND chunk");
    }

    @Test
    void inspect_pngCutInsideIhdr_isTruncated() {
        assertFails(truncate(TestImages.png(50, 50, false), 20), Reason.TRUNCATED,
                "truncated png: the file ends inside the IHDR chunk (20 bytes)");
    }

    @Test
    void inspect_pngWithCorruptIhdrCrc_isCorrupt() {
        byte[] png = TestImages.png(50, 50, false);
        png[32] ^= 0x01;
        assertThatThrownBy(() -> inspect(png))
                .isInstanceOfSatisfying(ImageInspectionException.class, e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT))
                .hasMessageMatching("corrupt png: IHDR checksum mismatch \\(stored 0x[0-9A-F]{8}, computed 0x[0-9A-F]{8}\\)");
    }

    @Test
    void inspect_pngWithChangedWidth_failsCrcCheck() {
        byte[] png = TestImages.png(50, 50, false);
        png[19] = 51; // width 50 → 51 without fixing the CRC
        assertThatThrownBy(() -> inspect(png)).hasMessageStartingWith("corrupt png: IHDR checksum mismatch");
    }

    @Test
    void inspect_pngWhoseFirstChunkIsNotIhdr_isCorrupt() {
        byte[] png = TestImages.png(8, 8, false);
        png[12] = 'X';
        assertFails(png, Reason.CORRUPT, "corrupt png: the first chunk is 'XHDR' of 13 bytes, expected IHDR of 13");
    }

    @Test
    void inspect_truncatedJpeg_isTruncated() {
        byte[] jpeg = TestImages.jpeg(64, 64);
        assertFails(truncate(jpeg, jpeg.length - 100), Reason.TRUNCATED,
                "truncated jpeg: the file does not end with the EOI marker (FF D9)");
    }

    @Test
    void inspect_jpegCutBeforeFrameHeader_isTruncated() {
        assertFails(truncate(TestImages.jpeg(64, 64), 10), Reason.TRUNCATED,
                "truncated jpeg: the file ends before the frame header (SOF)");
    }

    @Test
    void inspect_jpegWithGarbageAfterSoi_isCorrupt() {
        byte[] bad = concat(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 4, 1, 2, 0x42},
                new byte[] {(byte) 0xFF, (byte) 0xD9});
        assertFails(bad, Reason.CORRUPT, "corrupt jpeg: expected a marker at offset 8, found 0x42");
    }

    @Test
    void inspect_truncatedWebp_isTruncated() {
        byte[] webp = TestImages.webpVp8(100, 100);
        assertFails(truncate(webp, webp.length - 4), Reason.TRUNCATED,
                "truncated webp: the RIFF header declares 32 bytes but only 28 follow");
    }

    @Test
    void inspect_webpWithBytesAfterRiffData_isCorrupt() {
        assertFails(concat(TestImages.webpVp8(100, 100), new byte[] {1, 2}), Reason.CORRUPT,
                "corrupt webp: 2 bytes follow the end of the RIFF data (declared 32 bytes)");
    }

    @Test
    void inspect_webpWithoutVp8StartCode_isCorrupt() {
        byte[] webp = TestImages.webpVp8(100, 100);
        webp[23] = 0;
        assertFails(webp, Reason.CORRUPT, "corrupt webp: missing the VP8 start code 9D 01 2A");
    }

    @Test
    void inspect_randomBytes_isUnknownFormat() {
        byte[] random = new byte[1000];
        new Random(42).nextBytes(random);
        random[0] = 0x01;
        random[1] = 0x02;
        random[2] = 0x03;
        random[3] = 0x04;
        assertFails(random, Reason.UNKNOWN_FORMAT, "not a png, jpeg or webp image (first bytes 01 02 03 04)");
    }

    @Test
    void inspect_gif_namesTheFormat() {
        byte[] gif = concat("GIF89a".getBytes(StandardCharsets.US_ASCII), new byte[20]);
        assertThatThrownBy(() -> inspect(gif))
                .isInstanceOfSatisfying(ImageInspectionException.class,
                        e -> assertThat(e.detectedFormat()).contains("gif"))
                .hasMessage("not a png, jpeg or webp image (detected gif)");
    }

    @Test
    void inspect_emptyFile_isUnknownFormat() {
        assertFails(new byte[0], Reason.UNKNOWN_FORMAT, "not an image: the file is empty");
    }

    @Test
    void hasTransparentPixel_maskWithHole_isTrue() {
        assertThat(ImageInspector.hasTransparentPixel(Blob.ofBytes(TestImages.maskWithHole(64, 64)))).isTrue();
    }

    @Test
    void hasTransparentPixel_opaqueRgba_isFalse() {
        assertThat(ImageInspector.hasTransparentPixel(Blob.ofBytes(TestImages.png(64, 64, true)))).isFalse();
    }

    @Test
    void hasTransparentPixel_rgbWithoutAlpha_isFalse() {
        assertThat(ImageInspector.hasTransparentPixel(Blob.ofBytes(TestImages.png(8, 8, false)))).isFalse();
    }

    @Test
    void hasTransparentPixel_paletteWithTrns_dependsOnUse() {
        assertThat(ImageInspector.hasTransparentPixel(Blob.ofBytes(TestImages.pngWithTrns(8, 8, true)))).isTrue();
        assertThat(ImageInspector.hasTransparentPixel(Blob.ofBytes(TestImages.pngWithTrns(8, 8, false)))).isFalse();
    }

    @Test
    void hasTransparentPixel_undecodableBytes_fails() {
        byte[] png = TestImages.png(8, 8, true);
        byte[] broken = Arrays.copyOf(png, png.length);
        Arrays.fill(broken, 41, broken.length - 12, (byte) 0x55); // IDAT payload garbage
        assertThatThrownBy(() -> ImageInspector.hasTransparentPixel(Blob.ofBytes(broken)))
                .isInstanceOf(ImageInspectionException.class);
    }
}
