package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.config.ConfigLoader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A config naming a provider this Easel does not serve ({@code vertex_ai/...}) beside {@code mock/...}: the proxy
 * starts with a warning naming each such deployment, {@code /health/readiness} lists them as unavailable,
 * {@code /v1/models} leaves out groups none of whose deployments is served, requests fall back or get an OpenAI
 * error naming the provider, and the other groups work.
 */
class UnservedProviderTest {

    static final String KEY = "sk-master-unserved-77";

    @TempDir
    static Path dataDir;
    static ProxyServer proxy;
    static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newBuilder()
            .version(java.net.http.HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() {
        String yaml = """
                model_list:
                  - model_name: banana
                    litellm_params: {model: vertex_ai/gemini-3.1-flash-image, api_key: g-key}
                  - model_name: mixed
                    litellm_params: {model: vertex_ai/banana-mixed, api_key: g-key}
                  - model_name: mixed
                    litellm_params: {model: mock/mixed}
                  - model_name: plain
                    litellm_params: {model: mock/plain}
                  - model_name: banana-with-fallback
                    litellm_params: {model: vertex_ai/banana-fb, api_key: g-key}
                  - model_name: banana-to-broken
                    litellm_params: {model: vertex_ai/banana-tb, api_key: g-key}
                  - model_name: broken
                    litellm_params: {model: mock/broken, failure_rate: 1, failure_status: 500}
                router_settings:
                  num_retries: 0
                  fallbacks: [{banana-with-fallback: [plain]}, {banana-to-broken: [broken]}]
                general_settings:
                  master_key: %s
                """.formatted(KEY);
        proxy = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, Map.of(), "unserved.yaml"))
                .listen("127.0.0.1", 0).withDataDir(dataDir));
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
    }

    private static HttpResponse<String> send(HttpRequest.Builder b) {
        try {
            return HTTP.send(b.timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + KEY).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static HttpResponse<String> edit(String model, boolean stream) {
        RawMultipart body = new RawMultipart().text("model", model).text("prompt", "a hat")
                .file("image", "cat.png", "image/png", WireImages.png(32, 32, 1));
        if (stream) {
            body.text("stream", "true");
        }
        return send(HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits"))
                .header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.build())));
    }

    private static JsonNode json(HttpResponse<String> r) {
        try {
            return WireFixture.JSON.readTree(r.body().getBytes(StandardCharsets.UTF_8));
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + r.body(), e);
        }
    }

    @Test
    void start_unservedDeployments_areWarnedAboutByPathGroupAndProvider() {
        assertThat(proxy.warnings()).containsExactly(
                "model_list[0] (model_name 'banana', model 'vertex_ai/gemini-3.1-flash-image'): provider "
                        + "'vertex_ai' is not served by this Easel; the deployment is unavailable",
                "model_list[1] (model_name 'mixed', model 'vertex_ai/banana-mixed'): provider 'vertex_ai' is not "
                        + "served by this Easel; the deployment is unavailable",
                "model_list[4] (model_name 'banana-with-fallback', model 'vertex_ai/banana-fb'): provider "
                        + "'vertex_ai' is not served by this Easel; the deployment is unavailable",
                "model_list[5] (model_name 'banana-to-broken', model 'vertex_ai/banana-tb'): provider 'vertex_ai' "
                        + "is not served by this Easel; the deployment is unavailable");
        assertThat(proxy.state()).isEqualTo(ProxyServer.State.READY);
    }

    @Test
    void edit_groupWithOnlyUnservedDeployments_is501NamingTheProvider() {
        for (boolean stream : new boolean[] {false, true}) {
            HttpResponse<String> r = edit("banana", stream);

            assertThat(r.statusCode()).as("stream=%s: %s", stream, r.body()).isEqualTo(501);
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t ->
                    assertThat(t).startsWith("application/json"));
            JsonNode error = json(r).path("error");
            assertThat(error.path("message").asText()).isEqualTo("model 'banana' cannot be served: provider "
                    + "'vertex_ai' is not served by this Easel (served providers: azure, black_forest_labs, gemini, "
                    + "mock, openai, stability)");
            assertThat(error.path("type").asText()).isEqualTo("api_error");
            assertThat(error.path("code").asText()).isEqualTo("provider_not_served");
            assertThat(error.path("param").asText()).isEqualTo("model");
        }
    }

    @Test
    void edit_groupMixingUnservedAndServed_isAlwaysServedByTheServedOne() {
        List<String> deployments = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            HttpResponse<String> r = edit("mixed", false);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            deployments.add(r.headers().firstValue("x-easel-deployment").orElse("?"));
            assertThat(r.headers().firstValue("x-easel-attempted-retries")).contains("0");
        }
        assertThat(deployments).containsOnly("mock/mixed");
    }

    @Test
    void edit_unservedGroupWithFallback_fallsBack() {
        HttpResponse<String> r = edit("banana-with-fallback", false);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-easel-model-group")).contains("plain");
        assertThat(r.headers().firstValue("x-easel-attempted-fallbacks")).contains("1");
        assertThat(json(r).path("data").size()).isEqualTo(1);
    }

    @Test
    void edit_unservedGroupFallingBackToAFailingOne_theErrorSaysWhichProviderWasMissing() {
        HttpResponse<String> r = edit("banana-to-broken", false);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(500);
        assertThat(json(r).path("error").path("message").asText())
                .contains("banana-to-broken: skipped: provider 'vertex_ai' is not served by this Easel");
    }

    @Test
    void edit_otherGroups_work() {
        HttpResponse<String> r = edit("plain", false);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-easel-deployment")).contains("mock/plain");
    }

    @Test
    void models_leavesOutGroupsWithNoServedDeployment() {
        JsonNode list = json(send(HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/models")).GET()));

        assertThat(list.path("object").asText()).isEqualTo("list");
        List<String> ids = new ArrayList<>();
        list.path("data").forEach(m -> ids.add(m.path("id").asText()));
        assertThat(ids).containsExactly("mixed", "plain", "broken");
    }

    @Test
    void readiness_listsEveryDeploymentWithItsStatus() {
        HttpResponse<String> r = send(HttpRequest.newBuilder(proxy.baseUri().resolve("/health/readiness")).GET());

        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = json(r);
        assertThat(body.path("status").asText()).isEqualTo("healthy");
        assertThat(body.path("deployments").toString()).isEqualTo("""
                [{"id":"vertex_ai/gemini-3.1-flash-image","model_name":"banana","provider":"vertex_ai",\
                "status":"unavailable","reason":"provider 'vertex_ai' is not served by this Easel"},\
                {"id":"vertex_ai/banana-mixed","model_name":"mixed","provider":"vertex_ai","status":"unavailable",\
                "reason":"provider 'vertex_ai' is not served by this Easel"},\
                {"id":"mock/mixed","model_name":"mixed","provider":"mock","status":"available"},\
                {"id":"mock/plain","model_name":"plain","provider":"mock","status":"available"},\
                {"id":"vertex_ai/banana-fb","model_name":"banana-with-fallback","provider":"vertex_ai",\
                "status":"unavailable","reason":"provider 'vertex_ai' is not served by this Easel"},\
                {"id":"vertex_ai/banana-tb","model_name":"banana-to-broken","provider":"vertex_ai",\
                "status":"unavailable","reason":"provider 'vertex_ai' is not served by this Easel"},\
                {"id":"mock/broken","model_name":"broken","provider":"mock","status":"available"}]""");
    }

    @Test
    void readiness_withoutTheKey_isHealthyButDoesNotListTheDeployments() throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(proxy.baseUri().resolve("/health/readiness"))
                .timeout(Duration.ofSeconds(20)).GET().build(), HttpResponse.BodyHandlers.ofString());

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r).path("status").asText()).isEqualTo("healthy");
        assertThat(json(r).has("deployments")).isFalse();
    }
}
