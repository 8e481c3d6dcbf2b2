package dev.easel.provider.gemini;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.BadRequestException;
import dev.easel.EaselException;
import dev.easel.ImageEditRequest;
import dev.easel.ImageInput;
import dev.easel.http.Base64Body;
import dev.easel.image.TestImages;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Google takes at most 20 MiB inline per request: a request of exactly that many bytes is sent, one byte more is
 * refused before anything is sent (the JSON is never built in memory to find out: its length is known from the
 * image sizes). One image that alone fills a request is refused by the catalogue's {@code max_image_bytes}.
 */
class GeminiLimitsTest {

    static final String FLASH = GeminiProviderTest.FLASH;

    final GeminiFixture gemini = new GeminiFixture();

    @AfterEach
    void stop() {
        gemini.close();
    }

    /** A valid PNG of {@code size} bytes: a small image with a private ancillary chunk of padding before IEND. */
    static byte[] pngOf(int size) {
        byte[] png = TestImages.png(8, 8, false);
        int iend = png.length - 12;
        byte[] data = new byte[size - png.length - 12];
        java.nio.ByteBuffer chunk = java.nio.ByteBuffer.allocate(12 + data.length);
        chunk.putInt(data.length).put("zzPd".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).put(data);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(chunk.array(), 4, 4 + data.length);
        chunk.putInt((int) crc.getValue());
        return TestImages.concat(java.util.Arrays.copyOf(png, iend), chunk.array(),
                java.util.Arrays.copyOfRange(png, iend, png.length));
    }

    static ImageEditRequest twoImages(int eachBytes, String prompt) {
        return ImageEditRequest.builder().model("edit").prompt(prompt)
                .images(ImageInput.of(pngOf(eachBytes)), ImageInput.of(pngOf(eachBytes))).build();
    }

    @Test
    void requestOfExactlyTheInlineLimit_isSent_oneByteMore_isRefusedBeforeTheCall() {
        var easel = gemini.client(FLASH);
        // the JSON around two images and a one-character prompt, measured on a small request
        easel.imageEdit(twoImages(300, "p"));
        long overhead = gemini.fake.takeRequest().bodySize() - 1 - 2 * Base64Body.encodedLength(300);
        // two images of 3k bytes (4k base64 characters each) and a prompt filling the rest to the byte
        long k = (GeminiProvider.MAX_REQUEST_BYTES - overhead - 20) / 8;
        int prompt = (int) (GeminiProvider.MAX_REQUEST_BYTES - overhead - 8 * k);

        easel.imageEdit(twoImages((int) (3 * k), "p".repeat(prompt)));
        assertThat(gemini.fake.takeRequest().bodySize()).isEqualTo(GeminiProvider.MAX_REQUEST_BYTES);

        assertThatThrownBy(() -> easel.imageEdit(twoImages((int) (3 * k), "p".repeat(prompt + 1))))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("Request too large for gemini model 'gemini-3.1-flash-image': 20971521 bytes (20 MB) "
                        + "with its 2 images in base64, above the 20971520 bytes (20 MB) Google takes inline. Send "
                        + "fewer or smaller images.")
                .satisfies(e -> {
                    EaselException ee = (EaselException) e;
                    assertThat(ee.code()).contains("request_too_large");
                    assertThat(ee.param()).contains("image");
                    assertThat(ee.provider()).as("refused by Easel, not by Google").isEmpty();
                });
        assertThat(gemini.fake.requestCount()).isEqualTo(2);
    }

    @Test
    void oneImageThatAloneFillsARequest_isRefusedByTheCatalogue() {
        assertThatThrownBy(() -> gemini.client(FLASH).imageEdit(ImageEditRequest.builder().model("edit").prompt("p")
                .image(pngOf(15 * 1024 * 1024)).build()))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("Invalid file 'image': 15728640 bytes (15 MB) is too large; model 'gemini-3.1-flash-image' "
                        + "accepts files smaller than 15728640 bytes (15 MB).");
        assertThat(gemini.fake.requestCount()).isZero();
    }

    @Test
    void fifteenImages_areMoreThanTheModelsTake() {
        ImageInput[] images = new ImageInput[15];
        for (int i = 0; i < images.length; i++) {
            images[i] = ImageInput.of(TestImages.png(16, 16 + i, false));
        }
        assertThatThrownBy(() -> gemini.client(FLASH).imageEdit(ImageEditRequest.builder().model("edit").prompt("p")
                .images(images).build()))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("Too many images: model 'gemini-3.1-flash-image' accepts at most 14 images (was 15).");
        assertThat(gemini.fake.requestCount()).isZero();
    }
}
