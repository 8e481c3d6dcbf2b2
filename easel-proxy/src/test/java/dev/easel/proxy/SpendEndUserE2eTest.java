package dev.easel.proxy;

import static dev.easel.proxy.SpendE2eFixture.costHeader;
import static dev.easel.proxy.SpendE2eFixture.fields;
import static dev.easel.proxy.SpendE2eFixture.form;
import static dev.easel.proxy.SpendE2eFixture.json;
import static dev.easel.proxy.SpendE2eFixture.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedRequest;
import java.math.BigDecimal;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End users and spend logs end to end: the end user comes from a header or the body, is forwarded upstream,
 * and is recorded; {@code /end_user/info}, {@code /customer/info}, {@code /spend/logs} and
 * {@code /global/spend/report} sum exactly the {@code x-easel-response-cost} headers the clients saw; failed
 * requests (upstream error, validation, auth) are rows too; the endpoints want the master key.
 */
class SpendEndUserE2eTest {

    @TempDir
    static Path dataDir;
    @TempDir
    Path ownDataDir;
    static SpendE2eFixture f;

    /** LiteLLM's spend-log field names (every row has them). */
    static final List<String> LITELLM_FIELDS = List.of("request_id", "startTime", "endTime", "model", "model_group",
            "model_id", "api_base", "end_user", "spend", "total_tokens", "prompt_tokens", "completion_tokens",
            "status");

