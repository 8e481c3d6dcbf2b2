package dev.easel.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FakeBflTest {

    private final ManualClock clock = new ManualClock(Instant.parse("2026-12-01T10:00:00Z"));
    private final FakeBfl fake = FakeBfl.builder().apiKey("bfl-test").clock(clock).start();

    @AfterEach
    void stop() {
        fake.close();
    }

    private static String b64(byte[] image) {
        return Base64.getEncoder().encodeToString(image);
    }

    private static ObjectNode kontext(String prompt) {
        ObjectNode body = Json.object();
        body.put("prompt", prompt);
        body.put("input_image", b64(Images.flat("png", 1600, 900)));
        return body;
    }

    private HttpResponse<String> submit(String endpoint, ObjectNode body) {
        return submit(endpoint, Json.text(body), "x-key", "bfl-test");
    }

    private HttpResponse<String> submit(String endpoint, String body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(fake.baseUrl() + "/v1/" + endpoint))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            request.headers(headers);
        }
        return Http.send(request);
    }

    private static HttpResponse<String> get(String url, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        if (headers.length > 0) {
            request.headers(headers);
        }
        return Http.send(request);
    }

    private static JsonNode poll(String pollingUrl) {
        HttpResponse<String> response = get(pollingUrl, "x-key", "bfl-test");
        assertThat(response.statusCode()).isEqualTo(200);
        return Http.json(response);
    }

    /** Submits, then polls until the status is not Pending; returns the last poll body. */
    private JsonNode runJob(String endpoint, ObjectNode body) {
        JsonNode submitted = Http.json(submit(endpoint, body));
        JsonNode status;
        do {
            status = poll(submitted.get("polling_url").asText());
        } while (status.get("status").asText().equals("Pending"));
        return status;
    }

    private static JsonNode detail(HttpResponse<String> response) {
        assertThat(response.statusCode()).isEqualTo(422);
        return Http.json(response).get("detail");
    }

    private static HttpResponse<byte[]> download(String url) throws Exception {
        return Http.CLIENT.send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    // ---- the job life cycle --------------------------------------------------------------------------------

    @Test
    void kontext_submitPollPendingThenReadyAndDownloadTheSample() throws Exception {
        HttpResponse<String> submitted = submit("flux-kontext-pro", kontext("add a hat").put("seed", 42));

        assertThat(submitted.statusCode()).isEqualTo(200);
        JsonNode job = Http.json(submitted);
        String id = job.get("id").asText();
        assertThat(id).matches("[0-9a-f-]{36}");
        assertThat(job.get("polling_url").asText()).isEqualTo(fake.baseUrl() + "/v1/get_result?id=" + id);
        assertThat(job.get("cost").asDouble()).isEqualTo(4.0);
        assertThat(job.get("input_mp").isNull()).isTrue();

        HttpResponse<String> first = get(job.get("polling_url").asText(), "x-key", "bfl-test");
        assertThat(first.headers().firstValue("Retry-After")).contains("1");
        assertThat(first.body()).isEqualTo("{\"id\":\"" + id + "\",\"status\":\"Pending\",\"result\":null,"
                + "\"progress\":0.33,\"details\":null,\"preview\":null}");
        assertThat(poll(job.get("polling_url").asText()).get("progress").asDouble()).isEqualTo(0.67);
        JsonNode ready = poll(job.get("polling_url").asText());

        assertThat(ready.get("status").asText()).isEqualTo("Ready");
        assertThat(ready.get("result").get("prompt").asText()).isEqualTo("add a hat");
        assertThat(ready.get("result").get("seed").asLong()).isEqualTo(42);
        assertThat(ready.get("result").get("start_time").asDouble()).isEqualTo(1796119200.0);
        String sample = ready.get("result").get("sample").asText();
        assertThat(sample).matches("http://127\\.0\\.0\\.1:\\d+/results/2026/12/01/[0-9a-f]{32}_sample\\.jpeg"
                + "\\?se=2026-12-01T10%3A10%3A00Z&sp=r&sv=2024-11-04&sr=b&rsct=image/jpeg&sig=.+");
        assertThat(poll(job.get("polling_url").asText()).get("result").get("sample").asText()).isEqualTo(sample);

        HttpResponse<byte[]> image = download(sample);
        assertThat(image.statusCode()).isEqualTo(200);
        assertThat(image.headers().firstValue("Content-Type")).contains("image/jpeg");
        ImageInfo info = ImageInfo.of(image.body()).orElseThrow();
        assertThat(info.mediaType()).isEqualTo("image/jpeg");
        assertThat(info.dimensions()).isEqualTo("1360x768"); // ~1 MP at the input's 16:9
        assertThat(fake.submissions("flux-kontext-pro")).isEqualTo(1);
        assertThat(fake.polls(id)).isEqualTo(4);
        assertThat(fake.sampleDownloads()).isEqualTo(1);
        assertThat(fake.jobIds()).containsExactly(id);
        assertThat(fake.activeTasks()).isZero();
    }

    @Test
    void kontext_aspectRatioAndPngFormat_followedBySample() throws Exception {
        ObjectNode body = kontext("wide").put("aspect_ratio", "1:1").put("output_format", "png");

        String sample = runJob("flux-kontext-max", body).get("result").get("sample").asText();

        HttpResponse<byte[]> image = download(sample);
        assertThat(image.headers().firstValue("Content-Type")).contains("image/png");
        assertThat(ImageInfo.of(image.body()).orElseThrow().dimensions()).isEqualTo("1024x1024");
        assertThat(javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(image.body())).getWidth())
                .isEqualTo(1024);
    }

    @Test
    void fillAndExpand_outputFollowsTheImage() throws Exception {
        ObjectNode fill = Json.object();
        fill.put("image", b64(Images.flat("png", 800, 600)));
        fill.put("mask", b64(Images.flat("png", 800, 600)));
        fill.put("steps", 30).put("guidance", 60);
        ObjectNode expand = Json.object();
        expand.put("image", b64(Images.flat("jpeg", 800, 600)));
        expand.put("top", 100).put("left", 50);

        JsonNode fillJob = Http.json(submit("flux-pro-1.0-fill", fill));
        String filled = runJob("flux-pro-1.0-fill", fill).get("result").get("sample").asText();
        String expanded = runJob("flux-pro-1.0-expand", expand).get("result").get("sample").asText();

        assertThat(fillJob.get("cost").asDouble()).isEqualTo(5.0);
        assertThat(ImageInfo.of(download(filled).body()).orElseThrow().dimensions()).isEqualTo("800x600");
        assertThat(ImageInfo.of(download(expanded).body()).orElseThrow().dimensions()).isEqualTo("850x700");
    }

    @Test
    void flux2_widthHeightAndMegapixelCost() throws Exception {
        ObjectNode t2i = Json.object().put("prompt", "a cat").put("width", 2048).put("height", 1024);
        ObjectNode i2i = Json.object().put("prompt", "a cat");
        i2i.put("input_image", b64(Images.flat("png", 1024, 1024)));
        for (int i = 2; i <= 8; i++) {
            i2i.put("input_image_" + i, "https://example.com/ref" + i + ".png");
        }

        JsonNode first = Http.json(submit("flux-2-pro", t2i));
        JsonNode second = Http.json(submit("flux-2-pro", i2i));
        JsonNode flex = Http.json(submit("flux-2-flex", Json.object().put("prompt", "x").put("steps", 50)
                .put("guidance", 4.5)));

        assertThat(first.get("cost").asDouble()).isEqualTo(4.5);          // 3 + 1.5 for the second output MP
        assertThat(first.get("output_mp").asDouble()).isEqualTo(2.0);
        assertThat(second.get("input_mp").asDouble()).isEqualTo(8.0);      // 1 MP + 7 URL images counted as 1 MP
        assertThat(second.get("cost").asDouble()).isEqualTo(15.0);
        assertThat(flex.get("cost").asDouble()).isEqualTo(6.0);
        String sample = runJob("flux-2-pro", i2i).get("result").get("sample").asText();
        assertThat(ImageInfo.of(download(sample).body()).orElseThrow().dimensions()).isEqualTo("1024x1024");
        assertThat(FakeBfl.cost("flux-2-max", 1, 1)).isEqualTo(10.0);
    }

    @Test
    void reportsCostFalse_submitAnswerWithoutCost_jobRunsAsUsual() {
        try (FakeBfl silent = FakeBfl.builder().reportsCost(false).pendingPolls(0).start()) {
            HttpResponse<String> r = Http.send(HttpRequest.newBuilder(URI.create(silent.baseUrl()
                    + "/v1/flux-kontext-pro")).header("x-key", "k")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\"}")));

            JsonNode answer = Http.json(r);
            assertThat(answer.has("cost")).isFalse();
            assertThat(answer.get("id").asText()).isEqualTo(silent.jobIds().getFirst());
            assertThat(Http.json(get(answer.get("polling_url").asText(), "x-key", "k")).get("status").asText())
                    .isEqualTo("Ready");
        }
    }

    // ---- auth and routes -----------------------------------------------------------------------------------

    @Test
    void auth_missingAndWrongKey_403AsBflAnswers() {
        HttpResponse<String> missing = submit("flux-kontext-pro", Json.text(kontext("x")));
        HttpResponse<String> wrong = submit("flux-kontext-pro", Json.text(kontext("x")), "x-key", "nope");
        String pollingUrl = Http.json(submit("flux-kontext-pro", kontext("x"))).get("polling_url").asText();
        HttpResponse<String> pollWithoutKey = get(pollingUrl);

        assertThat(missing.statusCode()).isEqualTo(403);
        assertThat(missing.body()).isEqualTo("{\"detail\":\"Not authenticated\"}");
        assertThat(wrong.statusCode()).isEqualTo(403);
        assertThat(wrong.body()).isEqualTo("{\"detail\":\"Not authenticated - Invalid Authentication\"}");
        assertThat(pollWithoutKey.statusCode()).isEqualTo(403);
        assertThat(fake.submissions("flux-kontext-pro")).isEqualTo(1);
    }

    @Test
    void routes_unknownEndpoint404AndWrongMethod405() {
        HttpResponse<String> unknown = submit("flux-dev", Json.text(kontext("x")), "x-key", "bfl-test");
        HttpResponse<String> getSubmit = get(fake.baseUrl() + "/v1/flux-2-pro", "x-key", "bfl-test");

        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.body()).isEqualTo("{\"detail\":\"Not Found\"}");
        assertThat(getSubmit.statusCode()).isEqualTo(405);
        assertThat(getSubmit.body()).isEqualTo("{\"detail\":\"Method Not Allowed\"}");
    }

    // ---- validation ----------------------------------------------------------------------------------------

    @Test
    void validation_missingPrompt_fieldRequiredWithTheBodyAsInput() {
        ObjectNode body = Json.object().put("seed", 1);

        JsonNode detail = detail(submit("flux-2-pro", body));

        assertThat(detail.toString()).isEqualTo("[{\"type\":\"missing\",\"loc\":[\"body\",\"prompt\"],\"msg\":"
                + "\"Field required\",\"input\":{\"seed\":1}}]");
    }

    @Test
    void validation_typesRangesEnumsAndExtraFields_allReportedInPydanticsShape() {
        ObjectNode body = Json.object();
        body.put("image", b64(Images.PNG));
        body.put("steps", 10);
        body.put("guidance", 200);
        body.put("safety_tolerance", "abc");
        body.put("output_format", "webp");
        body.put("prompt_upsampling", "maybe");
        body.put("input_image", b64(Images.PNG));

        JsonNode detail = detail(submit("flux-pro-1.0-fill", body));

        assertThat(detail).hasSize(6);
        assertThat(detail.get(0).get("type").asText()).isEqualTo("bool_parsing");
        assertThat(detail.get(1).toString()).isEqualTo("{\"type\":\"int_parsing\",\"loc\":[\"body\","
                + "\"safety_tolerance\"],\"msg\":\"Input should be a valid integer, unable to parse string as an "
                + "integer\",\"input\":\"abc\"}");
        assertThat(detail.get(2).toString()).isEqualTo("{\"type\":\"enum\",\"loc\":[\"body\",\"output_format\"],"
                + "\"msg\":\"Input should be 'jpeg' or 'png'\",\"input\":\"webp\",\"ctx\":{\"expected\":\"'jpeg' or "
                + "'png'\"}}");
        assertThat(detail.get(3).toString()).isEqualTo("{\"type\":\"greater_than_equal\",\"loc\":[\"body\","
                + "\"steps\"],\"msg\":\"Input should be greater than or equal to 15\",\"input\":10,\"ctx\":{\"ge\":15}}");
        assertThat(detail.get(4).toString()).isEqualTo("{\"type\":\"less_than_equal\",\"loc\":[\"body\","
                + "\"guidance\"],\"msg\":\"Input should be less than or equal to 100\",\"input\":200,\"ctx\":"
                + "{\"le\":100}}");
        assertThat(detail.get(5).get("type").asText()).isEqualTo("extra_forbidden");
        assertThat(detail.get(5).get("loc").toString()).isEqualTo("[\"body\",\"input_image\"]");
        assertThat(detail.get(5).get("msg").asText()).isEqualTo("Extra inputs are not permitted");
    }

    @Test
    void validation_imageLimitsPerModel_anExtraInputImageIsAnUnknownField() {
        ObjectNode kontext = kontext("x");
        kontext.put("input_image_5", b64(Images.PNG));
        ObjectNode flex = Json.object().put("prompt", "x");
        flex.put("input_image_10", b64(Images.PNG));
        flex.put("input_image_11", b64(Images.PNG));

        assertThat(detail(submit("flux-kontext-pro", kontext)).get(0).get("loc").toString())
                .isEqualTo("[\"body\",\"input_image_5\"]");
        assertThat(detail(submit("flux-2-flex", flex))).hasSize(1);
        assertThat(detail(submit("flux-2-flex", flex)).get(0).get("loc").get(1).asText()).isEqualTo("input_image_11");
    }

    @Test
    void allowUnknownFields_ignoresThemAsPydanticDoesByDefault() {
        try (FakeBfl lenient = FakeBfl.builder().allowUnknownFields(true).start()) {
            HttpResponse<String> response = Http.send(HttpRequest.newBuilder(URI.create(lenient.baseUrl()
                    + "/v1/flux-kontext-pro")).header("x-key", "any")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\",\"input_image2\":\"y\"}")));

            assertThat(response.statusCode()).isEqualTo(200);
        }
    }

    @Test
    void validation_imageMustBeBase64ImageOrUrl() {
        ObjectNode body = Json.object().put("prompt", "x").put("input_image", "not an image");

        JsonNode error = detail(submit("flux-kontext-pro", body)).get(0);

        assertThat(error.get("type").asText()).isEqualTo("value_error");
        assertThat(error.get("msg").asText()).isEqualTo("Value error, input_image must be a base64-encoded JPEG, PNG "
                + "or WebP image or an http(s) URL");
        assertThat(submit("flux-kontext-pro", Json.object().put("prompt", "x").put("input_image",
                "data:image/png;base64," + b64(Images.PNG))).statusCode()).isEqualTo(200);
    }

    @Test
    void validation_kontextSafetyAboveTwoWithAnInputImage_andRatioRange() {
        JsonNode safety = detail(submit("flux-kontext-pro", kontext("x").put("safety_tolerance", 4))).get(0);
        JsonNode ratio = detail(submit("flux-kontext-pro", kontext("x").put("aspect_ratio", "1:3"))).get(0);
        JsonNode range = detail(submit("flux-kontext-pro", kontext("x").put("safety_tolerance", 7))).get(0);

        assertThat(safety.get("loc").toString()).isEqualTo("[\"body\"]");
        assertThat(safety.get("msg").asText()).isEqualTo("Value error, safety_tolerance must be at most 2 when an "
                + "input image is given (was 4)");
        assertThat(ratio.get("msg").asText()).isEqualTo("Value error, aspect ratio must be between 21:9 and 9:21, "
                + "e.g. '16:9' (was '1:3')");
        assertThat(range.get("type").asText()).isEqualTo("less_than_equal");
        assertThat(submit("flux-kontext-pro", Json.object().put("prompt", "x").put("safety_tolerance", 6))
                .statusCode()).as("no input image: up to 6").isEqualTo(200);
    }

    @Test
    void validation_flux2SizeRules() {
        JsonNode notMultiple = detail(submit("flux-2-pro", Json.object().put("prompt", "x").put("width", 1000)))
                .get(0);
        JsonNode tooSmall = detail(submit("flux-2-max", Json.object().put("prompt", "x").put("height", 32))).get(0);
        JsonNode tooBig = detail(submit("flux-2-pro", Json.object().put("prompt", "x").put("width", 2560)
                .put("height", 2048))).get(0);

        assertThat(notMultiple.toString()).isEqualTo("{\"type\":\"multiple_of\",\"loc\":[\"body\",\"width\"],"
                + "\"msg\":\"Input should be a multiple of 16\",\"input\":1000,\"ctx\":{\"multiple_of\":16}}");
        assertThat(tooSmall.get("msg").asText()).isEqualTo("Input should be greater than or equal to 64");
        assertThat(tooBig.get("msg").asText()).isEqualTo("Value error, width * height must be at most 4194304 pixels "
                + "(4 MP) (was 2560x2048)");
        assertThat(submit("flux-2-pro", Json.object().put("prompt", "x").put("width", 2048).put("height", 2048))
                .statusCode()).isEqualTo(200);
    }

    @Test
    void validation_fillMaskSameSizeAndBlackAndWhite() throws Exception {
        ObjectNode sizes = Json.object();
        sizes.put("image", b64(Images.flat("png", 800, 600)));
        sizes.put("mask", b64(Images.flat("png", 400, 300)));
        ObjectNode colour = Json.object();
        colour.put("image", b64(Images.PNG));
        colour.put("mask", b64(Images.PNG)); // the 8x8 gradient: not grey

        assertThat(detail(submit("flux-pro-1.0-fill", sizes)).get(0).get("msg").asText()).isEqualTo("Value error, "
                + "mask must have the same dimensions as image (image 800x600, mask 400x300)");
        assertThat(detail(submit("flux-pro-1.0-fill", colour)).get(0).get("msg").asText()).isEqualTo("Value error, "
                + "mask must be a black-and-white image (white marks the area to fill)");
    }

    @Test
    void validation_notJsonOrNotAnObject() {
        JsonNode invalid = detail(submit("flux-2-pro", "{\"prompt\":", "x-key", "bfl-test")).get(0);
        JsonNode array = detail(submit("flux-2-pro", "[1]", "x-key", "bfl-test")).get(0);

        assertThat(invalid.get("type").asText()).isEqualTo("json_invalid");
        assertThat(invalid.get("msg").asText()).isEqualTo("JSON decode error");
        assertThat(array.toString()).isEqualTo("{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],\"msg\":"
                + "\"Input should be a valid dictionary or object to extract fields from\",\"input\":[1]}");
    }

    // ---- samples expire ------------------------------------------------------------------------------------

    @Test
    void sample_afterTenMinutes_403AuthenticationFailedXml() throws Exception {
        String sample = runJob("flux-kontext-pro", kontext("x")).get("result").get("sample").asText();
        clock.advance(Duration.ofMinutes(9).plusSeconds(59));
        assertThat(download(sample).statusCode()).isEqualTo(200);

        clock.advance(Duration.ofSeconds(1));
        HttpResponse<byte[]> expired = download(sample);

        assertThat(expired.statusCode()).isEqualTo(403);
        assertThat(expired.headers().firstValue("Content-Type")).contains("application/xml");
        assertThat(expired.headers().firstValue("x-ms-error-code")).contains("AuthenticationFailed");
        String xml = new String(expired.body(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(xml).startsWith("\uFEFF<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed"
                + "</Code><Message>Server failed to authenticate the request.");
        assertThat(xml).contains("<AuthenticationErrorDetail>Signature not valid in the specified time frame: Start "
                + "[Tue, 1 Dec 2026 10:00:00 GMT] - Expiry [Tue, 1 Dec 2026 10:10:00 GMT] - Current [Tue, 1 Dec 2026 "
                + "10:10:00 GMT]</AuthenticationErrorDetail>");
        assertThat(fake.sampleDownloads()).isEqualTo(1);
    }

    @Test
    void sample_forgedSignatureOrForgottenBlob_rejected() throws Exception {
        String sample = runJob("flux-kontext-pro", kontext("x")).get("result").get("sample").asText();

        HttpResponse<byte[]> forged = download(sample.replaceAll("se=[^&]+", "se=2030-01-01T00%3A00%3A00Z"));
        fake.reset();
        HttpResponse<byte[]> gone = download(sample);

        assertThat(forged.statusCode()).isEqualTo(403);
        assertThat(new String(forged.body(), java.nio.charset.StandardCharsets.UTF_8)).contains("Signature did not "
                + "match");
        assertThat(gone.statusCode()).isEqualTo(404);
        assertThat(new String(gone.body(), java.nio.charset.StandardCharsets.UTF_8)).contains("<Code>BlobNotFound"
                + "</Code><Message>The specified blob does not exist.");
    }

    @Test
    void sampleTtl_configurable() throws Exception {
        try (FakeBfl shortLived = FakeBfl.builder().clock(clock).sampleTtl(Duration.ofSeconds(30)).pendingPolls(0)
                .start()) {
            HttpResponse<String> submitted = Http.send(HttpRequest.newBuilder(URI.create(shortLived.baseUrl()
                    + "/v1/flux-2-pro")).header("x-key", "k")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\"}")));
            JsonNode ready = Http.json(get(Http.json(submitted).get("polling_url").asText(), "x-key", "k"));
            clock.advance(Duration.ofSeconds(30));

            assertThat(ready.get("status").asText()).isEqualTo("Ready");
            assertThat(download(ready.get("result").get("sample").asText()).statusCode()).isEqualTo(403);
        }
    }

    // ---- scripted outcomes ---------------------------------------------------------------------------------

    @Test
    void outcomes_moderatedErrorAndTaskNotFound() {
        fake.enqueue(FakeBfl.requestModerated());
        fake.enqueue(FakeBfl.contentModerated());
        fake.enqueue(FakeBfl.job("Error", 0));
        fake.enqueue(FakeBfl.job("Task not found", 0));

        JsonNode request = runJob("flux-kontext-pro", kontext("x"));
        JsonNode content = runJob("flux-kontext-pro", kontext("x"));
        JsonNode error = runJob("flux-2-pro", Json.object().put("prompt", "x"));
        JsonNode lost = runJob("flux-2-pro", Json.object().put("prompt", "x"));

        assertThat(request.get("status").asText()).isEqualTo("Request Moderated");
        assertThat(request.get("result").isNull()).isTrue();
        assertThat(request.get("details").toString()).isEqualTo("{\"Moderation Reasons\":[\"Derivative Works "
                + "Filter\"]}");
        assertThat(fake.polls(fake.jobIds().get(0))).isEqualTo(1);
        assertThat(content.get("status").asText()).isEqualTo("Content Moderated");
        assertThat(fake.polls(fake.jobIds().get(1))).isEqualTo(2);
        assertThat(error.get("status").asText()).isEqualTo("Error");
        assertThat(lost.get("status").asText()).isEqualTo("Task not found");
        assertThatThrownBy(() -> FakeBfl.job("Done", 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("(was 'Done')");
    }

    @Test
    void poll_unknownOrMissingId() {
        JsonNode unknown = poll(fake.baseUrl() + "/v1/get_result?id=00000000-0000-0000-0000-000000000000");
        HttpResponse<String> missing = get(fake.baseUrl() + "/v1/get_result", "x-key", "bfl-test");

        assertThat(unknown.toString()).isEqualTo("{\"id\":\"00000000-0000-0000-0000-000000000000\",\"status\":"
                + "\"Task not found\",\"result\":null,\"progress\":null,\"details\":null,\"preview\":null}");
        assertThat(detail(missing).toString()).isEqualTo("[{\"type\":\"missing\",\"loc\":[\"query\",\"id\"],"
                + "\"msg\":\"Field required\",\"input\":null}]");
    }

    @Test
    void enqueuePoll_aFailedPollDoesNotMoveTheJobAndItGoesOn() throws Exception {
        String pollingUrl = Http.json(submit("flux-kontext-pro", kontext("x"))).get("polling_url").asText();
        String id = fake.jobIds().getFirst();
        fake.enqueuePoll(FakeResponse.serverError());
        fake.enqueuePoll(FakeResponse.dropConnection());

        assertThat(get(pollingUrl, "x-key", "bfl-test").statusCode()).isEqualTo(500);
        // a raw socket: java.net.http retries a GET whose connection dropped, which would hide the drop
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", fake.port())) {
            socket.getOutputStream().write(("GET /v1/get_result?id=" + id + " HTTP/1.1\r\nHost: x\r\nx-key: "
                    + "bfl-test\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            assertThat(socket.getInputStream().read()).as("closed without a byte").isEqualTo(-1);
        }
        assertThat(poll(pollingUrl).get("status").asText()).isEqualTo("Pending");
        assertThat(poll(pollingUrl).get("status").asText()).isEqualTo("Pending");
        assertThat(poll(pollingUrl).get("status").asText()).isEqualTo("Ready");
        assertThat(fake.polls(id)).isEqualTo(5);
        assertThat(fake.submissions("flux-kontext-pro")).isEqualTo(1);
    }

    @Test
    void scriptedSubmissionErrors_402And429() {
        fake.enqueue(FakeBfl.insufficientCredits());
        fake.enqueue(FakeBfl.tooManyActiveTasks());

        HttpResponse<String> credits = submit("flux-2-pro", Json.object().put("prompt", "x"));
        HttpResponse<String> busy = submit("flux-2-pro", Json.object().put("prompt", "x"));

        assertThat(credits.statusCode()).isEqualTo(402);
        assertThat(Http.json(credits).get("detail").asText()).startsWith("Insufficient credits");
        assertThat(busy.statusCode()).isEqualTo(429);
        assertThat(busy.headers().firstValue("Retry-After")).contains("1");
        assertThat(fake.submissions("flux-2-pro")).isZero();
    }

    @Test
    void concurrency_moreActiveKontextMaxTasksThanItsLimit_429UntilOneFinishes_otherKontextNotLimitedByIt() {
        try (FakeBfl limited = FakeBfl.builder().maxActiveKontextMaxTasks(2).maxActiveTasks(4).start()) {
            java.util.function.Function<String, HttpResponse<String>> submitTo = endpoint -> Http.send(
                    HttpRequest.newBuilder(URI.create(limited.baseUrl() + "/v1/" + endpoint)).header("x-key", "k")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\"}")));
            assertThat(submitTo.apply("flux-kontext-max").statusCode()).isEqualTo(200);
            assertThat(submitTo.apply("flux-kontext-max").statusCode()).isEqualTo(200);

            HttpResponse<String> third = submitTo.apply("flux-kontext-max");

            assertThat(third.statusCode()).isEqualTo(429);
            assertThat(Http.json(third).get("detail").asText()).isEqualTo("You have reached the maximum number of "
                    + "active tasks (2). Please wait for some of them to finish and try again.");
            assertThat(submitTo.apply("flux-kontext-pro").statusCode()).as("Kontext pro has no limit of its own")
                    .isEqualTo(200);
            assertThat(submitTo.apply("flux-2-pro").statusCode()).as("not a Kontext max task").isEqualTo(200);
            assertThat(submitTo.apply("flux-2-pro").statusCode()).as("4 active in all").isEqualTo(429);
            String first = limited.jobIds().getFirst();
            for (int i = 0; i < 3; i++) {
                get(limited.baseUrl() + "/v1/get_result?id=" + first, "x-key", "k");
            }
            assertThat(limited.activeTasks()).isEqualTo(3);
            assertThat(submitTo.apply("flux-kontext-max").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void holdAnswers_andReset() throws Exception {
        fake.holdAnswers();
        CompletableFuture<HttpResponse<String>> call = CompletableFuture.supplyAsync(() ->
                submit("flux-2-pro", Json.object().put("prompt", "x")));
        fake.takeRequest();
        assertThat(call).isNotDone();
        fake.releaseAnswers();
        assertThat(call.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);

        fake.reset();

        assertThat(fake.jobIds()).isEmpty();
        assertThat(fake.submissions("flux-2-pro")).isZero();
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void builder_rejectsBadSettings() {
        assertThatThrownBy(() -> FakeBfl.builder().pendingPolls(-1)).hasMessage("pendingPolls must be >= 0 (was -1)");
        assertThatThrownBy(() -> FakeBfl.builder().maxActiveTasks(0)).hasMessage("maxActiveTasks must be >= 1 (was 0)");
        assertThatThrownBy(() -> FakeBfl.builder().sampleTtl(Duration.ZERO)).hasMessage("ttl must be positive (was "
                + "PT0S)");
    }
}
