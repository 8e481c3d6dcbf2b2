package dev.easel.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.internal.Blob;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonBodyTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** What a publisher sends, collected the way the HTTP client subscribes to it. */
    static byte[] sent(HttpRequest.BodyPublisher publisher) throws Exception {
        return MultipartTest.drain(publisher);
    }

    @Test
    void placeholders_becomeTheBase64OfTheirBlobs_inTreeOrder_withAKnownLength() throws Exception {
        byte[] big = random(3 * 16 * 1024 * 2 + 1, 1); // several encoder chunks, one byte of padding territory
        Path file = dir.resolve("big.bin");
        Files.write(file, big);
        byte[] small = {1, 2};
        JsonBody.Builder b = JsonBody.builder();
        String first = b.base64(Blob.ofBytes(small)); // made first, written second
        ObjectNode root = JSON.createObjectNode().put("prompt", "add a \"hat\" \u00e9");
        root.put("image", b.base64(Blob.ofFile(file)));
        root.putObject("nested").put("mask", first).put("n", 2);

        JsonBody body = b.build(root);
        byte[] wire = sent(body.publisher());

        JsonNode parsed = JSON.readTree(wire);
        assertThat(parsed.get("prompt").asText()).isEqualTo("add a \"hat\" \u00e9");
        assertThat(Base64.getDecoder().decode(parsed.get("image").asText())).isEqualTo(big);
        assertThat(Base64.getDecoder().decode(parsed.path("nested").get("mask").asText())).isEqualTo(small);
        assertThat(parsed.path("nested").get("n").asInt()).isEqualTo(2);
        assertThat(body.contentLength()).isEqualTo(wire.length);
        assertThat(body.publisher().contentLength()).isEqualTo(wire.length);
        assertThat(body.toByteArray()).isEqualTo(wire);
    }

    @Test
    void publisher_isReplayable_eachCallAFreshBody() throws Exception {
        JsonBody.Builder b = JsonBody.builder();
        ObjectNode root = JSON.createObjectNode().put("image", b.base64(Blob.ofBytes(random(1000, 2))));
        JsonBody body = b.build(root);

        assertThat(sent(body.publisher())).isEqualTo(sent(body.publisher()));
    }

    @Test
    void aPromptThatLooksLikeAPlaceholder_isLeftAlone() throws Exception {
        JsonBody.Builder b = JsonBody.builder();
        String placeholder = b.base64(Blob.ofBytes(new byte[] {7}));
        String lookalike = placeholder.substring(0, placeholder.lastIndexOf('-')).replaceAll("[0-9a-f]{24}",
                "000000000000000000000000") + "-0";
        ObjectNode root = JSON.createObjectNode().put("prompt", lookalike).put("image", placeholder);

        JsonNode parsed = JSON.readTree(b.build(root).toByteArray());

        assertThat(parsed.get("prompt").asText()).isEqualTo(lookalike);
        assertThat(parsed.get("image").asText()).isEqualTo("Bw==");
    }

    @Test
    void placeholderMissingOrTwice_isRefused() {
        JsonBody.Builder missing = JsonBody.builder();
        missing.base64(Blob.ofBytes(new byte[] {1}));
        assertThatThrownBy(() -> missing.build(JSON.createObjectNode().put("prompt", "x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a base64 placeholder is not in the JSON tree (each must be a string value, once)");

        JsonBody.Builder twice = JsonBody.builder();
        String p = twice.base64(Blob.ofBytes(new byte[] {1}));
        assertThatThrownBy(() -> twice.build(JSON.createObjectNode().put("a", p).put("b", p)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a base64 placeholder is used twice or altered in the JSON tree");
    }
}
