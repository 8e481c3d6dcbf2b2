package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.testkit.RecordedRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The request limits of {@code general_settings} (small values here) through the real proxy, multipart and JSON:
 * at the limit a request passes, one over it is a 413 {@code request_too_large} naming the key and its value, and
 * nothing goes upstream. Also: {@code x[]} repeats are forwarded as a list, and a second mask is refused at once.
 */
class IntakeLimitsTest {

    @TempDir
    static Path dataDir;

    static WireFixture wire;
    static byte[] png;

    @BeforeAll
    static void start() {
        wire = WireFixture.start(dataDir, """
                max_parts: 7
                max_images: 3
                max_text_fields: 5
                max_text_field_bytes: 100
                max_text_bytes: 150
                max_field_name_bytes: 20
                max_part_header_bytes: 512
                max_json_depth: 4
                max_json_tokens: 60
                """, o -> o);
        png = WireImages.png(32, 32, 1);
    }

    @AfterAll
    static void stop() {
        if (wire != null) {
            wire.close();
        }
    }

    @BeforeEach
    void reset() {
        wire.fake.reset();
    }

    private static RawMultipart edit() {
        return new RawMultipart().text("model", "gpt-image-1").text("prompt", "p");
    }

    private static JsonNode refused(HttpResponse<byte[]> r, int status) {
        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(status);
        assertThat(r.headers().firstValue("connection")).hasValueSatisfying(v -> assertThat(v).isEqualToIgnoringCase(
                "close"));
        assertThat(wire.fake.requestCount()).as("upstream calls").isZero();
        JsonNode e = WireFixture.error(r);
        assertThat(e.path("type").asText()).isEqualTo("invalid_request_error");
        return e;
    }

    private static JsonNode tooLarge(HttpResponse<byte[]> r) {
        JsonNode e = refused(r, 413);
        assertThat(e.path("code").asText()).isEqualTo("request_too_large");
        return e;
    }

    // ---- multipart -------------------------------------------------------------------------------------

    @Test
    void multipart_imagesAtTheLimit_pass_oneMore_is413() {
        RawMultipart three = edit();
        for (int i = 0; i < 3; i++) {
            three.file("image[]", i + ".png", "image/png", png);
        }
        assertThat(wire.postMultipart(three).statusCode()).isEqualTo(200);
        assertThat(wire.fake.takeRequest().parts("image[]")).hasSize(3);
        wire.fake.reset();

        JsonNode e = tooLarge(wire.postMultipart(three.file("image[]", "3.png", "image/png", png)));

        assertThat(e.path("param").asText()).isEqualTo("image");
        assertThat(e.path("message").asText()).isEqualTo("the request has more than 3 images "
                + "(general_settings.max_images)");
    }

    @Test
    void multipart_morePartsThanTheLimit_is413() {
        RawMultipart body = edit().text("n", "1").text("size", "1024x1024").file("image[]", "a.png", "image/png", png)
                .file("image[]", "b.png", "image/png", png).file("mask", "m.png", "image/png", png);
        // 7 parts are at the limit: the eighth is refused
        JsonNode e = tooLarge(wire.postMultipart(body.text("quality", "low")));

        assertThat(e.path("param").asText()).isEqualTo("quality");
        assertThat(e.path("message").asText()).isEqualTo("the request has more than 7 parts "
                + "(general_settings.max_parts)");
    }

    @Test
    void multipart_moreTextFieldsThanTheLimit_is413NamingTheField() {
        RawMultipart body = edit().text("n", "1").text("size", "1024x1024").text("quality", "low")
                .text("background", "auto");

        JsonNode e = tooLarge(wire.postMultipart(body));

        assertThat(e.path("param").asText()).isEqualTo("background");
        assertThat(e.path("message").asText()).isEqualTo("the request has more than 5 text fields "
                + "(general_settings.max_text_fields)");
    }

