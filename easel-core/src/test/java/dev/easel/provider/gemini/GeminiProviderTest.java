package dev.easel.provider.gemini;

import static dev.easel.provider.gemini.GeminiFixture.KEY;
import static dev.easel.provider.gemini.GeminiFixture.body;
import static dev.easel.provider.gemini.GeminiFixture.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.BadRequestException;
import dev.easel.ConnectionException;
import dev.easel.ContentPolicyViolationException;
import dev.easel.EaselException;
import dev.easel.ImageInput;
import dev.easel.ImageResponse;
import dev.easel.InternalServerException;
import dev.easel.UnprocessableEntityException;
import dev.easel.Usage;
import dev.easel.image.ImageInfo;
import dev.easel.image.ImageInspector;
import dev.easel.image.TestImages;
import dev.easel.internal.Blob;
import dev.easel.testkit.FakeGemini;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedRequest;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Gemini adapter through a real client against the testkit's FakeGemini: the exact request that arrives (URL,
 * key header, parts in order, generationConfig), the size mapping as the fake sees it, and every kind of answer a
 * 200 can carry (images, thought drafts, safety stops, refusals in words). Google's error answers are in
 * {@link GeminiErrorsTest}, prices in {@link GeminiCostTest}.
 */
class GeminiProviderTest {

    static final String FLASH = "gemini-3.1-flash-image";
    static final String PRO = "gemini-3-pro-image";

    final GeminiFixture gemini = new GeminiFixture();

    @AfterEach
    void stop() {
        gemini.close();
    }

    static ImageInfo info(byte[] image) {
        return ImageInspector.inspect(Blob.ofBytes(image));
    }

    @Test
    void edit_oneJsonRequest_keyInItsHeader_imagesInOrderThenThePrompt() {
        byte[] png = TestImages.png(64, 64, false);
        byte[] jpeg = TestImages.jpeg(48, 64);
        byte[] webp = TestImages.webpVp8(64, 48);

        ImageResponse r = gemini.client(FLASH).imageEdit(request().images(ImageInput.of(png), ImageInput.of(jpeg),
                ImageInput.of(webp)).build());

        RecordedRequest up = gemini.fake.takeRequest();
        assertThat(up.method()).isEqualTo("POST");
        assertThat(up.path()).isEqualTo("/v1beta/models/gemini-3.1-flash-image:generateContent");
        assertThat(up.queryParameter("key")).as("the key never goes in the URL").isEmpty();
        assertThat(up.header("x-goog-api-key")).contains(KEY);
        assertThat(up.header("Authorization")).isEmpty();
        assertThat(up.header("Content-Type")).contains("application/json");
        assertThat(up.contentLength()).hasValue(up.bodySize());
        JsonNode body = body(up);
        assertThat(body.properties()).extracting(Map.Entry::getKey).containsExactly("contents", "generationConfig");
        assertThat(body.path("contents")).hasSize(1);
        assertThat(body.path("contents").path(0).path("role").asText()).isEqualTo("user");
        JsonNode parts = body.path("contents").path(0).path("parts");
        assertThat(parts).hasSize(4);
        List<byte[]> sent = List.of(png, jpeg, webp);
        List<String> types = List.of("image/png", "image/jpeg", "image/webp");
        for (int i = 0; i < 3; i++) {
            JsonNode inline = parts.path(i).path("inlineData");
            assertThat(inline.path("mimeType").asText()).as("part %d", i).isEqualTo(types.get(i));
            assertThat(Base64.getDecoder().decode(inline.path("data").asText())).as("part %d", i)
                    .isEqualTo(sent.get(i));
        }
        assertThat(parts.path(3).properties()).extracting(Map.Entry::getKey).containsExactly("text");
        assertThat(parts.path(3).path("text").asText()).isEqualTo("add a red hat");
        assertThat(body.path("generationConfig").toString()).isEqualTo("{\"responseModalities\":[\"TEXT\",\"IMAGE\"]}");

        assertThat(r.data()).hasSize(1);
        byte[] image = r.data().get(0).bytes();
        assertThat(info(image).dimensions()).as("no size: the first image's ratio at 1K").isEqualTo("1024x1024");
        assertThat(r.outputFormat()).contains("png");
        assertThat(r.provider()).contains("gemini");
        assertThat(r.model()).contains(FLASH);
        assertThat(r.requestId()).hasValueSatisfying(id -> assertThat(id).isNotBlank());
        // 13 prompt characters = 4 tokens, 560 per input image; the reply's 25 characters = 7 text tokens
        assertThat(r.usage()).contains(new Usage(4 + 3 * 560, 7 + 1120, 4 + 3 * 560 + 7 + 1120, 4, 3 * 560, 1120, 7,
                true));
        assertThat(r.warnings()).contains("gemini's commentary: Here is the edited image.");
    }