    @BeforeAll
    static void start() {
        f = SpendE2eFixture.start(dataDir, "");
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

    private static String requestId(HttpResponse<?> r) {
        return r.headers().firstValue("x-request-id").orElseThrow();
    }

    private static String sha256(String s) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    private static String scriptedGptImage15() {
        return """
                {"created": 1760000000, "background": "opaque", "output_format": "png", "quality": "high",
                 "size": "1024x1024", "data": [{"b64_json": "%s"}],
                 "usage": {"input_tokens": 12, "input_tokens_details": {"image_tokens": 0, "text_tokens": 12},
                           "output_tokens": 4501,
                           "output_tokens_details": {"image_tokens": 4160, "text_tokens": 341},
                           "total_tokens": 4513}}
                """.formatted(Base64.getEncoder().encodeToString(SpendE2eFixture.PNG));
    }

    // ------------------------------------------------------------------ blocked end users

    @Test
    void blockedEndUser_isRefused400BeforeAnyUpstreamCall_fromBodyOrHeader_untilUnblocked() {
        HttpResponse<byte[]> block = f.postJson("/customer/block", "{\"user_ids\":[\"blk-user\"]}");
        assertThat(block.statusCode()).as(text(block)).isEqualTo(200);

        HttpResponse<byte[]> byBody = f.edit(form("gpt-image-1", fields("user", "blk-user")));
        assertThat(byBody.statusCode()).as(text(byBody)).isEqualTo(400);
        assertThat(text(byBody)).isEqualTo("{\"error\":{\"message\":\"User blocked from making LLM API Calls. "
                + "User=blk-user\",\"type\":\"invalid_request_error\",\"param\":\"user\",\"code\":"
                + "\"end_user_blocked\"}}");
        HttpResponse<byte[]> byHeader = f.edit(form("gpt-image-1", Map.of()), "x-litellm-end-user-id", "blk-user");
        assertThat(byHeader.statusCode()).isEqualTo(400);
        assertThat(f.fake.requestCount()).as("nothing went upstream").isZero();
        // the refusal is a spend row like any other failure, with its end user
        JsonNode rows = f.logsWhenFlushed("end_user=blk-user", 2);
        assertThat(rows.findValuesAsText("status")).containsOnly("failure");

        HttpResponse<byte[]> other = f.edit(form("gpt-image-1", fields("user", "not-blocked")));
        assertThat(other.statusCode()).as(text(other)).isEqualTo(200);

        assertThat(f.postJson("/end_user/unblock", "{\"user_ids\":[\"blk-user\"]}").statusCode()).isEqualTo(200);
        HttpResponse<byte[]> again = f.edit(form("gpt-image-1", fields("user", "blk-user")));
        assertThat(again.statusCode()).as(text(again)).isEqualTo(200);
    }

    // ------------------------------------------------------------------ where the end user comes from

    @Test
    void endUser_fromEachHeader_recordedAndForwardedUpstreamAsUser() {
        Map<String, String> byHeader = new LinkedHashMap<>();
        byHeader.put("x-easel-end-user-id", "src-easel-header");
        byHeader.put("x-litellm-end-user-id", "src-litellm-end-user");
        byHeader.put("x-litellm-customer-id", "src-litellm-customer");
        Map<String, String> ids = new LinkedHashMap<>();
        for (var e : byHeader.entrySet()) {
            HttpResponse<byte[]> r = f.edit(form("gpt-image-1", Map.of()), e.getKey(), e.getValue());
            assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
            // the body had no user: the header's end user is forwarded as OpenAI's `user`
            RecordedRequest sent = f.fake.takeRequest();
            assertThat(sent.textField("user")).as(e.getKey()).contains(e.getValue());
            assertThat(sent.fieldNames()).doesNotContain("safety_identifier");
            ids.put(e.getValue(), requestId(r));
        }
        for (var e : ids.entrySet()) {
            JsonNode rows = f.logsWhenFlushed("end_user=" + e.getKey(), 1);
            assertThat(rows.size()).isEqualTo(1);
            assertThat(rows.get(0).path("request_id").asText()).isEqualTo(e.getValue());
            assertThat(rows.get(0).path("end_user").asText()).isEqualTo(e.getKey());
        }
    }

    @Test
    void endUser_fromBodyUserOrSafetyIdentifier_recordedAndSentUpstreamUnchanged() {
        HttpResponse<byte[]> byUser = f.edit(form("gpt-image-1", fields("user", "src-body-user")));
        assertThat(byUser.statusCode()).as(text(byUser)).isEqualTo(200);
        RecordedRequest sentUser = f.fake.takeRequest();
        assertThat(sentUser.textField("user")).contains("src-body-user");
        assertThat(sentUser.fieldNames()).doesNotContain("safety_identifier");

        HttpResponse<byte[]> bySafety = f.edit(form("gpt-image-1", fields("safety_identifier", "src-body-safety")));
        assertThat(bySafety.statusCode()).as(text(bySafety)).isEqualTo(200);
        RecordedRequest sentSafety = f.fake.takeRequest();
        assertThat(sentSafety.textField("safety_identifier")).contains("src-body-safety");
        assertThat(sentSafety.fieldNames()).doesNotContain("user");

        // a header wins over the body for the record; the body's own `user` still goes upstream as sent
        HttpResponse<byte[]> both = f.edit(form("gpt-image-1", fields("user", "src-body-loses")),
                "x-easel-end-user-id", "src-header-wins");
        assertThat(both.statusCode()).as(text(both)).isEqualTo(200);
        assertThat(f.fake.takeRequest().textField("user")).contains("src-body-loses");

        assertThat(f.logsWhenFlushed("end_user=src-body-user", 1).get(0).path("request_id").asText())
                .isEqualTo(requestId(byUser));
        assertThat(f.logsWhenFlushed("end_user=src-body-safety", 1).get(0).path("request_id").asText())
                .isEqualTo(requestId(bySafety));
        assertThat(f.logsWhenFlushed("end_user=src-header-wins", 1).get(0).path("request_id").asText())
                .isEqualTo(requestId(both));
        assertThat(json(f.get("/spend/logs?end_user=src-body-loses"))).isEmpty();
    }

    @Test
    void jsonBody_userField_isTheEndUser() {
        String body = "{\"model\":\"gpt-image-1\",\"prompt\":\"add a hat\",\"user\":\"src-json-user\","
                + "\"images\":[{\"image_url\":\"data:image/png;base64,"
                + Base64.getEncoder().encodeToString(SpendE2eFixture.PNG) + "\"}]}";
        HttpResponse<byte[]> r = f.postJson("/v1/images/edits", body);

        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        assertThat(f.fake.takeRequest().textField("user")).contains("src-json-user");
        JsonNode rows = f.logsWhenFlushed("end_user=src-json-user", 1);
        assertThat(rows.get(0).path("spend").decimalValue()).isEqualByComparingTo(costHeader(r));
    }

    // ------------------------------------------------------------------ sums and rows

    @Test
    void alice_endUserInfoAndLogs_sumTheCostHeadersExactly_failuresAreRowsToo() throws Exception {
        String alice = "alice";
        String[] h = {"x-easel-end-user-id", alice};
        Instant before = Instant.now();
        List<HttpResponse<byte[]>> ok = new ArrayList<>();
        ok.add(f.edit(form("gpt-image-1", Map.of()), h));
        f.fake.enqueue(FakeResponse.json(200, scriptedGptImage15()));
        ok.add(f.edit(form("gpt-image-1.5", fields("quality", "high")), h));
        ok.add(f.edit(form("custom-priced", fields("n", "2")), h));
        ok.add(f.edit(form("dall-e-2", fields("n", "2", "size", "512x512")), h));
        ok.add(f.edit(form("gpt-image-1", fields("stream", "true")), h));
        for (HttpResponse<byte[]> r : ok) {
            assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        }
        // a stream's cost is in its completed event
        String sse = text(ok.get(4));
        String costField = "\"easel_response_cost\":";
        int at = sse.indexOf(costField);
        assertThat(at).as(sse).isPositive();
        BigDecimal streamCost = new BigDecimal(sse.substring(at + costField.length()).split("[,}]")[0].trim());
        assertThat(f.fake.requestCount()).isEqualTo(5);

        // failures: upstream 500, validation 400 (nothing sent), bad key 401 (nothing read)
        f.fake.enqueue(FakeResponse.serverError());
        HttpResponse<byte[]> upstream500 = f.edit(form("gpt-image-1", Map.of()), h);
        assertThat(upstream500.statusCode()).as(text(upstream500)).isGreaterThanOrEqualTo(500);
        HttpResponse<byte[]> invalid400 = f.edit(form("gpt-image-1", fields("n", "11")), h);
        assertThat(invalid400.statusCode()).as(text(invalid400)).isEqualTo(400);
        HttpResponse<byte[]> auth401 = f.send(HttpRequest.newBuilder(f.uri("/v1/images/edits"))
                .header("Authorization", "Bearer sk-wrong").header("x-easel-end-user-id", alice)
                .header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(form("gpt-image-1", Map.of()).build())).build());
        assertThat(auth401.statusCode()).as(text(auth401)).isEqualTo(401);
        assertThat(f.fake.requestCount()).as("upstream calls: 5 successes + the 500").isEqualTo(6);
        List<HttpResponse<byte[]>> failed = List.of(upstream500, invalid400, auth401);
        for (HttpResponse<byte[]> r : failed) {
            assertThat(r.headers().firstValue("x-easel-response-cost")).isEmpty();
        }

        BigDecimal expected = BigDecimal.ZERO;
        Map<String, BigDecimal> costById = new HashMap<>();
        for (int i = 0; i < 4; i++) {
            BigDecimal c = costHeader(ok.get(i));
            costById.put(requestId(ok.get(i)), c);
            expected = expected.add(c);
        }
        costById.put(requestId(ok.get(4)), streamCost);
        expected = expected.add(streamCost);
        // 0.04443 + 0.13659 + 0.039768 + 0.036 + 0.04443
        assertThat(expected).isEqualByComparingTo("0.301218");

        // /end_user/info counts rows not yet flushed too: no waiting needed
        HttpResponse<byte[]> infoResponse = f.get("/end_user/info?end_user_id=" + alice);
        // money is a JSON number with every digit (not a double, not 3.01218E-1)
        assertThat(text(infoResponse)).contains("\"spend\":" + expected.toPlainString() + ",");
        JsonNode info = json(infoResponse);
        assertThat(info.path("end_user_id").asText()).isEqualTo(alice);
        assertThat(info.path("spend").decimalValue()).isEqualByComparingTo(expected);
        assertThat(info.path("spend").decimalValue().toPlainString()).isEqualTo(expected.stripTrailingZeros()
                .toPlainString());
        assertThat(info.path("requests").asLong()).isEqualTo(8);
        assertThat(info.path("total_spend").decimalValue()).isEqualByComparingTo(expected);
        assertThat(info.path("total_requests").asLong()).isEqualTo(8);
        assertThat(info.has("max_budget")).isTrue();
        assertThat(info.path("max_budget").isNull()).isTrue();
        for (String q : List.of("/customer/info?end_user_id=alice", "/customer/info?customer_id=alice")) {
            JsonNode customer = json(f.get(q));
            assertThat(customer.path("spend").decimalValue()).as(q).isEqualByComparingTo(expected);
            assertThat(customer.path("requests").asLong()).as(q).isEqualTo(8);
        }

        // the rows, with LiteLLM's field names: successes + failures
        JsonNode rows = f.logsWhenFlushed("end_user=alice", 8);
        assertThat(rows.size()).isEqualTo(8);
        Map<String, JsonNode> byId = new HashMap<>();
        for (JsonNode row : rows) {
            for (String field : LITELLM_FIELDS) {
                assertThat(row.has(field)).as("field %s in %s", field, row).isTrue();
            }
            assertThat(byId.put(row.path("request_id").asText(), row)).as("duplicate row %s", row).isNull();
            assertThat(row.path("end_user").asText()).isEqualTo(alice);
            Instant start = Instant.parse(row.path("startTime").asText());
            Instant end = Instant.parse(row.path("endTime").asText());
            assertThat(start).isBetween(before.minusSeconds(1), Instant.now());
            assertThat(end).isAfterOrEqualTo(start);
        }
        BigDecimal rowSum = BigDecimal.ZERO;
        String keyHash = sha256(SpendE2eFixture.MASTER_KEY);
        String[] groups = {"gpt-image-1", "gpt-image-1.5", "custom-priced", "dall-e-2", "gpt-image-1"};
        String[] models = {"gpt-image-1", "gpt-image-1.5", "gpt-image-1", "dall-e-2", "gpt-image-1"};
        int[] imagesOut = {1, 1, 2, 2, 1};
        for (int i = 0; i < ok.size(); i++) {
            JsonNode row = byId.get(requestId(ok.get(i)));
            assertThat(row).as("row of success %d", i).isNotNull();
            assertThat(row.path("status").asText()).isEqualTo("success");
            assertThat(row.path("http_status").asInt()).isEqualTo(200);
            assertThat(row.path("spend").decimalValue()).isEqualByComparingTo(costById.get(requestId(ok.get(i))));
            assertThat(row.path("model_group").asText()).isEqualTo(groups[i]);
            assertThat(row.path("model").asText()).isEqualTo(models[i]);
            assertThat(row.path("model_id").asText()).isEqualTo(ok.get(i).headers()
                    .firstValue("x-easel-deployment").orElseThrow());
            assertThat(row.path("custom_llm_provider").asText()).isEqualTo("openai");
            assertThat(row.path("api_base").asText()).isEqualTo(f.fake.baseUrl());
            assertThat(row.path("api_key").asText()).isEqualTo(keyHash);
            assertThat(row.path("images_out").asInt()).isEqualTo(imagesOut[i]);
            assertThat(row.path("images_in").asInt()).isEqualTo(1);
            assertThat(row.path("attempts").asInt()).isEqualTo(1);
            assertThat(row.path("fallback_used").asBoolean()).isFalse();
            rowSum = rowSum.add(row.path("spend").decimalValue());
        }
        assertThat(rowSum).isEqualByComparingTo(expected);
        JsonNode gpt1 = byId.get(requestId(ok.get(0)));
        assertThat(gpt1.path("prompt_tokens").asLong()).isEqualTo(244);
        assertThat(gpt1.path("completion_tokens").asLong()).isEqualTo(1056);
        assertThat(gpt1.path("total_tokens").asLong()).isEqualTo(1300);
        JsonNode dalle = byId.get(requestId(ok.get(3)));
        assertThat(dalle.path("total_tokens").asLong()).isZero();

        Set<Integer> failureStatuses = new java.util.HashSet<>();
        for (HttpResponse<byte[]> r : failed) {
            JsonNode row = byId.get(requestId(r));
            assertThat(row).as("row of failure %s: %s", r.statusCode(), text(r)).isNotNull();
            JsonNode error = json(r).path("error");
            assertThat(row.path("status").asText()).isEqualTo("failure");
            assertThat(row.path("http_status").asInt()).isEqualTo(r.statusCode());
            assertThat(row.path("error_code").asText()).isEqualTo(error.path("code").asText());
            assertThat(row.path("error_type").asText()).isEqualTo(error.path("type").asText());
            assertThat(row.path("spend").isNull() || row.path("spend").decimalValue().signum() == 0)
                    .as("spend of a failure: %s", row).isTrue();
            assertThat(row.path("images_out").asInt()).isZero();
            failureStatuses.add(r.statusCode());
        }
        assertThat(failureStatuses).contains(400, 401);
        assertThat(byId.get(requestId(auth401)).path("api_key").asText()).isEqualTo(sha256("sk-wrong"));

        // filters
        assertThat(json(f.get("/spend/logs?end_user=alice&status=failure")).size()).isEqualTo(3);
        assertThat(json(f.get("/spend/logs?end_user=alice&status=success")).size()).isEqualTo(5);
        assertThat(json(f.get("/spend/logs?end_user=alice&model=gpt-image-1&status=success")).size()).isEqualTo(2);
        String today = LocalDate.now(ZoneOffset.UTC).toString();
        assertThat(json(f.get("/spend/logs?end_user=alice&start_date=" + before.minusSeconds(1))).size())
                .isEqualTo(8);
        assertThat(json(f.get("/spend/logs?end_user=alice&start_date=" + LocalDate.parse(today).plusDays(1))))
                .isEmpty();
        HttpResponse<byte[]> v2 = f.get("/spend/logs/v2?end_user=alice&page_size=3&page=2");
        assertThat(json(v2).path("total").asLong()).isEqualTo(8);
        assertThat(json(v2).path("data").size()).isEqualTo(3);
        assertThat(json(v2).path("total_pages").asLong()).isEqualTo(3);
    }

