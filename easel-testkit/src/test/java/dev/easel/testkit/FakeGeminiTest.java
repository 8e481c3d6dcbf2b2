package dev.easel.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FakeGeminiTest {

    private static final String PRO = "gemini-3-pro-image";
    private static final String FLASH = "gemini-3.1-flash-image";

    private final FakeGemini fake = FakeGemini.builder().apiKey("gm-test").start();

    @AfterEach
    void stop() {
        fake.close();
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    /** {"contents":[{"role":"user","parts":[image…, {"text":prompt}]}]} with camelCase inlineData. */
    static ObjectNode edit(String prompt, byte[]... images) {
        ObjectNode root = Json.object();
        ObjectNode content = root.putArray("contents").addObject();
        content.put("role", "user");
        ArrayNode parts = content.putArray("parts");
        for (byte[] image : images) {
            ObjectNode data = parts.addObject().putObject("inlineData");
            data.put("mimeType", "image/png");
            data.put("data", Base64.getEncoder().encodeToString(image));
        }
        parts.addObject().put("text", prompt);
        return root;
    }

    static ObjectNode imageConfig(ObjectNode body, String aspectRatio, String imageSize) {
        ObjectNode config = body.putObject("generationConfig");
        config.putArray("responseModalities").add("TEXT").add("IMAGE");
        ObjectNode image = config.putObject("imageConfig");
        if (aspectRatio != null) {
            image.put("aspectRatio", aspectRatio);
        }
        if (imageSize != null) {
            image.put("imageSize", imageSize);
        }
        return body;
    }

    private HttpResponse<String> post(String model, String body, String... headers) {
        return post(fake.generateContentUrl(model), body.getBytes(StandardCharsets.UTF_8), headers);
    }

    private HttpResponse<String> post(String model, ObjectNode body) {
        return post(model, Json.text(body), "x-goog-api-key", "gm-test");
    }

    private static HttpResponse<String> post(String url, byte[] body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (headers.length > 0) {
            request.headers(headers);
        }
        return Http.send(request);
    }

    private static JsonNode error(HttpResponse<String> response, int code, String status) {
        assertThat(response.statusCode()).isEqualTo(code);
        assertThat(response.headers().firstValue("Content-Type")).contains("application/json; charset=UTF-8");
        JsonNode error = Http.json(response).get("error");
        assertThat(error.get("code").asInt()).isEqualTo(code);
        assertThat(error.get("status").asText()).isEqualTo(status);
        return error;
    }

    private static String invalidArgument(HttpResponse<String> response) {
        return error(response, 400, "INVALID_ARGUMENT").get("message").asText();
    }

    private static int[] pngSize(JsonNode inlineData) {
        byte[] png = Base64.getDecoder().decode(inlineData.get("data").asText());
        ImageInfo info = ImageInfo.of(png).orElseThrow();
        assertThat(info.mediaType()).isEqualTo("image/png");
        return new int[] {info.width(), info.height()};
    }

    // ---- success -------------------------------------------------------------------------------------------

    @Test
    void generateContent_validEdit_answersTextThenPngSizedByAspectRatioAndTier() throws Exception {
        ObjectNode body = imageConfig(edit("add a red hat", Images.flat("png", 1200, 800)), "16:9", "2K");

        HttpResponse<String> response = post(PRO, body);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).contains("application/json; charset=UTF-8");
        JsonNode json = Http.json(response);
        assertThat(json.fieldNames()).toIterable().containsExactly("candidates", "usageMetadata", "modelVersion",
                "responseId");
        JsonNode candidate = json.get("candidates").get(0);
        assertThat(candidate.get("finishReason").asText()).isEqualTo("STOP");
        assertThat(candidate.get("index").asInt()).isZero();
        assertThat(candidate.get("content").get("role").asText()).isEqualTo("model");
        JsonNode parts = candidate.get("content").get("parts");
        assertThat(parts).hasSize(2);
        assertThat(parts.get(0).get("text").asText()).isEqualTo(FakeGemini.REPLY_TEXT);
        assertThat(parts.get(1).get("inlineData").get("mimeType").asText()).isEqualTo("image/png");
        assertThat(parts.get(1).has("thoughtSignature")).isTrue();
        assertThat(parts.get(1).has("thought")).isFalse();
        assertThat(pngSize(parts.get(1).get("inlineData"))).containsExactly(2752, 1536);
        assertThat(javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(Base64.getDecoder().decode(
                parts.get(1).get("inlineData").get("data").asText()))).getWidth()).isEqualTo(2752);
        assertThat(json.get("modelVersion").asText()).isEqualTo(PRO);
        assertThat(json.get("responseId").asText()).matches("[A-Za-z0-9_-]{22}");
        // "add a red hat" = 13 chars ≈ 4 text tokens; one input image = 560; output: 1120 (2K) + 7 text tokens
        assertThat(json.get("usageMetadata").toString()).isEqualTo("{\"promptTokenCount\":564,"
                + "\"candidatesTokenCount\":1127,\"totalTokenCount\":1691,\"promptTokensDetails\":["
                + "{\"modality\":\"TEXT\",\"tokenCount\":4},{\"modality\":\"IMAGE\",\"tokenCount\":560}],"
                + "\"candidatesTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":7},"
                + "{\"modality\":\"IMAGE\",\"tokenCount\":1120}]}");
    }

    @Test
    void generateContent_sizeFollowsTheModelsTable() {
        assertThat(FakeGemini.dimensions("1:1", "1K")).containsExactly(1024, 1024);
        assertThat(FakeGemini.dimensions("9:16", "1K")).containsExactly(768, 1376);
        assertThat(FakeGemini.dimensions("21:9", "4K")).containsExactly(6336, 2688);
        assertThat(FakeGemini.dimensions("1:1", "512")).containsExactly(512, 512);
        assertThat(FakeGemini.dimensions("1:4", "1K")).containsExactly(512, 2048);
    }

    @Test
    void generateContent_withoutImageConfig_1KInTheInputImagesNearestRatio() {
        JsonNode json = Http.json(post(FLASH, edit("make it night", Images.flat("png", 900, 1600))));

        JsonNode image = json.get("candidates").get(0).get("content").get("parts").get(1).get("inlineData");
        assertThat(pngSize(image)).containsExactly(768, 1376); // 9:16
        assertThat(json.get("usageMetadata").get("candidatesTokensDetails").get(1).get("tokenCount").asInt())
                .isEqualTo(1120);
    }

    @Test
    void generateContent_imageOnlyModality_answersOnlyTheImagePart() {
        ObjectNode body = edit("remove the background", Images.PNG);
        body.putObject("generation_config").putArray("response_modalities").add("IMAGE");

        JsonNode parts = Http.json(post(PRO, body)).get("candidates").get(0).get("content").get("parts");

        assertThat(parts).hasSize(1);
        assertThat(parts.get(0).has("inlineData")).isTrue();
    }

    @Test
    void generateContent_snakeCaseAndCamelCaseBothAccepted_andRecordedVerbatim() {
        String body = "{\"contents\":[{\"parts\":[{\"inline_data\":{\"mime_type\":\"image/jpeg\",\"data\":\""
                + Base64.getEncoder().encodeToString(Images.JPEG) + "\"}},{\"inlineData\":{\"mimeType\":\"image/png\","
                + "\"data\":\"" + Base64.getUrlEncoder().withoutPadding().encodeToString(Images.PNG) + "\"}},"
                + "{\"text\":\"merge\"}]}],\"generation_config\":{\"responseModalities\":[\"IMAGE\"],"
                + "\"image_config\":{\"aspect_ratio\":\"4:3\",\"imageSize\":\"1K\"}}}";

        HttpResponse<String> response = post(PRO, body, "x-goog-api-key", "gm-test");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(pngSize(Http.json(response).get("candidates").get(0).get("content").get("parts").get(0)
                .get("inlineData"))).containsExactly(1200, 896);
        RecordedRequest recorded = fake.takeRequest();
        assertThat(recorded.path()).isEqualTo("/v1beta/models/gemini-3-pro-image:generateContent");
        assertThat(recorded.header("x-goog-api-key")).contains("gm-test");
        assertThat(recorded.bodyText()).isEqualTo(body);
    }

    // ---- auth and models -----------------------------------------------------------------------------------

    @Test
    void auth_keyInQueryParameterAccepted() {
        HttpResponse<String> response = post(fake.generateContentUrl(PRO) + "?key=gm-test",
                Json.bytes(edit("x", Images.PNG)));

        assertThat(response.statusCode()).isEqualTo(200);
    }

    @Test
    void auth_missingKey_403PermissionDeniedUnregisteredCallers() {
        HttpResponse<String> response = post(PRO, Json.text(edit("x", Images.PNG)));

        JsonNode error = error(response, 403, "PERMISSION_DENIED");
        assertThat(error.get("message").asText()).isEqualTo("Method doesn't allow unregistered callers (callers "
                + "without established identity). Please use API Key or other form of API consumer identity to call "
                + "this API.");
        assertThat(error.has("details")).isFalse();
    }

    @Test
    void auth_wrongKey_400ApiKeyInvalidWithGooglesDetails() {
        HttpResponse<String> response = post(PRO, Json.text(edit("x", Images.PNG)), "x-goog-api-key", "nope");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.body()).isEqualTo("{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass "
                + "a valid API key.\",\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"@type\":"
                + "\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\",\"domain\":"
                + "\"googleapis.com\",\"metadata\":{\"service\":\"generativelanguage.googleapis.com\"}},{\"@type\":"
                + "\"type.googleapis.com/google.rpc.LocalizedMessage\",\"locale\":\"en-US\",\"message\":\"API key not "
                + "valid. Please pass a valid API key.\"}]}}");
    }

    @Test
    void invalidApiKey_scripted_isTheSameAnswerAsAWrongKey_withTheRightKeySent() {
        String wrongKey = post(PRO, Json.text(edit("x", Images.PNG)), "x-goog-api-key", "nope").body();
        fake.enqueue(FakeGemini.invalidApiKey());

        HttpResponse<String> scripted = post(PRO, edit("x", Images.PNG));

        assertThat(scripted.statusCode()).isEqualTo(400);
        assertThat(scripted.headers().firstValue("Content-Type")).contains("application/json; charset=UTF-8");
        assertThat(scripted.body()).isEqualTo(wrongKey);
        assertThat(post(PRO, edit("x", Images.PNG)).statusCode()).as("one-shot").isEqualTo(200);
    }

    @Test
    void model_unknownAndShutDownIds_404NotFound() {
        for (String model : List.of("gemini-9-image", "gemini-3-pro-image-preview", "gemini-3.1-flash-image-preview",
                "gemini-2.5-flash-image")) {
            HttpResponse<String> response = post(model, edit("x", Images.PNG));

            assertThat(error(response, 404, "NOT_FOUND").get("message").asText()).as(model).isEqualTo("models/"
                    + model + " is not found for API version v1beta, or is not supported for generateContent. "
                    + "Call ModelService.ListModels to see the list of available models and their supported "
                    + "methods.");
        }
        assertThat(FakeGemini.RETIRED_MODELS).containsExactlyInAnyOrder("gemini-3-pro-image-preview",
                "gemini-3.1-flash-image-preview", "gemini-2.5-flash-image");
    }

    @Test
    void route_otherPathsAndMethods_googlesHtml404() {
        HttpResponse<String> get = Http.send(HttpRequest.newBuilder(URI.create(fake.generateContentUrl(PRO))));
        HttpResponse<String> other = post(fake.baseUrl() + "/v1/models/" + PRO + ":predict", new byte[0]);

        for (HttpResponse<String> response : List.of(get, other)) {
            assertThat(response.statusCode()).isEqualTo(404);
            assertThat(response.headers().firstValue("Content-Type")).contains("text/html; charset=UTF-8");
            assertThat(response.body()).contains("Error 404 (Not Found)!!1");
        }
    }

    // ---- body rejections -----------------------------------------------------------------------------------

    @Test
    void body_notJson_invalidJsonPayload() {
        HttpResponse<String> response = post(PRO, "{\"contents\": [", "x-goog-api-key", "gm-test");

        assertThat(invalidArgument(response)).isEqualTo("Invalid JSON payload received. Unexpected token.");
        assertThat(Http.json(response).get("error").get("details").get(0).get("@type").asText())
                .isEqualTo("type.googleapis.com/google.rpc.BadRequest");
    }

    @Test
    void body_arrayRoot_rootElementMustBeAMessage() {
        assertThat(invalidArgument(post(PRO, "[]", "x-goog-api-key", "gm-test"))).isEqualTo("Invalid JSON payload "
                + "received. Unknown name \"\": Root element must be a message.");
    }

    @Test
    void body_unknownFields_cannotFindFieldWithFieldViolations() {
        ObjectNode body = imageConfig(edit("x", Images.PNG), "1:1", null);
        body.put("prompt", "x");
        ((ObjectNode) body.get("generationConfig").get("imageConfig")).put("outputMimeType", "image/jpeg");

        HttpResponse<String> response = post(PRO, body);

        assertThat(invalidArgument(response)).isEqualTo("Invalid JSON payload received. Unknown name "
                + "\"outputMimeType\" at 'generation_config.image_config': Cannot find field.\nInvalid JSON payload "
                + "received. Unknown name \"prompt\": Cannot find field.");
        JsonNode violations = Http.json(response).get("error").get("details").get(0).get("fieldViolations");
        assertThat(violations.get(0).get("field").asText()).isEqualTo("generation_config.image_config");
        assertThat(violations.get(1).has("field")).isFalse();
    }

    @Test
    void body_wrongTypes_invalidValueAt() {
        String body = "{\"contents\":[{\"parts\":[{\"text\":5}]}],\"generationConfig\":{\"responseModalities\":"
                + "[\"PICTURE\"],\"imageConfig\":\"16:9\"}}";

        assertThat(invalidArgument(post(PRO, body, "x-goog-api-key", "gm-test"))).isEqualTo(
                "Invalid value at 'contents[0].parts[0].text' (TYPE_STRING), 5\n"
                + "Invalid value at 'generation_config.response_modalities[0]' "
                + "(type.googleapis.com/google.ai.generativelanguage.v1beta.GenerationConfig.Modality), \"PICTURE\"\n"
                + "Invalid value at 'generation_config.image_config' "
                + "(type.googleapis.com/google.ai.generativelanguage.v1beta.ImageConfig), \"16:9\"");
    }

    @Test
    void body_undecodableBase64_base64DecodingFailed() {
        String body = "{\"contents\":[{\"parts\":[{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"%%%\"}}]}]}";

        assertThat(invalidArgument(post(PRO, body, "x-goog-api-key", "gm-test"))).isEqualTo("Invalid value at "
                + "'contents[0].parts[0].inline_data.data' (TYPE_BYTES), Base64 decoding failed for \"%%%\"");
    }

    @Test
    void body_notAnImageOrUnsupportedType_rejected() {
        ObjectNode notImage = edit("x", "hello, not a picture".getBytes(StandardCharsets.UTF_8));
        ObjectNode pdf = edit("x", Images.PNG);
        ((ObjectNode) pdf.get("contents").get(0).get("parts").get(0).get("inlineData")).put("mimeType",
                "application/pdf");
        ObjectNode noMime = edit("x", Images.PNG);
        ((ObjectNode) noMime.get("contents").get(0).get("parts").get(0).get("inlineData")).remove("mimeType");

        assertThat(invalidArgument(post(PRO, notImage))).isEqualTo("Unable to process input image. Please retry or "
                + "report in https://developers.generativeai.google/guide/troubleshooting");
        assertThat(invalidArgument(post(PRO, pdf))).isEqualTo("Unsupported MIME type: application/pdf");
        assertThat(invalidArgument(post(PRO, noMime))).isEqualTo("* GenerateContentRequest.contents[0].parts[0]"
                + ".inline_data.mime_type: a mime type is required\n");
    }

    @Test
    void body_structuralRules_contentsPartsDataAndRole() {
        assertThat(invalidArgument(post(PRO, Json.object()))).isEqualTo("* GenerateContentRequest.contents: "
                + "contents is not specified\n");
        assertThat(invalidArgument(post(PRO, "{\"contents\":[{\"parts\":[]},{\"parts\":[{\"thought\":true}]}]}",
                "x-goog-api-key", "gm-test"))).isEqualTo("* GenerateContentRequest.contents[0].parts: contents.parts "
                + "must not be empty.\n* GenerateContentRequest.contents[1].parts[0].data: required oneof field "
                + "'data' must have one initialized field\n");
        assertThat(invalidArgument(post(PRO, "{\"contents\":[{\"role\":\"assistant\",\"parts\":[{\"text\":\"x\"}]}]}",
                "x-goog-api-key", "gm-test"))).isEqualTo("Please use a valid role: user, model.");
        assertThat(invalidArgument(post(PRO, "{\"contents\":[{\"parts\":[{\"text\":\"x\",\"inlineData\":{}}]}]}",
                "x-goog-api-key", "gm-test"))).isEqualTo("Invalid JSON payload received. Oneof field 'data' is "
                + "already set. Cannot set 'inlineData'");
    }

    @Test
    void body_fileData_isAFileThisFakeCannotFind() {
        String body = "{\"contents\":[{\"parts\":[{\"fileData\":{\"mimeType\":\"image/png\",\"fileUri\":"
                + "\"https://generativelanguage.googleapis.com/v1beta/files/abc123\"}}]}]}";

        assertThat(error(post(PRO, body, "x-goog-api-key", "gm-test"), 403, "PERMISSION_DENIED").get("message")
                .asText()).isEqualTo("You do not have permission to access the File abc123 or it may not exist.");
    }

    @Test
    void generationConfig_audioModality_rejected() {
        ObjectNode body = edit("x", Images.PNG);
        body.putObject("generationConfig").putArray("responseModalities").add("AUDIO");

        assertThat(invalidArgument(post(PRO, body))).isEqualTo("Model does not support the requested response "
                + "modalities: audio");
    }

    @Test
    void imageConfig_aspectRatioAndSizeOutsideTheModelsLists_rejected() {
        assertThat(invalidArgument(post(PRO, imageConfig(edit("x", Images.PNG), "1:4", "512")))).isEqualTo(
                "* GenerateContentRequest.generation_config.image_config.aspect_ratio: unsupported aspect ratio "
                + "'1:4' for gemini-3-pro-image (supported: 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9, 21:9)\n"
                + "* GenerateContentRequest.generation_config.image_config.image_size: unsupported image size '512' "
                + "for gemini-3-pro-image (supported: 1K, 2K, 4K)\n");
        assertThat(invalidArgument(post(FLASH, imageConfig(edit("x", Images.PNG), "7:3", "1k")))).contains(
                "unsupported aspect ratio '7:3'", "unsupported image size '1k'");

        HttpResponse<String> flash = post(FLASH, imageConfig(edit("x", Images.PNG), "1:4", "512"));

        assertThat(flash.statusCode()).isEqualTo(200);
        assertThat(pngSize(Http.json(flash).get("candidates").get(0).get("content").get("parts").get(1)
                .get("inlineData"))).containsExactly(256, 1024);
    }

    @Test
    void images_moreThanTheModelTakes_rejected() {
        byte[][] fifteen = new byte[15][];
        java.util.Arrays.fill(fifteen, Images.PNG);

        assertThat(invalidArgument(post(PRO, edit("x", fifteen)))).isEqualTo("* GenerateContentRequest.contents: "
                + "gemini-3-pro-image accepts at most 14 input images (got 15)\n");
        assertThat(post(PRO, edit("x", java.util.Arrays.copyOf(fifteen, 14))).statusCode()).isEqualTo(200);
    }

    @Test
    void request_over20MiB_payloadSizeExceedsTheLimit() {
        byte[] big = new byte[FakeGemini.MAX_REQUEST_BYTES + 1];
        java.util.Arrays.fill(big, (byte) ' ');

        HttpResponse<String> response = post(fake.generateContentUrl(PRO), big, "x-goog-api-key", "gm-test");

        assertThat(invalidArgument(response)).isEqualTo("Request payload size exceeds the limit: 20971520 bytes.");
    }

    // ---- scripting -----------------------------------------------------------------------------------------

    @Test
    void thoughtImages_interimThoughtPartsBeforeTheFinalImage() {
        fake.enqueue(FakeGemini.thoughtImages(2));

        JsonNode json = Http.json(post(PRO, edit("x", Images.PNG)));

        JsonNode parts = json.get("candidates").get(0).get("content").get("parts");
        assertThat(parts).hasSize(4);
        assertThat(parts.get(0).get("thought").asBoolean()).isTrue();
        assertThat(parts.get(1).get("thought").asBoolean()).isTrue();
        assertThat(parts.get(1).has("inlineData")).isTrue();
        assertThat(parts.get(2).get("text").asText()).isEqualTo(FakeGemini.REPLY_TEXT);
        assertThat(parts.get(3).has("thought")).isFalse();
        assertThat(parts.get(3).has("inlineData")).isTrue();
        assertThat(json.get("usageMetadata").get("thoughtsTokenCount").asInt()).isEqualTo(2240);
    }

    @Test
    void finishReason_safetyStopWithoutContent() {
        fake.enqueue(FakeGemini.finishReason("IMAGE_SAFETY"));
        fake.enqueue(FakeGemini.finishReason("NO_IMAGE"));

        JsonNode first = Http.json(post(PRO, edit("x", Images.PNG)));
        JsonNode second = Http.json(post(PRO, edit("x", Images.PNG)));

        assertThat(first.get("candidates").get(0).toString()).isEqualTo("{\"finishReason\":\"IMAGE_SAFETY\","
                + "\"index\":0}");
        assertThat(first.get("usageMetadata").has("candidatesTokenCount")).isFalse();
        assertThat(second.get("candidates").get(0).get("finishReason").asText()).isEqualTo("NO_IMAGE");
        assertThatThrownBy(() -> FakeGemini.finishReason("STOP")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("(was 'STOP'); STOP is the default answer");
    }

    @Test
    void promptBlocked_blockReasonAndNoCandidates() {
        fake.enqueue(FakeGemini.promptBlocked("PROHIBITED_CONTENT"));

        JsonNode json = Http.json(post(PRO, edit("x", Images.PNG)));

        assertThat(json.has("candidates")).isFalse();
        assertThat(json.get("promptFeedback").get("blockReason").asText()).isEqualTo("PROHIBITED_CONTENT");
        assertThat(json.get("usageMetadata").get("promptTokenCount").asInt()).isEqualTo(561);
        assertThatThrownBy(() -> FakeGemini.promptBlocked("MAYBE")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void textOnly_singleTextPartAndStop() {
        fake.enqueue(FakeGemini.textOnly());

        JsonNode candidate = Http.json(post(PRO, edit("x", Images.PNG))).get("candidates").get(0);

        assertThat(candidate.get("finishReason").asText()).isEqualTo("STOP");
        assertThat(candidate.get("content").get("parts")).hasSize(1);
        assertThat(candidate.get("content").get("parts").get(0).has("text")).isTrue();
    }

    @Test
    void outcome_stillChecksKeyAndBody() {
        fake.enqueue(FakeGemini.finishReason("IMAGE_SAFETY"));

        HttpResponse<String> response = post(PRO, Json.text(edit("x", Images.PNG)), "x-goog-api-key", "wrong");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(post(PRO, edit("x", Images.PNG)).statusCode()).as("the outcome was used up").isEqualTo(200);
    }

    @Test
    void errors_googleShapedStatuses() {
        fake.enqueue(FakeGemini.rateLimited(23));
        fake.enqueue(FakeGemini.permissionDenied());
        fake.enqueue(FakeGemini.internalError());
        fake.enqueue(FakeGemini.unavailable());
        fake.enqueue(FakeGemini.error(400, "FAILED_PRECONDITION", "User location is not supported for the API use."));

        JsonNode quota = error(post(PRO, edit("x", Images.PNG)), 429, "RESOURCE_EXHAUSTED");
        assertThat(quota.get("details").get(2).toString()).isEqualTo("{\"@type\":"
                + "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"23s\"}");
        assertThat(error(post(PRO, edit("x", Images.PNG)), 403, "PERMISSION_DENIED").get("message").asText())
                .isEqualTo("The caller does not have permission");
        assertThat(error(post(PRO, edit("x", Images.PNG)), 500, "INTERNAL").get("message").asText())
                .startsWith("An internal error has occurred.");
        assertThat(error(post(PRO, edit("x", Images.PNG)), 503, "UNAVAILABLE").get("message").asText())
                .isEqualTo("The model is overloaded. Please try again later.");
        assertThat(error(post(PRO, edit("x", Images.PNG)), 400, "FAILED_PRECONDITION").get("message").asText())
                .isEqualTo("User location is not supported for the API use.");
    }

    @Test
    void garbageResetAndLatency() {
        fake.enqueue(FakeResponse.malformedJson());
        fake.enqueue(FakeResponse.dropConnection());
        fake.enqueue(FakeResponse.defaultBehaviour().delay(Duration.ofSeconds(30)));

        HttpResponse<String> garbage = post(PRO, edit("x", Images.PNG));
        assertThat(garbage.statusCode()).isEqualTo(200);
        assertThatThrownBy(() -> Json.MAPPER.readTree(garbage.body())).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> post(PRO, edit("x", Images.PNG))).isInstanceOf(UncheckedIOException.class);
        assertThatThrownBy(() -> Http.CLIENT.send(HttpRequest.newBuilder(URI.create(fake.generateContentUrl(PRO)))
                .header("x-goog-api-key", "gm-test").timeout(Duration.ofMillis(300))
                .POST(HttpRequest.BodyPublishers.ofString(Json.text(edit("x", Images.PNG)))).build(),
                HttpResponse.BodyHandlers.ofString())).isInstanceOf(java.net.http.HttpTimeoutException.class);
        assertThat(fake.requestCount()).isEqualTo(3);
    }

    @Test
    void holdAnswers_keepsTheCallInFlightUntilReleased() throws Exception {
        fake.holdAnswers();
        CompletableFuture<HttpResponse<String>> call = CompletableFuture.supplyAsync(() ->
                post(PRO, edit("x", Images.PNG)));
        fake.takeRequest();
        assertThat(call).isNotDone();

        fake.releaseAnswers();

        assertThat(call.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }

    @Test
    void enqueue_outcomeOfAnotherFake_rejectedAtOnce() {
        try (FakeOpenAi openAi = FakeOpenAi.start()) {
            assertThatThrownBy(() -> openAi.enqueue(FakeGemini.textOnly()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("FakeResponse[OUTCOME textOnly()] is an outcome of FakeGemini and cannot be "
                            + "enqueued on fake OpenAI");
        }
        assertThatThrownBy(() -> FakeGemini.thoughtImages(0)).hasMessage("count must be between 1 and 4 (was 0)");
        assertThatThrownBy(() -> FakeGemini.rateLimited(-1)).hasMessage("retryDelaySeconds must be >= 0 (was -1)");
    }

    // ---- streaming -----------------------------------------------------------------------------------------

    @Test
    void streamGenerateContent_sse_oneChunkPerPartLastWithFinishAndUsage() throws Exception {
        HttpResponse<InputStream> response = Http.CLIENT.send(HttpRequest.newBuilder(URI.create(fake.baseUrl()
                        + "/v1beta/models/" + PRO + ":streamGenerateContent?alt=sse"))
                .header("x-goog-api-key", "gm-test")
                .POST(HttpRequest.BodyPublishers.ofString(Json.text(edit("x", Images.PNG)))).build(),
                HttpResponse.BodyHandlers.ofInputStream());

        assertThat(response.headers().firstValue("Content-Type")).contains("text/event-stream");
        String text = new String(response.body().readAllBytes(), StandardCharsets.UTF_8);
        String[] events = text.split("\r\n\r\n");
        assertThat(events).hasSize(2);
        JsonNode first = Json.MAPPER.readTree(events[0].substring("data: ".length()));
        JsonNode last = Json.MAPPER.readTree(events[1].substring("data: ".length()));
        assertThat(first.get("candidates").get(0).has("finishReason")).isFalse();
        assertThat(first.get("candidates").get(0).get("content").get("parts").get(0).has("text")).isTrue();
        assertThat(last.get("candidates").get(0).get("finishReason").asText()).isEqualTo("STOP");
        assertThat(last.get("candidates").get(0).get("content").get("parts").get(0).has("inlineData")).isTrue();
        assertThat(last.get("usageMetadata").get("candidatesTokenCount").asInt()).isEqualTo(1127);
    }

    @Test
    void streamGenerateContent_withoutAlt_jsonArrayOfChunks() {
        HttpResponse<String> response = post(fake.baseUrl() + "/v1beta/models/" + PRO + ":streamGenerateContent",
                Json.bytes(edit("x", Images.PNG)), "x-goog-api-key", "gm-test");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(Http.json(response).isArray()).isTrue();
        assertThat(Http.json(response)).hasSize(2);
    }
}