    @ParameterizedTest(name = "{0} {1} -> {2} {3}")
    @CsvSource({
            "gemini-3.1-flash-image, 1024x1024, 1:1, 1K, 1024x1024",
            "gemini-3.1-flash-image, 512x512, 1:1, 512, 512x512",
            "gemini-3-pro-image, 512x512, 1:1, 1K, 1024x1024",
            "gemini-3-pro-image, 1536x1024, 3:2, 2K, 2528x1696",
            "gemini-3.1-flash-image, 1024x1536, 2:3, 2K, 1696x2528",
            "gemini-3-pro-image, 1920x1080, 16:9, 2K, 2752x1536",
            "gemini-3-pro-image, 3840x2160, 16:9, 4K, 5504x3072",
            "gemini-3.1-flash-image, 256x1024, 1:4, 1K, 512x2048",
    })
    void size_isSentAsTheNearestRatio_andTheSmallestTierCoveringIt(String model, String size, String ratio,
                                                                  String tier, String delivered) {
        ImageResponse r = gemini.client(model).imageEdit(request().size(size).build());

        JsonNode imageConfig = body(gemini.fake.takeRequest()).path("generationConfig").path("imageConfig");
        assertThat(imageConfig.toString()).isEqualTo("{\"aspectRatio\":\"" + ratio + "\",\"imageSize\":\"" + tier
                + "\"}");
        assertThat(info(r.data().get(0).bytes()).dimensions()).isEqualTo(delivered);
        assertThat(r.warnings()).contains("size " + size + " sent to model '" + model + "' as " + ratio + "@" + tier);
    }

    @Test
    void size_autoSendsNoImageConfig_andARatioIsSentWithoutATier() {
        var easel = gemini.client(PRO);

        easel.imageEdit(request().size("auto").build());
        easel.imageEdit(request().size("21:9").build());

        assertThat(body(gemini.fake.takeRequest()).path("generationConfig").has("imageConfig")).isFalse();
        assertThat(body(gemini.fake.takeRequest()).path("generationConfig").path("imageConfig").toString())
                .isEqualTo("{\"aspectRatio\":\"21:9\"}");
    }

    @Test
    void size_aRatioTheModelLacks_is400NamingTheRatios_beforeAnyCall() {
        assertThatThrownBy(() -> gemini.client(PRO).imageEdit(request().size("1:8").build()))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("Invalid size '1:8'. Supported aspect ratios are 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, "
                        + "16:9, and 21:9.");
        assertThat(gemini.fake.requestCount()).isZero();
    }

    @Test
    void apiBase_thatEndsInTheApiVersion_asLiteLlmWritesIt_isNotGivenItTwice() {
        var easel = gemini.group("{model: gemini/" + FLASH
                + ", api_key: " + KEY + ", api_base: \"" + gemini.fake.baseUrl() + "/v1beta/\"}");

        easel.imageEdit(request().build());

        assertThat(gemini.fake.takeRequest().path()).isEqualTo("/v1beta/models/gemini-3.1-flash-image:generateContent");
    }

    @Test
    void thoughtImages_areSkipped_andTheirTokensBillAsTextOutput() {
        gemini.fake.enqueue(FakeGemini.thoughtImages(2));

        ImageResponse r = gemini.client(FLASH).imageEdit(request().build());

        assertThat(r.data()).as("two drafts, then the image").hasSize(1);
        assertThat(r.usage()).hasValueSatisfying(u -> {
            assertThat(u.outputImageTokens()).isEqualTo(1120);
            assertThat(u.outputTextTokens()).isEqualTo(7 + 2 * 1120);
            assertThat(u.outputTokens()).isEqualTo(1127 + 2240);
            assertThat(u.totalTokens()).isEqualTo(564 + 1127 + 2240);
        });
    }

    @Test
    void imageOnlyModalities_fromExtraBody_areKept_andTheAnswerHasNoCommentary() {
        ImageResponse r = gemini.client(FLASH).imageEdit(request()
                .extraBody(Map.of("generationConfig", Map.of("responseModalities", List.of("IMAGE")))).build());

        assertThat(body(gemini.fake.takeRequest()).path("generationConfig").toString())
                .isEqualTo("{\"responseModalities\":[\"IMAGE\"]}");
        assertThat(r.data()).hasSize(1);
        assertThat(r.warnings()).noneMatch(w -> w.startsWith("gemini's commentary"));
        assertThat(r.usage().orElseThrow().outputTextTokens()).isZero();
    }

