package dev.easel.proxy.spend;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.Javalin;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The spend endpoints over real HTTP (Javalin on port 0) on a SQLite file. */
class SpendApiTest {

    @TempDir
    Path dir;

    private SpendService spend;
    private Javalin app;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() {
        spend = SpendService.start(SpendOptions.sqlite(dir).withFlushInterval(Duration.ofHours(1))
                .withEndUserBudgets(Map.of("alice", Map.of("max_budget", 1))));
        SpendApi api = new SpendApi(spend, ctx -> {
            try {
                return new com.fasterxml.jackson.databind.ObjectMapper().readTree(ctx.bodyAsBytes());
            } catch (java.io.IOException e) {
                throw new dev.easel.EaselException("invalid JSON body", 400, "invalid_request_error", "invalid_json",
                        null, null, null, e);
            }
        });
        app = Javalin.create(c -> {
            c.startup.showJavalinBanner = false;
            c.routes.get("/spend/logs", api::logs);
            c.routes.get("/spend/logs/v2", api::logsPage);
            c.routes.get("/end_user/info", api::endUserInfo);
            c.routes.get("/customer/info", api::endUserInfo);
            c.routes.post("/end_user/new", api::newEndUser);
            c.routes.post("/customer/new", api::newEndUser);
            for (String prefix : java.util.List.of("/end_user", "/customer")) {
                c.routes.post(prefix + "/update", api::updateEndUser);
                c.routes.post(prefix + "/delete", api::deleteEndUsers);
                c.routes.post(prefix + "/block", api::blockEndUsers);
                c.routes.post(prefix + "/unblock", api::unblockEndUsers);
            }
            c.routes.get("/global/spend/report", api::report);
        }).start("127.0.0.1", 0);
        Instant t0 = Instant.parse("2026-11-01T10:00:00Z");
        spend.record(SpendServiceContract.row("r1", "alice", "gpt-image-1", "0.04443", t0).toBuilder()
                .apiBase("https://api.openai.com/v1").keyHash("f".repeat(64)).build());
        spend.record(SpendServiceContract.row("r2", "alice", "gpt-image-1", "0.04443", t0.plusSeconds(60)));
        spend.record(SpendServiceContract.row("r3", "bob", "dall-e-2", "0.02", t0.plus(Duration.ofDays(1))));
        spend.flush();
    }

