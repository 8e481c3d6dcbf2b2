package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.ImageData;
import dev.easel.ImageResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link ResponseWriter}: base64 goes out as raw bytes, anything else through JSON escaping. */
class ResponseWriterTest {

    @Test
    void write_base64Images_rawCopyIsValidJsonWithTheSameValues() throws IOException {
        byte[] png = new byte[300_000];
        new Random(1).nextBytes(png);
        String b64 = Base64.getEncoder().encodeToString(png);
        ImageResponse r = ImageResponse.builder().created(1_700_000_000L)
                .data(List.of(ImageData.ofBase64(b64), ImageData.ofBase64("QUJD"))).size("1024x1024").build();

        JsonNode json = write(r);

        assertThat(json.path("created").asLong()).isEqualTo(1_700_000_000L);
        assertThat(json.path("data").get(0).path("b64_json").asText()).isEqualTo(b64);
        assertThat(json.path("data").get(1).path("b64_json").asText()).isEqualTo("QUJD");
        assertThat(json.path("size").asText()).isEqualTo("1024x1024");
    }

    @Test
    void isBase64_trueOnlyForTheBase64Alphabet() {
        // base64url values (with - and _) are written through the generator: correct, just not the fast path
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
        for (char c = 0; c < 300; c++) {
            assertThat(ResponseWriter.isBase64("QUJD" + c + "QUJD"))
                    .as("char %d", (int) c).isEqualTo(alphabet.indexOf(c) >= 0);
        }
        assertThat(ResponseWriter.isBase64("")).isTrue();
    }

    @Test
    void write_b64JsonWithQuoteFromUpstream_escapedNotInjected() throws IOException {
        String hostile = "QUJD\",\"injected\":\"yes";
        ImageResponse r = ImageResponse.builder().created(1L).data(List.of(ImageData.ofBase64(hostile))).build();

        JsonNode json = write(r);

        assertThat(json.path("data").get(0).path("b64_json").asText()).isEqualTo(hostile);
        assertThat(json.path("data").get(0).has("injected")).isFalse();
    }

    private static JsonNode write(ImageResponse r) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ResponseWriter.write(r, "http://h", out);
        return ErrorResponses.JSON.readTree(out.toByteArray());
    }
}
