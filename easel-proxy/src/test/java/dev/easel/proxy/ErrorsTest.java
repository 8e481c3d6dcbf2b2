package dev.easel.proxy;

import static dev.easel.proxy.EdgeSupport.MULTIPART;
import static dev.easel.proxy.EdgeSupport.assertError;
import static dev.easel.proxy.EdgeSupport.edit;
import static dev.easel.proxy.EdgeSupport.form;
import static dev.easel.proxy.EdgeSupport.post;
import static dev.easel.proxy.EdgeSupport.smallPng;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every error class of the proxy, through the real server: the status, OpenAI's exact error JSON
 * ({@code {"error":{"message","type","param","code"}}}), never HTML, a stack trace or a key, and what the
 * upstream received (nothing, for failures the proxy must catch itself).
 */
class ErrorsTest {

    static final String MASTER = "sk-master-7f3a9c1e5b";
    static final String UPSTREAM_KEY = "sk-upstream-4d2b8e6f0a";
    static final String WRONG_UPSTREAM_KEY = "sk-wrong-upstream-91c3";
    static final String[] SECRETS = {MASTER, UPSTREAM_KEY, WRONG_UPSTREAM_KEY};

    static FakeOpenAi fake;
    static ProxyServer proxy;
    static byte[] png;

    @BeforeAll
    static void start(@TempDir Path data) {
        fake = FakeOpenAi.builder().apiKey(UPSTREAM_KEY).start();
        String yaml = "model_list:\n"
                + EdgeSupport.openAiModel("gpt", fake.baseUrl(), UPSTREAM_KEY, "")
                + EdgeSupport.openAiModel("slow", fake.baseUrl(), UPSTREAM_KEY, "timeout: 0.5")
                + EdgeSupport.openAiModel("badkey", fake.baseUrl(), WRONG_UPSTREAM_KEY, "")
                // each upstream answer must reach the client as is: no retries, no cooldowns between tests
                + "router_settings:\n  num_retries: 0\n  disable_cooldowns: true\n"
                + "general_settings:\n  master_key: " + MASTER + "\n";
        proxy = EdgeSupport.start(yaml, data);
        png = smallPng();
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    @BeforeEach
    void resetFake() {
        fake.reset();
    }

    private static HttpResponse<String> editAs(String model) {
        return post(proxy, MULTIPART, EdgeSupport.edit(model, png), "Authorization", "Bearer " + MASTER);
    }

    // ---- the proxy's own checks: nothing reaches the upstream -------------------------------------

    @Test
    void edit_badSize_is400AndUpstreamReceivesNothing() {
        byte[] body = form().text("model", "gpt").text("prompt", "p").text("size", "123x45")
                .file("image", "a.png", png).bytes();
        HttpResponse<String> r = post(proxy, MULTIPART, body, "Authorization", "Bearer " + MASTER);

        JsonNode e = assertError(r, 400, SECRETS);
        assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.get("code").asText()).isEqualTo("invalid_value");
        assertThat(e.get("param").asText()).isEqualTo("size");
        assertThat(e.get("message").asText()).startsWith("Invalid size '123x45'. Supported sizes are ");
        assertThat(r.headers().firstValue("x-request-id")).isPresent();
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_missingKey_is401() {
        HttpResponse<String> r = post(proxy, MULTIPART, edit("gpt", png));

        JsonNode e = assertError(r, 401, SECRETS);
        assertThat(e.get("type").asText()).isEqualTo("authentication_error");
        assertThat(e.get("code").asText()).isEqualTo("missing_api_key");
        assertThat(e.get("param").isNull()).isTrue();
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_wrongBearerKey_is401() {
        HttpResponse<String> r = post(proxy, MULTIPART, edit("gpt", png), "Authorization", "Bearer sk-nope");

        JsonNode e = assertError(r, 401, SECRETS);
        assertThat(e.get("type").asText()).isEqualTo("authentication_error");
        assertThat(e.get("code").asText()).isEqualTo("invalid_api_key");
        assertThat(e.get("message").asText()).isEqualTo("Incorrect API key provided.");
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_wrongApiKeyHeader_is401() {
        HttpResponse<String> r = post(proxy, MULTIPART, edit("gpt", png), "api-key", MASTER + "x");

        JsonNode e = assertError(r, 401, SECRETS);
        assertThat(e.get("code").asText()).isEqualTo("invalid_api_key");
        assertThat(r.body()).doesNotContain(MASTER + "x");
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_rightApiKeyHeader_isAccepted() {
        HttpResponse<String> r = post(proxy, MULTIPART, edit("gpt", png), "api-key", MASTER);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(fake.takeRequest().header("authorization")).contains("Bearer " + UPSTREAM_KEY);
    }

    @Test
    void models_wrongKey_is401() {
        HttpResponse<String> r = EdgeSupport.get(proxy, "/v1/models");

        JsonNode e = assertError(r, 401, SECRETS);
        assertThat(e.get("code").asText()).isEqualTo("missing_api_key");
    }

    @Test
    void edit_noMasterKeyConfigured_isOpen(@TempDir Path data) {
        try (ProxyServer open = EdgeSupport.start("model_list:\n"
                + EdgeSupport.openAiModel("gpt", fake.baseUrl(), UPSTREAM_KEY, ""), data)) {
            HttpResponse<String> r = post(open, MULTIPART, edit("gpt", png));

            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(EdgeSupport.json(r.body()).get("data").get(0).get("b64_json").asText()).isNotEmpty();
            assertThat(fake.takeRequest().header("authorization")).contains("Bearer " + UPSTREAM_KEY);
        }
    }

    @Test
    void edit_unknownModel_is404() {
        HttpResponse<String> r = editAs("dall-e-9");

        JsonNode e = assertError(r, 404, SECRETS);
        assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.get("code").asText()).isEqualTo("model_not_found");
        assertThat(e.get("param").asText()).isEqualTo("model");
        assertThat(e.get("message").asText()).isEqualTo(
                "model 'dall-e-9' is not served here (available: badkey, gpt, slow)");
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_unsupportedContentType_is415() {
        HttpResponse<String> r = post(proxy, "text/plain", "prompt=hi".getBytes(StandardCharsets.UTF_8),
                "Authorization", "Bearer " + MASTER);

        JsonNode e = assertError(r, 415, SECRETS);
        assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.get("code").asText()).isEqualTo("unsupported_media_type");
        assertThat(e.get("message").asText()).isEqualTo(
                "Content-Type must be multipart/form-data or application/json (was 'text/plain')");
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void unknownUrl_isJson404NotHtml() {
        HttpResponse<String> r = EdgeSupport.get(proxy, "/v1/nothing/here");

        JsonNode e = assertError(r, 404, SECRETS);
        assertThat(e.get("code").asText()).isEqualTo("unknown_url");
    }

    // ---- upstream errors pass through -------------------------------------------------------------

    @Test
    void edit_upstreamModerationBlocked_passesThrough400() {
        fake.enqueue(FakeResponse.moderationBlocked());

        HttpResponse<String> r = editAs("gpt");

        JsonNode e = assertError(r, 400, SECRETS);
        RecordedRequest sent = fake.takeRequest();
        assertThat(sent.part("image").bytes()).isEqualTo(png);
        assertThat(e.get("type").asText()).isEqualTo("image_generation_user_error");
        assertThat(e.get("code").asText()).isEqualTo("moderation_blocked");
        assertThat(e.get("param").isNull()).isTrue();
        assertThat(e.get("message").asText())
                .startsWith("Your request was rejected by the safety system. If you believe this is an error, "
                        + "contact us at help.openai.com and include the request ID req_")
                .endsWith(".");
    }

    @Test
    void edit_upstreamBadRequest_keepsMessageTypeCodeAndParam() {
        fake.enqueue(FakeResponse.error(400, "invalid_request_error", "invalid_image_format", "image",
                "Invalid image file or mode for image 1, please check your image file."));

        HttpResponse<String> r = editAs("gpt");

        JsonNode e = assertError(r, 400, SECRETS);
        assertThat(e.get("message").asText())
                .isEqualTo("Invalid image file or mode for image 1, please check your image file.");
        assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.get("code").asText()).isEqualTo("invalid_image_format");
        assertThat(e.get("param").asText()).isEqualTo("image");
        assertThat(fake.requestCount()).isEqualTo(1);
    }

    @Test
    void edit_upstream401_passesThroughWithoutTheKey() {
        HttpResponse<String> r = editAs("badkey");

        JsonNode e = assertError(r, 401, SECRETS);
        assertThat(fake.takeRequest().header("authorization")).contains("Bearer " + WRONG_UPSTREAM_KEY);
        assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.get("code").asText()).isEqualTo("invalid_api_key");
        assertThat(e.get("message").asText()).startsWith("Incorrect API key provided: ");
    }

    @Test
    void edit_upstream429_passesThroughWithRetryAfter() {
        fake.enqueue(FakeResponse.rateLimited(7));

        HttpResponse<String> r = editAs("gpt");

        JsonNode e = assertError(r, 429, SECRETS);
        assertThat(r.headers().firstValue("retry-after")).contains("7");
        assertThat(e.get("type").asText()).isEqualTo("requests");
        assertThat(e.get("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(e.get("message").asText()).startsWith(
                "Rate limit reached for images per minute (IPM): Limit 5, Used 5, Requested 1. "
                        + "Please try again in 7s.");
        assertThat(fake.requestCount()).isEqualTo(1);
    }

    @Test
    void edit_upstream500_passesThrough() {
        fake.enqueue(FakeResponse.serverError());

        HttpResponse<String> r = editAs("gpt");

        JsonNode e = assertError(r, 500, SECRETS);
        assertThat(e.get("message").asText())
                .isEqualTo("The server had an error while processing your request. Sorry about that!");
        assertThat(e.get("type").asText()).isEqualTo("server_error");
        assertThat(e.get("code").isNull()).isTrue();
        assertThat(fake.requestCount()).isEqualTo(1);
    }

    @Test
    void edit_upstream503_passesThrough() {
        fake.enqueue(FakeResponse.error(503, "server_error", "engine_overloaded",
                "The engine is currently overloaded, please try again later."));

        HttpResponse<String> r = editAs("gpt");

        JsonNode e = assertError(r, 503, SECRETS);
        assertThat(e.get("message").asText()).isEqualTo("The engine is currently overloaded, please try again later.");
        assertThat(e.get("type").asText()).isEqualTo("server_error");
        assertThat(e.get("code").asText()).isEqualTo("engine_overloaded");
        assertThat(fake.requestCount()).isEqualTo(1);
    }

    @Test
    void edit_upstreamMalformedJson_is502() {
        fake.enqueue(FakeResponse.malformedJson());

        HttpResponse<String> r = editAs("gpt");

        JsonNode e = assertError(r, 502, SECRETS);
        assertThat(e.get("type").asText()).isEqualTo("api_error");
        assertThat(e.get("code").asText()).isEqualTo("bad_upstream_response");
        assertThat(fake.requestCount()).isEqualTo(1);
    }

    @Test
    void edit_upstreamDropsConnection_is502() {
        fake.enqueue(FakeResponse.dropConnection());

        HttpResponse<String> r = editAs("gpt");

        JsonNode e = assertError(r, 502, SECRETS);
        assertThat(e.get("type").asText()).isEqualTo("api_connection_error");
        assertThat(e.get("code").asText()).isEqualTo("connection_error");
        assertThat(e.get("message").asText()).startsWith("connection to openai failed: ");
        assertThat(fake.requestCount()).isEqualTo(1);
    }

    @Test
    void edit_upstreamTimeout_is504() {
        fake.enqueue(FakeResponse.defaultBehaviour().delay(Duration.ofSeconds(5)));

        long t0 = System.nanoTime();
        HttpResponse<String> r = editAs("slow");
        Duration took = Duration.ofNanos(System.nanoTime() - t0);

        JsonNode e = assertError(r, 504, SECRETS);
        assertThat(e.get("type").asText()).isEqualTo("timeout_error");
        assertThat(e.get("code").asText()).isEqualTo("timeout");
        assertThat(e.get("message").asText()).isEqualTo("timed out waiting for openai (the request had been sent)");
        assertThat(took).isLessThan(Duration.ofSeconds(4));
        assertThat(fake.requestCount()).isEqualTo(1);
    }

    // ---- streams ----------------------------------------------------------------------------------

    @Test
    void stream_upstreamErrorAfterStart_isSentAsDataErrorEvent() {
        String partial = "{\"type\":\"image_edit.partial_image\",\"b64_json\":\"aGVsbG8=\",\"partial_image_index\":0,"
                + "\"size\":\"1024x1024\",\"quality\":\"medium\",\"background\":\"opaque\",\"output_format\":\"png\","
                + "\"created_at\":1751135530}";
        String error = "{\"type\":\"error\",\"error\":{\"type\":\"image_generation_server_error\","
                + "\"code\":\"image_generation_failed\",\"message\":\"Image generation failed\",\"param\":null}}";
        fake.enqueue(FakeResponse.sse(List.of(FakeResponse.sseEvent("image_edit.partial_image", partial),
                FakeResponse.sseEvent("error", error)), Duration.ZERO));
        byte[] body = form().text("model", "gpt").text("prompt", "p").text("stream", "true")
                .text("partial_images", "1").file("image", "a.png", png).bytes();

        HttpResponse<String> r = post(proxy, MULTIPART, body, "Authorization", "Bearer " + MASTER);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(
                t -> assertThat(t).startsWith("text/event-stream"));
        assertThat(fake.takeRequest().textField("stream")).contains("true");
        EdgeSupport.assertNoLeak(r.headers().map(), r.body(), SECRETS);
        List<String> events = List.of(r.body().split("\n\n"));
        assertThat(events).hasSize(2);
        assertThat(events.get(0)).isEqualTo("event: image_edit.partial_image\ndata: " + partial);
        assertThat(events.get(1)).startsWith("data: ");
        JsonNode err = EdgeSupport.json(events.get(1).substring("data: ".length()));
        assertThat(EdgeSupport.fieldNames(err)).containsExactly("error");
        assertThat(EdgeSupport.fieldNames(err.get("error")))
                .containsExactlyInAnyOrder("message", "type", "param", "code");
        assertThat(err.get("error").get("message").asText()).isEqualTo("Image generation failed");
        assertThat(err.get("error").get("type").asText()).isEqualTo("image_generation_server_error");
        assertThat(err.get("error").get("code").asText()).isEqualTo("image_generation_failed");
        assertThat(err.get("error").get("param").isNull()).isTrue();
    }

    /** Sends raw bytes and reads one response (what Jetty answers before any handler runs). */
    private static EdgeSupport.RawResponse raw(String request) throws java.io.IOException {
        try (EdgeSupport.Raw raw = new EdgeSupport.Raw(proxy)) {
            raw.send(request.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            return raw.read(java.time.Duration.ofSeconds(10));
        }
    }

    @Test
    void headersOverTheLimit_431IsOpenAiErrorJsonNotHtml() throws Exception {
        EdgeSupport.RawResponse r = raw("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "a".repeat(20_000)
                + "\r\n\r\n");

        assertThat(r.header("content-type")).startsWith("application/json");
        JsonNode error = r.assertError(431, SECRETS);
        assertThat(error.path("code").asText()).isEqualTo("request_headers_too_large");
        assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
    }

    @Test
    void uriOverTheLimit_414IsOpenAiErrorJson() throws Exception {
        EdgeSupport.RawResponse r = raw("GET /" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

        assertThat(r.header("content-type")).startsWith("application/json");
        assertThat(r.assertError(414, SECRETS).path("code").asText()).isEqualTo("uri_too_long");
    }

    @Test
    void requestLineThatDoesNotParse_400IsOpenAiErrorJson() throws Exception {
        EdgeSupport.RawResponse r = raw("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header Line\r\n\r\n");

        assertThat(r.header("content-type")).startsWith("application/json");
        assertThat(r.assertError(400, SECRETS).path("code").asText()).isEqualTo("invalid_http_request");
    }
}
