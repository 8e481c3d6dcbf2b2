package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.proxy.ObservabilityE2eTest.Prom;
import dev.easel.testkit.Await;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.ManualClock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LiteLLM's operational surface against a real proxy: {@code GET /health} (router state, no provider call),
 * {@code /model/info}, {@code /v1/model/info}, {@code /model_group/info}, and the {@code litellm_*} metrics, in
 * LiteLLM's shapes, behind the master key, without secrets.
 */
class LitellmOpsTest {

    static final String MASTER = "sk-master-ops-test";
    static final String GOOD_KEY = "sk-good-upstream-secret";
    static final String BAD_KEY = "sk-bad-upstream-secret";
    static final String UNSERVED_KEY = "sk-unserved-upstream-secret";
    static final ObjectMapper JSON = new ObjectMapper();

    static FakeOpenAi good;
    static FakeOpenAi bad;

    @TempDir
    Path dataDir;
    ManualClock clock;
    ProxyServer proxy;

    @BeforeAll
    static void fakes() {
        good = RoutingFixtures.fake(GOOD_KEY);
        bad = RoutingFixtures.fake(BAD_KEY);
    }

    @AfterAll
    static void stopFakes() {
        good.close();
        bad.close();
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        good.reset();
        bad.reset();
    }

    /**
     * Four groups: {@code edit} (rpm and tpm set), {@code broken} (its fake fails), {@code elsewhere} (a provider
     * Easel does not serve, an api_base with credentials in it) and {@code priced} (a custom per-image price and a
     * provider setting).
     */
    void start() {
        String yaml = RoutingFixtures.config(List.of(
                        RoutingFixtures.deployment("edit", "good-1", "gpt-image-1", good, GOOD_KEY, "rpm: 10",
                                "tpm: 100000"),
                        RoutingFixtures.deployment("broken", "broken-1", "gpt-image-1", bad, BAD_KEY),
                        RoutingFixtures.deployment("elsewhere", "unserved-1", "replicate/some-model",
                                "https://user:pw-in-url@models.example.com/v1?token=query-secret#frag", UNSERVED_KEY),
                        RoutingFixtures.withInfo(RoutingFixtures.deployment("priced", "priced-1", "gpt-image-1", good,
                                GOOD_KEY, "organization: org-ops"), "output_cost_per_image: 0.05")),
                "allowed_fails: 1", "cooldown_time: 30", "num_retries: 0")
                + "general_settings:\n  master_key: " + MASTER + "\n"
                + "litellm_settings:\n  callbacks: [\"prometheus\"]\n";
        clock = RoutingFixtures.midMinuteClock();
        proxy = RoutingFixtures.start(yaml, dataDir, clock);
    }