    @AfterEach
    void stop() {
        app.stop();
        spend.close();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String json) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.port() + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> r) throws Exception {
        return SpendJson.MAPPER.readTree(r.body());
    }

    @Test
    void spendLogs_namesFieldsAsLitellm_andPages() throws Exception {
        HttpResponse<String> r = get("/spend/logs?end_user=alice&start_date=2026-11-01&page_size=1&page=2");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-total-count")).contains("2");
        assertThat(r.headers().firstValue("x-page")).contains("2");
        JsonNode rows = json(r);
        assertThat(rows.size()).isEqualTo(1);
        JsonNode row = rows.get(0);
        assertThat(row.get("request_id").asText()).isEqualTo("r1");
        assertThat(row.get("startTime").asText()).isEqualTo("2026-11-01T10:00:00Z");
        assertThat(row.get("endTime").asText()).isEqualTo("2026-11-01T10:00:01.500Z");
        assertThat(row.get("model").asText()).isEqualTo("gpt-image-1");
        assertThat(row.get("model_group").asText()).isEqualTo("gpt-image-1");
        assertThat(row.get("model_id").asText()).isEqualTo("gpt-image-1-dep");
        assertThat(row.get("api_base").asText()).isEqualTo("https://api.openai.com/v1");
        assertThat(row.get("end_user").asText()).isEqualTo("alice");
        assertThat(row.get("api_key").asText()).isEqualTo("f".repeat(64));
        assertThat(row.get("status").asText()).isEqualTo("success");
        assertThat(row.get("total_tokens").asLong()).isEqualTo(1300);
        assertThat(row.get("prompt_tokens").asLong()).isEqualTo(244);
        assertThat(row.get("completion_tokens").asLong()).isEqualTo(1056);
        assertThat(r.body()).contains("\"spend\":0.04443,");
    }

    @Test
    void spendLogsV2_wrapsThePage() throws Exception {
        JsonNode page = json(get("/spend/logs/v2?limit=2&offset=0"));
        assertThat(page.get("total").asLong()).isEqualTo(3);
        assertThat(page.get("total_pages").asLong()).isEqualTo(2);
        assertThat(page.get("data").size()).isEqualTo(2);
        assertThat(page.get("data").get(0).get("request_id").asText()).isEqualTo("r3");
    }

    @Test
    void spendLogs_badDate_is400WithOpenAiError() throws Exception {
        HttpResponse<String> r = get("/spend/logs?start_date=yesterday");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("{\"error\":{\"message\":\"start_date: expected a date like 2026-11-01 or an "
                + "ISO-8601 time like 2026-11-01T10:00:00Z (was 'yesterday')\",\"type\":\"invalid_request_error\","
                + "\"param\":\"start_date\",\"code\":\"invalid_parameter\"}}");
        assertThat(get("/spend/logs?page_size=5000").body()).contains("page_size must be between 1 and 1000 (was 5000)");
        assertThat(get("/spend/logs?status=ok").statusCode()).isEqualTo(400);
    }

    @Test
    void endUserInfo_sumsTheRequests() throws Exception {
        HttpResponse<String> r = get("/end_user/info?end_user_id=alice");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode info = json(r);
        assertThat(info.get("end_user_id").asText()).isEqualTo("alice");
        assertThat(r.body()).contains("\"spend\":0.08886,");
        assertThat(info.get("requests").asLong()).isEqualTo(2);
        assertThat(info.get("max_budget").decimalValue()).isEqualByComparingTo("1");
        assertThat(info.get("budget_duration").isNull()).isTrue(); // no window: all time
        assertThat(info.get("budget_reset_at").isNull()).isTrue();
        assertThat(json(get("/customer/info?end_user_id=bob")).get("max_budget").isNull()).isTrue();
    }

    @Test
    void endUserInfo_unknown_is404() throws Exception {
        HttpResponse<String> r = get("/end_user/info?end_user_id=nobody");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.body()).isEqualTo("{\"error\":{\"message\":\"end user 'nobody' not found\",\"type\":"
                + "\"invalid_request_error\",\"param\":\"end_user_id\",\"code\":\"end_user_not_found\"}}");
        assertThat(get("/end_user/info").statusCode()).isEqualTo(400);
    }

    @Test
    void endUserNew_setsABudget_thatRefuses() throws Exception {
        HttpResponse<String> r = post("/end_user/new", "{\"user_id\":\"bob\",\"max_budget\":0.02,"
                + "\"budget_duration\":\"1mo\"}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r).get("max_budget").decimalValue()).isEqualByComparingTo("0.02");
        assertThat(json(r).get("budget_duration").asText()).isEqualTo("1mo");
        assertThat(Instant.parse(json(r).get("budget_reset_at").asText())).isAfter(Instant.now());
        assertThat(json(r).get("total_spend").decimalValue()).isEqualByComparingTo("0.02");
        // the new budget starts a new window: bob's earlier 0.02 is outside it
        assertThat(spend.checkBudget("bob")).isEmpty();
        spend.record(SpendServiceContract.row("r4", "bob", "dall-e-2", "0.02", Instant.now()));
        assertThat(spend.checkBudget("bob")).hasValueSatisfying(x ->
                assertThat(x.spend()).isEqualByComparingTo(new BigDecimal("0.02")));

        HttpResponse<String> bad = post("/end_user/new", "{\"user_id\":\"x\",\"budget_duration\":\"soon\"}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json(bad).get("error").get("param").asText()).isEqualTo("budget_duration");
        assertThat(post("/end_user/new", "{\"max_budget\":1}").statusCode()).isEqualTo(400);
        assertThat(post("/end_user/new", "{\"user_id\":\"x\",\"max_budget\":-1}").statusCode()).isEqualTo(400);
        assertThat(post("/end_user/new", "not json").statusCode()).isEqualTo(400);
    }

    @Test
    void globalSpendReport_groupsByEachKey() throws Exception {
        JsonNode byModel = json(get("/global/spend/report?group_by=model"));
        assertThat(byModel.size()).isEqualTo(2);
        assertThat(byModel.get(1).get("model").asText()).isEqualTo("gpt-image-1");
        assertThat(byModel.get(1).get("spend").decimalValue()).isEqualByComparingTo("0.08886");
        JsonNode byDay = json(get("/global/spend/report?group_by=day&start_date=2026-11-02&end_date=2026-11-02"));
        assertThat(byDay.size()).isEqualTo(1);
        assertThat(byDay.get(0).get("day").asText()).isEqualTo("2026-11-02");
        JsonNode byCustomer = json(get("/global/spend/report?group_by=customer"));
        assertThat(byCustomer.get(0).get("end_user").asText()).isEqualTo("alice");
        // team (like api_key and user) groups rows made with virtual keys: these rows have none
        assertThat(json(get("/global/spend/report?group_by=team")).size()).isZero();
        assertThat(get("/global/spend/report?group_by=organization").statusCode()).isEqualTo(400);
    }

    @Test
    void spendLogs_cursor_walksThePages_andIsGivenBack() throws Exception {
        HttpResponse<String> first = get("/spend/logs?page_size=2");
        assertThat(json(first).findValuesAsText("request_id")).containsExactly("r3", "r2");
        String cursor = first.headers().firstValue("x-next-cursor").orElseThrow();
        HttpResponse<String> second = get("/spend/logs?page_size=2&cursor=" + cursor);
        assertThat(second.statusCode()).isEqualTo(200);
        assertThat(json(second).findValuesAsText("request_id")).containsExactly("r1");
        assertThat(second.headers().firstValue("x-next-cursor")).isEmpty();
        assertThat(second.headers().firstValue("x-page")).isEmpty();
        assertThat(second.headers().firstValue("x-total-count")).contains("3");

        JsonNode v2 = json(get("/spend/logs/v2?limit=1&model_id=gpt-image-1-dep"));
        assertThat(v2.get("total").asLong()).isEqualTo(2);
        JsonNode v2next = json(get("/spend/logs/v2?limit=1&model_id=gpt-image-1-dep&cursor="
                + v2.get("next_cursor").asText()));
        assertThat(v2next.get("data").get(0).get("request_id").asText()).isEqualTo("r1");
        assertThat(v2next.get("page").isNull()).isTrue();
        assertThat(v2next.get("next_cursor").isNull()).isTrue();
    }

    @Test
    void spendLogs_badCursor_orCursorWithPage_is400() throws Exception {
        HttpResponse<String> bad = get("/spend/logs?cursor=bm90LWEtY3Vyc29y");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json(bad).get("error").get("message").asText())
                .isEqualTo("cursor: not a cursor from /spend/logs (was 'bm90LWEtY3Vyc29y')");
        assertThat(json(bad).get("error").get("param").asText()).isEqualTo("cursor");
        String cursor = get("/spend/logs?page_size=1").headers().firstValue("x-next-cursor").orElseThrow();
        HttpResponse<String> both = get("/spend/logs?page=2&cursor=" + cursor);
        assertThat(both.statusCode()).isEqualTo(400);
        assertThat(json(both).get("error").get("message").asText())
                .isEqualTo("use either cursor or page/offset, not both (the cursor says where the page starts)");
    }

    @Test
    void globalSpendReport_byDeployment() throws Exception {
        JsonNode rows = json(get("/global/spend/report?group_by=model_id"));
        assertThat(rows.findValuesAsText("deployment")).containsExactly("dall-e-2-dep", "gpt-image-1-dep");
        assertThat(rows.get(1).get("requests").asLong()).isEqualTo(2);
    }

    // ------------------------------------------------------------------ /customer/update, delete, block, unblock

    private static JsonNode error(HttpResponse<String> r) throws Exception {
        return json(r).get("error");
    }

    @Test
    void customerUpdate_changesOnlyWhatIsGiven_andKeepsTheWindow() throws Exception {
        JsonNode before = json(post("/customer/new", "{\"user_id\":\"carol\",\"max_budget\":2,"
                + "\"budget_duration\":\"30d\"}"));
        HttpResponse<String> r = post("/customer/update", "{\"user_id\":\"carol\",\"max_budget\":3}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode after = json(r);
        assertThat(after.get("max_budget").decimalValue()).isEqualByComparingTo("3");
        assertThat(after.get("budget_duration").asText()).isEqualTo("30d");
        // the same window end (as stored: to the microsecond)
        assertThat(Instant.parse(after.get("budget_reset_at").asText())).isEqualTo(
                Instant.parse(before.get("budget_reset_at").asText()).truncatedTo(java.time.temporal.ChronoUnit.MICROS));
        assertThat(after.get("blocked").asBoolean()).isFalse();
        assertThat(after.get("litellm_budget_table").get("max_budget").decimalValue()).isEqualByComparingTo("3");

        // the /end_user alias, and a new duration: a new window
        JsonNode daily = json(post("/end_user/update", "{\"user_id\":\"carol\",\"budget_duration\":\"1d\"}"));
        assertThat(daily.get("budget_duration").asText()).isEqualTo("1d");
        assertThat(daily.get("max_budget").decimalValue()).isEqualByComparingTo("3");

        // an end user seen only in the spend log can be updated; one never seen is 404 (LiteLLM's)
        assertThat(json(post("/customer/update", "{\"user_id\":\"bob\",\"max_budget\":0.5}")).get("max_budget")
                .decimalValue()).isEqualByComparingTo("0.5");
        HttpResponse<String> unknown = post("/customer/update", "{\"user_id\":\"nobody\",\"max_budget\":1}");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.body()).isEqualTo("{\"error\":{\"message\":\"end user 'nobody' not found\",\"type\":"
                + "\"invalid_request_error\",\"param\":\"user_id\",\"code\":\"end_user_not_found\"}}");
        assertThat(spend.endUserInfo("nobody")).isEmpty();
    }

    @Test
    void customerEndpoints_unsupportedFields_at400_unlessAtTheirDefault_andUnknownFields400() throws Exception {
        for (String path : java.util.List.of("/customer/new", "/customer/update")) {
            HttpResponse<String> alias = post(path, "{\"user_id\":\"alice\",\"alias\":\"Alice\"}");
            assertThat(alias.statusCode()).as(path).isEqualTo(400);
            assertThat(error(alias).get("code").asText()).isEqualTo("unsupported_parameter");
            assertThat(error(alias).get("param").asText()).isEqualTo("alias");
            assertThat(error(alias).get("message").asText())
                    .isEqualTo("alias is not supported by Easel (was \"Alice\"); leave it out or null");
            for (String field : java.util.List.of("\"allowed_model_region\":\"eu\"", "\"default_model\":\"x\"",
                    "\"budget_id\":\"free\"", "\"spend\":3", "\"tpm_limit\":5", "\"rpm_limit\":5",
                    "\"soft_budget\":1", "\"max_parallel_requests\":2", "\"object_permission\":{\"agents\":[\"a\"]}",
                    "\"model_max_budget\":{\"m\":{}}", "\"budget_reset_at\":\"2026-12-31T00:00:00Z\"")) {
                HttpResponse<String> r = post(path, "{\"user_id\":\"alice\"," + field + "}");
                assertThat(r.statusCode()).as(path + " " + field).isEqualTo(400);
                assertThat(error(r).get("code").asText()).isEqualTo("unsupported_parameter");
            }
            // LiteLLM's defaults, as its clients send them, are fine
            HttpResponse<String> defaults = post(path, "{\"user_id\":\"frank\",\"alias\":null,\"spend\":0,"
                    + "\"allowed_model_region\":null,\"object_permission\":{},\"blocked\":false}");
            assertThat(defaults.statusCode()).as(path + " " + defaults.body()).isEqualTo(200);

            HttpResponse<String> unknown = post(path, "{\"user_id\":\"alice\",\"colour\":\"red\"}");
            assertThat(unknown.statusCode()).isEqualTo(400);
            assertThat(error(unknown).get("code").asText()).isEqualTo("unknown_parameter");
            assertThat(error(unknown).get("message").asText()).isEqualTo("unknown field 'colour' (expected user_id, "
                    + "end_user_id, max_budget, budget_duration, blocked)");
            HttpResponse<String> notBool = post(path, "{\"user_id\":\"alice\",\"blocked\":\"yes\"}");
            assertThat(error(notBool).get("message").asText()).isEqualTo("blocked: expected true or false (was "
                    + "\"yes\")");
        }
        HttpResponse<String> unknown = post("/customer/block", "{\"user_ids\":[\"alice\"],\"alias\":null}");
        assertThat(unknown.statusCode()).isEqualTo(400);
        assertThat(error(unknown).get("message").asText()).isEqualTo("unknown field 'alias' (expected user_ids)");
        // the budget configured for alice is untouched by all of that
        assertThat(spend.endUserInfo("alice").orElseThrow().maxBudget()).hasValueSatisfying(
                m -> assertThat(m).isEqualByComparingTo("1"));
    }

    @Test
    void customerBlock_refusesTheEndUser_unblockLiftsIt_bothAliases() throws Exception {
        HttpResponse<String> r = post("/customer/block", "{\"user_ids\":[\"alice\",\"dave\"]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode blocked = json(r).get("blocked_users");
        assertThat(blocked.findValuesAsText("user_id")).containsExactly("alice", "dave");
        assertThat(blocked.findValuesAsText("blocked")).containsOnly("true");
        assertThat(spend.blocked("alice")).contains("User blocked from making LLM API Calls. User=alice");
        assertThat(spend.blocked("dave")).isPresent(); // created by the block, as LiteLLM's upsert does
        assertThat(json(get("/customer/info?end_user_id=dave")).get("blocked").asBoolean()).isTrue();
        assertThat(spend.blocked("bob")).isEmpty();

        HttpResponse<String> missing = post("/end_user/unblock", "{\"user_ids\":[\"alice\",\"zed\",\"yan\"]}");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(error(missing).get("message").asText()).isEqualTo("end users not found: zed, yan");
        assertThat(spend.blocked("alice")).as("nothing changed").isPresent();

        HttpResponse<String> un = post("/end_user/unblock", "{\"user_ids\":[\"alice\"]}");
        assertThat(un.statusCode()).isEqualTo(200);
        assertThat(json(un).get("unblocked_users").get(0).get("blocked").asBoolean()).isFalse();
        assertThat(spend.blocked("alice")).isEmpty();
        assertThat(spend.blocked("dave")).isPresent();

        assertThat(error(post("/customer/block", "{\"user_ids\":[]}")).get("message").asText())
                .isEqualTo("user_ids must not be empty");
        assertThat(error(post("/customer/block", "{\"user_ids\":\"alice\"}")).get("param").asText())
                .isEqualTo("user_ids");
        assertThat(error(post("/customer/block", "{}")).get("code").asText()).isEqualTo("missing_parameter");
        StringBuilder many = new StringBuilder("{\"user_ids\":[");
        for (int i = 0; i <= SpendService.MAX_END_USERS_PER_CALL; i++) {
            many.append(i == 0 ? "" : ",").append("\"u").append(i).append('"');
        }
        assertThat(error(post("/customer/block", many + "]}")).get("message").asText())
                .isEqualTo("user_ids: at most 1000 end users per call (was 1001)");
    }

    @Test
    void customerDelete_removesBudgetsAndBlocks_keepsSpend_andUnknownDeletesNothing() throws Exception {
        post("/customer/new", "{\"user_id\":\"erin\",\"max_budget\":4,\"blocked\":true}");
        assertThat(spend.blocked("erin")).isPresent();

        HttpResponse<String> missing = post("/customer/delete", "{\"user_ids\":[\"erin\",\"ghost\"]}");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.body()).isEqualTo("{\"error\":{\"message\":\"end users not found: ghost\",\"type\":"
                + "\"invalid_request_error\",\"param\":\"user_ids\",\"code\":\"end_user_not_found\"}}");
        assertThat(spend.endUserInfo("erin")).isPresent();

        HttpResponse<String> r = post("/end_user/delete", "{\"user_ids\":[\"erin\",\"alice\"]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("deleted_customers").asInt()).isEqualTo(2);
        assertThat(json(r).get("message").asText()).isEqualTo("Successfully deleted customers with ids: [erin, "
                + "alice]");
        assertThat(spend.blocked("erin")).isEmpty();
        assertThat(spend.endUserInfo("erin")).as("no budget, no request: gone").isEmpty();
        EndUserInfo alice = spend.endUserInfo("alice").orElseThrow();
        assertThat(alice.maxBudget()).as("budget gone").isEmpty();
        assertThat(alice.totalRequests()).as("spend rows stay").isEqualTo(2);
        assertThat(spend.checkBudget("alice")).isEmpty();
    }
}