    @Test
    void globalSpendReport_groupsByModelEndUserAndDay_sumsMatchTheHeaders() {
        try (SpendE2eFixture own = SpendE2eFixture.start(ownDataDir, "")) {
            List<HttpResponse<byte[]>> sent = new ArrayList<>();
            sent.add(own.edit(form("gpt-image-1", Map.of()), "x-easel-end-user-id", "bob"));
            sent.add(own.edit(form("gpt-image-1", fields("user", "carol"))));
            sent.add(own.edit(form("custom-priced", Map.of()), "x-easel-end-user-id", "bob"));
            sent.add(own.edit(form("dall-e-2", fields("size", "256x256"))));
            own.fake.enqueue(FakeResponse.serverError());
            sent.add(own.edit(form("gpt-image-1", Map.of()), "x-easel-end-user-id", "carol"));
            for (int i = 0; i < 4; i++) {
                assertThat(sent.get(i).statusCode()).as(text(sent.get(i))).isEqualTo(200);
            }
            assertThat(sent.get(4).statusCode()).isGreaterThanOrEqualTo(500);
            BigDecimal c0 = costHeader(sent.get(0));
            BigDecimal c1 = costHeader(sent.get(1));
            BigDecimal c2 = costHeader(sent.get(2));
            BigDecimal c3 = costHeader(sent.get(3));
            assertThat(c3).isEqualByComparingTo("0.016");

            // every response the clients got is one row
            JsonNode all = own.logsWhenFlushed("", 5);
            assertThat(all.size()).isEqualTo(5);
            assertThat(json(own.get("/spend/logs/v2")).path("total").asLong()).isEqualTo(5);

            Map<String, JsonNode> byModel = report(own, "model", "model");
            assertThat(byModel.keySet()).containsExactly("custom-priced", "dall-e-2", "gpt-image-1");
            assertThat(byModel.get("gpt-image-1").path("spend").decimalValue()).isEqualByComparingTo(c0.add(c1));
            assertThat(byModel.get("gpt-image-1").path("requests").asLong()).isEqualTo(3);
            assertThat(byModel.get("gpt-image-1").path("failures").asLong()).isEqualTo(1);
            assertThat(byModel.get("gpt-image-1").path("prompt_tokens").asLong()).isEqualTo(488);
            assertThat(byModel.get("gpt-image-1").path("completion_tokens").asLong()).isEqualTo(2112);
            assertThat(byModel.get("gpt-image-1").path("images_out").asLong()).isEqualTo(2);
            assertThat(byModel.get("custom-priced").path("spend").decimalValue()).isEqualByComparingTo(c2);
            assertThat(byModel.get("dall-e-2").path("spend").decimalValue()).isEqualByComparingTo(c3);

            Map<String, JsonNode> byUser = report(own, "end_user", "end_user");
            assertThat(byUser.keySet()).containsExactlyInAnyOrder("bob", "carol", "null");
            assertThat(byUser.get("bob").path("spend").decimalValue()).isEqualByComparingTo(c0.add(c2));
            assertThat(byUser.get("bob").path("requests").asLong()).isEqualTo(2);
            assertThat(byUser.get("carol").path("spend").decimalValue()).isEqualByComparingTo(c1);
            assertThat(byUser.get("carol").path("requests").asLong()).isEqualTo(2);
            assertThat(byUser.get("carol").path("failures").asLong()).isEqualTo(1);
            assertThat(byUser.get("null").path("spend").decimalValue()).isEqualByComparingTo(c3);
            // LiteLLM's name for the same grouping
            assertThat(report(own, "customer", "end_user").keySet()).isEqualTo(byUser.keySet());

            Map<String, JsonNode> byDay = report(own, "day", "day");
            Map<String, BigDecimal> expectedDays = new TreeMap<>();
            Map<String, Long> expectedRequests = new TreeMap<>();
            for (JsonNode row : all) {
                String day = row.path("startTime").asText().substring(0, 10);
                BigDecimal s = row.path("spend").isNull() ? BigDecimal.ZERO : row.path("spend").decimalValue();
                expectedDays.merge(day, s, BigDecimal::add);
                expectedRequests.merge(day, 1L, Long::sum);
            }
            assertThat(byDay.keySet()).isEqualTo(expectedDays.keySet());
            BigDecimal daySum = BigDecimal.ZERO;
            for (var e : expectedDays.entrySet()) {
                assertThat(byDay.get(e.getKey()).path("spend").decimalValue()).isEqualByComparingTo(e.getValue());
                assertThat(byDay.get(e.getKey()).path("requests").asLong()).isEqualTo(expectedRequests.get(e.getKey()));
                daySum = daySum.add(byDay.get(e.getKey()).path("spend").decimalValue());
            }
            assertThat(daySum).isEqualByComparingTo(c0.add(c1).add(c2).add(c3));
        }
    }

