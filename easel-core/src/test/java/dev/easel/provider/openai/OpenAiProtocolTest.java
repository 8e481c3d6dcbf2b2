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
    void parse_garbage_isBadUpstreamResponse() {
        for (String bad : new String[] {"not json", "[]", "{\"created\":1}", "{\"data\":{}}", "{\"data\":[{}]}",
                "{\"data\":[{\"b64_json\":\"QUJD\""}) {
            assertThatThrownBy(() -> parse(bad)).as(bad).isInstanceOfSatisfying(InternalServerException.class,
                    e -> assertThat(e.code()).contains("bad_upstream_response"));
        }
    }
}
