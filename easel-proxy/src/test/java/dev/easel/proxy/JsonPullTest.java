package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The streaming JSON reader: the same values as Jackson's {@code Object} binding, strings streamed in batches
 * while the input arrives (never held whole), strict syntax with the byte offset in errors, and the depth,
 * token, name and byte limits.
 */
class JsonPullTest {

    static final ObjectMapper JACKSON = new ObjectMapper();

    static JsonPull reader(String json) {
        return reader(json.getBytes(StandardCharsets.UTF_8));
    }

    static JsonPull reader(byte[] json) {
        return new JsonPull(new ByteArrayInputStream(json), 32, 10_000, 256);
    }

    static Object read(String json) throws IOException {
        JsonPull p = reader(json);
        Object v = p.value(p.next());
        p.end();
        return v;
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"a\": 1, \"b\": [true, false, null], \"c\": {\"d\": \"e\"}, \"f\": -0.5e3, \"g\": 12345678901234}",
            "[1, -1, 0, 2147483647, 2147483648, -2147483649, 9223372036854775807, 9223372036854775808, 1.5, 1E2]",
            "\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00 done\"",
            "\"utf-8: é ü 漢字 😀\"",
            "  {\n\t\"nested\": [[[], {}], [{\"x\": [1, {\"y\": null}]}]]\r\n}  ",
            "{\"quality\": \"high\", \"n\": 2, \"output_compression\": 50.0, \"svg\": {\"model\": \"m\"}}",
            "123", "null", "\"\""})
    void value_isWhatJacksonBinds(String json) throws IOException {
        assertThat(read(json)).isEqualTo(JACKSON.readValue(json, Object.class));
    }

    @Test
    void value_objectKeepsOrder() throws IOException {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) read("{\"z\": 1, \"a\": 2, \"m\": 3}");

        assertThat(m.keySet()).containsExactly("z", "a", "m");
    }

    @Test
    void stream_longString_reachesTheSinkInBatchesWhileTheInputArrives() throws IOException {
        String payload = "A".repeat(5_000_000);
        byte[] json = ("{\"image_url\": \"" + payload + "\"}").getBytes(StandardCharsets.US_ASCII);
        CountingInput in = new CountingInput(json);
        JsonPull p = new JsonPull(in, 32, 10_000, 256);
        List<Long> consumedAtWrite = new ArrayList<>();
        long[] chars = {0};
        int[] largestBatch = {0};
        Writer sink = new Writer() {
            @Override
            public void write(char[] cbuf, int off, int len) {
                consumedAtWrite.add(in.consumed);
                chars[0] += len;
                largestBatch[0] = Math.max(largestBatch[0], len);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };

        assertThat(p.next()).isEqualTo(JsonPull.Token.START_OBJECT);
        assertThat(p.next()).isEqualTo(JsonPull.Token.NAME);
        assertThat(p.next()).isEqualTo(JsonPull.Token.STRING);
        p.stream(sink);

        assertThat(chars[0]).isEqualTo(payload.length());
        assertThat(largestBatch[0]).as("characters held at once").isLessThanOrEqualTo(8 * 1024);
        assertThat(consumedAtWrite.get(0)).as("input read before the first batch went out")
                .isLessThan(64 * 1024);
        assertThat(p.next()).isEqualTo(JsonPull.Token.END_OBJECT);
        p.end();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"a\": 1,}                | expected a field name but found '}' at byte 8",
            "[1, 2,]                    | unexpected ']' at byte 6",
            "{a: 1}                     | expected a field name but found 'a' at byte 1",
            "{\"a\" 1}                  | expected ':' but found '1' at byte 5",
            "{\"a\": 01}                | invalid number '01' at byte 6",
            "{\"a\": -}                 | invalid number '-' at byte 6",
            "{\"a\": 1.}                | invalid number '1.' at byte 6",
            "{\"a\": tru}               | invalid literal (expected 'true') at byte 9",
            "{\"a\": nullx}             | invalid literal (expected 'null') at byte 10",
            "{\"a\": \"x\\q\"}          | invalid escape '\\q' at byte 9",
            "{\"a\": \"\\u12G4\"}       | invalid \\u escape at byte 11",
            "{\"a\": 1} {}              | unexpected content after the JSON value at byte 9",
            "{\"a\": [1 2]}             | expected ',' or ']' but found '2' at byte 9",
            "''                         | unexpected end of input (no JSON value) at byte 0",
            "{\"a\": [1, 2              | unexpected end of input (expected ']') at byte 11",
            "{\"a\": \"abc              | unexpected end of input inside a string at byte 10"})
    void next_malformed_is400InvalidJsonNamingTheByte(String json, String message) {
        assertThatThrownBy(() -> read(json)).isInstanceOfSatisfying(ProxyException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(400);
            assertThat(e.code()).contains("invalid_json");
            assertThat(e.getMessage()).isEqualTo("invalid JSON body: " + message);
        });
    }

    @Test
    void next_controlCharacterOrInvalidUtf8InAString_is400() {
        byte[] control = "{\"a\": \"x\ty\"}".getBytes(StandardCharsets.US_ASCII);
        byte[] badUtf8 = {'"', (byte) 0xc3, (byte) 0x28, '"'};
        byte[] overlong = {'"', (byte) 0xc0, (byte) 0xaf, '"'};
        byte[] surrogate = {'"', (byte) 0xed, (byte) 0xa0, (byte) 0x80, '"'};

        JsonPull c = reader(control);
        assertThatThrownBy(() -> c.value(c.next()))
                .hasMessage("invalid JSON body: unescaped control character in a string at byte 8");
        for (byte[] bad : List.of(badUtf8, overlong, surrogate)) {
            JsonPull p = reader(bad);
            assertThatThrownBy(() -> p.value(p.next())).hasMessageStartingWith("invalid JSON body: invalid UTF-8 at byte");
        }
    }

    @Test
    void next_byteOrderMark_isSkipped() throws IOException {
        byte[] json = {(byte) 0xef, (byte) 0xbb, (byte) 0xbf, '{', '}'};
        JsonPull p = reader(json);

        assertThat(p.value(p.next())).isEqualTo(Map.of());
        p.end();
    }

    @Test
    void next_deeperThanTheLimit_is413() {
        JsonPull p = new JsonPull(new ByteArrayInputStream("[[[[1]]]]".getBytes(StandardCharsets.US_ASCII)), 3,
                100, 256);

        assertThatThrownBy(() -> p.value(p.next())).isInstanceOfSatisfying(ProxyException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(413);
            assertThat(e.code()).contains("request_too_large");
            assertThat(e.getMessage()).isEqualTo("the JSON body is nested deeper than 3 levels "
                    + "(general_settings.max_json_depth)");
        });
    }

    @Test
    void next_deepNestingBomb_isRefusedWithoutRecursingDeep() {
        byte[] bomb = "[".repeat(1_000_000).getBytes(StandardCharsets.US_ASCII);
        JsonPull p = new JsonPull(new ByteArrayInputStream(bomb), 32, 10_000_000, 256);

        assertThatThrownBy(() -> p.value(p.next())).hasMessageContaining("nested deeper than 32 levels");
    }

    @Test
    void next_moreTokensThanTheLimit_is413() {
        JsonPull p = new JsonPull(new ByteArrayInputStream("[1,2,3,4,5]".getBytes(StandardCharsets.US_ASCII)), 32, 5,
                256);

        assertThatThrownBy(() -> p.value(p.next())).isInstanceOfSatisfying(ProxyException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(413);
            assertThat(e.getMessage()).isEqualTo("the JSON body has more than 5 tokens "
                    + "(general_settings.max_json_tokens)");
        });
    }

    @Test
    void next_nameLongerThanTheLimit_is413_evenWhenEscaped() {
        for (String name : List.of("n".repeat(11), "\\u006e".repeat(11), "é".repeat(6))) {
            JsonPull p = new JsonPull(new ByteArrayInputStream(("{\"" + name + "\": 1}")
                    .getBytes(StandardCharsets.UTF_8)), 32, 100, 10);

            assertThatThrownBy(() -> p.value(p.next())).as(name).isInstanceOfSatisfying(ProxyException.class, e -> {
                assertThat(e.httpStatus()).isEqualTo(413);
                assertThat(e.getMessage()).isEqualTo("a field name is longer than the limit of 10 bytes "
                        + "(general_settings.max_field_name_bytes)");
            });
        }
        JsonPull ok = new JsonPull(new ByteArrayInputStream("{\"nnnnnnnnnn\": 1}".getBytes(StandardCharsets.UTF_8)),
                32, 100, 10);
        assertThatCode(() -> ok.value(ok.next())).doesNotThrowAnyException();
    }

    @Test
    void limit_hugeValue_failsSoonAfterTheLimitWithoutReadingOn() throws IOException {
        byte[] json = ("{\"x\": \"" + "a".repeat(10_000_000) + "\"}").getBytes(StandardCharsets.US_ASCII);
        CountingInput in = new CountingInput(json);
        JsonPull p = new JsonPull(in, 32, 10_000, 256);
        p.next();
        p.next();
        long start = p.position();
        p.limit(start + 1000, () -> ProxyException.tooLarge("x", "x is too large"));

        assertThatThrownBy(() -> p.value(p.next())).hasMessage("x is too large");
        assertThat(in.consumed).as("bytes read off the input").isLessThan(64 * 1024);
    }

    @Test
    void checkLimit_isExact() throws IOException {
        JsonPull p = reader("{\"x\": \"12345\"}");
        p.next();
        p.next();
        long start = p.position();
        p.limit(start + 8, () -> ProxyException.tooLarge("x", "too large"));
        p.value(p.next()); // `: "12345"` is 10 bytes

        assertThatThrownBy(p::checkLimit).hasMessage("too large");
    }

    /** Hands out at most 4 KiB per read and counts what was taken. */
    static final class CountingInput extends InputStream {
        final byte[] data;
        long consumed;

        CountingInput(byte[] data) {
            this.data = data;
        }

        @Override
        public int read() {
            return consumed < data.length ? data[(int) consumed++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (consumed >= data.length) {
                return -1;
            }
            int n = (int) Math.min(Math.min(len, 4096), data.length - consumed);
            System.arraycopy(data, (int) consumed, b, off, n);
            consumed += n;
            return n;
        }
    }
}