    @Test
    void multipart_textFieldAtTheLimit_passes_oneByteMore_is413() {
        RawMultipart ok = new RawMultipart().text("model", "gpt-image-1").text("prompt", "p".repeat(100))
                .file("image", "a.png", "image/png", png);
        assertThat(wire.postMultipart(ok).statusCode()).isEqualTo(200);
        assertThat(wire.fake.takeRequest().textField("prompt")).contains("p".repeat(100));
        wire.fake.reset();

        JsonNode e = tooLarge(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1")
                .text("prompt", "p".repeat(101)).file("image", "a.png", "image/png", png)));

        assertThat(e.path("param").asText()).isEqualTo("prompt");
        assertThat(e.path("message").asText()).isEqualTo("field 'prompt' is larger than the limit of 100 bytes "
                + "(general_settings.max_text_field_bytes)");
    }

    @Test
    void multipart_textFieldsOverTheTotal_is413() {
        RawMultipart body = new RawMultipart().text("model", "gpt-image-1").text("prompt", "p".repeat(90))
                .text("user", "u".repeat(50));

        JsonNode e = tooLarge(wire.postMultipart(body));

        assertThat(e.path("param").asText()).isEqualTo("user");
        assertThat(e.path("message").asText()).isEqualTo("text fields are larger than the limit of 150 bytes in "
                + "total (general_settings.max_text_bytes)");
    }

    @Test
    void multipart_fieldNameOverTheLimit_is413_atTheLimitItIsForwarded() {
        String twenty = "x".repeat(20);
        assertThat(wire.postMultipart(edit().text(twenty, "v").file("image", "a.png", "image/png", png))
                .statusCode()).isEqualTo(200);
        assertThat(wire.fake.takeRequest().textField(twenty)).contains("v");
        wire.fake.reset();

        JsonNode e = tooLarge(wire.postMultipart(edit().text(twenty + "y", "v")));

        assertThat(e.path("param").isNull()).isTrue();
        assertThat(e.path("message").asText()).isEqualTo("a field name is longer than the limit of 20 bytes "
                + "(general_settings.max_field_name_bytes)");
    }

    @Test
    void multipart_partHeadersOverTheLimit_is413() {
        RawMultipart body = edit().file("image", "a.png", "image/png; x=" + "y".repeat(600), png);

        JsonNode e = tooLarge(wire.postMultipart(body));

        assertThat(e.path("message").asText()).isEqualTo("a part's headers are larger than the limit of 512 bytes "
                + "(general_settings.max_part_header_bytes)");
    }

    @Test
    void multipart_secondMask_is400AtOnce() {
        RawMultipart body = edit().file("image", "a.png", "image/png", png).file("mask", "m.png", "image/png", png)
                .file("mask[]", "n.png", "image/png", png);

        JsonNode e = refused(wire.postMultipart(body), 400);

        assertThat(e.path("code").asText()).isEqualTo("duplicate_parameter");
        assertThat(e.path("message").asText()).isEqualTo("only one mask may be sent (got 2)");
    }

    @Test
    void multipart_repeatedArrayField_isForwardedAsAList() {
        RawMultipart body = edit().text("tags[]", "a,b").text("tags[]", "c").file("image", "a.png", "image/png", png);

        assertThat(wire.postMultipart(body).statusCode()).isEqualTo(200);

        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.textField("tags[0]")).contains("a,b");
        assertThat(up.textField("tags[1]")).contains("c");
        assertThat(up.fieldNames()).doesNotContain("tags[]", "tags");
    }

    @Test
    void multipart_arrayFieldNextToTheSameScalar_is400Duplicate() {
        JsonNode e = refused(wire.postMultipart(edit().text("tags", "a").text("tags[]", "b")
                .file("image", "a.png", "image/png", png)), 400);

        assertThat(e.path("code").asText()).isEqualTo("duplicate_parameter");
        assertThat(e.path("param").asText()).isEqualTo("tags");
    }

    // ---- JSON ------------------------------------------------------------------------------------------

    private static String image() {
        return "{\"image_url\": \"data:image/png;base64," + Base64.getEncoder().encodeToString(png) + "\"}";
    }

    @Test
    void json_imagesOverTheLimit_is413() {
        String images = String.join(",", image(), image(), image(), image());

        JsonNode e = tooLarge(wire.postJson("{\"model\": \"gpt-image-1\", \"prompt\": \"p\", \"images\": [" + images
                + "]}"));

        assertThat(e.path("param").asText()).isEqualTo("images");
        assertThat(e.path("message").asText()).isEqualTo("the request has more than 3 images "
                + "(general_settings.max_images)");
    }

    @Test
    void json_valuesWithinTheLimits_areForwarded() {
        HttpResponse<byte[]> r = wire.postJson("{\"model\": \"gpt-image-1\", \"prompt\": \"p\", \"images\": ["
                + image() + "], \"tags\": [\"a\", \"b\"], \"meta\": {\"k\": 1}}");

        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.textField("tags[0]")).contains("a");
        assertThat(up.textField("tags[1]")).contains("b");
        assertThat(up.textField("meta[k]")).contains("1");
    }

    @Test
    void json_moreTextFieldsThanTheLimit_is413() {
        JsonNode e = tooLarge(wire.postJson("{\"model\": \"gpt-image-1\", \"prompt\": \"p\", \"a\": 1, \"b\": 2, "
                + "\"c\": 3, \"d\": 4, \"images\": [" + image() + "]}"));

        assertThat(e.path("param").asText()).isEqualTo("d");
        assertThat(e.path("message").asText()).isEqualTo("the request has more than 5 text fields "
                + "(general_settings.max_text_fields)");
    }

    @Test
    void json_fieldOverTheLimit_is413_andTheTotalToo() {
        JsonNode field = tooLarge(wire.postJson("{\"model\": \"gpt-image-1\", \"prompt\": \"" + "p".repeat(120)
                + "\"}"));
        assertThat(field.path("message").asText()).isEqualTo("field 'prompt' is larger than the limit of 100 bytes "
                + "(general_settings.max_text_field_bytes)");

        JsonNode total = tooLarge(wire.postJson("{\"model\": \"gpt-image-1\", \"prompt\": \"" + "p".repeat(80)
                + "\", \"meta\": [\"" + "m".repeat(60) + "\"]}"));
        assertThat(total.path("param").asText()).isEqualTo("meta");
        assertThat(total.path("message").asText()).isEqualTo("text fields are larger than the limit of 150 bytes "
                + "in total (general_settings.max_text_bytes)");
    }

    @Test
    void json_nestedDeeperThanTheLimit_is413() {
        JsonNode e = tooLarge(wire.postJson("{\"model\": \"gpt-image-1\", \"meta\": {\"a\": {\"b\": {\"c\": {}}}}}"));

        assertThat(e.path("message").asText()).isEqualTo("the JSON body is nested deeper than 4 levels "
                + "(general_settings.max_json_depth)");
    }

    @Test
    void json_moreTokensThanTheLimit_is413() {
        StringBuilder numbers = new StringBuilder("0");
        for (int i = 1; i < 60; i++) {
            numbers.append(',').append(i % 10);
        }

        JsonNode e = tooLarge(wire.postJson("{\"model\": \"gpt-image-1\", \"n\": [" + numbers + "]}"));

        assertThat(e.path("message").asText()).isEqualTo("the JSON body has more than 60 tokens "
                + "(general_settings.max_json_tokens)");
    }

    @Test
    void json_nameOverTheLimit_is413() {
        JsonNode e = tooLarge(wire.postJson("{\"model\": \"gpt-image-1\", \"meta\": {\"" + "k".repeat(21) + "\": 1}}"));

        assertThat(e.path("message").asText()).isEqualTo("a field name is longer than the limit of 20 bytes "
                + "(general_settings.max_field_name_bytes)");
    }

    @Test
    void json_secondMask_is400() {
        JsonNode e = refused(wire.postJson("{\"model\": \"gpt-image-1\", \"prompt\": \"p\", \"images\": [" + image()
                + "], \"mask\": " + image() + ", \"mask\": " + image() + "}"), 400);

        assertThat(e.path("message").asText()).isEqualTo("only one mask may be sent (got 2)");
    }
}
