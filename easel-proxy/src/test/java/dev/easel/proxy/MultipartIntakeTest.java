package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.testkit.RecordedPart;
import dev.easel.testkit.RecordedRequest;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hand-written multipart bodies (every byte under the test's control) sent to the real proxy: each
 * intake form a client may use, and what the upstream then received.
 */
class MultipartIntakeTest {

    @TempDir
    static Path dataDir;

    static WireFixture wire;

    @BeforeAll
    static void start() {
        wire = WireFixture.start(dataDir);
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

    @Test
    void repeatedBareImage_mergedInOrder_upstreamGetsImageArray() {
        byte[] a = WireImages.png(32, 32, 1);
        byte[] b = WireImages.png(32, 32, 2);
        byte[] c = WireImages.png(32, 32, 3);

        HttpResponse<byte[]> r = wire.postMultipart(new RawMultipart().text("model", "gpt-image-1")
                .text("prompt", "p").file("image", "a.png", "image/png", a).file("image", "b.png", "image/png", b)
                .file("image", "c.png", "image/png", c));

        assertOk(r, 1);
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.fieldNames()).containsExactly("model", "prompt", "image[]", "image[]", "image[]");
        List<RecordedPart> images = up.parts("image[]");
        assertThat(images).extracting(p -> p.filename().orElseThrow()).containsExactly("a.png", "b.png", "c.png");
        assertThat(images.get(0).bytes()).isEqualTo(a);
        assertThat(images.get(1).bytes()).isEqualTo(b);
        assertThat(images.get(2).bytes()).isEqualTo(c);
    }

    @Test
    void imageArrayField_keepsOrder() {
        byte[] a = WireImages.png(32, 32, 4);
        byte[] b = WireImages.png(32, 32, 5);

        assertOk(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image[]", "first.png", "image/png", a).file("image[]", "second.png", "image/png", b)), 1);

        List<RecordedPart> images = wire.fake.takeRequest().parts("image[]");
        assertThat(images).extracting(p -> p.filename().orElseThrow()).containsExactly("first.png", "second.png");
        assertThat(images.get(0).bytes()).isEqualTo(a);
        assertThat(images.get(1).bytes()).isEqualTo(b);
    }

    @Test
    void indexedImages_outOfOrder_sortedByIndex() {
        byte[] zero = WireImages.png(32, 32, 6);
        byte[] one = WireImages.png(32, 32, 7);
        byte[] two = WireImages.png(32, 32, 8);

        assertOk(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image[2]", "two.png", "image/png", two).file("image[0]", "zero.png", "image/png", zero)
                .file("image[1]", "one.png", "image/png", one)), 1);

        List<RecordedPart> images = wire.fake.takeRequest().parts("image[]");
        assertThat(images).extracting(p -> p.filename().orElseThrow()).containsExactly("zero.png", "one.png", "two.png");
        assertThat(images.get(0).bytes()).isEqualTo(zero);
        assertThat(images.get(1).bytes()).isEqualTo(one);
        assertThat(images.get(2).bytes()).isEqualTo(two);
    }

    @Test
    void imagePartWithoutFileName_upstreamGetsNamedPngPart() {
        byte[] png = WireImages.png(32, 32, 9);

        assertOk(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image", null, "image/png", png)), 1);

        RecordedPart image = wire.fake.takeRequest().part("image");
        assertThat(image.filename()).contains("image.png");
        assertThat(image.contentType()).contains("image/png");
        assertThat(image.bytes()).isEqualTo(png);
    }

    @Test
    void octetStreamPart_upstreamGetsImagePng() {
        byte[] png = WireImages.png(32, 32, 10);

        assertOk(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image", "photo.png", "application/octet-stream", png)), 1);

        RecordedPart image = wire.fake.takeRequest().part("image");
        assertThat(image.filename()).contains("photo.png");
        assertThat(image.contentType()).contains("image/png");
        assertThat(image.bytes()).isEqualTo(png);
    }

    @Test
    void webpBytesLabelledOctetStream_upstreamGetsImageWebpWithWebpExtension() {
        byte[] webp = WireImages.webp(64, 64);

        assertOk(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image", "upload.bin", "application/octet-stream", webp)), 1);

        RecordedPart image = wire.fake.takeRequest().part("image");
        assertThat(image.filename()).contains("upload.webp");
        assertThat(image.contentType()).contains("image/webp");
        assertThat(image.bytes()).isEqualTo(webp);
    }

    @Test
    void webpWithoutFileNameOrType_upstreamGetsImageWebp() {
        byte[] webp = WireImages.webp(48, 48);

        assertOk(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image", null, null, webp)), 1);

        RecordedPart image = wire.fake.takeRequest().part("image");
        assertThat(image.filename()).contains("image.webp");
        assertThat(image.contentType()).contains("image/webp");
        assertThat(image.bytes()).isEqualTo(webp);
    }

    @Test
    void partWithoutContentType_upstreamGetsImagePng() {
        byte[] png = WireImages.png(32, 32, 11);

        assertOk(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image", "no-type.png", null, png)), 1);

        RecordedPart image = wire.fake.takeRequest().part("image");
        assertThat(image.filename()).contains("no-type.png");
        assertThat(image.contentType()).contains("image/png");
        assertThat(image.bytes()).isEqualTo(png);
    }

    @Test
    void maskWithoutFileNameOrType_upstreamGetsMaskPng() {
        byte[] png = WireImages.png(32, 32, 12);
        byte[] mask = WireImages.mask(32, 32);

        assertOk(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image", "i.png", "image/png", png).file("mask", null, null, mask)), 1);

        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.fieldNames()).containsExactly("model", "prompt", "image", "mask");
        RecordedPart maskPart = up.part("mask");
        assertThat(maskPart.filename()).contains("mask.png");
        assertThat(maskPart.contentType()).contains("image/png");
        assertThat(maskPart.bytes()).isEqualTo(mask);
    }

    @Test
    void jpegBytesLabelledPng_upstreamGetsJpegTypeAndExtension() {
        byte[] jpeg = WireImages.jpeg(32, 32);

        assertOk(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image", "photo.png", "image/png", jpeg)), 1);

        RecordedPart image = wire.fake.takeRequest().part("image");
        assertThat(image.filename()).contains("photo.jpg");
        assertThat(image.contentType()).contains("image/jpeg");
        assertThat(image.bytes()).isEqualTo(jpeg);
    }

    @Test
    void emptyFileName_upstreamGetsDefaultName() {
        byte[] png = WireImages.png(32, 32, 20);

        assertOk(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image", "", "image/png", png)), 1);

        assertThat(wire.fake.takeRequest().part("image").filename()).contains("image.png");
    }

    @Test
    void maskArrayField_upstreamGetsMask() {
        byte[] png = WireImages.png(32, 32, 21);
        byte[] mask = WireImages.mask(32, 32);

        assertOk(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image", "i.png", "image/png", png).file("mask[]", "m.png", "image/png", mask)), 1);

        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.fieldNames()).containsExactly("model", "prompt", "image", "mask");
        assertThat(up.part("mask").bytes()).isEqualTo(mask);
    }

    @Test
    void lowercaseHeadersUnquotedParamsAndQuotedBoundary_accepted() {
        byte[] png = WireImages.png(32, 32, 22);
        String b = RawMultipart.BOUNDARY;
        byte[] body = new RawMultipart()
                .raw("--" + b + "\r\ncontent-disposition: form-data; name=model\r\n\r\ngpt-image-1\r\n")
                .raw("--" + b + "\r\nCONTENT-DISPOSITION: form-data; name=prompt\r\n\r\nshout\r\n")
                .raw("--" + b + "\r\ncontent-disposition: form-data; name=image; filename=x.png\r\n"
                        + "content-type: image/png\r\n\r\n")
                .raw(new String(png, java.nio.charset.StandardCharsets.ISO_8859_1)).raw("\r\n")
                .build();

        HttpResponse<byte[]> r = wire.send(wire.request("/v1/images/edits")
                .header("Content-Type", "multipart/form-data; charset=utf-8; boundary=\"" + b + "\"")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());

        assertOk(r, 1);
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.textField("prompt")).contains("shout");
        assertThat(up.part("image").filename()).contains("x.png");
        assertThat(up.part("image").bytes()).isEqualTo(png);
    }

    @Test
    void mixedImageAndImageArrayFields_keepWireOrder() {
        byte[] a = WireImages.png(32, 32, 23);
        byte[] b = WireImages.png(32, 32, 24);

        assertOk(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image", "a.png", "image/png", a).file("image[]", "b.png", "image/png", b)), 1);

        List<RecordedPart> images = wire.fake.takeRequest().parts("image[]");
        assertThat(images).extracting(p -> p.filename().orElseThrow()).containsExactly("a.png", "b.png");
        assertThat(images.get(0).bytes()).isEqualTo(a);
        assertThat(images.get(1).bytes()).isEqualTo(b);
    }

    @Test
    void chunkedBody_isAccepted() {
        byte[] a = WireImages.png(200, 200, 13);
        byte[] b = WireImages.png(200, 200, 14);
        byte[] body = new RawMultipart().text("model", "gpt-image-1").text("prompt", "chunked")
                .file("image[]", "a.png", "image/png", a).file("image[]", "b.png", "image/png", b).build();

        // an InputStream body has no known length: the JDK client sends it chunked
        HttpResponse<byte[]> r = wire.send(wire.request("/v1/images/edits")
                .header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build());

        assertOk(r, 1);
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.textField("prompt")).contains("chunked");
        assertThat(up.parts("image[]").get(0).bytes()).isEqualTo(a);
        assertThat(up.parts("image[]").get(1).bytes()).isEqualTo(b);
    }

    @Test
    void filesBeforeTextFields_modelLast_asOpenAiJavaSends() {
        byte[] png = WireImages.png(32, 32, 15);
        byte[] mask = WireImages.mask(32, 32);

        HttpResponse<byte[]> r = wire.postMultipart(new RawMultipart()
                .file("image", "i.png", "image/png", png).file("mask", "m.png", "image/png", mask)
                .text("prompt", "files first").text("n", "2").text("quality", "low").text("model", "gpt-image-2"));

        assertOk(r, 2);
        assertThat(r.headers().firstValue("x-easel-deployment")).isPresent();
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.textField("model")).contains("gpt-image-2");
        assertThat(up.textField("prompt")).contains("files first");
        assertThat(up.textField("n")).contains("2");
        assertThat(up.textField("quality")).contains("low");
        assertThat(up.fieldNames()).containsExactly("model", "prompt", "n", "quality", "image", "mask");
        assertThat(up.part("image").bytes()).isEqualTo(png);
        assertThat(up.part("mask").bytes()).isEqualTo(mask);
    }

    @Test
    void textPartsWithOwnContentType_areReadAsText() {
        byte[] png = WireImages.png(32, 32, 16);
        String prompt = "un café ☕ with a \"quoted\" word\r\nand a second line";

        assertOk(wire.postMultipart(new RawMultipart()
                .text("model", "gpt-image-1", "text/plain; charset=utf-8")
                .text("prompt", prompt, "text/plain; charset=utf-8")
                .text("size", "1024x1536", "text/plain; charset=utf-8")
                .file("image", "i.png", "image/png", png)), 1);

        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.textField("model")).contains("gpt-image-1");
        assertThat(up.textField("prompt")).contains(prompt);
        assertThat(up.textField("size")).contains("1024x1536");
    }

    @Test
    void unknownExtraField_passedThroughToUpstream() {
        byte[] png = WireImages.png(32, 32, 17);

        assertOk(wire.postMultipart(new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .text("moderation", "low").text("user", "user-42").file("image", "i.png", "image/png", png)), 1);

        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.textField("moderation")).contains("low");
        assertThat(up.textField("user")).contains("user-42");
    }

    @Test
    void duplicatedScalarField_is400DuplicateParameter_andNothingGoesUpstream() {
        byte[] png = WireImages.png(32, 32, 18);

        HttpResponse<byte[]> r = wire.postMultipart(new RawMultipart().text("model", "gpt-image-1")
                .text("prompt", "p").text("n", "1").text("n", "2").file("image", "i.png", "image/png", png));

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("code").asText()).isEqualTo("duplicate_parameter");
        assertThat(error.path("param").asText()).isEqualTo("n");
        assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(wire.fake.requestCount()).isZero();
    }

    @Test
    void bodyWithoutClosingBoundary_is400OpenAiError() {
        byte[] png = WireImages.png(32, 32, 19);
        byte[] cut = new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image", "i.png", "image/png", png).unterminated();

        HttpResponse<byte[]> r = wire.send(wire.request("/v1/images/edits")
                .header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(cut)).build());

        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("code").asText()).isEqualTo("invalid_multipart");
        assertThat(error.path("message").asText()).isEqualTo("malformed multipart body: multipart body ended inside a part");
        assertThat(wire.fake.requestCount()).isZero();
    }

    @Test
    void bodyWithoutAnyBoundary_is400OpenAiError() {
        HttpResponse<byte[]> r = wire.send(wire.request("/v1/images/edits")
                .header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofString("model=gpt-image-1&prompt=p")).build());

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("code").asText()).isEqualTo("invalid_multipart");
        assertThat(error.path("message").asText()).isEqualTo("malformed multipart body: multipart body has no boundary");
    }

    @Test
    void contentTypeWithoutBoundaryParameter_is400OpenAiError() {
        HttpResponse<byte[]> r = wire.send(wire.request("/v1/images/edits")
                .header("Content-Type", "multipart/form-data")
                .POST(HttpRequest.BodyPublishers.ofByteArray(new RawMultipart().text("prompt", "p").build())).build());

        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("code").asText()).isEqualTo("invalid_multipart");
        assertThat(error.path("message").asText())
                .isEqualTo("multipart/form-data request without a boundary in its Content-Type");
    }

    @Test
    void partWithoutContentDisposition_is400OpenAiError() {
        byte[] body = new RawMultipart().raw("--" + RawMultipart.BOUNDARY + "\r\nContent-Type: text/plain\r\n\r\nx\r\n")
                .build();

        HttpResponse<byte[]> r = wire.send(wire.request("/v1/images/edits")
                .header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());

        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(WireFixture.error(r).path("message").asText())
                .isEqualTo("malformed multipart body: multipart part without Content-Disposition");
    }

    /** 200 with {@code n} base64 PNGs. */
    private static void assertOk(HttpResponse<byte[]> r, int n) {
        assertThat(r.statusCode()).as(() -> new String(r.body(), java.nio.charset.StandardCharsets.UTF_8))
                .isEqualTo(200);
        JsonNode data = WireFixture.json(r).path("data");
        assertThat(data.size()).isEqualTo(n);
        for (JsonNode d : data) {
            WireImages.decodePng(Base64.getDecoder().decode(d.path("b64_json").asText()));
        }
    }
}
