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
    void base64Value_plainString_isASliceOfTheBody_escapedBase64IsDecoded_escapedOtherTextIsNot() throws Exception {
        byte[] body = "{\"a\":\"QUJD\",\"b\":\"QU\\/D\",\"c\":\"not\\tbase64\"}"
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try (com.fasterxml.jackson.core.JsonParser p = new com.fasterxml.jackson.core.JsonFactory().createParser(body)) {
            p.nextToken();
            p.nextToken();
            p.nextToken(); // a's value
            JsonBytes.Ascii a = JsonBytes.base64Value(p, body).orElseThrow();
            assertThat(a.bytes()).isSameAs(body); // no copy
            assertThat(new String(a.bytes(), a.offset(), a.length(), java.nio.charset.StandardCharsets.US_ASCII))
                    .isEqualTo("QUJD");
            p.nextToken();
            p.nextToken(); // b's value: "QU\/D" is "QU/D" once decoded
            JsonBytes.Ascii b = JsonBytes.base64Value(p, body).orElseThrow();
            assertThat(b.bytes()).isNotSameAs(body);
            assertThat(new String(b.bytes(), b.offset(), b.length(), java.nio.charset.StandardCharsets.US_ASCII))
                    .isEqualTo("QU/D");
            p.nextToken();
            p.nextToken(); // c's value
            assertThat(JsonBytes.base64Value(p, body)).isEmpty();
        }
    }
}