    private static Map<String, JsonNode> report(SpendE2eFixture fx, String groupBy, String keyField) {
        HttpResponse<byte[]> r = fx.get("/global/spend/report?group_by=" + groupBy);
        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (JsonNode entry : json(r)) {
            JsonNode k = entry.path(keyField);
            out.put(k.isNull() ? "null" : k.asText(), entry);
        }
        return out;
    }

    // ------------------------------------------------------------------ errors and auth

    @Test
    void readiness_reportsTheSpendStore() {
        f.edit(form("gpt-image-1", Map.of()), "x-easel-end-user-id", "readiness-user");
        f.logsWhenFlushed("end_user=readiness-user", 1);

        HttpResponse<byte[]> r = f.send(java.net.http.HttpRequest.newBuilder(f.uri("/health/readiness")).GET().build());

        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        JsonNode db = json(r).path("db");
        assertThat(db.path("status").asText()).as(text(r)).isEqualTo("connected");
        assertThat(db.path("store").asText()).contains("sqlite").contains("spend.db");
        assertThat(db.path("backlog").isIntegralNumber()).as(text(r)).isTrue();
    }

    @Test
    void endUserInfo_unknownEndUser_is404NamingIt() {
        HttpResponse<byte[]> r = f.get("/end_user/info?end_user_id=nobody-at-all");

        assertThat(r.statusCode()).isEqualTo(404);
        JsonNode error = json(r).path("error");
        assertThat(error.path("code").asText()).isEqualTo("end_user_not_found");
        assertThat(error.path("message").asText()).isEqualTo("end user 'nobody-at-all' not found");
    }

