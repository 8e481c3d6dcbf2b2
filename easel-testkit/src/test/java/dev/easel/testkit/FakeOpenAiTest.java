package dev.easel.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FakeOpenAiTest {

    private final FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-test").start();

    @AfterEach
    void stop() {
        fake.close();
    }

    static void assertError(HttpResponse<String> response, int status, String message, String param, String code) {
        assertThat(response.statusCode()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).contains("application/json");
        JsonNode error = Http.json(response).get("error");
        assertThat(error.get("message").asText()).isEqualTo(message);
        assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.get("param").isNull() ? null : error.get("param").asText()).isEqualTo(param);
        assertThat(error.get("code").isNull() ? null : error.get("code").asText()).isEqualTo(code);
    }

    @Test
    void edit_validRequest_returnsGptImageShapedResponse() throws Exception {
        HttpResponse<String> response = Http.edit(fake, Form.edit("gpt-image-1").text("n", "2")
                .text("size", "1536x1024").text("quality", "high").png("image"));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("x-request-id")).hasValueSatisfying(
                id -> assertThat(id).matches("req_[0-9a-f]{32}"));
        JsonNode body = Http.json(response);
        assertThat(body.fieldNames()).toIterable().containsExactly("background", "created", "data",
                "output_format", "quality", "size", "usage");
        assertThat(body.get("created").asLong()).isPositive();
        assertThat(body.get("data")).hasSize(2);
        byte[] png = Base64.getDecoder().decode(body.get("data").get(0).get("b64_json").asText());
        assertThat(ImageIO.read(new ByteArrayInputStream(png)).getWidth()).isEqualTo(Images.WIDTH);
        assertThat(body.get("background").asText()).isEqualTo("opaque");
        assertThat(body.get("output_format").asText()).isEqualTo("png");
        assertThat(body.get("quality").asText()).isEqualTo("high");
        assertThat(body.get("size").asText()).isEqualTo("1536x1024");
        assertThat(body.get("usage").toString()).isEqualTo("{\"input_tokens\":244,\"input_tokens_details\":"
                + "{\"image_tokens\":194,\"text_tokens\":50},\"output_tokens\":1056,\"total_tokens\":1300}");
    }

    @Test
    void edit_defaults_sizeAutoResolvesTo1024AndJpegOutputIsJpeg() {
        JsonNode body = Http.json(Http.edit(fake, Form.edit(null).text("size", "auto")
                .text("output_format", "jpeg").text("background", "transparent").png("image")));

        assertThat(body.get("size").asText()).isEqualTo("1024x1024");
        assertThat(body.get("quality").asText()).isEqualTo("medium");
        assertThat(body.get("background").asText()).isEqualTo("transparent");
        byte[] jpeg = Base64.getDecoder().decode(body.get("data").get(0).get("b64_json").asText());
        assertThat(jpeg).startsWith(0xFF, 0xD8, 0xFF);
    }

    @Test
    void edit_recordsEveryPartInWireOrderWithFilenameAndContentType() {
        byte[] raw = {0, 1, 2, (byte) 0xFF, '\r', '\n'};
        Form form = Form.edit("gpt-image-1").file("image[]", "a.png", "image/png", Images.PNG)
                .file("image[]", "b.webp", "image/webp", raw)
                .file("mask", "", "image/png", Images.PNG)
                .file("extra", null, null, raw);

        Http.edit(fake, form);

        RecordedRequest request = fake.takeRequest();
        assertThat(request.method()).isEqualTo("POST");
        assertThat(request.path()).isEqualTo("/v1/images/edits");
        assertThat(request.query()).isEmpty();
        assertThat(request.header("authorization")).contains("Bearer sk-test");
        assertThat(request.body()).isEqualTo(form.build());
        assertThat(request.chunked()).isFalse();
        assertThat(request.contentLength()).isEqualTo(OptionalLong.of(form.build().length));
        assertThat(request.fieldNames()).containsExactly("prompt", "model", "image[]", "image[]", "mask", "extra");
        assertThat(request.textField("prompt")).contains("add a hat");
        List<RecordedPart> images = request.parts("image[]");
        assertThat(images).extracting(RecordedPart::filename).containsExactly(Optional.of("a.png"),
                Optional.of("b.webp"));
        assertThat(images.get(1).contentType()).contains("image/webp");
        assertThat(images.get(1).bytes()).isEqualTo(raw);
        assertThat(request.part("mask").filename()).isEqualTo(Optional.of(""));
        assertThat(request.part("extra").hasFilename()).isFalse();
        assertThat(request.part("extra").contentType()).isEmpty();
        assertThat(request.part("prompt").headers()).containsOnlyKeys("Content-Disposition");
        assertThatThrownBy(() -> request.part("image[]"))
                .hasMessage("expected exactly one part named 'image[]' (found 2 in "
                        + "[prompt, model, image[], image[], mask, extra])");
    }

    @Test
    void edit_chunkedUpload_recordedAsChunkedAndParsed() {
        Form form = Form.edit("gpt-image-1").png("image");

        HttpResponse<String> response = Http.send(Http.postChunked(fake.baseUrl() + "/images/edits", form,
                "Authorization", "Bearer sk-test"));

        assertThat(response.statusCode()).isEqualTo(200);
        RecordedRequest request = fake.takeRequest();
        assertThat(request.chunked()).isTrue();
        assertThat(request.contentLength()).isEmpty();
        assertThat(request.body()).isEqualTo(form.build());
        assertThat(request.part("image").bytes()).isEqualTo(Images.PNG);
    }

    @Test
    void edit_expectContinue_answered() {
        HttpResponse<String> response = Http.send(Http.post(fake.baseUrl() + "/images/edits",
                Form.edit("gpt-image-1").png("image"), "Authorization", "Bearer sk-test").expectContinue(true));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(fake.takeRequest().header("Expect")).hasValueSatisfying(
                v -> assertThat(v).isEqualToIgnoringCase("100-continue"));
    }

    @Test
    void edit_missingBearer_401InvalidApiKey() {
        HttpResponse<String> response = Http.send(Http.post(fake.baseUrl() + "/images/edits",
                Form.edit("gpt-image-1").png("image")));

        assertError(response, 401, "You didn't provide an API key. You need to provide your API key in an "
                + "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password "
                + "field (with blank username) if you're accessing the API from your browser and are prompted for a "
                + "username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
                null, "invalid_api_key");
    }

    @Test
    void edit_wrongKey_401WithMaskedKey() {
        HttpResponse<String> response = Http.send(Http.post(fake.baseUrl() + "/images/edits",
                Form.edit("gpt-image-1").png("image"), "Authorization", "Bearer sk-wrong-key-1234"));

        assertError(response, 401, "Incorrect API key provided: sk-**********1234. You can find your API key at "
                + "https://platform.openai.com/account/api-keys.", null, "invalid_api_key");
    }

    @Test
    void edit_noConfiguredKey_acceptsAnyNonEmptyBearer() {
        try (FakeOpenAi open = FakeOpenAi.start()) {
            HttpResponse<String> response = Http.send(Http.post(open.baseUrl() + "/images/edits",
                    Form.edit("gpt-image-1").png("image"), "Authorization", "Bearer anything"));
            HttpResponse<String> empty = Http.send(Http.post(open.baseUrl() + "/images/edits",
                    Form.edit("gpt-image-1").png("image"), "Authorization", "Bearer "));

            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(empty.statusCode()).isEqualTo(401);
        }
    }

    @Test
    void edit_repeatedBareImage_400DuplicateParameter() {
        assertError(Http.edit(fake, Form.edit("gpt-image-1").png("image").png("image")), 400,
                "Duplicate parameter: 'image'. You provided multiple values for this parameter, whereas only one is "
                        + "allowed. If you are trying to provide a list of values, use the array syntax instead e.g. "
                        + "'image[]=<value>'.", "image", "duplicate_parameter");
    }

    @Test
    void edit_octetStreamImage_400UnsupportedFileMimetype() {
        assertError(Http.edit(fake, Form.edit("gpt-image-1")
                        .file("image", "a.png", "application/octet-stream", Images.PNG)), 400,
                "Invalid file 'image': unsupported mimetype ('application/octet-stream'). Supported file formats are "
                        + "'image/jpeg', 'image/png', and 'image/webp'.", "image", "unsupported_file_mimetype");
    }

    @Test
    void edit_octetStreamInSecondArrayImage_namesIndexedParam() {
        assertError(Http.edit(fake, Form.edit("gpt-image-1").png("image[]")
                        .file("image[]", "b.png", "application/octet-stream", Images.PNG)), 400,
                "Invalid file 'image[1]': unsupported mimetype ('application/octet-stream'). Supported file formats "
                        + "are 'image/jpeg', 'image/png', and 'image/webp'.", "image[1]", "unsupported_file_mimetype");
    }

    @Test
    void edit_dallE2RgbPngWithoutMask_400LikeOpenAi() {
        assertError(Http.edit(fake, Form.edit("dall-e-2").file("image", "a.png", "image/png", Images.RGB_PNG)), 400,
                "Invalid input image - format must be in ['RGBA', 'LA', 'L'], got RGB.", null, null);
        assertThat(Http.edit(fake, Form.edit("dall-e-2").file("image", "a.png", "image/png", Images.RGB_PNG)
                .png("mask")).statusCode()).as("with a mask the image needs no alpha").isEqualTo(200);
    }

    @Test
    void edit_dallE2WithJpeg_400PngOnly() {
        assertError(Http.edit(fake, Form.edit("dall-e-2").file("image", "a.jpg", "image/jpeg", Images.JPEG)), 400,
                "Invalid file 'image': unsupported mimetype ('image/jpeg'). Supported file formats are 'image/png'.",
                "image", "unsupported_file_mimetype");
    }

    @Test
    void edit_imageWithoutContentType_400MissingFileMimetype() {
        assertError(Http.edit(fake, Form.edit("gpt-image-1").file("image", "a.png", null, Images.PNG)), 400,
                "Invalid file 'image': failed to determine mimetype. Ensure you are providing the file's mimetype as "
                        + "part of the 'Content-Type' header.", "image", "missing_file_mimetype");
    }

    @Test
    void edit_imageWithoutFilename_400GotAString() {
        assertError(Http.edit(fake, Form.edit("gpt-image-1").file("image", null, "image/png", Images.PNG)), 400,
                "Invalid type for 'image': expected one of an array of files or file, but got a string instead.",
                "image", "invalid_type");
    }

    @Test
    void edit_responseFormatOnGptImageModels_400UnknownParameter() {
        for (String model : List.of("gpt-image-1", "gpt-image-2.6-sunburst", "chatgpt-image-latest")) {
            assertError(Http.edit(fake, Form.edit(model).text("response_format", "b64_json").png("image")), 400,
                    "Unknown parameter: 'response_format'.", "response_format", "unknown_parameter");
        }
    }

    @Test
    void edit_inputFidelityOnGptImage2_400ButAcceptedOnGptImage1() {
        assertError(Http.edit(fake, Form.edit("gpt-image-2").text("input_fidelity", "high").png("image")), 400,
                "The model 'gpt-image-2' does not support the 'input_fidelity' parameter.", "input_fidelity", null);
        assertError(Http.edit(fake, Form.edit("gpt-image-2.5-flare-2026-09-08").text("input_fidelity", "low")
                        .png("image")), 400, "The model 'gpt-image-2.5-flare-2026-09-08' does not support the "
                        + "'input_fidelity' parameter.", "input_fidelity", null);

        assertThat(Http.edit(fake, Form.edit("gpt-image-1.5").text("input_fidelity", "high").png("image"))
                .statusCode()).isEqualTo(200);
    }

    @Test
    void edit_streamWithNAboveOne_400() {
        assertError(Http.edit(fake, Form.edit("gpt-image-1").text("stream", "true").text("n", "2").png("image")),
                400, "Streaming is only supported with n=1.", "n", null);
    }

    @Test
    void edit_missingPromptOrImage_400MissingRequiredParameter() {
        assertError(Http.edit(fake, new Form().text("model", "gpt-image-1").png("image")), 400,
                "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter");
        assertError(Http.edit(fake, Form.edit("gpt-image-1").png("mask")), 400,
                "Missing required parameter: 'image'.", "image", "missing_required_parameter");
    }

    @Test
    void edit_nOutOfRangeOrNotInteger_400() {
        assertError(Http.edit(fake, Form.edit("gpt-image-1").text("n", "11").png("image")), 400,
                "Invalid 'n': integer above maximum value. Expected a value <= 10, but got 11 instead.", "n",
                "integer_above_max_value");
        assertError(Http.edit(fake, Form.edit("gpt-image-1").text("n", "two").png("image")), 400,
                "Invalid type for 'n': expected an integer, but got a string instead.", "n", "invalid_type");
    }

    @Test
    void edit_jsonBody_400NamesContentType() {
        HttpResponse<String> response = Http.send(HttpRequest.newBuilder(URI.create(fake.baseUrl()
                        + "/images/edits")).header("Authorization", "Bearer sk-test")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")));

        assertError(response, 400, "Invalid Content-Type header (application/json), expected multipart/form-data.",
                null, null);
    }

    @Test
    void edit_malformedMultipart_400AndErrorRecorded() {
        HttpResponse<String> response = Http.send(HttpRequest.newBuilder(URI.create(fake.baseUrl()
                        + "/images/edits")).header("Authorization", "Bearer sk-test")
                .header("Content-Type", "multipart/form-data; boundary=xyz")
                .POST(HttpRequest.BodyPublishers.ofString("--xyz\nContent-Disposition: form-data; name=\"a\"")));

        assertError(response, 400, "Could not parse multipart form data: boundary line at offset 0 must end with "
                + "CRLF (found '\\nContent-Disposition').", null, null);
        assertThat(fake.lastRequest().multipartError()).contains(
                "boundary line at offset 0 must end with CRLF (found '\\nContent-Disposition')");
        assertThat(fake.lastRequest().parts()).isEmpty();
    }

    @Test
    void edit_dallE2_answersWithUrlServedByTheFake() throws Exception {
        JsonNode body = Http.json(Http.edit(fake, Form.edit("dall-e-2").png("image")));

        assertThat(body.fieldNames()).toIterable().containsExactly("created", "data");
        String url = body.get("data").get(0).get("url").asText();
        assertThat(url).startsWith(fake.azureBaseUrl() + "/files/").endsWith(".png");
        HttpResponse<byte[]> image = Http.CLIENT.send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(image.statusCode()).isEqualTo(200);
        assertThat(image.headers().firstValue("Content-Type")).contains("image/png");
        assertThat(image.body()).isEqualTo(Images.PNG);
        assertThat(fake.requests()).extracting(RecordedRequest::method).containsExactly("POST", "GET");
    }

    @Test
    void edit_dallE2WithB64Json_answersBase64() {
        JsonNode body = Http.json(Http.edit(fake, Form.edit("dall-e-2").text("response_format", "b64_json")
                .png("image")));

        assertThat(body.get("data").get(0).has("url")).isFalse();
        assertThat(Base64.getDecoder().decode(body.get("data").get(0).get("b64_json").asText()))
                .isEqualTo(Images.PNG);
    }

    @Test
    void edit_respondWithUrls_gptModelGetsUrls() {
        fake.respondWithUrls(true);

        JsonNode body = Http.json(Http.edit(fake, Form.edit("gpt-image-1").png("image")));

        assertThat(body.get("data").get(0).get("url").asText()).startsWith(fake.azureBaseUrl() + "/files/");
        assertThat(body.has("usage")).isTrue();
    }

    @Test
    void unknownRouteOrFile_404InvalidUrl() {
        HttpResponse<String> route = Http.send(HttpRequest.newBuilder(URI.create(fake.baseUrl() + "/images/variations"))
                .POST(HttpRequest.BodyPublishers.noBody()));
        HttpResponse<String> file = Http.send(HttpRequest.newBuilder(URI.create(fake.azureBaseUrl()
                + "/files/00000000000000000000000000000000.png")));

        assertError(route, 404, "Invalid URL (POST /v1/images/variations)", null, null);
        assertThat(file.statusCode()).isEqualTo(404);
    }

    @Test
    void edit_concurrentRequests_allAnsweredAndRecorded() {
        List<CompletableFuture<HttpResponse<String>>> futures = IntStream.range(0, 24)
                .mapToObj(i -> Http.CLIENT.sendAsync(Http.post(fake.baseUrl() + "/images/edits",
                        Form.edit("gpt-image-1").text("user", "u" + i).png("image"), "Authorization",
                        "Bearer sk-test").build(), HttpResponse.BodyHandlers.ofString()))
                .toList();

        List<HttpResponse<String>> responses = futures.stream().map(CompletableFuture::join).toList();

        assertThat(responses).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(200));
        assertThat(responses.stream().map(r -> r.headers().firstValue("x-request-id").orElseThrow()).distinct())
                .hasSize(24);
        assertThat(fake.requestCount()).isEqualTo(24);
        assertThat(fake.requests().stream().map(r -> r.textField("user").orElseThrow()).sorted().toList())
                .isEqualTo(IntStream.range(0, 24).mapToObj(i -> "u" + i).sorted().toList());
    }

    @Test
    void takeRequest_nothingArrives_failsWithinTimeout() {
        long start = System.nanoTime();

        assertThatThrownBy(() -> fake.takeRequest(Duration.ofMillis(100)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("no request arrived within PT0.1S (0 received in total)");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        assertThatThrownBy(fake::lastRequest).hasMessage("no request has been received yet");
    }

    @Test
    void reset_forgetsRequestsAndScript() {
        Http.edit(fake, Form.edit("gpt-image-1").png("image"));
        fake.enqueue(FakeResponse.serverError());

        fake.reset();

        assertThat(fake.requestCount()).isZero();
        assertThat(Http.edit(fake, Form.edit("gpt-image-1").png("image")).statusCode()).isEqualTo(200);
        assertThat(fake.takeRequest().path()).isEqualTo("/v1/images/edits");
    }
}
