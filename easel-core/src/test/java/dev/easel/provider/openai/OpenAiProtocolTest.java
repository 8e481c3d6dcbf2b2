package dev.easel.provider.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.ImageResponse;
import dev.easel.InternalServerException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** The streaming response parser: base64 kept as ASCII bytes, everything else as OpenAI sends it. */
class OpenAiProtocolTest {

    static ImageResponse parse(String json) {
        return OpenAiProtocol.parseResponse(json.getBytes(StandardCharsets.UTF_8), "openai", "m", "req_1");
    }

    @Test
    void parse_bigBase64_heldAsAsciiBytes_andDecodes() {
        byte[] image = new byte[300_000];
        for (int i = 0; i < image.length; i++) {
            image[i] = (byte) (i * 31);
        }
        String b64 = Base64.getEncoder().encodeToString(image);
        ImageResponse r = parse("{\"created\":7,\"data\":[{\"b64_json\":\"" + b64 + "\"},{\"url\":\"https://x/y.png\"}],"
                + "\"size\":\"1024x1024\",\"quality\":\"high\",\"extra\":{\"a\":[1,2]},"
                + "\"usage\":{\"input_tokens\":244,\"input_tokens_details\":{\"image_tokens\":194,\"text_tokens\":50},"
                + "\"output_tokens\":1056,\"total_tokens\":1300}}");

        assertThat(r.created()).isEqualTo(7);
        assertThat(r.data()).hasSize(2);
        assertThat(r.data().get(0).b64Ascii()).isPresent();
        assertThat(r.data().get(0).bytes()).isEqualTo(image);
        assertThat(r.data().get(0).b64Json()).contains(b64);
        assertThat(r.data().get(1).url()).contains("https://x/y.png");
        assertThat(r.size()).contains("1024x1024");
        assertThat(r.usage().orElseThrow().inputImageTokens()).isEqualTo(194);
    }

    @Test
    void parse_base64AboveJacksonsDefaultStringLimit_isAccepted() {
        // Jackson refuses strings over 20,000,000 characters by default; a large 4K PNG's base64 is more
        String b64 = "QUJD".repeat(5_500_000); // 22,000,000 characters
        ImageResponse r = parse("{\"data\":[{\"b64_json\":\"" + b64 + "\"}]}");

        assertThat(r.data().get(0).b64Ascii().orElseThrow().remaining()).isEqualTo(22_000_000);
    }

    @Test
    void parse_escapedOrNonBase64Text_keptAsText() {
        ImageResponse r = parse("{\"data\":[{\"b64_json\":\"QUJD\\u0020\\\"x\"}]}");

        assertThat(r.data().get(0).b64Ascii()).isEmpty();
        assertThat(r.data().get(0).b64Json()).contains("QUJD \"x");
    }

    @Test
    void parse_everyCharacterBetweenBase64_asciiOnlyForTheBase64Alphabet() {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
        for (char c = 0; c < 300; c++) {
            String text = "QUJD" + c + "QUJD";
            ImageResponse r = parse("{\"data\":[{\"b64_json\":\"QUJD" + String.format("\\u%04x", (int) c)
                    + "QUJD\"}]}");

            assertThat(r.data().get(0).b64Ascii().isPresent()).as("char %d", (int) c)
                    .isEqualTo(alphabet.indexOf(c) >= 0);
            assertThat(r.data().get(0).b64Json()).as("char %d", (int) c).contains(text);
        }
    }

    @Test
    void parse_nonBase64CharacterAfterBufferGrowth_keepsEveryCharacterBefore() {
        String head = "QUJD".repeat(50_000); // 200,000 characters: past the first buffer and several segments
        ImageResponse r = parse("{\"data\":[{\"b64_json\":\"" + head + "\\u00e9" + "QUJD\"}]}");

        assertThat(r.data().get(0).b64Ascii()).isEmpty();
        assertThat(r.data().get(0).b64Json()).contains(head + "\u00e9QUJD");
    }

    @Test
    void parse_base64_isASliceOfTheBody_whateverTheLayoutAround() throws java.io.IOException {
        String a = Base64.getEncoder().encodeToString("first image".getBytes(StandardCharsets.UTF_8));
        String b = Base64.getEncoder().encodeToString("second".getBytes(StandardCharsets.UTF_8));
        // multi-byte text before, whitespace and newlines around the values, b64_json before url
        ImageResponse r = parse("{ \"note\" : \"caf\u00e9 \u2603\",\n \"data\" :\r\n [ {\"b64_json\" :\n\t \"" + a
                + "\" , \"url\": \"https://x/1.png\" } ,{\"revised_prompt\":\"\u00fcber\",\"b64_json\":\"" + b
                + "\"} ] }");

        assertThat(r.data()).hasSize(2);
        assertThat(r.data().get(0).b64Ascii().orElseThrow().remaining()).isEqualTo(a.length());
        assertThat(new String(r.data().get(0).bytes(), StandardCharsets.UTF_8)).isEqualTo("first image");
        assertThat(r.data().get(0).b64Json()).contains(a);
        assertThat(r.data().get(0).url()).contains("https://x/1.png");
        assertThat(new String(r.data().get(1).bytes(), StandardCharsets.UTF_8)).isEqualTo("second");
        assertThat(r.data().get(1).revisedPrompt()).contains("\u00fcber");
        var out = new java.io.ByteArrayOutputStream();
        assertThat(r.data().get(1).writeBase64(out)).isTrue();
        assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo(b);
    }