    @Test
    void spendEndpoints_withoutOrWithAWrongKey_are401AndCreateNothing() {
        List<HttpRequest.Builder> requests = new ArrayList<>();
        for (String path : List.of("/spend/logs", "/spend/logs/v2", "/end_user/info?end_user_id=alice",
                "/customer/info?end_user_id=alice", "/global/spend/report?group_by=model")) {
            requests.add(HttpRequest.newBuilder(f.uri(path)).GET());
        }
        for (String path : List.of("/end_user/new", "/customer/new")) {
            requests.add(HttpRequest.newBuilder(f.uri(path)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"user_id\":\"sneaky\",\"max_budget\":100}")));
        }
        for (HttpRequest.Builder b : requests) {
            HttpRequest noKey = b.copy().build();
            HttpResponse<byte[]> r = f.send(noKey);
            assertThat(r.statusCode()).as(noKey.uri() + " without a key").isEqualTo(401);
            assertThat(json(r).path("error").path("code").asText()).isEqualTo("missing_api_key");
            HttpRequest wrong = b.copy().header("Authorization", "Bearer sk-not-the-master-key").build();
            HttpResponse<byte[]> w = f.send(wrong);
            assertThat(w.statusCode()).as(wrong.uri() + " with a wrong key").isEqualTo(401);
            assertThat(json(w).path("error").path("code").asText()).isEqualTo("invalid_api_key");
            assertThat(text(w)).doesNotContain("sk-not-the-master-key");
        }
        // the refused POSTs created no end user
        assertThat(f.get("/end_user/info?end_user_id=sneaky").statusCode()).isEqualTo(404);
        // and the right key works, also as api-key
        HttpResponse<byte[]> apiKey = f.send(HttpRequest.newBuilder(f.uri("/spend/logs?limit=1"))
                .header("api-key", SpendE2eFixture.MASTER_KEY).GET().build());
        assertThat(apiKey.statusCode()).as(text(apiKey)).isEqualTo(200);
    }
}
