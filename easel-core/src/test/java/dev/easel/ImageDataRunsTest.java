package dev.easel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** An image whose base64 is held in several runs (a provider's answer read in chunks) behaves as one in one run. */
class ImageDataRunsTest {

    /** {@code ascii} cut at {@code cuts} (ascending positions), as heap buffers over one array with offsets. */
    private static List<ByteBuffer> runs(byte[] ascii, int... cuts) {
        byte[] padded = new byte[ascii.length + 10]; // runs start at an offset into a larger array, as chunks do
        System.arraycopy(ascii, 0, padded, 5, ascii.length);
        List<ByteBuffer> out = new ArrayList<>();
        int from = 0;
        for (int c : cuts) {
            out.add(ByteBuffer.wrap(padded, 5 + from, c - from));
            from = c;
        }
        out.add(ByteBuffer.wrap(padded, 5 + from, ascii.length - from));
        return out;
    }

    @Test
    void decodes_writes_andReadsBackLikeOneRun_withAndWithoutPadding_cutAnywhere() throws Exception {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int size : new int[] {1, 2, 3, 1000, 1001, 1002, 70_000}) {
            byte[] image = new byte[size];
            rnd.nextBytes(image);
            for (Base64.Encoder enc : List.of(Base64.getEncoder(), Base64.getEncoder().withoutPadding())) {
                byte[] ascii = enc.encode(image);
                for (int round = 0; round < 20; round++) {
                    int a = rnd.nextInt(ascii.length + 1);
                    int b = rnd.nextInt(ascii.length + 1);
                    // also a cut inside the padding: the last one or two characters alone in a run
                    int[] cuts = round == 0 ? new int[] {Math.max(0, ascii.length - 1)}
                            : round == 1 ? new int[] {Math.max(0, ascii.length - 2), Math.max(0, ascii.length - 1)}
                            : new int[] {Math.min(a, b), Math.max(a, b)};
                    ImageData d = ImageData.ofBase64Ascii(runs(ascii, cuts), null, null);
                    String what = size + " bytes, cuts " + java.util.Arrays.toString(cuts);
                    assertThat(d.bytes()).as(what).isEqualTo(image);
                    assertThat(d.base64Length()).isEqualTo(ascii.length);
                    assertThat(d.b64Json()).contains(new String(ascii, StandardCharsets.ISO_8859_1));
                    ByteArrayOutputStream w = new ByteArrayOutputStream();
                    d.writeBase64(w);
                    assertThat(w.toByteArray()).as(what).isEqualTo(ascii);
                }
            }
        }
    }

    @Test
    void malformedBase64InRuns_isAnIllegalArgument() {
        for (String bad : new String[] {"QUJDR", "QU*D", "QUJD===", "QQ=Q"}) {
            byte[] ascii = bad.getBytes(StandardCharsets.US_ASCII);
            ImageData d = ImageData.ofBase64Ascii(runs(ascii, ascii.length / 2), null, null);
            assertThatThrownBy(d::bytes).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