    HttpResponse<String> get(String path, String key) {
        HttpRequest.Builder b = HttpRequest.newBuilder(proxy.baseUri().resolve(path)).timeout(Duration.ofSeconds(30))
                .GET();
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        try {
            return RoutingFixtures.CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    JsonNode getJson(String path) {
        HttpResponse<String> r = get(path, MASTER);
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        assertNoSecrets(r.body());
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    HttpResponse<String> edit(String model) {
        return RoutingFixtures.send(RoutingFixtures.Form.simple(model).request(proxy.baseUri())
                .header("Authorization", "Bearer " + MASTER).build());
    }

    static void assertNoSecrets(String body) {
        assertThat(body).doesNotContain(MASTER, GOOD_KEY, BAD_KEY, UNSERVED_KEY, "pw-in-url", "query-secret",
                "\"api_key\"");
    }

    static JsonNode byId(JsonNode list, String field, String id) {
        for (JsonNode n : list) {
            if (id.equals(n.path(field).asText())) {
                return n;
            }
        }
        throw new AssertionError("no " + field + "=" + id + " in " + list);
    }

    static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    // ---- auth ---------------------------------------------------------------------------------------

    @Test
    void everyEndpoint_withoutOrWithAWrongKey_is401InOpenAiShape() {
        start();
        for (String path : List.of("/health", "/model/info", "/v1/model/info", "/model_group/info")) {
            HttpResponse<String> none = get(path, null);
            assertThat(none.statusCode()).as(path).isEqualTo(401);
            assertThat(none.body()).contains("\"code\":\"missing_api_key\"");
            HttpResponse<String> wrong = get(path, "sk-not-the-master");
            assertThat(wrong.statusCode()).as(path).isEqualTo(401);
            assertThat(wrong.body()).contains("\"code\":\"invalid_api_key\"");
        }
    }

    // ---- /health ------------------------------------------------------------------------------------

    @Test
    void health_beforeAnyCall_servedDeploymentsHealthy_unservedOneUnhealthy_noProviderCalled() {
        start();

        JsonNode h = getJson("/health");

        assertThat(h.path("healthy_count").asInt()).isEqualTo(3);
        assertThat(h.path("unhealthy_count").asInt()).isEqualTo(1);
        assertThat(h.path("healthy_endpoints")).hasSize(3);
        JsonNode edit = byId(h.path("healthy_endpoints"), "model_id", "good-1");
        assertThat(edit.path("model").asText()).isEqualTo("openai/gpt-image-1");
        assertThat(edit.path("model_name").asText()).isEqualTo("edit");
        assertThat(edit.path("custom_llm_provider").asText()).isEqualTo("openai");
        assertThat(edit.path("mode").asText()).isEqualTo("image_edit");
        assertThat(edit.path("api_base").asText()).isEqualTo(good.baseUrl());
        assertThat(edit.path("rpm").asInt()).isEqualTo(10);
        assertThat(edit.path("x-ratelimit-remaining-requests").asLong()).isEqualTo(10);
        assertThat(edit.path("x-ratelimit-remaining-tokens").asLong()).isEqualTo(100000);
        assertThat(edit.path("state").asText()).isEqualTo("healthy");
        assertThat(edit.has("last_success_at")).as("never called").isFalse();
        assertThat(edit.has("error")).isFalse();
        JsonNode unserved = byId(h.path("unhealthy_endpoints"), "model_id", "unserved-1");
        assertThat(unserved.path("state").asText()).isEqualTo("unavailable");
        assertThat(unserved.path("error").asText()).contains("replicate");
        assertThat(unserved.path("api_base").asText()).isEqualTo("https://models.example.com/v1");
        assertThat(RoutingFixtures.edits(good)).as("a health check costs no provider call").isEmpty();
        assertThat(RoutingFixtures.edits(bad)).isEmpty();
    }

    @Test
    void health_afterAFailingCall_showsTheRestUntilWhen_theLastError_thenPartialOutageOnceTheRestIsOver() {
        start();
        bad.enqueue(FakeResponse.serverError());
        assertThat(edit("broken").statusCode()).isEqualTo(500);

        JsonNode broken = byId(getJson("/health").path("unhealthy_endpoints"), "model_id", "broken-1");

        assertThat(broken.path("state").asText()).isEqualTo("outage");
        assertThat(broken.path("cooldown_until").asText()).isEqualTo(clock.instant().plusSeconds(30).toString());
        assertThat(broken.path("exception_status").asInt()).isEqualTo(500);
        assertThat(broken.path("error").asText()).startsWith("cooling down until " + clock.instant().plusSeconds(30))
                .contains("500").contains("The server had an error");
        JsonNode last = broken.path("last_error");
        assertThat(last.path("status").asInt()).isEqualTo(500);
        assertThat(last.path("at").asText()).isEqualTo(clock.instant().toString());
        assertThat(last.path("exception").asText()).isEqualTo("InternalServerException");
        assertThat(broken.path("cooldowns").path("500").asLong()).isEqualTo(1);
        assertThat(broken.path("requests_this_minute").asLong()).isEqualTo(1);
        assertThat(broken.path("inflight").asInt()).isZero();

        clock.advance(Duration.ofSeconds(31));
        JsonNode later = byId(getJson("/health?model=broken").path("unhealthy_endpoints"), "model_id", "broken-1");
        assertThat(later.path("state").asText()).isEqualTo("partial_outage");
        assertThat(later.has("cooldown_until")).isFalse();
        assertThat(later.path("error").asText()).startsWith("the last call failed: ");
        assertThat(RoutingFixtures.edits(bad)).as("only the client's request reached the provider").hasSize(1);
    }

    @Test
    void health_afterASuccess_showsWhenItSucceeded_andThisMinutesUseAgainstTheRpm() {
        start();
        assertThat(edit("edit").statusCode()).isEqualTo(200);

        JsonNode h = getJson("/health?model=edit");

        assertThat(h.path("healthy_count").asInt()).isEqualTo(1);
        assertThat(h.path("unhealthy_count").asInt()).isZero();
        JsonNode e = h.path("healthy_endpoints").get(0);
        assertThat(e.path("model_id").asText()).isEqualTo("good-1");
        assertThat(e.path("last_success_at").asText()).isEqualTo(clock.instant().toString());
        assertThat(e.path("requests_this_minute").asLong()).isEqualTo(1);
        assertThat(e.path("x-ratelimit-remaining-requests").asLong()).isEqualTo(9);
        assertThat(e.path("latency_ms").isIntegralNumber()).isTrue();
    }

    @Test
    void health_filters_byModelIdAndByLitellmModel_unknownOnesAre404() {
        start();
        JsonNode one = getJson("/health?model_id=priced-1");
        assertThat(one.path("healthy_count").asInt()).isEqualTo(1);
        assertThat(one.path("healthy_endpoints").get(0).path("model_id").asText()).isEqualTo("priced-1");
        // LiteLLM also matches litellm_params.model
        assertThat(getJson("/health?model=replicate/some-model").path("unhealthy_count").asInt()).isEqualTo(1);

        HttpResponse<String> noId = get("/health?model_id=nope", MASTER);
        assertThat(noId.statusCode()).isEqualTo(404);
        assertThat(noId.body()).contains("\"message\":\"no deployment has model_id 'nope'\"")
                .contains("\"param\":\"model_id\"");
        HttpResponse<String> noModel = get("/health?model=nope", MASTER);
        assertThat(noModel.statusCode()).isEqualTo(404);
        assertThat(noModel.body()).contains("no deployment serves model 'nope'");
    }

    // ---- /model/info --------------------------------------------------------------------------------

    @Test
    void modelInfo_oneEntryPerDeployment_paramsWithoutSecrets_pricesAsTheBillUsesThem() {
        start();
        JsonNode info = getJson("/model/info");
        assertThat(getJson("/v1/model/info")).isEqualTo(info);

        JsonNode data = info.path("data");
        assertThat(data).hasSize(4);
        JsonNode good1 = byId(data, "model_name", "edit");
        assertThat(good1.path("litellm_params").path("model").asText()).isEqualTo("openai/gpt-image-1");
        assertThat(good1.path("litellm_params").path("api_base").asText()).isEqualTo(good.baseUrl());
        assertThat(good1.path("litellm_params").path("rpm").asInt()).isEqualTo(10);
        assertThat(good1.path("litellm_params").path("tpm").asLong()).isEqualTo(100000);
        JsonNode mi = good1.path("model_info");
        assertThat(mi.path("id").asText()).isEqualTo("good-1");
        assertThat(mi.path("key").asText()).isEqualTo("gpt-image-1");
        assertThat(mi.path("litellm_provider").asText()).isEqualTo("openai");
        assertThat(mi.path("mode").asText()).isEqualTo("image_edit");
        assertThat(mi.path("db_model").asBoolean(true)).isFalse();
        // OpenAI's gpt-image-1 prices (as LiteLLM's cost map has them): $5, $10 and $40 per million tokens
        assertThat(mi.path("input_cost_per_token").decimalValue()).isEqualByComparingTo("0.000005");
        assertThat(mi.path("input_cost_per_image_token").decimalValue()).isEqualByComparingTo("0.00001");
        assertThat(mi.path("output_cost_per_image_token").decimalValue()).isEqualByComparingTo("0.00004");
        assertThat(mi.path("max_images").asInt()).isEqualTo(16);
        assertThat(mi.path("supports_mask").asBoolean()).isTrue();
        assertThat(texts(mi.path("supported_openai_params"))).startsWith("image", "prompt", "mask", "n", "size")
                .contains("quality");
        assertThat(mi.path("available").asBoolean()).isTrue();

        JsonNode priced = byId(data, "model_name", "priced");
        assertThat(priced.path("litellm_params").path("organization").asText()).isEqualTo("org-ops");
        JsonNode pricedInfo = priced.path("model_info");
        assertThat(pricedInfo.path("output_cost_per_image").decimalValue()).isEqualByComparingTo("0.05");
        assertThat(pricedInfo.has("output_cost_per_image_token")).as("a per-image price replaces the token price")
                .isFalse();

        JsonNode unserved = byId(data, "model_name", "elsewhere");
        assertThat(unserved.path("litellm_params").path("api_base").asText()).isEqualTo("https://models.example.com/v1");
        assertThat(unserved.path("model_info").path("available").asBoolean(true)).isFalse();
        assertThat(unserved.path("model_info").path("unavailable_reason").asText()).contains("replicate");
    }

    @Test
    void modelInfo_prices_areWhatTheEditIsBilled() throws IOException {
        start();
        HttpResponse<String> r = edit("priced");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode priced = getJson("/model/info?litellm_model_id=priced-1").path("data");

        assertThat(priced).hasSize(1);
        JsonNode mi = priced.get(0).path("model_info");
        JsonNode usage = JSON.readTree(r.body()).path("usage");
        java.math.BigDecimal expected = mi.path("input_cost_per_token").decimalValue()
                .multiply(usage.path("input_tokens_details").path("text_tokens").decimalValue())
                .add(mi.path("input_cost_per_image_token").decimalValue()
                        .multiply(usage.path("input_tokens_details").path("image_tokens").decimalValue()))
                .add(mi.path("output_cost_per_image").decimalValue()
                        .multiply(java.math.BigDecimal.valueOf(JSON.readTree(r.body()).path("data").size())));
        assertThat(new java.math.BigDecimal(RoutingFixtures.header(r, "x-litellm-response-cost")))
                .isEqualByComparingTo(expected);
        HttpResponse<String> unknown = get("/model/info?litellm_model_id=nope", MASTER);
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.body()).contains("\"param\":\"litellm_model_id\"");
    }

    // ---- /model_group/info --------------------------------------------------------------------------

    @Test
    void modelGroupInfo_oneEntryPerGroup_inLitellmsModelGroupInfoShape() {
        start();
        JsonNode data = getJson("/model_group/info").path("data");

        assertThat(data.findValuesAsText("model_group")).containsExactly("edit", "broken", "elsewhere", "priced");
        JsonNode edit = byId(data, "model_group", "edit");
        assertThat(texts(edit.path("providers"))).containsExactly("openai");
        assertThat(edit.path("mode").asText()).isEqualTo("image_edit");
        assertThat(edit.path("rpm").asInt()).isEqualTo(10);
        assertThat(edit.path("tpm").asLong()).isEqualTo(100000);
        assertThat(edit.path("input_cost_per_token").decimalValue()).isEqualByComparingTo("0.000005");
        assertThat(edit.path("supports_function_calling").asBoolean(true)).isFalse();
        assertThat(texts(edit.path("supported_openai_params"))).contains("image", "prompt", "mask");
        for (String field : List.of("max_input_tokens", "max_output_tokens", "output_cost_per_token",
                "configurable_clientside_auth_params", "supports_parallel_function_calling", "supports_vision")) {
            assertThat(edit.has(field)).as(field).isTrue();
        }
        assertThat(byId(data, "model_group", "broken").path("rpm").isNull()).isTrue();
        assertThat(byId(data, "model_group", "elsewhere").path("available").asBoolean(true)).isFalse();

        JsonNode one = getJson("/model_group/info?model_group=priced").path("data");
        assertThat(one).hasSize(1);
        assertThat(one.get(0).path("output_cost_per_image").decimalValue()).isEqualByComparingTo("0.05");
        assertThat(get("/model_group/info?model_group=nope", MASTER).statusCode()).isEqualTo(404);
    }

    // ---- litellm_* metrics --------------------------------------------------------------------------

    Prom scrape() {
        HttpResponse<String> r = get("/metrics", null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertNoSecrets(r.body());
        return Prom.parse(r.body());
    }

    @Test
    void metrics_underLitellmsNamesAndLabels_afterASuccessAndAFailure() {
        start();
        HttpResponse<String> ok = edit("edit");
        assertThat(ok.statusCode()).isEqualTo(200);
        bad.enqueue(FakeResponse.serverError());
        assertThat(edit("broken").statusCode()).isEqualTo(500);
        Await.until("both edits counted", () -> scrape().sum("litellm_proxy_total_requests_metric_total") == 2);

        Prom m = scrape();

        assertThat(m.sum("litellm_requests_metric_total", "model", "gpt-image-1", "model_id", "good-1")).isEqualTo(1);
        assertThat(m.sum("litellm_requests_metric_total")).as("successes only, as LiteLLM counts it").isEqualTo(1);
        assertThat(m.sum("litellm_spend_metric_total", "model_id", "good-1"))
                .isCloseTo(Double.parseDouble(RoutingFixtures.header(ok, "x-easel-response-cost")),
                        org.assertj.core.data.Offset.offset(1e-9));
        assertThat(m.sum("litellm_proxy_total_requests_metric_total", "status_code", "200", "requested_model", "edit"))
                .isEqualTo(1);
        assertThat(m.sum("litellm_proxy_total_requests_metric_total", "status_code", "500")).isEqualTo(1);
        assertThat(m.sum("litellm_proxy_failed_requests_metric_total", "exception_status", "500",
                "exception_class", "Openai.InternalServerError", "requested_model", "broken")).isEqualTo(1);
        assertThat(m.sum("litellm_deployment_success_responses_total", "model_id", "good-1", "requested_model", "edit",
                "litellm_model_name", "gpt-image-1", "api_provider", "openai", "api_base", good.baseUrl()))
                .isEqualTo(1);
        assertThat(m.sum("litellm_deployment_failure_responses_total", "model_id", "broken-1", "exception_status",
                "500")).isEqualTo(1);
        assertThat(m.sum("litellm_deployment_total_requests_total")).isEqualTo(2);
        assertThat(m.sum("litellm_deployment_cooled_down_total", "model_id", "broken-1", "exception_status", "500"))
                .isEqualTo(1);
        assertThat(m.sum("litellm_deployment_state", "model_id", "good-1")).isZero();
        assertThat(m.sum("litellm_deployment_state", "model_id", "broken-1")).isEqualTo(2);
        assertThat(m.sum("litellm_deployment_state", "model_id", "unserved-1")).isEqualTo(2);
        assertThat(m.sum("litellm_remaining_requests_metric", "model_id", "good-1", "model_group", "edit"))
                .isEqualTo(9);
        assertThat(m.sum("litellm_deployment_rpm_limit", "model_id", "good-1")).isEqualTo(10);
        assertThat(m.sum("litellm_deployment_tpm_limit", "model_id", "good-1")).isEqualTo(100000);
        assertThat(m.sum("litellm_request_total_latency_metric_count", "requested_model", "edit")).isEqualTo(1);
        assertThat(m.sum("litellm_request_total_latency_metric_bucket", "requested_model", "edit", "le", "+Inf"))
                .isEqualTo(1);
        assertThat(m.samples().stream().filter(s -> s.name().equals("litellm_request_total_latency_metric_bucket"))
                .map(s -> s.labels().get("le")).distinct().toList()).contains("0.005", "300.0", "+Inf");
        assertThat(m.sum("litellm_llm_api_latency_metric_count", "model_id", "good-1")).isEqualTo(1);
        assertThat(m.sum("easel_requests_total")).as("Easel's own names stay").isEqualTo(2);

        // every label LiteLLM gives the series, and no more
        Prom.Sample requests = m.samples().stream().filter(s -> s.name().equals("litellm_requests_metric_total"))
                .findFirst().orElseThrow();
        assertThat(requests.labels().keySet()).containsExactlyInAnyOrder("end_user", "hashed_api_key",
                "api_key_alias", "model", "team", "team_alias", "user", "user_email", "client_ip", "user_agent",
                "model_id");
        Prom.Sample state = m.samples().stream().filter(s -> s.name().equals("litellm_deployment_state"))
                .findFirst().orElseThrow();
        assertThat(state.labels().keySet()).containsExactlyInAnyOrder("litellm_model_name", "model_id", "api_base",
                "api_provider");
        assertThat(m.samples().stream().map(Prom.Sample::name).filter(n -> n.startsWith("litellm_"))
                .filter(n -> n.contains("_seconds"))).as("no unit suffix on LiteLLM's names").isEmpty();
        // the api_base of a deployment Easel does not serve is shown without its credentials
        assertThat(m.samples().stream().filter(s -> s.name().equals("litellm_deployment_state"))
                .filter(s -> "unserved-1".equals(s.labels().get("model_id"))).map(s -> s.labels().get("api_base")))
                .containsExactly("https://models.example.com/v1");
    }
}