    @Test
    void extraBody_geminiFieldsPassThrough_generationConfigMerged_theValidatedSizeWins() {
        List<Map<String, String>> safety = List.of(Map.of("category", "HARM_CATEGORY_HARASSMENT",
                "threshold", "BLOCK_ONLY_HIGH"));
        gemini.client(PRO).imageEdit(request().size("1536x1024").user("end-user-7").extraBody(Map.of(
                "safetySettings", safety,
                "generationConfig", Map.of("temperature", 0.4, "imageConfig", Map.of("aspectRatio", "1:1")))).build());

        JsonNode body = body(gemini.fake.takeRequest());
        assertThat(body.properties()).extracting(Map.Entry::getKey)
                .containsExactlyInAnyOrder("contents", "generationConfig", "safetySettings");
        assertThat(body.path("safetySettings")).isEqualTo(GeminiFixture.JSON.valueToTree(safety));
        JsonNode config = body.path("generationConfig");
        assertThat(config.path("temperature").asDouble()).isEqualTo(0.4);
        assertThat(config.path("responseModalities").toString()).isEqualTo("[\"TEXT\",\"IMAGE\"]");
        assertThat(config.path("imageConfig").toString()).isEqualTo("{\"aspectRatio\":\"3:2\",\"imageSize\":\"2K\"}");
        assertThat(body.toString()).as("OpenAI's user id has no Gemini field").doesNotContain("end-user-7");
    }

    @Test
    void extraHeaders_areForwarded_butNeverReplaceTheDeploymentsKey() {
        gemini.client(FLASH).imageEdit(request().extraHeaders(Map.of("x-goog-api-key", "sk-callers-own",
                "x-trace-tag", "t-1")).build());

        RecordedRequest up = gemini.fake.takeRequest();
        assertThat(up.headerValues("x-goog-api-key")).containsExactly(KEY);
        assertThat(up.header("x-trace-tag")).contains("t-1");
    }

    @Test
    void nAbove1_fansOutOneCallPerImage_usageAddedUp() {
        ImageResponse r = gemini.client(FLASH).imageEdit(request().n(3).build());

        assertThat(gemini.fake.requestCount()).isEqualTo(3);
        assertThat(r.data()).hasSize(3);
        assertThat(r.usage().orElseThrow().outputImageTokens()).isEqualTo(3 * 1120);
        assertThat(r.warnings()).contains("n=3 made in 3 calls (model 'gemini-3.1-flash-image' makes at most 1 per "
                + "call)");
        for (RecordedRequest up : gemini.fake.requests()) {
            assertThat(up.bodyText()).doesNotContain("candidateCount").doesNotContain("\"n\"");
        }
    }

    @Test
    void parameterTheModelLacks_is400NamingItAndTheModel_orDroppedWithDropParams() {
        assertThatThrownBy(() -> gemini.client(FLASH).imageEdit(request().quality("high").build()))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("The model 'gemini-3.1-flash-image' does not support the 'quality' parameter.")
                .satisfies(e -> assertThat(((EaselException) e).param()).contains("quality"));
        assertThat(gemini.fake.requestCount()).isZero();

        ImageResponse r = gemini.client(FLASH, "drop_params: true").imageEdit(request().quality("high")
                .outputFormat("jpeg").build());

        assertThat(r.warnings()).contains("dropped 'quality': model 'gemini-3.1-flash-image' does not support it",
                "dropped 'output_format': model 'gemini-3.1-flash-image' does not support it");
        String sent = gemini.fake.takeRequest().bodyText();
        assertThat(sent).doesNotContain("quality").doesNotContain("jpeg");
    }

    @Test
    void mask_is400_orDroppedWithDropParams_theImagesStillSent() {
        byte[] png = TestImages.png(64, 64, false);
        byte[] mask = TestImages.maskWithHole(64, 64);
        assertThatThrownBy(() -> gemini.client(PRO).imageEdit(request().mask(mask).build()))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("The model 'gemini-3-pro-image' does not support the 'mask' parameter.");
        assertThat(gemini.fake.requestCount()).isZero();

        ImageResponse r = gemini.client(PRO, "drop_params: true").imageEdit(request().image(png).mask(mask).build());

        assertThat(r.warnings()).contains("dropped 'mask': model 'gemini-3-pro-image' takes no mask");
        JsonNode parts = body(gemini.fake.takeRequest()).path("contents").path(0).path("parts");
        assertThat(parts).hasSize(2);
        assertThat(Base64.getDecoder().decode(parts.path(0).path("inlineData").path("data").asText())).isEqualTo(png);
    }

