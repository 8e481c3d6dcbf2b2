package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /v1/models}, health endpoints, unknown routes, and the headers every response carries. */
class ModelsAndHealthTest {

    private static final List<String> MODEL_NAMES = List.of("gpt-image-1", "gpt-image-2", "dall-e-2", "azure-image");
    private static final String GENERATED_ID = "req_[0-9a-f]{24}";

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
    void listener_queuesBurstsOfConnections_notTheJdkDefaultOf50() {
        // 1,000 clients connecting at once overflowed a backlog of 50 (bench S4: 601 connection resets)
        assertThat(wire.proxy.acceptQueueSize()).isEqualTo(ProxyServer.ACCEPT_QUEUE).isGreaterThanOrEqualTo(4096);
        assertThat(wire.get("/health/liveliness").statusCode()).as("bound where the options said").isEqualTo(200);
    }

    @Test
    void models_listShape_idsAreModelNames() {
        for (String path : List.of("/v1/models", "/models")) {
            HttpResponse<byte[]> r = wire.get(path);

            assertThat(r.statusCode()).as(path).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t ->
                    assertThat(t).startsWith("application/json"));
            JsonNode root = WireFixture.json(r);
            assertThat(root.path("object").asText()).isEqualTo("list");
            List<String> ids = new ArrayList<>();
            for (JsonNode m : root.path("data")) {
                ids.add(m.path("id").asText());
                assertThat(m.path("object").asText()).isEqualTo("model");
                assertThat(m.path("created").isIntegralNumber()).isTrue();
                assertThat(m.path("owned_by").isTextual()).isTrue();
            }
            assertThat(ids).as(path).containsExactlyElementsOf(MODEL_NAMES);
        }
        assertThat(wire.proxy.models()).containsExactlyElementsOf(MODEL_NAMES);
    }

    @Test
    void models_withoutKey_is401() {
        HttpResponse<byte[]> r = wire.send(HttpRequest.newBuilder(wire.uri("/v1/models")).GET().build());

        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(WireFixture.error(r).path("code").asText()).isEqualTo("missing_api_key");
    }

    @Test
    void liveness_bothSpellings_200WithoutKey() {
        for (String path : List.of("/health/liveliness", "/health/liveness")) {
            HttpResponse<byte[]> r = wire.send(HttpRequest.newBuilder(wire.uri(path)).GET().build());

            assertThat(r.statusCode()).as(path).isEqualTo(200);
            assertThat(WireFixture.json(r).asText()).isEqualTo("I'm alive!");
        }
    }

    @Test
    void readiness_whenServing_200Healthy() {
        HttpResponse<byte[]> r = wire.send(HttpRequest.newBuilder(wire.uri("/health/readiness")).GET().build());

        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode root = WireFixture.json(r);
        assertThat(root.path("status").asText()).isEqualTo("healthy");
        assertThat(root.path("state").asText()).isEqualTo("ready");
        assertThat(root.path("models").asInt()).isEqualTo(MODEL_NAMES.size());
        assertThat(wire.proxy.state()).isEqualTo(ProxyServer.State.READY);
    }

    @Test
    void unknownRoute_is404OpenAiJson() {
        for (String path : List.of("/v1/nothing", "/v1/images/generations", "/")) {
            HttpResponse<byte[]> r = wire.get(path);

            assertThat(r.statusCode()).as(path).isEqualTo(404);
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t ->
                    assertThat(t).startsWith("application/json"));
            JsonNode error = WireFixture.error(r);
            assertThat(error.path("code").asText()).isEqualTo("unknown_url");
            assertThat(error.path("message").asText()).isEqualTo("Unknown request URL: GET " + path);
        }
        HttpResponse<byte[]> post = wire.send(wire.request("/v1/images/variations")
                .POST(HttpRequest.BodyPublishers.ofString("x")).build());
        assertThat(post.statusCode()).isEqualTo(404);
        assertThat(WireFixture.error(post).path("message").asText())
                .isEqualTo("Unknown request URL: POST /v1/images/variations");
    }

    @Test
    void edit_success_carriesGeneratedRequestIdDeploymentAndOverhead() {
        HttpResponse<byte[]> r = wire.postMultipart(edit("gpt-image-1"));

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-request-id")).hasValueSatisfying(id -> assertThat(id).matches(GENERATED_ID));
        assertThat(r.headers().firstValue("x-easel-deployment")).hasValueSatisfying(d -> assertThat(d).isNotBlank());
        assertThat(r.headers().firstValue("x-easel-overhead-ms")).hasValueSatisfying(ms ->
                assertThat(Long.parseLong(ms)).isBetween(0L, 10_000L));
        HttpResponse<byte[]> again = wire.postMultipart(edit("gpt-image-1"));
        assertThat(again.headers().firstValue("x-request-id")).isNotEqualTo(r.headers().firstValue("x-request-id"));
    }

    @Test
    void edit_incomingRequestId_echoedAsClientRequestId_ownIdStaysEasels() {
        HttpResponse<byte[]> r = wire.send(wire.request("/v1/images/edits")
                .header("Content-Type", RawMultipart.contentType()).header("x-request-id", "trace-42.a_b:c")
                .POST(HttpRequest.BodyPublishers.ofByteArray(edit("gpt-image-1").build())).build());

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().allValues("x-client-request-id")).containsExactly("trace-42.a_b:c");
        assertThat(r.headers().firstValue("x-request-id")).hasValueSatisfying(id -> assertThat(id).matches(GENERATED_ID));
    }

    @Test
    void edit_xClientRequestId_winsOverXRequestId() {
        HttpResponse<byte[]> r = wire.send(wire.request("/v1/images/edits")
                .header("Content-Type", RawMultipart.contentType()).header("x-request-id", "from-the-lb")
                .header("x-client-request-id", "from-the-app")
                .POST(HttpRequest.BodyPublishers.ofByteArray(edit("gpt-image-1").build())).build());

        assertThat(r.headers().allValues("x-client-request-id")).containsExactly("from-the-app");
    }

    @Test
    void edit_unsafeIncomingRequestId_replacedByGeneratedOne() {
        HttpResponse<byte[]> r = wire.send(wire.request("/v1/images/edits")
                .header("Content-Type", RawMultipart.contentType()).header("x-request-id", "bad id <script>")
                .POST(HttpRequest.BodyPublishers.ofByteArray(edit("gpt-image-1").build())).build());

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-request-id")).hasValueSatisfying(id -> assertThat(id).matches(GENERATED_ID));
        assertThat(r.headers().firstValue("x-client-request-id")).isEmpty();
    }

    @Test
    void streamedEdit_carriesHeaders() {
        wire.fake.streamEventDelay(Duration.ZERO);

        HttpResponse<byte[]> r = wire.postMultipart(edit("gpt-image-1").text("stream", "true"));

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t ->
                assertThat(t).startsWith("text/event-stream"));
        assertThat(r.headers().firstValue("x-request-id")).isPresent();
        assertThat(r.headers().firstValue("x-easel-deployment")).isPresent();
        assertThat(r.headers().firstValue("x-easel-overhead-ms")).isPresent();
        assertThat(new String(r.body())).contains("event: image_edit.completed");
    }

    @Test
    void edit_errors_carryRequestId() {
        // 401: no key
        HttpResponse<byte[]> unauthorised = wire.send(HttpRequest.newBuilder(wire.uri("/v1/images/edits"))
                .header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(edit("gpt-image-1").build())).build());
        assertThat(unauthorised.statusCode()).isEqualTo(401);
        assertThat(unauthorised.headers().firstValue("x-request-id")).hasValueSatisfying(id ->
                assertThat(id).matches(GENERATED_ID));

        // 400: validation, with the client's id
        HttpResponse<byte[]> invalid = wire.send(wire.request("/v1/images/edits")
                .header("Content-Type", RawMultipart.contentType()).header("x-request-id", "client-7")
                .POST(HttpRequest.BodyPublishers.ofByteArray(edit("gpt-image-1").text("n", "11").build())).build());
        assertThat(invalid.statusCode()).isEqualTo(400);
        assertThat(invalid.headers().allValues("x-client-request-id")).containsExactly("client-7");
        assertThat(invalid.headers().firstValue("x-request-id")).hasValueSatisfying(id ->
                assertThat(id).matches(GENERATED_ID));
        assertThat(WireFixture.error(invalid).path("param").asText()).isEqualTo("n");

        // 404: unknown model
        HttpResponse<byte[]> unknown = wire.postMultipart(edit("no-such-model"));
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.headers().firstValue("x-request-id")).isPresent();
        assertThat(wire.fake.requestCount()).isZero();
    }

    @Test
    void otherEndpoints_carryRequestId() {
        for (String path : List.of("/v1/models", "/health/liveliness", "/health/readiness", "/v1/nothing",
                "/v1/images/files/0123456789abcdef0123456789abcdef.png")) {
            HttpResponse<byte[]> generated = wire.get(path);
            assertThat(generated.headers().firstValue("x-request-id")).as(path)
                    .hasValueSatisfying(id -> assertThat(id).matches(GENERATED_ID));

            HttpResponse<byte[]> sent = wire.send(wire.request(path).header("x-request-id", "probe-1").GET().build());
            assertThat(sent.headers().allValues("x-client-request-id")).as(path).containsExactly("probe-1");
            assertThat(sent.headers().firstValue("x-request-id")).as(path)
                    .hasValueSatisfying(id -> assertThat(id).matches(GENERATED_ID));
        }
    }

    private static RawMultipart edit(String model) {
        return new RawMultipart().text("model", model).text("prompt", "p")
                .file("image", "i.png", "image/png", WireImages.png(32, 32, 1));
    }
}