    @Test
    void parse_escapedSlashes_decodedAndStillHeldAsAscii() {
        String b64 = Base64.getEncoder().encodeToString(new byte[] {(byte) 0xff, (byte) 0xfe, 0x3f, (byte) 0xbf});
        assertThat(b64).contains("/");
        ImageResponse r = parse("{\"data\":[{\"b64_json\":\"" + b64.replace("/", "\\/") + "\"}]}");

        assertThat(r.data().get(0).b64Ascii()).isPresent();
        assertThat(r.data().get(0).b64Json()).contains(b64);
        assertThat(r.data().get(0).bytes()).containsExactly(0xff, 0xfe, 0x3f, 0xbf);
    }

    @Test
    void parse_rawCharacters_plainAsciiIsASlice_nonAsciiIsText() {
        // printable ASCII needs no escaping, whatever it is: held as bytes and written back unchanged
        ImageResponse plain = parse("{\"data\":[{\"b64_json\":\"QU-J_D x\"}]}");
        assertThat(plain.data().get(0).b64Ascii().orElseThrow().remaining()).isEqualTo(8);
        assertThat(plain.data().get(0).b64Json()).contains("QU-J_D x");
        // a raw non-ASCII character: read as text by the parser
        ImageResponse text = parse("{\"data\":[{\"b64_json\":\"QUJD\u00e9\"}]}");
        assertThat(text.data().get(0).b64Ascii()).isEmpty();
        assertThat(text.data().get(0).b64Json()).contains("QUJD\u00e9");
    }

    @Test
    void parseStream_announcedLength_readsExactlyTheBody() {
        byte[] json = "{\"data\":[{\"b64_json\":\"QUJD\"}]}".getBytes(StandardCharsets.UTF_8);
        for (long announced : new long[] {json.length, -1}) {
            ImageResponse r = OpenAiProtocol.parseResponse(new java.io.ByteArrayInputStream(json), announced,
                    "openai", "m", "req_1");
            assertThat(r.data().get(0).bytes()).as("length %d", announced).isEqualTo("ABC".getBytes());
        }
    }

    @Test
    void parseStream_largeAnswer_keepsTheImageAsSlicesOfItsChunks() throws Exception {
        byte[] image = new byte[900_000]; // 1.2 MB of base64: five chunks, the image across all of them
        new java.util.SplittableRandom(5).nextBytes(image);
        String b64 = java.util.Base64.getEncoder().encodeToString(image);
        byte[] json = ("{\"created\":1700000000,\"data\":[{\"b64_json\":\"" + b64 + "\"},{\"url\":\"https://x/y\","
                + "\"revised_prompt\":\"a \\\"cat\\\"\"}],\"usage\":{\"input_tokens\":7,\"output_tokens\":3},"
                + "\"size\":\"1024x1024\",\"extra\":[1,{\"a\":null}]}").getBytes(StandardCharsets.UTF_8);
        for (long announced : new long[] {json.length, -1}) {
            ImageResponse r = OpenAiProtocol.parseResponse(new java.io.ByteArrayInputStream(json), announced,
                    "openai", "m", "req_1");
            dev.easel.ImageData d = r.data().get(0);
            assertThat(d.holdsBase64Ascii()).isTrue();
            assertThat(d.base64Length()).isEqualTo(b64.length());
            java.io.ByteArrayOutputStream written = new java.io.ByteArrayOutputStream();
            assertThat(d.writeBase64(written)).isTrue();
            assertThat(written.toString(StandardCharsets.ISO_8859_1)).isEqualTo(b64);
            assertThat(d.bytes()).isEqualTo(image);
            assertThat(d.b64Json()).contains(b64);
            assertThat(d.b64Ascii().orElseThrow().remaining()).isEqualTo(b64.length());
            assertThat(r.data().get(1).url()).contains("https://x/y");
            assertThat(r.data().get(1).revisedPrompt()).contains("a \"cat\"");
            assertThat(r.created()).isEqualTo(1700000000L);
            assertThat(r.usage().orElseThrow().totalTokens()).isEqualTo(10);
            assertThat(r.size()).contains("1024x1024");
        }
    }

    @Test
    void parse_garbage_isBadUpstreamResponse() {
        for (String bad : new String[] {"not json", "[]", "{\"created\":1}", "{\"data\":{}}", "{\"data\":[{}]}",
                "{\"data\":[{\"b64_json\":\"QUJD\"", "{\"data\":[]} x", "{\"data\":[1]}",
                "{\"data\":[{\"url\":{}}]}", "{\"data\":[{\"b64_json\":\"QUJD\"}],}"}) {
            assertThatThrownBy(() -> parse(bad)).as(bad).isInstanceOfSatisfying(InternalServerException.class,
                    e -> assertThat(e.code()).contains("bad_upstream_response"));
        }
    }
}
