package dev.easel.clients;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedPart;
import dev.easel.testkit.RecordedRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The cases every official OpenAI client must pass against the proxy: one image, several images
 * ({@code image[]}), a mask, a {@code response_format=url} answer the client downloads, a stream of partial
 * images, and the errors (400 validation before upstream, 401 wrong key, 429 and 500 from upstream) as the
 * client's own typed exceptions with OpenAI's error fields. Each case runs the client's script
 * ({@code src/test/resources/clients/cases.*}) in a fresh process and asserts both what the client got and what
 * reached the fake upstream.
 *
 * <p>A subclass names the installed client; when it cannot be installed the whole class is skipped (an
 * assumption with the reason) or fails, as {@link ClientInstall} decides.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class OfficialClientContract {

    /** Bound on one client run; a case takes one or two seconds. */
    static final Duration CASE_TIMEOUT = Duration.ofSeconds(60);
    private static final String RESULT_PREFIX = "EASEL_RESULT ";
    private static final ObjectMapper JSON = new ObjectMapper();

    private ClientInstall.Ready client;
    private String skipReason;
    /** The proxy and the fake behind it, shared by the class's cases (the fake is reset before each). */
    ClientFixture fixture;
    private Path inputs;
    private final AtomicInteger caseNumber = new AtomicInteger();

    /** The client under test, installed on first use. */
    abstract ClientInstall.Outcome install();

    /**
     * The file name the upstream sees for an image the client sent from memory without a name: the SDK's own
     * placeholder name, with the {@code .png} extension the proxy gives it.
     */
    abstract String inMemoryUpstreamFileName();

    /** The client's exception class for this HTTP status, as its SDK names it. */
    abstract String exceptionFor(int status);

    @BeforeAll
    void start(@TempDir Path dir) throws IOException {
        switch (install()) {
            case ClientInstall.Skipped skipped -> {
                // each case is then skipped with this reason (an aborted @BeforeAll would show as "0 tests run")
                skipReason = skipped.reason();
                System.err.println(getClass().getSimpleName() + ": every case skipped: " + skipReason);
                return;
            }
            case ClientInstall.Broken broken -> fail(broken.details());
            case ClientInstall.Ready ready -> client = ready;
        }
        inputs = Files.createDirectories(dir.resolve("inputs"));
        fixture = ClientFixture.start(Files.createDirectories(dir.resolve("data")));
    }

    @AfterAll
    void stop() {
        if (fixture != null) {
            fixture.close();
        }
    }

    @BeforeEach
    void reset() {
        Assumptions.assumeTrue(skipReason == null, () -> skipReason);
        fixture.reset();
    }

    @Test
    void edit_oneImageFile_upstreamGetsOnePngImagePartAndClientGetsB64() {
        byte[] png = ClientImages.png(64, 64, 1);
        Path image = input("cat.png", png);

        JsonNode result = run("single", edit(List.of(image)));

        JsonNode response = result.path("response");
        assertSingleB64Png(response);
        assertThat(response.path("usage").path("input_tokens").asInt()).isEqualTo(244);
        assertThat(response.path("usage").path("output_tokens").asInt()).isEqualTo(1056);
        assertThat(response.path("usage").path("total_tokens").asInt()).isEqualTo(1300);
        RecordedRequest up = onlyUpstreamRequest();
        assertThat(up.path()).isEqualTo("/v1/images/edits");
        assertThat(up.fieldNames()).containsExactlyInAnyOrder("model", "prompt", "image");
        assertThat(up.textField("model")).contains(ClientFixture.MODEL);
        assertThat(up.textField("prompt")).contains("add a hat");
        assertImagePart(up.part("image"), "cat.png", png);
    }

    @Test
    void edit_inMemoryBytesWithoutFileName_upstreamGetsNamedPngPart() {
        byte[] png = ClientImages.png(48, 48, 13);
        Path image = input("never-sent-name.png", png);

        JsonNode result = run("in_memory", edit(List.of(image)));

        assertSingleB64Png(result.path("response"));
        RecordedRequest up = onlyUpstreamRequest();
        assertThat(up.fieldNames()).containsExactlyInAnyOrder("model", "prompt", "image");
        assertImagePart(up.part("image"), inMemoryUpstreamFileName(), png);
    }

    @Test
    void edit_threeImageFiles_upstreamGetsImageArrayInOrder() {
        byte[] a = ClientImages.png(64, 64, 2);
        byte[] b = ClientImages.png(64, 64, 3);
        byte[] c = ClientImages.png(64, 64, 4);
        Path dir = inputDir();
        List<Path> images = List.of(write(dir.resolve("a.png"), a), write(dir.resolve("b.png"), b),
                write(dir.resolve("c.png"), c));

        JsonNode result = run("several", edit(images));

        assertSingleB64Png(result.path("response"));
        RecordedRequest up = onlyUpstreamRequest();
        assertThat(up.fieldNames()).containsExactlyInAnyOrder("model", "prompt", "image[]", "image[]", "image[]");
        assertThat(up.parts("image")).isEmpty();
        List<RecordedPart> parts = up.parts("image[]");
        assertThat(parts).hasSize(3);
        assertImagePart(parts.get(0), "a.png", a);
        assertImagePart(parts.get(1), "b.png", b);
        assertImagePart(parts.get(2), "c.png", c);
    }

    @Test
    void edit_withMaskFile_upstreamGetsImageAndMaskParts() {
        byte[] png = ClientImages.png(64, 64, 5);
        byte[] mask = ClientImages.mask(64, 64);
        Path dir = inputDir();
        Path image = write(dir.resolve("room.png"), png);
        Path maskFile = write(dir.resolve("hole.png"), mask);
        Map<String, Object> args = edit(List.of(image));
        args.put("mask", maskFile.toString());

        JsonNode result = run("mask", args);

        assertSingleB64Png(result.path("response"));
        RecordedRequest up = onlyUpstreamRequest();
        assertThat(up.fieldNames()).containsExactlyInAnyOrder("model", "prompt", "image", "mask");
        assertImagePart(up.part("image"), "room.png", png);
        assertImagePart(up.part("mask"), "hole.png", mask);
    }

    @Test
    void edit_responseFormatUrl_clientDownloadsUpstreamImageFromProxyUrl() {
        // an image of random pixels as the upstream answer: the download must be these bytes, not any PNG
        byte[] upstreamImage = ClientImages.noisePng(24, 24, 7);
        fixture.fake.enqueue(FakeResponse.json(200, """
                {"created": 1760000000, "data": [{"b64_json": "%s"}], "output_format": "png", "size": "1024x1024",
                 "usage": {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30}}
                """.formatted(Base64.getEncoder().encodeToString(upstreamImage))));
        Path image = input("photo.png", ClientImages.png(32, 32, 6));

        JsonNode result = run("url", edit(List.of(image)));

        JsonNode data = result.path("response").path("data");
        assertThat(data.size()).isEqualTo(1);
        assertThat(data.get(0).path("b64_json").isMissingNode() || data.get(0).path("b64_json").isNull()).isTrue();
        String url = data.get(0).path("url").asText();
        assertThat(url).matches("http://127\\.0\\.0\\.1:" + fixture.proxy.port()
                + "/v1/images/files/[0-9a-f]{32}\\.png");
        JsonNode download = result.path("download");
        assertThat(download.path("status").asInt()).isEqualTo(200);
        assertThat(download.path("content_type").asText()).isEqualTo("image/png");
        assertThat(Base64.getDecoder().decode(download.path("b64").asText())).isEqualTo(upstreamImage);
        RecordedRequest up = onlyUpstreamRequest();
        // GPT image models refuse response_format: the proxy keeps it to itself
        assertThat(up.fieldNames()).containsExactlyInAnyOrder("model", "prompt", "image");
    }

    /** What reached the provider behind {@code group}: exactly one call (BFL: one submit), with the configured key. */
    private RecordedRequest onlyProviderRequest(String group) {
        RecordedRequest up;
        switch (group) {
            case ClientFixture.BFL -> {
                assertThat(fixture.bfl.submissions("flux-kontext-pro")).isEqualTo(1);
                up = fixture.bfl.requests().get(0);
                assertThat(up.path()).isEqualTo("/v1/flux-kontext-pro");
                assertThat(up.header("x-key")).contains(ClientFixture.UPSTREAM_KEY);
            }
            case ClientFixture.GEMINI -> {
                assertThat(fixture.gemini.requestCount()).isEqualTo(1);
                up = fixture.gemini.lastRequest();
                assertThat(up.path()).isEqualTo("/v1beta/models/gemini-3.1-flash-image:generateContent");
                assertThat(up.header("x-goog-api-key")).contains(ClientFixture.UPSTREAM_KEY);
            }
            case ClientFixture.STABILITY -> {
                assertThat(fixture.stability.requestCount()).isEqualTo(1);
                up = fixture.stability.lastRequest();
                assertThat(up.path()).isEqualTo("/v2beta/stable-image/edit/inpaint");
                assertThat(up.header("Authorization")).contains("Bearer " + ClientFixture.UPSTREAM_KEY);
            }
            default -> throw new IllegalArgumentException(group);
        }
        assertThat(fixture.fake.requestCount()).as("nothing sent to OpenAI").isZero();
        assertThat(up.headers().values()).allSatisfy(values ->
                assertThat(values).noneMatch(v -> v.contains(ClientFixture.MASTER_KEY)));
        return up;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {ClientFixture.BFL, ClientFixture.GEMINI, ClientFixture.STABILITY})
    void edit_otherProvider_clientGetsOpenAiShapeAsB64(String group) {
        Path image = input("portrait.png", ClientImages.pngWithHole(128, 128, 21));
        Map<String, Object> args = edit(List.of(image));
        args.put("model", group);

        JsonNode result = run("single", args);

        JsonNode data = result.path("response").path("data");
        assertThat(data.size()).isEqualTo(1);
        assertImage(Base64.getDecoder().decode(data.get(0).path("b64_json").asText()));
        RecordedRequest up = onlyProviderRequest(group);
        assertThat(up.isMultipart() ? up.textField("prompt").orElse("") : up.bodyText()).contains("add a hat");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {ClientFixture.BFL, ClientFixture.GEMINI, ClientFixture.STABILITY})
    void edit_otherProviderAsUrl_clientDownloadsTheImageFromTheProxy(String group) {
        Path image = input("portrait.png", ClientImages.pngWithHole(128, 128, 22));
        Map<String, Object> args = edit(List.of(image));
        args.put("model", group);

        JsonNode result = run("url", args);

        JsonNode data = result.path("response").path("data");
        assertThat(data.size()).isEqualTo(1);
        assertThat(data.get(0).path("url").asText()).startsWith("http://127.0.0.1:" + fixture.proxy.port()
                + "/v1/images/files/");
        JsonNode download = result.path("download");
        assertThat(download.path("status").asInt()).isEqualTo(200);
        assertThat(download.path("content_type").asText()).startsWith("image/");
        assertImage(Base64.getDecoder().decode(download.path("b64").asText()));
        onlyProviderRequest(group);
    }

    /** PNG, JPEG or WebP magic: an image, not an error page. */
    private static void assertImage(byte[] bytes) {
        assertThat(bytes.length).isGreaterThan(8);
        boolean png = (bytes[0] & 0xff) == 0x89 && bytes[1] == 'P';
        boolean jpeg = (bytes[0] & 0xff) == 0xff && (bytes[1] & 0xff) == 0xd8;
        boolean webp = bytes[0] == 'R' && bytes[1] == 'I' && bytes[8] == 'W';
        assertThat(png || jpeg || webp).as("image magic").isTrue();
    }

    @Test
    void editStream_twoPartialImages_clientGetsTwoPartialsThenCompleted() {
        byte[] png = ClientImages.png(64, 64, 8);
        Path image = input("sketch.png", png);
        Map<String, Object> args = edit(List.of(image));
        args.put("params", Map.of("partial_images", 2));

        JsonNode result = run("stream", args);

        List<JsonNode> events = new ArrayList<>();
        result.path("events").forEach(events::add);
        assertThat(events).extracting(e -> e.path("type").asText())
                .containsExactly("image_edit.partial_image", "image_edit.partial_image", "image_edit.completed");
        assertThat(events.get(0).path("partial_image_index").asInt()).isZero();
        assertThat(events.get(1).path("partial_image_index").asInt()).isEqualTo(1);
        for (JsonNode event : events) {
            ClientImages.decodePng(Base64.getDecoder().decode(event.path("b64_json").asText()));
        }
        JsonNode completed = events.get(2);
        assertThat(completed.path("usage").path("total_tokens").asInt()).isEqualTo(1300);
        // the proxy's own field on the completed event reaches the client's event object
        assertThat(completed.path("easel_response_cost").isNumber()).as(completed::toString).isTrue();
        assertThat(completed.path("easel_response_cost").asDouble()).isPositive();
        RecordedRequest up = onlyUpstreamRequest();
        assertThat(up.fieldNames()).containsExactlyInAnyOrder("model", "prompt", "image", "stream", "partial_images");
        assertThat(up.textField("stream")).contains("true");
        assertThat(up.textField("partial_images")).contains("2");
        assertImagePart(up.part("image"), "sketch.png", png);
    }

    @Test
    void editStream_upstreamErrorEventAfterFirstPartial_clientGetsThePartialThenApiErrorWithProviderFields() {
        byte[] partialPng = ClientImages.noisePng(8, 8, 15);
        String partial = """
                {"type":"image_edit.partial_image","b64_json":"%s","partial_image_index":0,"background":"opaque",\
                "created_at":1760000000,"output_format":"png","quality":"medium","size":"1024x1024"}"""
                .formatted(Base64.getEncoder().encodeToString(partialPng));
        fixture.fake.enqueue(FakeResponse.sse(List.of(FakeResponse.sseEvent("image_edit.partial_image", partial),
                FakeResponse.sseEvent("error", """
                        {"error":{"message":"The image could not be finished.","type":"server_error",\
                        "param":null,"code":"image_generation_failed"}}""")), Duration.ZERO));
        Path image = input("sketch.png", ClientImages.png(32, 32, 16));
        Map<String, Object> args = expectError("stream", edit(List.of(image)));
        args.put("model", ClientFixture.STREAM_FAILING);
        args.put("params", Map.of("partial_images", 1));

        JsonNode error = run("error", args);

        // a stream that has started cannot change its status: the SDKs raise their plain APIError
        assertThat(error.path("exception").asText()).as(error::toString).isEqualTo("APIError");
        assertThat(error.path("api_status_error").asBoolean()).isFalse();
        assertThat(textOrNull(error, "message")).isEqualTo("The image could not be finished.");
        assertThat(textOrNull(error, "type")).isEqualTo("server_error");
        assertThat(textOrNull(error, "code")).isEqualTo("image_generation_failed");
        List<JsonNode> before = new ArrayList<>();
        error.path("events_before_error").forEach(before::add);
        assertThat(before).hasSize(1);
        assertThat(before.getFirst().path("type").asText()).isEqualTo("image_edit.partial_image");
        assertThat(Base64.getDecoder().decode(before.getFirst().path("b64_json").asText())).isEqualTo(partialPng);
        RecordedRequest up = onlyUpstreamRequest();
        assertThat(up.textField("stream")).contains("true");
    }

    @Test
    void edit_maskSizeDiffersFromImage_badRequestErrorAndNothingUpstream() {
        Path dir = inputDir();
        Path image = write(dir.resolve("big.png"), ClientImages.png(64, 64, 9));
        Path mask = write(dir.resolve("small-mask.png"), ClientImages.mask(32, 32));
        Map<String, Object> args = expectError("mask", edit(List.of(image)));
        args.put("mask", mask.toString());

        JsonNode error = run("error", args);

        assertError(error, 400, "Invalid file 'mask': the mask is 32x32 but the first image is 64x64; they must have "
                + "the same dimensions.", "invalid_request_error", "mask", "invalid_image_dimensions");
        assertThat(fixture.fake.requestCount()).isZero();
    }

    @Test
    void edit_wrongProxyKey_authenticationErrorAndNothingUpstream() {
        Path image = input("cat.png", ClientImages.png(16, 16, 10));

        JsonNode error = run("error", expectError("single", edit(List.of(image))), "sk-not-the-master-key");

        assertError(error, 401, "Incorrect API key provided.", "authentication_error", null, "invalid_api_key");
        assertThat(fixture.fake.requestCount()).isZero();
    }

    @Test
    void edit_upstreamRateLimited_rateLimitErrorWithProviderFieldsAndRetryAfter() {
        fixture.fake.enqueue(FakeResponse.rateLimited(7));
        Path image = input("cat.png", ClientImages.png(16, 16, 11));
        Map<String, Object> args = expectError("single", edit(List.of(image)));
        args.put("model", ClientFixture.LIMITED);

        JsonNode error = run("error", args);

        assertError(error, 429, "Rate limit reached for images per minute (IPM): Limit 5, Used 5, Requested 1. "
                + "Please try again in 7s. Visit https://platform.openai.com/account/rate-limits to learn more.",
                "requests", null, "rate_limit_exceeded");
        assertThat(error.path("retry_after").asText()).isEqualTo("7");
        RecordedRequest up = onlyUpstreamRequest();
        assertThat(up.textField("model")).contains("gpt-image-1");
    }

    @Test
    void edit_upstreamServerError_internalServerErrorWithProviderFields() {
        fixture.fake.enqueue(FakeResponse.serverError());
        Path image = input("cat.png", ClientImages.png(16, 16, 12));
        Map<String, Object> args = expectError("single", edit(List.of(image)));
        args.put("model", ClientFixture.FAILING);

        JsonNode error = run("error", args);

        assertError(error, 500, "The server had an error while processing your request. Sorry about that!",
                "server_error", null, null);
        onlyUpstreamRequest();
    }

    // ---------------------------------------------------------------------------------------------------------

    /** The inputs of an edit of these images with the default model and prompt. */
    static Map<String, Object> edit(List<Path> images) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("model", ClientFixture.MODEL);
        args.put("prompt", "add a hat");
        args.put("images", images.stream().map(Path::toString).toList());
        return args;
    }

    /** Runs {@code call} through the script's {@code error} case, which reports the SDK's exception. */
    static Map<String, Object> expectError(String call, Map<String, Object> args) {
        args.put("call", call);
        return args;
    }

    private JsonNode run(String caseName, Map<String, Object> args) {
        return run(caseName, args, ClientFixture.MASTER_KEY);
    }

    private JsonNode run(String caseName, Map<String, Object> args, String apiKey) {
        return runAgainst(fixture.sdkBaseUrl(), apiKey, caseName, args);
    }

    /** Runs one case of the client's script with this base URL and key; returns its result line as JSON. */
    final JsonNode runAgainst(String baseUrl, String apiKey, String caseName, Map<String, Object> args) {
        List<String> command = new ArrayList<>(client.launcher());
        command.add(client.script().toString());
        command.add(caseName);
        Map<String, String> env = new LinkedHashMap<>();
        env.put("OPENAI_BASE_URL", baseUrl);
        env.put("OPENAI_API_KEY", apiKey);
        env.put("EASEL_CASE", json(args));
        // loopback must never go through an HTTP proxy a CI machine may have configured
        env.put("NO_PROXY", "127.0.0.1,localhost");
        env.put("no_proxy", "127.0.0.1,localhost");
        env.put("PYTHONIOENCODING", "utf-8");
        Processes.Result r;
        try {
            r = Processes.run(command, client.home(), env, CASE_TIMEOUT);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
        if (!r.ok()) {
            throw new AssertionError(client.client() + " case '" + caseName + "' failed: " + r.describe());
        }
        List<String> lines = r.stdout().lines().filter(l -> l.startsWith(RESULT_PREFIX)).toList();
        if (lines.size() != 1) {
            throw new AssertionError(client.client() + " case '" + caseName + "' printed " + lines.size()
                    + " result lines: " + r.describe());
        }
        JsonNode result;
        try {
            result = JSON.readTree(lines.getFirst().substring(RESULT_PREFIX.length()));
        } catch (IOException e) {
            throw new AssertionError("unparseable result of case '" + caseName + "': " + lines.getFirst(), e);
        }
        // the SDK that ran is the pinned one, not some other copy on the machine
        assertThat(result.path("client").path("version").asText()).isEqualTo(client.version());
        return result;
    }

    private void assertError(JsonNode error, int status, String message, String type, String param, String code) {
        assertThat(error.path("exception").asText()).as(error::toString).isEqualTo(exceptionFor(status));
        assertThat(error.path("api_status_error").asBoolean()).isTrue();
        assertThat(error.path("status").asInt()).isEqualTo(status);
        assertThat(textOrNull(error, "message")).isEqualTo(message);
        assertThat(textOrNull(error, "type")).isEqualTo(type);
        assertThat(textOrNull(error, "param")).isEqualTo(param);
        assertThat(textOrNull(error, "code")).isEqualTo(code);
        // the proxy's request id reaches the client's exception, for support tickets
        assertThat(textOrNull(error, "request_id")).matches("req_[0-9a-f]{24}");
    }

    private static String textOrNull(JsonNode node, String field) {
        JsonNode value = node.path(field);
        return value.isMissingNode() || value.isNull() ? null : value.asText();
    }

    private static void assertSingleB64Png(JsonNode response) {
        JsonNode data = response.path("data");
        assertThat(data.size()).as(response::toString).isEqualTo(1);
        assertThat(data.get(0).path("url").isMissingNode() || data.get(0).path("url").isNull()).isTrue();
        ClientImages.decodePng(Base64.getDecoder().decode(data.get(0).path("b64_json").asText()));
    }

    private static void assertImagePart(RecordedPart part, String filename, byte[] bytes) {
        assertThat(part.filename()).contains(filename);
        assertThat(part.contentType()).contains("image/png");
        assertThat(part.bytes()).isEqualTo(bytes);
    }

    /** The one request the fake received; also checks that the upstream saw its own key, not the client's. */
    private RecordedRequest onlyUpstreamRequest() {
        RecordedRequest up = fixture.fake.takeRequest();
        assertThat(fixture.fake.requestCount()).isEqualTo(1);
        assertThat(up.header("Authorization")).contains("Bearer " + ClientFixture.UPSTREAM_KEY);
        assertThat(up.headers().values()).allSatisfy(values ->
                assertThat(values).noneMatch(v -> v.contains(ClientFixture.MASTER_KEY)));
        return up;
    }

    private Path inputDir() {
        try {
            return Files.createDirectories(inputs.resolve(Integer.toString(caseNumber.incrementAndGet())));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    final Path input(String name, byte[] bytes) {
        return write(inputDir().resolve(name), bytes);
    }

    private static Path write(Path file, byte[] bytes) {
        try {
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
