package dev.easel.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class JsonBytesTest {

    /** The byte-at-a-time definition the word-at-a-time scan must agree with. */
    static int reference(byte[] a, int from, int to) {
        for (int i = from; i < to; i++) {
            int c = a[i] & 0xff;
            if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
                return i;
            }
        }
        return to;
    }

    @Test
    void everyByteValue_atEveryPositionOfAWord_isFoundExactly() {
        for (int value = 0; value < 256; value++) {
            for (int pos = 0; pos < 24; pos++) {
                byte[] a = "QUJDREVGR0hJSktMTU5PUFFSU1RV".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                a[pos] = (byte) value;
                for (int from = 0; from < 9; from++) {
                    assertThat(JsonBytes.plainStringEnd(a, from, a.length)).as("byte %d at %d from %d", value, pos, from)
                            .isEqualTo(reference(a, from, a.length));
                }
            }
        }
    }

    @Test
    void randomRuns_agreeWithTheByteLoop() {
        SplittableRandom r = new SplittableRandom(7);
        for (int n = 0; n < 20_000; n++) {
            byte[] a = new byte[r.nextInt(1, 80)];
            for (int i = 0; i < a.length; i++) {
                // mostly printable ASCII, sometimes anything
                a[i] = (byte) (r.nextInt(10) == 0 ? r.nextInt(256) : r.nextInt(0x20, 0x7f));
            }
            int from = r.nextInt(a.length);
            int to = r.nextInt(from, a.length + 1);
            assertThat(JsonBytes.plainStringEnd(a, from, to)).isEqualTo(reference(a, from, to));
        }
    }

    @Test
    void plainRun_endsAtTheLimit() {
        byte[] a = "QUJD".repeat(1000).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(JsonBytes.plainStringEnd(a, 0, a.length)).isEqualTo(a.length);
        assertThat(JsonBytes.plainStringEnd(a, 3, 3)).isEqualTo(3);
        assertThat(JsonBytes.plainStringEnd(a, 5, 11)).isEqualTo(11);
    }

    @Test
    void plainStringClose_findsTheClosingQuoteOfAPlainString_only() {
        byte[] body = "{\"a\":\"QUJD\",\"b\":\"x\\/y\",\"c\":7,\"d\":\"open"
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        String text = new String(body, java.nio.charset.StandardCharsets.US_ASCII);
        int a = text.indexOf("\"QUJD");
        assertThat(JsonBytes.plainStringClose(body, a)).isEqualTo(a + 5);
        assertThat(JsonBytes.plainStringClose(body, text.indexOf("\"x"))).as("an escape").isEqualTo(-1);
        assertThat(JsonBytes.plainStringClose(body, text.indexOf('7'))).as("not a string").isEqualTo(-1);
        assertThat(JsonBytes.plainStringClose(body, text.indexOf("\"open"))).as("unterminated").isEqualTo(-1);
        assertThat(JsonBytes.plainStringClose(body, -1)).isEqualTo(-1);
        assertThat(JsonBytes.plainStringClose(body, body.length)).isEqualTo(-1);
    }
}
