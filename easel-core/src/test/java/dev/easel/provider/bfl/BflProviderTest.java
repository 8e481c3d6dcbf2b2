package dev.easel.provider.bfl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ContentPolicyViolationException;
import dev.easel.Easel;
import dev.easel.EaselException;
import dev.easel.ImageEditRequest;
import dev.easel.ImageInput;
import dev.easel.ImageResponse;
import dev.easel.InternalServerException;
import dev.easel.NotFoundException;
import dev.easel.RateLimitException;
import dev.easel.TimeoutException;
import dev.easel.config.ConfigLoader;
import dev.easel.image.TestImages;
import dev.easel.testkit.FakeBfl;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.ManualClock;
import dev.easel.testkit.RecordedRequest;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Black Forest Labs adapter through a real client against the testkit's strict FakeBfl: what each endpoint
 * family receives (x-key, body fields, image order, size, mask, extras with BFL's types), every job outcome
 * (ready, moderated, failed, lost, expired sample, pending past the deadline), failed polls polled again while the
 * job is submitted exactly once, and the errors mapped by meaning.
 */
class BflProviderTest {

    static final String KEY = "bfl-test-0123456789abcdef";
    static final ObjectMapper JSON = new ObjectMapper();

    final ManualClock bflClock = new ManualClock(Instant.parse("2026-12-06T10:00:00Z"));
    final ManualClock easelClock = new ManualClock(Instant.parse("2026-12-06T10:00:00Z"));
    final List<Duration> waits = new CopyOnWriteArrayList<>();
    FakeBfl fake;

    @BeforeEach
    void start() {
        fake = FakeBfl.builder().apiKey(KEY).clock(bflClock).pendingPolls(2).start();
    }

    @AfterEach
    void stop() {
        fake.close();
    }

    /** A client serving {@code black_forest_labs/<model>} as group {@code edit}; waits move its own clock. */
    Easel client(String model, String moreParams) {
        return client(model, moreParams, KEY);
    }

    Easel client(String model, String moreParams, String key) {
        String yaml = """
                model_list:
                  - model_name: edit
                    litellm_params: {model: black_forest_labs/%s, api_key: %s, api_base: "%s"%s}
                router_settings: {num_retries: 0}
                """.formatted(model, key, fake.baseUrl(), moreParams.isEmpty() ? "" : ", " + moreParams);
        Easel e = Easel.builder().config(ConfigLoader.parse(yaml, Map.of(), "bfl.yaml")).clock(easelClock)
                .sleeper(d -> {
                    waits.add(d);
                    easelClock.advance(d);
                }).build();
        return e;
    }

    Easel client(String model) {
        return client(model, "");
    }

    static ImageEditRequest.Builder request() {
        return ImageEditRequest.builder().model("edit").prompt("add a red hat").image(TestImages.png(64, 64, false));
    }

    List<RecordedRequest> submits() {
        return fake.requests().stream().filter(r -> r.method().equals("POST")).toList();
    }

    JsonNode body(RecordedRequest r) throws Exception {
        return JSON.readTree(r.body());
    }

    static byte[] b64(JsonNode n) {
        return Base64.getDecoder().decode(n.asText());
    }

    // ---- what reaches BFL ----------------------------------------------------------------------------------

    @Test
    void kontext_oneSubmit_xKey_promptAndImagesInOrder_sizeAsAspectRatio_pollsWithTheKey() throws Exception {
        List<byte[]> images = List.of(TestImages.png(64, 64, false), TestImages.jpeg(64, 80),
                TestImages.png(48, 64, true));

        ImageResponse r = client("flux-kontext-pro").imageEdit(ImageEditRequest.builder().model("edit")
                .prompt("add a red hat").images(images.stream().map(ImageInput::of).toArray(ImageInput[]::new))
                .size("1024x1536").build());

        RecordedRequest submit = submits().getFirst();
        assertThat(submits()).hasSize(1);
        assertThat(submit.path()).isEqualTo("/v1/flux-kontext-pro");
        assertThat(submit.header("x-key")).contains(KEY);
        assertThat(submit.header("Content-Type")).contains("application/json");
        assertThat(submit.header("Authorization")).isEmpty();
        JsonNode body = body(submit);
        assertThat(body.properties().stream().map(Map.Entry::getKey).toList())
                .containsExactly("prompt", "input_image", "input_image_2", "input_image_3", "aspect_ratio");
        assertThat(body.get("prompt").asText()).isEqualTo("add a red hat");
        for (int i = 0; i < 3; i++) {
            assertThat(b64(body.get(i == 0 ? "input_image" : "input_image_" + (i + 1)))).as("image %d", i)
                    .isEqualTo(images.get(i));
        }
        assertThat(body.get("aspect_ratio").asText()).isEqualTo("2:3"); // 1024x1536's ratio
        String job = fake.jobIds().getFirst();
        List<RecordedRequest> polls = fake.requests().stream().filter(q -> q.path().equals("/v1/get_result"))
                .toList();
        assertThat(polls).hasSize(3).allSatisfy(p -> {
            assertThat(p.header("x-key")).contains(KEY);
            assertThat(p.queryParameter("id")).contains(job);
        });
        assertThat(fake.sampleDownloads()).isEqualTo(1);
        assertThat(r.data()).singleElement().satisfies(d -> assertThat(d.bytes()).startsWith(0xFF, 0xD8));
        assertThat(r.outputFormat()).contains("jpeg");
        assertThat(r.size()).contains("832x1248"); // about 1 MP at 2:3
        assertThat(r.provider()).contains("black_forest_labs");
        assertThat(r.warnings()).contains("size 1024x1536 sent to model 'flux-kontext-pro' as 2:3");
    }

    @Test
    void kontext_sizeAuto_sendsNoRatio_andOutputFormatPng_comesBackPng() throws Exception {
        ImageResponse r = client("flux-kontext-max").imageEdit(request().size("auto").outputFormat("png").build());

        JsonNode body = body(submits().getFirst());
        assertThat(body.has("aspect_ratio")).isFalse();
        assertThat(body.get("output_format").asText()).isEqualTo("png");
        assertThat(r.outputFormat()).contains("png");
        assertThat(r.data().getFirst().bytes()).startsWith(0x89, 'P', 'N', 'G');
    }

    @Test
    void kontext_aRatioAsSize_isSentAsItIs() throws Exception {
        client("flux-kontext-pro").imageEdit(request().size("16:9").build());

        assertThat(body(submits().getFirst()).get("aspect_ratio").asText()).isEqualTo("16:9");
    }

    @Test
    void extras_mayNotReplaceWhatEaselSetsFromTheRequest() {
        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().size("1024x1024")
                .extraBody(Map.of("aspect_ratio", "21:9")).build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.getMessage())
                        .isEqualTo("'aspect_ratio' is also given by 'size'; send one of them."));
        assertThatThrownBy(() -> client("flux-2-pro").imageEdit(request().extraBody(Map.of("input_image_2",
                "https://example.com/a.png")).build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param())
                        .contains("input_image_2"));
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void noApiKey_is401_nothingSent() {
        String yaml = """
                model_list:
                  - model_name: edit
                    litellm_params: {model: black_forest_labs/flux-kontext-pro, api_base: "%s"}
                """.formatted(fake.baseUrl());
        Easel easel = Easel.builder().config(ConfigLoader.parse(yaml, Map.of(), "bfl.yaml")).sleeper(d -> { })
                .build();

        assertThatThrownBy(() -> easel.imageEdit(request().build()))
                .isInstanceOfSatisfying(AuthenticationException.class, e -> {
                    assertThat(e.code()).contains("missing_api_key");
                    assertThat(e.getMessage()).isEqualTo("no api key for black_forest_labs: set api_key (e.g. "
                            + "os.environ/BFL_API_KEY)");
                });
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void extras_travelWithBflsTypes_formStringsBecomeNumbersAndBooleans() throws Exception {
        client("flux-kontext-pro").imageEdit(request().extraBody(Map.of("seed", "42", "safety_tolerance", "2",
                "prompt_upsampling", "true")).build());
        client("flux-2-flex").imageEdit(request().extraBody(Map.of("steps", 30, "guidance", "2.5")).build());

        JsonNode kontext = body(submits().get(0));
        assertThat(kontext.get("seed").isIntegralNumber()).isTrue();
        assertThat(kontext.get("seed").asLong()).isEqualTo(42);
        assertThat(kontext.get("safety_tolerance").asInt()).isEqualTo(2);
        assertThat(kontext.get("prompt_upsampling").isBoolean()).isTrue();
        JsonNode flex = body(submits().get(1));
        assertThat(flex.get("steps").asInt()).isEqualTo(30);
        assertThat(flex.get("guidance").isNumber()).isTrue();
        assertThat(flex.get("guidance").decimalValue()).isEqualByComparingTo("2.5");
    }

    @Test
    void kontext_safetyToleranceAboveTwo_is400_beforeAnythingIsSubmitted() {
        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().extraBody(Map.of(
                "safety_tolerance", 4)).build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.getMessage()).isEqualTo("safety_tolerance must be between 0 and 2 (was 4)");
                    assertThat(e.param()).contains("safety_tolerance");
                    assertThat(e.code()).contains("integer_above_max_value");
                });
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void badlyTypedExtra_is400NamingIt_notSubmitted() {
        assertThatThrownBy(() -> client("flux-2-flex").imageEdit(request().extraBody(Map.of("guidance", "lots"))
                .build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.getMessage()).isEqualTo("Invalid 'guidance': expected a number (was 'lots').");
                    assertThat(e.param()).contains("guidance");
                });
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void flux2_sizeAsWidthAndHeight_eightImagesAsInputImage1to8() throws Exception {
        List<byte[]> images = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            images.add(TestImages.png(64, 64 + i, false));
        }

        ImageResponse r = client("flux-2-pro").imageEdit(ImageEditRequest.builder().model("edit").prompt("merge")
                .images(images.stream().map(ImageInput::of).toArray(ImageInput[]::new)).size("1536x1024").build());

        JsonNode body = body(submits().getFirst());
        assertThat(submits().getFirst().path()).isEqualTo("/v1/flux-2-pro");
        assertThat(body.get("width").asInt()).isEqualTo(1536);
        assertThat(body.get("height").asInt()).isEqualTo(1024);
        assertThat(b64(body.get("input_image"))).isEqualTo(images.get(0));
        assertThat(b64(body.get("input_image_8"))).isEqualTo(images.get(7));
        assertThat(r.size()).contains("1536x1024");
    }

    @Test
    void flux2_sizeOffTheSixteenPixelGrid_is400_notSubmitted() {
        assertThatThrownBy(() -> client("flux-2-max").imageEdit(request().size("1000x1000").build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.getMessage())
                        .isEqualTo("Invalid size '1000x1000'. Width and height must both be divisible by 16."));
        assertThatThrownBy(() -> client("flux-2-pro").imageEdit(ImageEditRequest.builder().model("edit").prompt("p")
                .images(java.util.stream.IntStream.range(0, 9).mapToObj(i -> ImageInput.of(TestImages.png(8, 8,
                        false))).toArray(ImageInput[]::new)).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("at most 8 images (was 9)");
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void fill_imageAndTheAlphaMaskAsWhiteOnBlack_sameSize() throws Exception {
        byte[] image = TestImages.png(64, 64, false);

        ImageResponse r = client("flux-pro-1.0-fill").imageEdit(ImageEditRequest.builder().model("edit")
                .prompt("a window").image(image).mask(TestImages.maskWithHole(64, 64)).extraBody(Map.of("steps", "20"))
                .build());

        JsonNode body = body(submits().getFirst());
        assertThat(body.properties().stream().map(Map.Entry::getKey).toList())
                .containsExactly("prompt", "image", "mask", "steps");
        assertThat(b64(body.get("image"))).isEqualTo(image);
        BufferedImage mask = ImageIO.read(new ByteArrayInputStream(b64(body.get("mask"))));
        assertThat(mask.getWidth()).isEqualTo(64);
        assertThat(mask.getHeight()).isEqualTo(64);
        assertThat(mask.getRaster().getSample(32, 32, 0)).as("the transparent hole is filled").isEqualTo(255);
        assertThat(mask.getRaster().getSample(2, 2, 0)).as("the opaque border is kept").isZero();
        assertThat(body.get("steps").asInt()).isEqualTo(20);
        assertThat(r.size()).contains("64x64");
    }

    @Test
    void fill_withoutMask_needsAnImageWithTransparency() {
        assertThatThrownBy(() -> client("flux-pro-1.0-fill").imageEdit(request().build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.getMessage())
                        .contains("model 'flux-pro-1.0-fill' edits the transparent area of the image"));
        assertThatThrownBy(() -> client("flux-pro-1.0-fill").imageEdit(request().size("1024x1024").build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.getMessage())
                        .isEqualTo("Invalid size '1024x1024'. Supported sizes are auto."));
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void expand_sidesFromExtraFields_resultIsTheImagePlusThem() throws Exception {
        ImageResponse r = client("flux-pro-1.0-expand").imageEdit(ImageEditRequest.builder().model("edit")
                .prompt("more sky").image(TestImages.png(64, 48, false))
                .extraBody(Map.of("top", "16", "left", 8)).build());

        JsonNode body = body(submits().getFirst());
        assertThat(body.get("image")).isNotNull();
        assertThat(body.has("input_image")).isFalse();
        assertThat(body.get("top").asInt()).isEqualTo(16);
        assertThat(body.get("left").asInt()).isEqualTo(8);
        assertThat(r.size()).contains("72x64");
    }

    @Test
    void webhookUrl_isRefused_becauseEaselPolls() {
        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().extraBody(Map.of("webhook_url",
                "https://example.com/hook")).build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.param()).contains("webhook_url");
                    assertThat(e.code()).contains("unsupported_parameter");
                    assertThat(e.getMessage()).contains("Easel polls Black Forest Labs for the result");
                });
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void aParameterTheModelLacks_is400_orDroppedWithDropParams() throws Exception {
        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().quality("high").build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.code()).contains("unsupported_parameter");
                    assertThat(e.param()).contains("quality");
                });
        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().outputFormat("webp").build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.getMessage())
                        .isEqualTo("Invalid value: 'webp'. Supported values are: 'jpeg' and 'png'."));
        assertThatThrownBy(() -> client("flux-2-pro").imageEdit(request().mask(TestImages.maskWithHole(64, 64))
                .build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).contains("mask"));
        assertThat(fake.requestCount()).isZero();

        ImageResponse r = client("flux-kontext-pro", "drop_params: true").imageEdit(request().quality("high")
                .mask(TestImages.maskWithHole(64, 64)).build());

        JsonNode body = body(submits().getFirst());
        assertThat(body.has("quality")).isFalse();
        assertThat(body.has("mask")).isFalse();
        assertThat(r.warnings()).contains("dropped 'quality': model 'flux-kontext-pro' does not support it",
                "dropped 'mask': model 'flux-kontext-pro' takes no mask");
    }

    @Test
    void nAboveOne_fansOutIntoOneJobPerImage() {
        ImageResponse r = client("flux-kontext-pro").imageEdit(request().n(3).build());

        assertThat(r.data()).hasSize(3);
        assertThat(fake.submissions("flux-kontext-pro")).isEqualTo(3);
        assertThat(fake.jobIds()).hasSize(3).doesNotHaveDuplicates();
        assertThat(r.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.12"));
    }

    @Test
    void modelOfNoKnownFamily_is400_nothingSent() {
        assertThatThrownBy(() -> client("flux-dev").imageEdit(request().build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.code()).contains("model_not_found");
                    assertThat(e.getMessage()).contains("'flux-dev'");
                });
        assertThat(fake.requestCount()).isZero();
    }

    // ---- job outcomes --------------------------------------------------------------------------------------

    @Test
    void failedPolls_arePolledAgain_andTheJobIsSubmittedExactlyOnce() {
        fake.enqueuePoll(FakeResponse.serverError());
        fake.enqueuePoll(FakeBfl.detail(503, "Service Unavailable"));
        fake.enqueuePoll(FakeBfl.tooManyActiveTasks());
        fake.enqueuePoll(FakeResponse.malformedJson());

        ImageResponse r = client("flux-kontext-pro").imageEdit(request().build());

        assertThat(r.data()).hasSize(1);
        assertThat(fake.submissions("flux-kontext-pro")).isEqualTo(1);
        assertThat(fake.polls(fake.jobIds().getFirst())).isEqualTo(4 + 2 + 1); // failed, pending, ready
    }

    @Test
    void resetPoll_isPolledAgain_submittedExactlyOnce() {
        fake.enqueuePoll(FakeResponse.dropConnection());

        ImageResponse r = client("flux-2-pro").imageEdit(request().build());

        assertThat(r.data()).hasSize(1);
        assertThat(fake.submissions("flux-2-pro")).isEqualTo(1);
        assertThat(fake.polls(fake.jobIds().getFirst())).isEqualTo(1 + 2 + 1);
    }

    @Test
    void unknownStatus_isPending() {
        fake.enqueuePoll(FakeResponse.json(200, "{\"id\":\"x\",\"status\":\"Queued\",\"result\":null}"));

        ImageResponse r = client("flux-kontext-pro").imageEdit(request().build());

        assertThat(r.data()).hasSize(1);
        assertThat(fake.polls(fake.jobIds().getFirst())).isEqualTo(1 + 2 + 1);
    }

    @Test
    void requestModerated_isModerationBlocked_namingTheJobAndReasons() {
        fake.enqueue(FakeBfl.requestModerated());

        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().build()))
                .isInstanceOfSatisfying(ContentPolicyViolationException.class, e -> {
                    String job = fake.jobIds().getFirst();
                    assertThat(e.httpStatus()).isEqualTo(400);
                    assertThat(e.type()).isEqualTo("image_generation_user_error");
                    assertThat(e.code()).contains("moderation_blocked");
                    assertThat(e.jobId()).contains(job);
                    assertThat(e.getMessage()).isEqualTo("Your request was rejected by Black Forest Labs' safety "
                            + "system (Request Moderated: Derivative Works Filter) for job " + job + ".");
                });
        assertThat(fake.sampleDownloads()).isZero();
    }

    @Test
    void contentModerated_isModerationBlocked() {
        fake.enqueue(FakeBfl.contentModerated());

        assertThatThrownBy(() -> client("flux-2-pro").imageEdit(request().build()))
                .isInstanceOfSatisfying(ContentPolicyViolationException.class, e -> {
                    assertThat(e.code()).contains("moderation_blocked");
                    assertThat(e.getMessage()).contains("(Content Moderated: NSFW)");
                });
    }

    @Test
    void errorAndFailed_areServerErrorsNamingTheJob() {
        fake.enqueue(FakeBfl.job("Error", 1));
        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().build()))
                .isInstanceOfSatisfying(InternalServerException.class, e -> {
                    String job = fake.jobIds().getFirst();
                    assertThat(e.httpStatus()).isEqualTo(500);
                    assertThat(e.code()).contains("job_failed");
                    assertThat(e.jobId()).contains(job);
                    assertThat(e.getMessage()).isEqualTo("black_forest_labs job " + job + " ended with status "
                            + "'Error' (Generation failed); nothing was returned");
                });

        fake.enqueuePoll(FakeResponse.json(200, "{\"id\":\"x\",\"status\":\"Failed\",\"result\":null}"));
        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().build()))
                .isInstanceOfSatisfying(InternalServerException.class, e -> {
                    assertThat(e.jobId()).contains(fake.jobIds().get(1));
                    assertThat(e.getMessage()).contains("ended with status 'Failed'");
                });
        assertThat(fake.submissions("flux-kontext-pro")).isEqualTo(2);
    }

    @Test
    void taskNotFound_is502NamingTheJob() {
        fake.enqueue(FakeBfl.job("Task not found", 1));

        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().build()))
                .isInstanceOfSatisfying(InternalServerException.class, e -> {
                    String job = fake.jobIds().getFirst();
                    assertThat(e.httpStatus()).isEqualTo(502);
                    assertThat(e.code()).contains("job_not_found");
                    assertThat(e.getMessage()).isEqualTo("black_forest_labs no longer knows job " + job
                            + " (its polling URL answers 'Task not found')");
                });
    }

    @Test
    void expiredSample_is502NamingTheJob_notAHang() throws Exception {
        // a sample URL of an earlier job, signed for 10 minutes, read after 11
        HttpClient http = HttpClient.newHttpClient();
        JsonNode earlier = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(fake.baseUrl()
                        + "/v1/flux-kontext-pro")).header("x-key", KEY).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"prompt\":\"x\"}")).build(), HttpResponse.BodyHandlers.ofString()).body());
        JsonNode ready;
        do {
            ready = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(earlier.get("polling_url").asText()))
                    .header("x-key", KEY).build(), HttpResponse.BodyHandlers.ofString()).body());
        } while (!ready.get("status").asText().equals("Ready"));
        bflClock.advance(Duration.ofMinutes(11));
        fake.enqueuePoll(FakeResponse.json(200, "{\"id\":\"x\",\"status\":\"Ready\",\"result\":{\"sample\":\""
                + ready.path("result").get("sample").asText() + "\"}}"));

        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().build()))
                .isInstanceOfSatisfying(InternalServerException.class, e -> {
                    String job = fake.jobIds().get(1);
                    assertThat(e.httpStatus()).isEqualTo(502);
                    assertThat(e.code()).contains("bad_upstream_response");
                    assertThat(e.jobId()).contains(job);
                    assertThat(e.getMessage()).isEqualTo("black_forest_labs returned a result URL that is expired "
                            + "or gone (HTTP 403) for job " + job);
                });
        assertThat(fake.submissions("flux-kontext-pro")).isEqualTo(2); // the earlier one and ours, once
        assertThat(fake.sampleDownloads()).isZero();
    }

    @Test
    void pendingPastTheDeadline_isATimeoutNamingTheJob_submittedOnce() {
        fake.enqueue(FakeBfl.job("Ready", 10_000));

        assertThatThrownBy(() -> client("flux-kontext-pro", "timeout: 5").imageEdit(request().build()))
                .isInstanceOfSatisfying(TimeoutException.class, e -> {
                    String job = fake.jobIds().getFirst();
                    assertThat(e.jobId()).contains(job);
                    assertThat(e.getMessage()).contains("black_forest_labs job " + job
                            + " was still pending after 5000 ms");
                });
        assertThat(fake.submissions("flux-kontext-pro")).isEqualTo(1);
        // BFL's Retry-After: 1 on pending polls sets the pace after the first half second
        assertThat(waits.getFirst()).isEqualTo(Duration.ofMillis(500));
        assertThat(waits.subList(1, waits.size() - 1)).containsOnly(Duration.ofSeconds(1));
    }

    @Test
    void pollingUrlOnAForeignHost_is502_neverFetched() {
        fake.enqueue(FakeResponse.json(200, "{\"id\":\"job-x\",\"polling_url\":\"https://bfl.ai.attacker.example"
                + "/v1/get_result?id=job-x\",\"cost\":4}"));

        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().build()))
                .isInstanceOfSatisfying(InternalServerException.class, e -> {
                    assertThat(e.httpStatus()).isEqualTo(502);
                    assertThat(e.code()).contains("bad_upstream_response");
                    assertThat(e.jobId()).contains("job-x");
                    assertThat(e.getMessage()).isEqualTo("black_forest_labs returned a polling URL on host "
                            + "'bfl.ai.attacker.example' for task job-x, which is neither an https bfl.ai host nor "
                            + "the configured api_base host; it was not fetched");
                });
        assertThat(fake.requestCount()).isEqualTo(1);
    }

    @Test
    void unreadableSubmitAnswers_are502s() {
        fake.enqueue(FakeResponse.malformedJson());
        fake.enqueue(FakeResponse.json(200, "{\"polling_url\":\"" + fake.baseUrl() + "/v1/get_result?id=x\"}"));

        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().build()))
                .isInstanceOfSatisfying(InternalServerException.class, e -> {
                    assertThat(e.httpStatus()).isEqualTo(502);
                    assertThat(e.getMessage()).isEqualTo("black_forest_labs returned a submit answer that is not a "
                            + "JSON object");
                });
        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().build()))
                .isInstanceOfSatisfying(InternalServerException.class, e -> assertThat(e.getMessage())
                        .isEqualTo("black_forest_labs returned a submit answer without a task id"));
    }

    @Test
    void submitAnswerWithoutPollingUrl_isPolledAtGetResult() {
        fake.enqueue(FakeResponse.json(200, "{\"id\":\"job-x\"}"));

        // the fake never made job-x, so it is not found: what counts is where Easel asked
        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().build()))
                .isInstanceOfSatisfying(InternalServerException.class, e -> assertThat(e.code())
                        .contains("job_not_found"));
        RecordedRequest poll = fake.requests().get(1);
        assertThat(poll.path()).isEqualTo("/v1/get_result");
        assertThat(poll.queryParameter("id")).contains("job-x");
        assertThat(poll.header("x-key")).contains(KEY);
    }

    @Test
    void pollable_httpsBflHosts_orTheApiBaseHostOnly() {
        URI base = URI.create("https://api.eu.bfl.ai");
        assertThat(BflProtocol.pollable(URI.create("https://api.eu.bfl.ai/v1/get_result?id=1"), base)).isTrue();
        assertThat(BflProtocol.pollable(URI.create("https://gateway.bfl.ai/v1/get_result?id=1"), base)).isTrue();
        assertThat(BflProtocol.pollable(URI.create("http://api.bfl.ai/v1/get_result?id=1"), base)).isFalse();
        assertThat(BflProtocol.pollable(URI.create("https://evilbfl.ai/v1/get_result"), base)).isFalse();
        assertThat(BflProtocol.pollable(URI.create("https://user@api.bfl.ai/v1/get_result"), base)).isFalse();
        URI local = URI.create("http://127.0.0.1:8080");
        assertThat(BflProtocol.pollable(URI.create("http://127.0.0.1:9999/v1/get_result?id=1"), local)).isTrue();
        assertThat(BflProtocol.pollable(URI.create("http://10.0.0.1/v1/get_result?id=1"), local)).isFalse();
    }

    // ---- errors by meaning ---------------------------------------------------------------------------------

    @Test
    void wrongKey_bfls403NotAuthenticated_isA401AuthenticationError_withoutTheKey() {
        assertThatThrownBy(() -> client("flux-kontext-pro", "", "bfl-wrong-key-987654").imageEdit(request().build()))
                .isInstanceOfSatisfying(AuthenticationException.class, e -> {
                    assertThat(e.httpStatus()).isEqualTo(401);
                    assertThat(e.type()).isEqualTo("authentication_error");
                    assertThat(e.code()).contains("invalid_api_key");
                    assertThat(e.getMessage()).isEqualTo("black_forest_labs did not accept the api key (HTTP 403: "
                            + "Not authenticated - Invalid Authentication)").doesNotContain("bfl-wrong-key-987654");
                });
    }

    @Test
    void noCredits_isInsufficientQuota_notRetried() {
        fake.enqueue(FakeBfl.insufficientCredits());

        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().build()))
                .isInstanceOfSatisfying(RateLimitException.class, e -> {
                    assertThat(e.httpStatus()).isEqualTo(429);
                    assertThat(e.type()).isEqualTo("insufficient_quota");
                    assertThat(e.code()).contains("insufficient_quota");
                    assertThat(e.retryable()).isFalse();
                    assertThat(e.getMessage()).contains("no credits left");
                });
    }

    @Test
    void tooManyActiveTasks_isARateLimit_withRetryAfter() {
        fake.enqueue(FakeBfl.tooManyActiveTasks());

        assertThatThrownBy(() -> client("flux-kontext-pro").imageEdit(request().build()))
                .isInstanceOfSatisfying(RateLimitException.class, e -> {
                    assertThat(e.retryAfter()).contains(Duration.ofSeconds(1));
                    assertThat(e.retryable()).isTrue();
                    assertThat(e.jobId()).isEmpty();
                    assertThat(e.getMessage()).contains("maximum number of active tasks (24)");
                });
        assertThat(fake.jobIds()).isEmpty();
    }

    @Test
    void fastApi422_isA400QuotingLocAndMsg() {
        assertThatThrownBy(() -> client("flux-2-flex").imageEdit(request().extraBody(Map.of("guidance", 50)).build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.httpStatus()).isEqualTo(400);
                    assertThat(e.param()).contains("guidance");
                    assertThat(e.getMessage()).isEqualTo("black_forest_labs rejected the request: body.guidance: "
                            + "Input should be less than or equal to 10");
                });
        assertThat(fake.jobIds()).isEmpty();
    }

    @Test
    void endpointBflDoesNotServe_isNotFound() {
        assertThatThrownBy(() -> client("flux-2-klein-4b").imageEdit(request().build()))
                .isInstanceOfSatisfying(NotFoundException.class, e -> assertThat(e.getMessage())
                        .isEqualTo("black_forest_labs answered HTTP 404: Not Found"));
    }

    @Test
    void errorMapping_byMeaning() {
        record Case(int status, String body, Class<? extends EaselException> type, int httpStatus) {
        }
        var h = java.net.http.HttpHeaders.of(Map.of(), (a, b) -> true);
        for (Case c : List.of(
                new Case(401, "{\"detail\":\"Invalid key\"}", AuthenticationException.class, 401),
                new Case(403, "{\"detail\":\"Forbidden: this key may not use flux-2-max\"}",
                        dev.easel.PermissionDeniedException.class, 403),
                new Case(400, "{\"error\":\"bad\",\"message\":\"prompt is empty\"}", BadRequestException.class, 400),
                new Case(500, "<html>oops</html>", InternalServerException.class, 500),
                new Case(503, "", dev.easel.ServiceUnavailableException.class, 503))) {
            EaselException e = BflProtocol.error(c.status(), c.body().getBytes(), h, KEY);
            assertThat(e).as("%s", c).isInstanceOf(c.type());
            assertThat(e.httpStatus()).as("%s", c).isEqualTo(c.httpStatus());
        }
        assertThat(BflProtocol.error(400, "{\"message\":\"prompt is empty\"}".getBytes(), h, KEY).getMessage())
                .isEqualTo("black_forest_labs answered HTTP 400: prompt is empty");
        assertThat(BflProtocol.error(500, ("{\"detail\":\"key " + KEY + " broke\"}").getBytes(), h, KEY)
                .getMessage()).isEqualTo("black_forest_labs answered HTTP 500: key **** broke");
    }
}