    @Test
    void stream_is400BeforeAnyCall() {
        assertThatThrownBy(() -> gemini.client(FLASH).imageEditStream(request().stream(true).build()))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("The model 'gemini-3.1-flash-image' does not support streaming.");
        assertThat(gemini.fake.requestCount()).isZero();
    }

    // ---- answers without an image --------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST",
            "SPII", "IMAGE_RECITATION", "RECITATION"})
    void safetyFinishReason_isOpenAisModerationBlocked(String reason) {
        gemini.fake.enqueue(FakeGemini.finishReason(reason));

        assertThatThrownBy(() -> gemini.client(FLASH).imageEdit(request().build()))
                .isInstanceOf(ContentPolicyViolationException.class)
                .hasMessage("gemini refused the edit: the edit was stopped by Google's safety filters (finishReason "
                        + reason + ").")
                .satisfies(e -> moderationBlocked((EaselException) e));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY"})
    void blockedPrompt_isOpenAisModerationBlocked(String reason) {
        gemini.fake.enqueue(FakeGemini.promptBlocked(reason));

        assertThatThrownBy(() -> gemini.client(PRO).imageEdit(request().build()))
                .isInstanceOf(ContentPolicyViolationException.class)
                .hasMessage("gemini refused the edit: the prompt was blocked (promptFeedback.blockReason " + reason
                        + ").")
                .satisfies(e -> moderationBlocked((EaselException) e));
    }

    static void moderationBlocked(EaselException e) {
        assertThat(e.status()).hasValue(400);
        assertThat(e.type()).isEqualTo("image_generation_user_error");
        assertThat(e.code()).contains("moderation_blocked");
        assertThat(e.provider()).contains("gemini");
        assertThat(e.requestId()).as("Google's responseId").isPresent();
    }

    @Test
    void moderationBlocked_takesTheContentPolicyFallback_toAnotherProvider() {
        gemini.fake.enqueue(FakeGemini.finishReason("IMAGE_SAFETY"));
        var easel = gemini.config("model_list:\n"
                + "  - model_name: edit\n    litellm_params: " + gemini.deployment(FLASH, "") + "\n"
                + "  - model_name: safe\n    litellm_params: {model: mock/gpt-image-1}\n"
                + "router_settings: {num_retries: 0, content_policy_fallbacks: [{\"edit\": [\"safe\"]}]}\n");

        ImageResponse r = easel.imageEdit(request().build());

        assertThat(r.provider()).contains("mock");
        assertThat(gemini.fake.requestCount()).isEqualTo(1);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"NO_IMAGE", "IMAGE_OTHER", "MAX_TOKENS", "OTHER"})
    void noImage_isA422QuotingTheFinishReason(String reason) {
        gemini.fake.enqueue(FakeGemini.finishReason(reason));

        assertThatThrownBy(() -> gemini.client(FLASH).imageEdit(request().build()))
                .isInstanceOf(UnprocessableEntityException.class)
                .hasMessage("gemini returned no image (finishReason " + reason + ").")
                .satisfies(e -> {
                    EaselException ee = (EaselException) e;
                    assertThat(ee.status()).hasValue(422);
                    assertThat(ee.code()).contains("no_image_generated");
                });
    }

    @Test
    void textOnlyAnswer_isA422QuotingWhatTheModelSaid() {
        gemini.fake.enqueue(FakeGemini.textOnly());

        assertThatThrownBy(() -> gemini.client(FLASH).imageEdit(request().build()))
                .isInstanceOf(UnprocessableEntityException.class)
                .hasMessage("gemini returned no image (finishReason STOP); the model said: \"I can't edit this image "
                        + "as asked, but I can describe what I would change.\".");
    }

    @Test
    void longCommentary_isQuotedBounded() {
        String words = "word ".repeat(200);
        gemini.fake.enqueue(FakeResponse.json(200, """
                {"candidates":[{"content":{"role":"model","parts":[{"text":"%s"}]},"finishReason":"STOP"}],
                 "responseId":"r-1"}""".formatted(words)));

        assertThatThrownBy(() -> gemini.client(FLASH).imageEdit(request().build()))
                .isInstanceOf(UnprocessableEntityException.class)
                .satisfies(e -> assertThat(e.getMessage()).contains("the model said: \""
                        + words.substring(0, GeminiAnswer.MAX_COMMENTARY) + "…\"").hasSizeLessThan(400));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            "{}",
            "[]",
            "{\"candidates\":{}}",
            "{\"candidates\":[\"STOP\"]}",
            "{\"candidates\":[{\"content\":{\"parts\":\"a hat\"}}]}",
            "{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":\"text/plain\",\"data\":\"aGk=\"}}]}}]}",
            "{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":\"image/png\"}}]}}]}",
            "{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"n\\u00f6\"}}]}}]}",
    })
    void answerThatIsNotGeminis_is502BadUpstreamResponse(String answer) {
        gemini.fake.enqueue(FakeResponse.json(200, answer));

        assertThatThrownBy(() -> gemini.client(FLASH).imageEdit(request().build()))
                .isInstanceOf(InternalServerException.class)
                .hasMessageStartingWith("gemini returned an unreadable response (")
                .satisfies(e -> {
                    assertThat(((EaselException) e).status()).hasValue(502);
                    assertThat(((EaselException) e).code()).contains("bad_upstream_response");
                });
    }

    @Test
    void base64WithJsonEscapes_isStillTheImage() {
        byte[] png = TestImages.png(8, 8, false);
        String escaped = Base64.getEncoder().encodeToString(png).replace("/", "\\/");
        gemini.fake.enqueue(FakeResponse.json(200, """
                {"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"%s"}}]},
                 "finishReason":"STOP"}]}""".formatted(escaped)));

        ImageResponse r = gemini.client(FLASH).imageEdit(request().build());

        assertThat(r.data().get(0).bytes()).isEqualTo(png);
        assertThat(r.usage()).as("no usageMetadata").isEmpty();
    }

    @Test
    void imagesBesideMegabytesOfOtherParts_areCopiedOutOfTheAnswer_intact() {
        byte[] png = TestImages.png(8, 8, false);
        String b64 = Base64.getEncoder().encodeToString(png);
        String draft = "A".repeat(1_200_000); // a thought draft of 1.2 MB: more than the answer should keep alive
        gemini.fake.enqueue(FakeResponse.json(200, """
                {"candidates":[{"content":{"parts":[
                  {"inlineData":{"mimeType":"image/png","data":"%s"},"thought":true},
                  {"inlineData":{"mimeType":"image/png","data":"%s"}}]},"finishReason":"STOP"}]}"""
                .formatted(draft, b64)));

        ImageResponse r = gemini.client(FLASH).imageEdit(request().build());

        assertThat(GeminiAnswer.copyOut(1_200_000 + b64.length() + 200, b64.length())).isTrue();
        assertThat(GeminiAnswer.copyOut(b64.length() + 200, b64.length())).isFalse();
        assertThat(r.data()).singleElement().satisfies(d -> assertThat(d.bytes()).isEqualTo(png));
    }

    @Test
    void severalCandidatesAndAnUnusualFinish_everyImageKept_theFinishWarned() {
        String b64 = Base64.getEncoder().encodeToString(TestImages.png(8, 8, false));
        gemini.fake.enqueue(FakeResponse.json(200, """
                {"candidates":[
                  {"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"%1$s"}}]},"finishReason":"STOP"},
                  {"content":{"parts":[{"inline_data":{"mime_type":"image/jpeg","data":"%1$s"}}]},
                   "finishReason":"MAX_TOKENS"}]}""".formatted(b64)));

        ImageResponse r = gemini.client(FLASH).imageEdit(request().build());

        assertThat(r.data()).hasSize(2);
        assertThat(r.warnings()).contains("gemini finished with MAX_TOKENS (images returned)");
    }

    @Test
    void connectionReset_isAConnectionError() {
        gemini.fake.enqueue(FakeResponse.dropConnection());

        assertThatThrownBy(() -> gemini.client(FLASH).imageEdit(request().build()))
                .isInstanceOf(ConnectionException.class);
    }

    @Test
    void overloaded_isRetried_andTheRetrySucceeds() {
        gemini.fake.enqueue(FakeGemini.unavailable());
        var easel = gemini.config("model_list:\n  - model_name: edit\n    litellm_params: "
                + gemini.deployment(FLASH, "") + "\nrouter_settings: {num_retries: 1}\n");

        ImageResponse r = easel.imageEdit(request().build());

        assertThat(r.data()).hasSize(1);
        assertThat(gemini.fake.requestCount()).isEqualTo(2);
    }
}
