package dev.easel.provider.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ConnectionException;
import dev.easel.ContentPolicyViolationException;
import dev.easel.Easel;
import dev.easel.ImageEditEvent;
import dev.easel.ImageEditRequest;
import dev.easel.ImageEditStream;
import dev.easel.ImageInput;
import dev.easel.ImageResponse;
import dev.easel.InternalServerException;
import dev.easel.NotFoundException;
import dev.easel.PermissionDeniedException;
import dev.easel.RateLimitException;
import dev.easel.ServiceUnavailableException;
import dev.easel.TimeoutException;
import dev.easel.UnprocessableEntityException;
import dev.easel.image.TestImages;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedPart;
import dev.easel.testkit.RecordedRequest;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The OpenAI adapter against the testkit's fake: the exact request that arrives, and every answer kind. */
class OpenAiProviderTest {

    static final String KEY = "sk-test-0123456789abcdef";

    FakeOpenAi fake;
    Easel easel;
    @TempDir
    Path dir;

    @BeforeEach
    void start() {
        fake = FakeOpenAi.builder().apiKey(KEY).start();
        // the fake stands for OpenAI itself, not for a gateway in front of it
        easel = Easel.builder().apiKey(KEY).apiBase(fake.baseUrl()).gateway(false).imageDirectory(dir.resolve("urls"))
                .maxRetries(0).build();
    }

    @AfterEach
    void stop() {
        fake.close();
    }

    Path png(String name, int w, int h) throws Exception {
        return Files.write(dir.resolve(name), TestImages.png(w, h, false));
    }

    ImageEditRequest.Builder base() throws Exception {
        return ImageEditRequest.builder().model("gpt-image-2").image(png("a.png", 64, 64)).prompt("add a hat");
    }

    @Test
    void edit_singleImage_sentAsImageWithPngTypeAndBearer() throws Exception {
        ImageResponse r = easel.imageEdit(base().build());

        RecordedRequest req = fake.takeRequest();
        assertThat(req.path()).isEqualTo("/v1/images/edits");
        assertThat(req.header("Authorization")).contains("Bearer " + KEY);
        assertThat(req.fieldNames()).containsExactly("model", "prompt", "image");
        assertThat(req.textField("model")).contains("gpt-image-2");
        assertThat(req.textField("prompt")).contains("add a hat");
        RecordedPart image = req.part("image");
        assertThat(image.filename()).contains("a.png");
        assertThat(image.contentType()).contains("image/png");
        assertThat(image.bytes()).isEqualTo(Files.readAllBytes(dir.resolve("a.png")));
        assertThat(req.contentLength()).isPresent();
        assertThat(r.data()).hasSize(1);
        assertThat(r.data().get(0).bytes()).startsWith(0x89, 'P', 'N', 'G');
        assertThat(r.usage()).isPresent();
        assertThat(r.provider()).contains("openai");
        assertThat(r.requestId()).hasValueSatisfying(id -> assertThat(id).startsWith("req_"));
    }

