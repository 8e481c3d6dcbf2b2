package dev.easel.proxy;

import static dev.easel.proxy.SpendE2eFixture.costHeader;
import static dev.easel.proxy.SpendE2eFixture.fields;
import static dev.easel.proxy.SpendE2eFixture.form;
import static dev.easel.proxy.SpendE2eFixture.json;
import static dev.easel.proxy.SpendE2eFixture.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End-user budgets end to end ({@code general_settings.end_user_budgets} and {@code POST /end_user/new}): the
 * request that would take an end user over the budget (spend so far + n × the per-image price) is refused
 * with 400 {@code budget_exceeded} naming the end user, the spend and the budget, and the upstream receives
 * nothing; requests under the budget pass. The refusal is a spend row too.
 */
class SpendBudgetE2eTest {

    @TempDir
    static Path dataDir;
    @TempDir
    Path ownDataDir;
    static SpendE2eFixture f;

    static final String BUDGETS = """
            end_user_budgets:
              cfg-alice: 0.1
              cfg-bob: {max_budget: 0.1, budget_duration: 30d}
              cfg-carol: {budget_duration: 1d}
              cfg-zero: 0
            """;

    @BeforeAll
    static void start() {
        f = SpendE2eFixture.start(dataDir, BUDGETS);
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    @BeforeEach
    void reset() {
        f.fake.reset();
    }

    private static HttpResponse<byte[]> as(SpendE2eFixture fx, String endUser, String model, Map<String, String> fields) {
        return fx.edit(form(model, fields), "x-easel-end-user-id", endUser);
    }

    private static void assertRefused(HttpResponse<byte[]> r, String message) {
        assertThat(r.statusCode()).as(text(r)).isEqualTo(400);
        JsonNode error = json(r).path("error");
        assertThat(error.path("code").asText()).isEqualTo("budget_exceeded");
        assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
        // a budget with a duration says when it resets (the instant is checked by the key tests)
        assertThat(error.path("message").asText()).matches(java.util.regex.Pattern.quote(message)
                + "(; the budget resets at \\d{4}-\\d\\d-\\d\\dT\\S+Z)?");
        assertThat(r.headers().firstValue("x-easel-response-cost")).isEmpty();
    }

    @Test
    void configBudget_requestThatWouldExceedIt_isRefusedAndNothingGoesUpstream() {
        HttpResponse<byte[]> first = as(f, "cfg-alice", "gpt-image-1", Map.of());
        HttpResponse<byte[]> second = as(f, "cfg-alice", "gpt-image-1", Map.of());
        assertThat(first.statusCode()).as(text(first)).isEqualTo(200);
        assertThat(second.statusCode()).as(text(second)).isEqualTo(200);
        BigDecimal spent = costHeader(first).add(costHeader(second));
        assertThat(spent).isEqualByComparingTo("0.08886");
        assertThat(f.fake.requestCount()).isEqualTo(2);

        // 0.08886 + one medium 1024x1024 image (0.042) > 0.1
        HttpResponse<byte[]> third = as(f, "cfg-alice", "gpt-image-1", Map.of());
        assertRefused(third, "end user 'cfg-alice' would exceed the budget: spend 0.08886 USD + this request "
                + "(estimated 0.042 USD) > max_budget 0.1 USD");
        assertThat(json(third).path("error").path("param").asText()).isEqualTo("user");
        assertThat(f.fake.requestCount()).as("upstream calls after the refusal").isEqualTo(2);

        // a cheaper request still fits: 0.08886 + 0.011 (low) <= 0.1
        HttpResponse<byte[]> low = as(f, "cfg-alice", "gpt-image-1", fields("quality", "low"));
        assertThat(low.statusCode()).as(text(low)).isEqualTo(200);
        assertThat(f.fake.requestCount()).isEqualTo(3);
        assertThat(f.fake.lastRequest().textField("quality")).contains("low");
        spent = spent.add(costHeader(low)); // the fake bills its usual usage: 0.04443

        // now over the budget: even the cheapest request is refused
        HttpResponse<byte[]> over = as(f, "cfg-alice", "gpt-image-1", fields("quality", "low"));
        assertRefused(over, "end user 'cfg-alice' is over budget: spend " + spent.toPlainString()
                + " USD, max_budget 0.1 USD");
        assertThat(f.fake.requestCount()).isEqualTo(3);

        JsonNode info = json(f.get("/end_user/info?end_user_id=cfg-alice"));
        assertThat(info.path("spend").decimalValue()).isEqualByComparingTo(spent);
        assertThat(info.path("max_budget").decimalValue()).isEqualByComparingTo("0.1");
        assertThat(info.path("requests").asLong()).as("3 served + 2 refused").isEqualTo(5);

        // the refusals are rows: failure, budget_exceeded, no spend
        JsonNode refused = f.logsWhenFlushed("end_user=cfg-alice&status=failure", 2);
        assertThat(refused.size()).isEqualTo(2);
        for (JsonNode row : refused) {
            assertThat(row.path("error_code").asText()).isEqualTo("budget_exceeded");
            assertThat(row.path("http_status").asInt()).isEqualTo(400);
            assertThat(row.path("model_group").asText()).isEqualTo("gpt-image-1");
            assertThat(row.path("spend").isNull() || row.path("spend").decimalValue().signum() == 0).isTrue();
        }
    }

    @Test
    void estimate_isNTimesThePerImagePrice_refusedBeforeAnySpend() {
        // 3 x 0.042 = 0.126 > 0.1 with nothing spent yet
        HttpResponse<byte[]> three = as(f, "cfg-bob", "gpt-image-1", fields("n", "3"));
        assertRefused(three, "end user 'cfg-bob' would exceed the budget: spend 0 USD + this request "
                + "(estimated 0.126 USD) > max_budget 0.1 USD");
        assertThat(f.fake.requestCount()).isZero();

        // 2 x 0.042 = 0.084 fits
        HttpResponse<byte[]> two = as(f, "cfg-bob", "gpt-image-1", fields("n", "2"));
        assertThat(two.statusCode()).as(text(two)).isEqualTo(200);
        assertThat(f.fake.requestCount()).isEqualTo(1);
        assertThat(f.fake.takeRequest().textField("n")).contains("2");

        // the size and quality asked for set the estimate: high 1024x1536 = 0.25 alone is over
        HttpResponse<byte[]> high = as(f, "cfg-bob", "gpt-image-1", fields("quality", "high", "size", "1024x1536"));
        assertRefused(high, "end user 'cfg-bob' would exceed the budget: spend 0.04443 USD + this request "
                + "(estimated 0.25 USD) > max_budget 0.1 USD");
        assertThat(f.fake.requestCount()).isEqualTo(1);

        JsonNode info = json(f.get("/end_user/info?end_user_id=cfg-bob"));
        assertThat(info.path("budget_duration").asText()).isEqualTo("30d");
        assertThat(info.path("budget_reset_at").isTextual()).isTrue();
        assertThat(info.path("spend").decimalValue()).isEqualByComparingTo("0.04443");
    }

    @Test
    void zeroBudget_refusesEverythingIncludingStreams() {
        HttpResponse<byte[]> r = as(f, "cfg-zero", "gpt-image-1", Map.of());
        assertRefused(r, "end user 'cfg-zero' is over budget: spend 0 USD, max_budget 0 USD");

        HttpResponse<byte[]> stream = as(f, "cfg-zero", "gpt-image-1", fields("stream", "true"));
        assertRefused(stream, "end user 'cfg-zero' is over budget: spend 0 USD, max_budget 0 USD");
        assertThat(stream.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");

        // the same end user through LiteLLM's header and through the body
        assertRefused(f.edit(form("gpt-image-1", Map.of()), "x-litellm-customer-id", "cfg-zero"),
                "end user 'cfg-zero' is over budget: spend 0 USD, max_budget 0 USD");
        assertRefused(f.edit(form("gpt-image-1", fields("user", "cfg-zero"))),
                "end user 'cfg-zero' is over budget: spend 0 USD, max_budget 0 USD");
        assertThat(f.fake.requestCount()).isZero();
    }

    @Test
    void trackedWithoutLimit_andNoEndUser_areNeverRefused() {
        for (int i = 0; i < 3; i++) {
            HttpResponse<byte[]> r = as(f, "cfg-carol", "gpt-image-1", fields("n", "10"));
            assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        }
        HttpResponse<byte[]> anonymous = f.edit(form("gpt-image-1", fields("n", "10")));
        assertThat(anonymous.statusCode()).as(text(anonymous)).isEqualTo(200);
        assertThat(f.fake.requestCount()).isEqualTo(4);
        JsonNode info = json(f.get("/end_user/info?end_user_id=cfg-carol"));
        assertThat(info.path("max_budget").isNull()).isTrue();
        assertThat(info.path("budget_duration").asText()).isEqualTo("1d");
        assertThat(info.path("requests").asLong()).isEqualTo(3);
    }

    @Test
    void endUserNew_setsAndRaisesABudget_keptAcrossARestart() {
        try (SpendE2eFixture own = SpendE2eFixture.start(ownDataDir, "")) {
            HttpResponse<byte[]> created = own.postJson("/end_user/new", "{\"user_id\":\"api-dave\",\"max_budget\":0.05}");
            assertThat(created.statusCode()).as(text(created)).isEqualTo(200);
            assertThat(json(created).path("end_user_id").asText()).isEqualTo("api-dave");
            assertThat(json(created).path("max_budget").decimalValue()).isEqualByComparingTo("0.05");
            assertThat(json(created).path("spend").decimalValue()).isEqualByComparingTo("0");

            // dall-e-2: 2 x 0.016 (256x256) = 0.032 fits in 0.05
            HttpResponse<byte[]> first = as(own, "api-dave", "dall-e-2", fields("n", "2", "size", "256x256"));
            assertThat(first.statusCode()).as(text(first)).isEqualTo(200);
            assertThat(costHeader(first)).isEqualByComparingTo("0.032");
            // 0.032 + 0.032 > 0.05
            HttpResponse<byte[]> second = as(own, "api-dave", "dall-e-2", fields("n", "2", "size", "256x256"));
            assertRefused(second, "end user 'api-dave' would exceed the budget: spend 0.032 USD + this request "
                    + "(estimated 0.032 USD) > max_budget 0.05 USD");
            assertThat(own.fake.requestCount()).isEqualTo(1);

            // raised (LiteLLM's customer alias): the same request passes
            HttpResponse<byte[]> raised = own.postJson("/customer/new",
                    "{\"end_user_id\":\"api-dave\",\"max_budget\":1.0,\"budget_duration\":\"30d\"}");
            assertThat(raised.statusCode()).as(text(raised)).isEqualTo(200);
            assertThat(json(raised).path("budget_duration").asText()).isEqualTo("30d");
            HttpResponse<byte[]> third = as(own, "api-dave", "dall-e-2", fields("n", "2", "size", "256x256"));
            assertThat(third.statusCode()).as(text(third)).isEqualTo(200);
            assertThat(own.fake.requestCount()).isEqualTo(2);
        }
        // a restart on the same data dir keeps the budget; the window started with the raise
        try (SpendE2eFixture again = SpendE2eFixture.start(ownDataDir, "")) {
            JsonNode info = json(again.get("/end_user/info?end_user_id=api-dave"));
            assertThat(info.path("max_budget").decimalValue()).isEqualByComparingTo("1.0");
            assertThat(info.path("budget_duration").asText()).isEqualTo("30d");
            assertThat(info.path("spend").decimalValue()).isEqualByComparingTo("0.032");
            assertThat(info.path("total_spend").decimalValue()).isEqualByComparingTo("0.064");
            assertThat(info.path("total_requests").asLong()).isEqualTo(3);

            HttpResponse<byte[]> lowered = again.postJson("/end_user/new", "{\"user_id\":\"api-dave\",\"max_budget\":0.01}");
            assertThat(lowered.statusCode()).as(text(lowered)).isEqualTo(200);
            // without a budget_duration the budget counts all time: 0.064 spent is over 0.01
            HttpResponse<byte[]> r = as(again, "api-dave", "dall-e-2", fields("size", "256x256"));
            assertRefused(r, "end user 'api-dave' is over budget: spend 0.064 USD, max_budget 0.01 USD");
            assertThat(again.fake.requestCount()).isZero();
        }
    }

    @Test
    void concurrentRequests_holdTheBudgetBeforeTheCall_soTogetherTheyCannotOverspendIt() throws Exception {
        // 12 requests at once, each held upstream until all are in: without a hold taken before the call, every
        // one passes the check (nothing spent yet) and 12 x 0.016 = 0.192 is spent of a 0.05 budget
        try (SpendE2eFixture own = SpendE2eFixture.start(ownDataDir, "end_user_budgets:\n  race-erin: 0.05\n")) {
            own.fake.holdAnswers();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(12);
            try {
                java.util.List<java.util.concurrent.Future<HttpResponse<byte[]>>> all = new java.util.ArrayList<>();
                for (int i = 0; i < 12; i++) {
                    all.add(pool.submit(() -> as(own, "race-erin", "dall-e-2", fields("size", "256x256"))));
                }
                // 0.016 each: three fit in 0.05 (0.048), the other nine are refused before the call
                dev.easel.testkit.Await.until("three requests upstream and nine refused", () -> own.fake.requestCount()
                        == 3 && all.stream().filter(java.util.concurrent.Future::isDone).count() == 9);
                own.fake.releaseAnswers();
                int passed = 0;
                int refused = 0;
                for (var f : all) {
                    HttpResponse<byte[]> r = f.get(30, java.util.concurrent.TimeUnit.SECONDS);
                    if (r.statusCode() == 200) {
                        passed++;
                    } else {
                        assertThat(json(r).path("error").path("code").asText()).as(text(r)).isEqualTo("budget_exceeded");
                        refused++;
                    }
                }
                assertThat(passed).isEqualTo(3);
                assertThat(refused).isEqualTo(9);
            } finally {
                pool.shutdownNow();
            }
            JsonNode info = json(own.get("/end_user/info?end_user_id=race-erin"));
            assertThat(info.path("spend").decimalValue()).isEqualByComparingTo("0.048");
            assertThat(own.proxy.heldBudget("race-erin")).isEqualByComparingTo("0");
        }
    }

    @Test
    void endUserNew_badInput_is400NamingTheField() {
        HttpResponse<byte[]> negative = f.postJson("/end_user/new", "{\"user_id\":\"x\",\"max_budget\":-1}");
        assertThat(negative.statusCode()).isEqualTo(400);
        assertThat(json(negative).path("error").path("param").asText()).isEqualTo("max_budget");
        assertThat(json(negative).path("error").path("message").asText())
                .isEqualTo("max_budget must not be negative (was -1)");
        HttpResponse<byte[]> noUser = f.postJson("/end_user/new", "{\"max_budget\":1}");
        assertThat(noUser.statusCode()).isEqualTo(400);
        assertThat(json(noUser).path("error").path("param").asText()).isEqualTo("user_id");
        assertThat(f.get("/end_user/info?end_user_id=x").statusCode()).isEqualTo(404);
    }
}