    @Test
    void edit_b64Response_recordCountsBytesOutFromTheAsciiForm() throws Exception {
        var records = new java.util.concurrent.LinkedBlockingQueue<dev.easel.callback.EditLogRecord>();
        Easel withListener = Easel.builder().apiKey(KEY).apiBase(fake.baseUrl()).maxRetries(0)
                .listener(new dev.easel.callback.EaselListener() {
                    @Override
                    public void onSuccess(dev.easel.callback.EditLogRecord record) {
                        records.add(record);
                    }
                }).build();

        ImageResponse r = withListener.imageEdit(base().build());

        assertThat(r.data().get(0).b64Ascii()).isPresent();
        var record = records.poll(5, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(record).isNotNull();
        assertThat(record.bytesOut()).isPositive()
                .isEqualTo(r.data().get(0).b64Ascii().orElseThrow().remaining() / 4 * 3);
    }

    @Test
    void edit_severalImagesAndMask_sentAsImageArrayInOrderThenMask() throws Exception {
        byte[] first = TestImages.png(64, 64, false);
        byte[] second = TestImages.jpeg(32, 48);
        byte[] third = TestImages.png(16, 16, true);
        easel.imageEdit(ImageEditRequest.builder().model("gpt-image-2").prompt("p")
                .images(ImageInput.of(first, "one.png"), ImageInput.of(second), ImageInput.of(third, "three.webp"))
                .mask(TestImages.maskWithHole(64, 64))
                .build());

        RecordedRequest req = fake.takeRequest();
        assertThat(req.fieldNames()).containsExactly("model", "prompt", "image[]", "image[]", "image[]", "mask");
        List<RecordedPart> images = req.parts("image[]");
        assertThat(images).extracting(p -> p.filename().orElseThrow())
                .containsExactly("one.png", "image_1.jpg", "three.png");
        assertThat(images).extracting(p -> p.contentType().orElseThrow())
                .containsExactly("image/png", "image/jpeg", "image/png");
        assertThat(images.get(0).bytes()).isEqualTo(first);
        assertThat(images.get(1).bytes()).isEqualTo(second);
        assertThat(images.get(2).bytes()).isEqualTo(third);
        RecordedPart mask = req.part("mask");
        assertThat(mask.filename()).contains("mask.png");
        assertThat(mask.contentType()).contains("image/png");
    }

    @Test
    void edit_everyParameter_sentByWireName_exceptOnesTheModelRejects() throws Exception {
        easel.imageEdit(ImageEditRequest.builder().model("gpt-image-1.5").image(png("a.png", 64, 64)).prompt("p")
                .n(2).size("1536x1024").quality("high").background("transparent").outputFormat("webp")
                .outputCompression(80).inputFidelity("high").responseFormat("b64_json").partialImages(0)
                .user("user-123").safetyIdentifier("hash-1")
                .extraBody(Map.of("moderation", "low", "future", Map.of("opt", "x")))
                .build());

        RecordedRequest req = fake.takeRequest();
        assertThat(req.textField("n")).contains("2");
        assertThat(req.textField("size")).contains("1536x1024");
        assertThat(req.textField("quality")).contains("high");
        assertThat(req.textField("background")).contains("transparent");
        assertThat(req.textField("output_format")).contains("webp");
        assertThat(req.textField("output_compression")).contains("80");
        assertThat(req.textField("input_fidelity")).contains("high");
        assertThat(req.textField("partial_images")).contains("0");
        assertThat(req.textField("user")).contains("user-123");
        assertThat(req.textField("safety_identifier")).contains("hash-1");
        assertThat(req.textField("moderation")).contains("low");
        assertThat(req.textField("future[opt]")).contains("x");
        assertThat(req.fieldNames()).doesNotContain("response_format", "stream");
    }

    @Test
    void edit_gptImage2_neverSendsInputFidelity_whenDropParams() throws Exception {
        Easel dropping = Easel.builder().apiKey(KEY).apiBase(fake.baseUrl()).dropParams(true).build();
        ImageResponse r = dropping.imageEdit(base().inputFidelity("high").build());

        assertThat(fake.takeRequest().fieldNames()).doesNotContain("input_fidelity");
        assertThat(r.warnings()).anySatisfy(w -> assertThat(w).contains("input_fidelity"));
    }

    @Test
    void edit_streamInput_spooledAndSentWhole() throws Exception {
        byte[] img = TestImages.png(80, 80, false);
        easel.imageEdit(ImageEditRequest.builder().model("gpt-image-2").prompt("p")
                .image(ImageInput.of(new ByteArrayInputStream(img), "cam.jpg")).build());

        RecordedPart part = fake.takeRequest().part("image");
        assertThat(part.bytes()).isEqualTo(img);
        assertThat(part.filename()).contains("cam.png");
    }

    @Test
    void edit_extraHeaders_forwarded_butNeverCredentialsOrFraming() throws Exception {
        easel.imageEdit(base().extraHeaders(Map.of("Custom-Header", "value", "Authorization", "Bearer evil",
                "Host", "x")).build());

        RecordedRequest req = fake.takeRequest();
        assertThat(req.header("Custom-Header")).contains("value");
        assertThat(req.header("Authorization")).contains("Bearer " + KEY);
    }

    @Test
    void edit_responseFormatUrl_onBase64Model_returnsReadableFileUrl() throws Exception {
        ImageResponse r = easel.imageEdit(base().responseFormat("url").n(2).build());

        assertThat(r.data()).hasSize(2);
        for (var d : r.data()) {
            String url = d.url().orElseThrow();
            assertThat(url).startsWith("file:");
            assertThat(Path.of(java.net.URI.create(url))).startsWith(dir.resolve("urls"));
            assertThat(d.b64Json()).isEmpty();
            assertThat(d.bytes()).startsWith(0x89, 'P', 'N', 'G');
        }
    }

    @Test
    void edit_responseFormatB64_onUrlProvider_returnsBase64() throws Exception {
        fake.respondWithUrls(true);
        ImageResponse r = easel.imageEdit(base().responseFormat("b64_json").build());

        assertThat(r.data().get(0).b64Json()).isPresent();
        assertThat(r.data().get(0).bytes()).startsWith(0x89, 'P', 'N', 'G');
    }

    @Test
    void edit_urlResponse_bytesFetchedFromUrl() throws Exception {
        fake.respondWithUrls(true);
        ImageResponse r = easel.imageEdit(base().build());

        assertThat(r.data().get(0).url()).isPresent();
        assertThat(r.data().get(0).bytes()).startsWith(0x89, 'P', 'N', 'G');
    }

    @Test
    void stream_partialsThenCompleted_inOrder_withStreamField() throws Exception {
        List<ImageEditEvent> events = new ArrayList<>();
        try (ImageEditStream s = easel.imageEditStream(base().partialImages(2).build())) {
            s.forEach(events::add);
        }

        RecordedRequest req = fake.takeRequest();
        assertThat(req.textField("stream")).contains("true");
        assertThat(req.textField("partial_images")).contains("2");
        assertThat(req.header("Accept")).contains("text/event-stream");
        assertThat(events).hasSize(3);
        assertThat(events.get(0)).isInstanceOfSatisfying(ImageEditEvent.PartialImage.class,
                p -> assertThat(p.index()).isZero());
        assertThat(events.get(1)).isInstanceOfSatisfying(ImageEditEvent.PartialImage.class,
                p -> assertThat(p.index()).isEqualTo(1));
        assertThat(events.get(2)).isInstanceOfSatisfying(ImageEditEvent.Completed.class,
                c -> assertThat(c.usage()).isPresent());
    }

    @Test
    void stream_errorEventInsideStream_throwsMappedException() throws Exception {
        fake.enqueue(FakeResponse.sse(List.of(
                FakeResponse.sseEvent("image_edit.partial_image",
                        "{\"type\":\"image_edit.partial_image\",\"b64_json\":\"AA==\",\"partial_image_index\":0}"),
                "data: {\"error\":{\"message\":\"Your request was rejected by the safety system.\","
                        + "\"type\":\"image_generation_user_error\",\"code\":\"moderation_blocked\",\"param\":null}}\n\n"),
                Duration.ZERO));
        try (ImageEditStream s = easel.imageEditStream(base().build())) {
            var it = s.iterator();
            assertThat(it.next()).isInstanceOf(ImageEditEvent.PartialImage.class);
            assertThatThrownBy(it::next).isInstanceOf(ContentPolicyViolationException.class)
                    .hasMessageContaining("safety system");
        }
    }

    @Test
    void stream_closeEarly_cancelsUpstream() throws Exception {
        fake.streamEventDelay(Duration.ofMillis(500));
        long t0 = System.nanoTime();
        try (ImageEditStream s = easel.imageEditStream(base().partialImages(3).build())) {
            assertThat(s.iterator().next()).isInstanceOf(ImageEditEvent.PartialImage.class);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(1500));
    }

    @Test
    void edit_withStreamTrue_returnsCompletedImageAsResponse() throws Exception {
        ImageResponse r = easel.imageEdit(base().stream(true).partialImages(1).build());

        assertThat(fake.takeRequest().textField("stream")).contains("true");
        assertThat(r.data()).hasSize(1);
        assertThat(r.usage()).isPresent();
    }

    @Test
    void errors_mappedByStatus_withTypeCodeParamAndRequestId() throws Exception {
        record Case(FakeResponse response, Class<?> type, String code) {
        }
        List<Case> cases = List.of(
                new Case(FakeResponse.error(400, "invalid_request_error", "invalid_value", "size", "Invalid size"),
                        BadRequestException.class, "invalid_value"),
                new Case(FakeResponse.error(401, "invalid_request_error", "invalid_api_key", "Incorrect API key"),
                        AuthenticationException.class, "invalid_api_key"),
                new Case(FakeResponse.error(403, "invalid_request_error", null, "Your organization must be verified"),
                        PermissionDeniedException.class, null),
                new Case(FakeResponse.error(404, "invalid_request_error", "model_not_found", "no such model"),
                        NotFoundException.class, "model_not_found"),
                new Case(FakeResponse.error(422, "invalid_request_error", null, "unprocessable"),
                        UnprocessableEntityException.class, null),
                new Case(FakeResponse.rateLimited(7), RateLimitException.class, "rate_limit_exceeded"),
                new Case(FakeResponse.moderationBlocked(), ContentPolicyViolationException.class, "moderation_blocked"),
                new Case(FakeResponse.serverError(), InternalServerException.class, null),
                new Case(FakeResponse.error(503, "server_error", null, "overloaded"),
                        ServiceUnavailableException.class, null));
        for (Case c : cases) {
            fake.enqueue(c.response());
            assertThatThrownBy(() -> easel.imageEdit(base().build()))
                    .as(c.type().getSimpleName())
                    .isInstanceOf(c.type())
                    .satisfies(e -> {
                        var ee = (dev.easel.EaselException) e;
                        assertThat(ee.provider()).contains("openai");
                        if (c.code() != null) {
                            assertThat(ee.code()).contains(c.code());
                        }
                        assertThat(ee.getMessage()).doesNotContain(KEY);
                    });
        }
    }

    @Test
    void error_rateLimited_carriesRetryAfter() throws Exception {
        fake.enqueue(FakeResponse.rateLimited(7));
        assertThatThrownBy(() -> easel.imageEdit(base().build()))
                .isInstanceOfSatisfying(RateLimitException.class, e -> {
                    assertThat(e.retryAfter()).contains(Duration.ofSeconds(7));
                    assertThat(e.retryable()).isTrue();
                    assertThat(e.status()).hasValue(429);
                });
    }

    @Test
    void error_malformedJson_isInternalServerError502() throws Exception {
        fake.enqueue(FakeResponse.malformedJson());
        assertThatThrownBy(() -> easel.imageEdit(base().build()))
                .isInstanceOfSatisfying(InternalServerException.class, e -> {
                    assertThat(e.status()).hasValue(502);
                    assertThat(e.code()).contains("bad_upstream_response");
                });
    }

    @Test
    void error_droppedConnection_isConnectionException() throws Exception {
        fake.enqueue(FakeResponse.dropConnection());
        assertThatThrownBy(() -> easel.imageEdit(base().build())).isInstanceOf(ConnectionException.class)
                .satisfies(e -> assertThat(((ConnectionException) e).retryable()).isTrue());
    }

    @Test
    void error_slowUpstream_isTimeoutAfterBodySent() throws Exception {
        fake.enqueue(FakeResponse.defaultBehaviour().delay(Duration.ofSeconds(5)));
        assertThatThrownBy(() -> easel.imageEdit(base().timeout(Duration.ofMillis(300)).build()))
                .isInstanceOfSatisfying(TimeoutException.class, e -> assertThat(e.bodySent()).isTrue());
    }

    @Test
    void error_upstreamSendsHeadersThenStalls_isTimeoutNotAHang() throws Exception {
        try (var server = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                try (var socket = server.accept()) {
                    var in = socket.getInputStream();
                    byte[] buf = new byte[8192];
                    // read the request head and (small) body, then answer headers and a first byte only
                    long deadline = System.nanoTime() + 2_000_000_000L;
                    int total = 0;
                    while (total < 200 && System.nanoTime() < deadline) {
                        int n = in.read(buf);
                        if (n < 0) {
                            break;
                        }
                        total += n;
                    }
                    socket.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            + "Content-Length: 100000\r\n\r\n{").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    socket.getOutputStream().flush();
                    // the fake's scripted stall, not a wait for something: the test measures the client's 700 ms
                    // timeout, which ends the call long before the stall does
                    Thread.sleep(10_000);
                } catch (Exception ignored) {
                    // the client gave up: that is the point
                }
            });
            Easel stalled = Easel.builder().apiKey(KEY).apiBase("http://127.0.0.1:" + server.getLocalPort() + "/v1")
                    .maxRetries(0).build();
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> stalled.imageEdit(base().timeout(Duration.ofMillis(700)).build()))
                    .isInstanceOfSatisfying(TimeoutException.class, e -> {
                        assertThat(e.bodySent()).isTrue();
                        // silence and the call's 700 ms (counted from the send) end it about together: either says so
                        assertThat(e.getMessage()).isIn("openai stopped sending its answer for 700 ms",
                                "openai's answer was not complete within the time left for the call");
                    });
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        }
    }

    @Test
    void error_upstreamTricklesItsAnswer_theCallsTimeoutBoundsTheWholeAnswer() throws Exception {
        // a byte every 100 ms never trips a 700 ms silence guard: before, such an answer ran past the call's timeout
        try (var server = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                try (var socket = server.accept()) {
                    var in = socket.getInputStream();
                    byte[] buf = new byte[8192];
                    long deadline = System.nanoTime() + 2_000_000_000L;
                    int total = 0;
                    while (total < 200 && System.nanoTime() < deadline) {
                        int n = in.read(buf);
                        if (n < 0) {
                            break;
                        }
                        total += n;
                    }
                    var out = socket.getOutputStream();
                    out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
                            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    for (int i = 0; i < 100; i++) {
                        out.write(' ');
                        out.flush();
                        Thread.sleep(100); // the fake's scripted trickle
                    }
                } catch (Exception ignored) {
                    // the client gave up: expected
                }
            });
            Easel trickled = Easel.builder().apiKey(KEY).apiBase("http://127.0.0.1:" + server.getLocalPort() + "/v1")
                    .maxRetries(0).build();
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> trickled.imageEdit(base().timeout(Duration.ofMillis(700)).build()))
                    .isInstanceOfSatisfying(TimeoutException.class, e -> assertThat(e.getMessage())
                            .isEqualTo("openai's answer was not complete within the time left for the call"));
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        }
    }

    @Test
    void error_wrongKey_isAuthenticationError_withoutKeyInMessage() throws Exception {
        Easel wrong = Easel.builder().apiKey("sk-wrong-key-123456").apiBase(fake.baseUrl()).build();
        assertThatThrownBy(() -> wrong.imageEdit(base().build())).isInstanceOf(AuthenticationException.class)
                .hasMessageNotContaining("sk-wrong-key-123456");
    }

    @Test
    void error_unreachableHost_isConnectionException() throws Exception {
        Easel nowhere = Easel.builder().apiKey(KEY).apiBase("http://127.0.0.1:1/v1").build();
        assertThatThrownBy(() -> nowhere.imageEdit(base().build())).isInstanceOf(ConnectionException.class);
    }

    @Test
    void edit_serverErrorThenSuccess_retriedByDefault_withBackoff() throws Exception {
        List<Duration> waits = new ArrayList<>();
        Easel retrying = Easel.builder().apiKey(KEY).apiBase(fake.baseUrl()).sleeper(waits::add).build();
        fake.enqueue(FakeResponse.error(503, "server_error", null, "overloaded"));
        fake.enqueue(FakeResponse.rateLimited(3));

        ImageResponse r = retrying.imageEdit(base().build());

        assertThat(r.data()).hasSize(1);
        assertThat(fake.requestCount()).isEqualTo(3);
        assertThat(waits).hasSize(2);
        assertThat(waits.get(0)).isBetween(Duration.ofMillis(375), Duration.ofMillis(625)); // 0.5 s ± 25 %
        assertThat(waits.get(1)).isEqualTo(Duration.ofSeconds(3)); // Retry-After honoured
    }

    @Test
    void edit_badRequestFromUpstream_neverRetried() throws Exception {
        Easel retrying = Easel.builder().apiKey(KEY).apiBase(fake.baseUrl()).sleeper(d -> { }).build();
        fake.enqueue(FakeResponse.error(400, "invalid_request_error", "invalid_value", "size", "Invalid size"));

        assertThatThrownBy(() -> retrying.imageEdit(base().build())).isInstanceOf(BadRequestException.class);
        assertThat(fake.requestCount()).isEqualTo(1);
    }

    @Test
    void fromEnv_readsKeyAndBaseUrlLikeTheOfficialSdks() throws Exception {
        Easel env = EaselAccess.fromEnv(Map.of("OPENAI_API_KEY", KEY, "OPENAI_BASE_URL", fake.baseUrl()));
        assertThat(env.imageEdit(base().build()).data()).hasSize(1);
        assertThat(fake.takeRequest().header("Authorization")).contains("Bearer " + KEY);
    }
}
