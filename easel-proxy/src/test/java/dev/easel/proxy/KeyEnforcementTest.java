package dev.easel.proxy;

import static dev.easel.proxy.SpendE2eFixture.fields;
import static dev.easel.proxy.SpendE2eFixture.form;
import static dev.easel.proxy.SpendE2eFixture.json;
import static dev.easel.proxy.SpendE2eFixture.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.testkit.ManualClock;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Virtual keys on the request path (issue 15 parts 3–5): each refusal answers before anything reaches the
 * provider, with the OpenAI error that names the key by its alias (never the key), the limit or budget and when it
 * frees; the spend rows carry the key's alias, team and user; {@code /v1/models} lists what the key may use.
 */
class KeyEnforcementTest {

    @TempDir
    Path dataDir;
    final ManualClock clock = new ManualClock(Instant.parse("2026-12-07T10:00:00Z"));
    SpendE2eFixture f;

    @BeforeEach
    void start() {
        f = SpendE2eFixture.start(dataDir, "", clock);
    }

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    private String generate(String body) {
        HttpResponse<byte[]> r = f.postJson("/key/generate", body);
        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        String key = json(r).path("key").asText();
        assertThat(key).startsWith("sk-");
        return key;
    }

    private void team(String body) {
        HttpResponse<byte[]> r = f.postJson("/team/new", body);
        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    }

    private HttpResponse<byte[]> edit(String key, String model, String... kv) {
        return f.editWith(key, form(model, fields(kv)));
    }

    private static void assertError(HttpResponse<byte[]> r, int status, String code, String message, String key) {
        assertThat(r.statusCode()).as(text(r)).isEqualTo(status);
        JsonNode e = json(r).path("error");
        assertThat(e.path("code").asText()).as(text(r)).isEqualTo(code);
        assertThat(e.path("message").asText()).as(text(r)).contains(message);
        assertThat(text(r)).doesNotContain(key.substring(3)); // no key material, whatever the prefix
    }

    @Test
    void aKey_editsWithinItsModels_andEveryRowNamesItsAliasTeamAndUser() {
        team("{\"team_id\":\"design\",\"team_alias\":\"Design\"}");
        String key = generate("{\"key_alias\":\"mobile-app\",\"models\":[\"dall-e-2\",\"cheap\"],"
                + "\"team_id\":\"design\",\"user_id\":\"ana\",\"rpm_limit\":60,\"max_budget\":25}");

        HttpResponse<byte[]> ok = edit(key, "dall-e-2", "size", "256x256");
        BigDecimal spent = SpendE2eFixture.costHeader(ok);
        assertThat(ok.statusCode()).as(text(ok)).isEqualTo(200);
        assertThat(ok.headers().firstValue("x-ratelimit-limit-requests")).hasValue("60");
        assertThat(ok.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("59");
        assertThat(ok.headers().firstValue("x-easel-key-spend")).hasValue("0");
        assertThat(ok.headers().firstValue("x-easel-key-max-budget")).hasValue("25");
        assertThat(ok.headers().firstValue("x-easel-key-remaining-budget")).hasValue("25");
        // an access group the key names: flat-priced is in 'cheap'
        HttpResponse<byte[]> grouped = edit(key, "flat-priced");
        assertThat(grouped.statusCode()).as(text(grouped)).isEqualTo(200);
        spent = spent.add(SpendE2eFixture.costHeader(grouped));

        HttpResponse<byte[]> denied = edit(key, "gpt-image-1");
        assertError(denied, 401, "key_model_access_denied",
                "key 'mobile-app' is not allowed to use model 'gpt-image-1'", key);
        assertThat(f.fake.requestCount()).isEqualTo(2);

        JsonNode rows = f.logsWhenFlushed("api_key=" + sha256(key), 3);
        for (JsonNode row : rows) {
            assertThat(row.path("key_alias").asText()).isEqualTo("mobile-app");
            assertThat(row.path("team_id").asText()).isEqualTo("design");
            assertThat(row.path("user_id").asText()).isEqualTo("ana");
        }
        // the next request's headers show what the first ones spent, to the cent and beyond
        HttpResponse<byte[]> after = edit(key, "dall-e-2", "size", "256x256");
        assertThat(new BigDecimal(after.headers().firstValue("x-easel-key-spend").orElseThrow()))
                .isEqualByComparingTo(spent);
        assertThat(new BigDecimal(after.headers().firstValue("x-easel-key-remaining-budget").orElseThrow()))
                .isEqualByComparingTo(new BigDecimal("25").subtract(spent));
    }

    @Test
    void v1Models_withAKey_listsOnlyWhatItMayUse() {
        String key = generate("{\"key_alias\":\"lister\",\"models\":[\"dall-e-2\",\"cheap\"]}");
        HttpResponse<byte[]> r = f.getWith(key, "/v1/models");
        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        json(r).path("data").forEach(m -> ids.add(m.path("id").asText()));
        assertThat(ids).containsExactlyInAnyOrder("dall-e-2", "flat-priced");
    }

    @Test
    void unknownBlockedExpiredAndDeletedKeys_are401_andNeverReachTheProvider() {
        HttpResponse<byte[]> unknown = edit("sk-not-a-key-of-this-proxy-123456", "dall-e-2");
        assertError(unknown, 401, "invalid_api_key", "Incorrect API key provided", "sk-not-a-key-of-this-proxy-123456");

        String key = generate("{\"key_alias\":\"temp\",\"duration\":\"1h\"}");
        assertThat(edit(key, "dall-e-2", "size", "256x256").statusCode()).isEqualTo(200);
        assertThat(f.postJson("/key/block", "{\"key\":\"" + key + "\"}").statusCode()).isEqualTo(200);
        assertError(edit(key, "dall-e-2"), 401, "key_blocked", "key 'temp' is blocked", key);
        assertThat(f.postJson("/key/unblock", "{\"key\":\"" + key + "\"}").statusCode()).isEqualTo(200);
        assertThat(edit(key, "dall-e-2", "size", "256x256").statusCode()).isEqualTo(200);

        clock.advance(Duration.ofHours(1));
        assertError(edit(key, "dall-e-2"), 401, "key_expired", "key 'temp' expired at 2026-12-07T11:00:00Z", key);

        String other = generate("{\"key_alias\":\"gone\"}");
        assertThat(edit(other, "dall-e-2", "size", "256x256").statusCode()).isEqualTo(200);
        assertThat(f.postJson("/key/delete", "{\"keys\":[\"" + other + "\"]}").statusCode()).isEqualTo(200);
        assertError(edit(other, "dall-e-2"), 401, "invalid_api_key", "Incorrect API key provided", other);
        assertThat(f.fake.requestCount()).isEqualTo(3);
    }

    @Test
    void keyBudget_refusesTheRequestThatWouldExceedIt_namingBudgetSpendAndReset_thenResets() {
        String key = generate("{\"key_alias\":\"budgeted\",\"max_budget\":0.05,\"budget_duration\":\"1d\"}");
        // dall-e-2 256x256: 0.016 each; 2 per request = 0.032
        assertThat(edit(key, "dall-e-2", "n", "2", "size", "256x256").statusCode()).isEqualTo(200);
        HttpResponse<byte[]> over = edit(key, "dall-e-2", "n", "2", "size", "256x256");
        assertError(over, 400, "budget_exceeded", "key 'budgeted' would exceed the budget: spend 0.032 USD + this "
                + "request (estimated 0.032 USD) > max_budget 0.05 USD; the budget resets at 2026-12-08T10:00:00Z", key);
        assertThat(f.fake.requestCount()).isEqualTo(1);

        clock.advance(Duration.ofDays(1));
        HttpResponse<byte[]> next = edit(key, "dall-e-2", "n", "2", "size", "256x256");
        assertThat(next.statusCode()).as(text(next)).isEqualTo(200);
        HttpResponse<byte[]> info = f.get("/key/info?key=" + key);
        assertThat(info.statusCode()).as(text(info)).isEqualTo(200);
        assertThat(json(info).path("info").path("spend").decimalValue()).isEqualByComparingTo("0.032");
        assertThat(json(info).path("info").path("remaining_budget").decimalValue()).isEqualByComparingTo("0.018");
    }

    @Test
    void aBlockedTeam_stopsItsKeys_andTeamAndUserModelListsRestrictTheKey() {
        team("{\"team_id\":\"closed\",\"models\":[\"dall-e-2\",\"gpt-image-1\"]}");
        assertThat(f.postJson("/user/new", "{\"user_id\":\"limited\",\"models\":[\"dall-e-2\"],"
                + "\"auto_create_key\":false}").statusCode()).isEqualTo(200);
        String key = generate("{\"key_alias\":\"member-key\",\"team_id\":\"closed\",\"user_id\":\"limited\"}");
        assertThat(edit(key, "dall-e-2", "size", "256x256").statusCode()).isEqualTo(200);
        // the team allows gpt-image-1, the key's user does not
        assertError(edit(key, "gpt-image-1"), 401, "key_model_access_denied",
                "user 'limited' of key 'member-key' is not allowed to use model 'gpt-image-1'", key);
        // the team does not allow flat-priced
        assertError(edit(key, "flat-priced"), 401, "key_model_access_denied",
                "team 'closed' of key 'member-key' is not allowed to use model 'flat-priced'", key);
        HttpResponse<byte[]> blocked = f.postJson("/team/update", "{\"team_id\":\"closed\",\"blocked\":true}");
        assertThat(blocked.statusCode()).as(text(blocked)).isEqualTo(200);
        assertError(edit(key, "dall-e-2"), 401, "team_blocked", "team 'closed' of key 'member-key' is blocked", key);
        assertThat(f.fake.requestCount()).isEqualTo(1);
    }

    @Test
    void regenerate_keepsTheKeysSpendBudgetWindowAndRows() {
        String key = generate("{\"key_alias\":\"rotated\",\"max_budget\":0.05}");
        assertThat(edit(key, "dall-e-2", "n", "2", "size", "256x256").statusCode()).isEqualTo(200); // 0.032
        HttpResponse<byte[]> regen = f.postJson("/key/regenerate", "{\"key\":\"" + key + "\"}");
        assertThat(regen.statusCode()).as(text(regen)).isEqualTo(200);
        String fresh = json(regen).path("key").asText();
        assertError(edit(key, "dall-e-2"), 401, "invalid_api_key", "Incorrect API key provided", key);
        // the new key spends from the same budget: 0.032 + 0.032 > 0.05
        assertError(edit(fresh, "dall-e-2", "n", "2", "size", "256x256"), 400, "budget_exceeded",
                "key 'rotated' would exceed the budget: spend 0.032 USD", fresh);
        assertThat(edit(fresh, "dall-e-2", "size", "256x256").statusCode()).isEqualTo(200); // 0.048
        HttpResponse<byte[]> info = f.get("/key/info?key=" + fresh);
        assertThat(json(info).path("info").path("spend").decimalValue()).isEqualByComparingTo("0.048");
        // the key's rows carry its first token, before and after the regenerate (two edits, the budget refusal),
        // and so does the old key's own 401 after it (a wrong key's row holds the hash presented): 4 either way
        assertThat(f.logsWhenFlushed("api_key=" + fresh, 4).size()).isEqualTo(4);
        assertThat(f.logsWhenFlushed("api_key=" + key, 4).size()).isEqualTo(4);
    }

    @Test
    void aRequestsOwnFallbacks_areCheckedAgainstTheKeysModelsToo() {
        String key = generate("{\"key_alias\":\"narrow\",\"models\":[\"dall-e-2\"]}");
        assertError(edit(key, "dall-e-2", "size", "256x256", "fallbacks", "[\"gpt-image-1\"]"), 401,
                "key_model_access_denied", "key 'narrow' is not allowed to use model 'gpt-image-1'", key);
        assertThat(f.fake.requestCount()).isZero();
    }

    @Test
    void teamBudgetTighterThanTheKeys_wins() {
        team("{\"team_id\":\"frugal\",\"max_budget\":0.02}");
        String key = generate("{\"key_alias\":\"rich-key\",\"team_id\":\"frugal\",\"max_budget\":10}");
        assertThat(edit(key, "dall-e-2", "size", "256x256").statusCode()).isEqualTo(200);
        HttpResponse<byte[]> over = edit(key, "dall-e-2", "size", "256x256");
        assertError(over, 400, "budget_exceeded", "team 'frugal' would exceed the budget: spend 0.016 USD", key);
    }

    @Test
    void rpmLimit_refusesWith429AndRetryAfter_untilTheNextMinute() {
        clock.set(Instant.parse("2026-12-07T10:00:15Z"));
        String key = generate("{\"key_alias\":\"slow\",\"rpm_limit\":2}");
        assertThat(edit(key, "dall-e-2", "size", "256x256").statusCode()).isEqualTo(200);
        HttpResponse<byte[]> second = edit(key, "dall-e-2", "size", "256x256");
        assertThat(second.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");
        HttpResponse<byte[]> third = edit(key, "dall-e-2", "size", "256x256");
        assertError(third, 429, "rate_limit_exceeded", "key 'slow' is at its rpm_limit of 2 requests per minute",
                key);
        assertThat(third.headers().firstValue("Retry-After")).hasValue("45");
        assertThat(f.fake.requestCount()).isEqualTo(2);
        clock.advance(Duration.ofSeconds(45));
        assertThat(edit(key, "dall-e-2", "size", "256x256").statusCode()).isEqualTo(200);
    }

    @Test
    void tpmLimit_countsTheTokensOfAnsweredRequests_andRefusesOnceTheyReachIt() {
        clock.set(Instant.parse("2026-12-07T10:00:10Z"));
        // gpt-image-1 answers 1300 tokens (usage) per edit
        String key = generate("{\"key_alias\":\"tokens\",\"tpm_limit\":2000}");
        HttpResponse<byte[]> first = edit(key, "gpt-image-1");
        assertThat(first.statusCode()).as(text(first)).isEqualTo(200);
        assertThat(first.headers().firstValue("x-ratelimit-limit-tokens")).hasValue("2000");
        assertThat(first.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("2000");
        HttpResponse<byte[]> second = edit(key, "gpt-image-1");
        assertThat(second.statusCode()).as(text(second)).isEqualTo(200);
        assertThat(second.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("700");
        HttpResponse<byte[]> third = edit(key, "gpt-image-1");
        assertError(third, 429, "rate_limit_exceeded", "key 'tokens' is at its tpm_limit of 2000 tokens per minute",
                key);
        assertThat(third.headers().firstValue("Retry-After")).hasValue("50");
        clock.advance(Duration.ofSeconds(50));
        assertThat(edit(key, "gpt-image-1").statusCode()).isEqualTo(200);
    }

    @Test
    void teamRpmTighterThanTheKeys_wins() {
        team("{\"team_id\":\"small\",\"rpm_limit\":1}");
        String key = generate("{\"key_alias\":\"fast-key\",\"team_id\":\"small\",\"rpm_limit\":100}");
        assertThat(edit(key, "dall-e-2", "size", "256x256").statusCode()).isEqualTo(200);
        assertError(edit(key, "dall-e-2", "size", "256x256"), 429, "rate_limit_exceeded",
                "team 'small' is at its rpm_limit of 1 requests per minute", key);
    }

    @Test
    void maxParallelRequests_refusesTheOneTooMany_andFreesItsSlotAfterward() throws Exception {
        String key = generate("{\"key_alias\":\"one-at-a-time\",\"max_parallel_requests\":1}");
        f.fake.holdAnswers();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<HttpResponse<byte[]>> first = pool.submit(() -> edit(key, "dall-e-2", "size", "256x256"));
            dev.easel.testkit.Await.until("the first request upstream", () -> f.fake.requestCount() == 1);
            HttpResponse<byte[]> second = edit(key, "dall-e-2", "size", "256x256");
            assertError(second, 429, "rate_limit_exceeded", "key 'one-at-a-time' is at its max_parallel_requests of 1",
                    key);
            f.fake.releaseAnswers();
            assertThat(first.get().statusCode()).isEqualTo(200);
        } finally {
            f.fake.releaseAnswers();
            pool.shutdownNow();
        }
        assertThat(edit(key, "dall-e-2", "size", "256x256").statusCode()).isEqualTo(200);
    }

    @Test
    void concurrentRequestsOfOneKey_neverTogetherOverspendItsBudget() throws Exception {
        // 0.016 each, budget 0.1: at most 6 may pass, however they interleave
        String key = generate("{\"key_alias\":\"racer\",\"max_budget\":0.1}");
        f.fake.holdAnswers();
        ExecutorService pool = Executors.newFixedThreadPool(16);
        List<Future<HttpResponse<byte[]>>> all = new ArrayList<>();
        try {
            for (int i = 0; i < 16; i++) {
                all.add(pool.submit((Callable<HttpResponse<byte[]>>) () -> edit(key, "dall-e-2", "size", "256x256")));
            }
            dev.easel.testkit.Await.until("6 requests upstream", () -> f.fake.requestCount() >= 6);
            f.fake.releaseAnswers();
            int ok = 0;
            for (Future<HttpResponse<byte[]>> r : all) {
                HttpResponse<byte[]> resp = r.get();
                if (resp.statusCode() == 200) {
                    ok++;
                } else {
                    assertThat(json(resp).path("error").path("code").asText()).isEqualTo("budget_exceeded");
                }
            }
            assertThat(ok).isEqualTo(6);
            assertThat(f.fake.requestCount()).isEqualTo(6);
        } finally {
            f.fake.releaseAnswers();
            pool.shutdownNow();
        }
    }

    @Test
    void managementEndpoints_takeTheMasterKeyOrAProxyAdminsKey_only() {
        String plain = generate("{\"key_alias\":\"plain\"}");
        assertError(f.postJsonWith(plain, "/key/generate", "{}"), 401, "not_admin",
                "key 'plain' may not call /key/generate", plain);
        assertThat(f.postJson("/user/new", "{\"user_id\":\"root\",\"user_role\":\"proxy_admin\","
                + "\"auto_create_key\":false}").statusCode()).isEqualTo(200);
        String admin = generate("{\"key_alias\":\"admin-key\",\"user_id\":\"root\"}");
        HttpResponse<byte[]> made = f.postJsonWith(admin, "/key/generate", "{\"key_alias\":\"by-admin\"}");
        assertThat(made.statusCode()).as(text(made)).isEqualTo(200);
        assertThat(json(made).path("created_by").asText()).isEqualTo("root");
    }

    @Test
    void aKey_readsItsOwnKeyInfo_butNoOtherKeys() {
        String mine = generate("{\"key_alias\":\"self\",\"max_budget\":2}");
        String other = generate("{\"key_alias\":\"someone-else\"}");
        assertThat(edit(mine, "dall-e-2", "size", "256x256").statusCode()).isEqualTo(200);
        for (String path : List.of("/key/info", "/key/info?key=" + mine, "/key/info?key=" + sha256(mine))) {
            HttpResponse<byte[]> own = f.getWith(mine, path);
            assertThat(own.statusCode()).as(path + ": " + text(own)).isEqualTo(200);
            assertThat(json(own).path("info").path("key_alias").asText()).isEqualTo("self");
            assertThat(json(own).path("info").path("spend").decimalValue()).isEqualByComparingTo("0.016");
        }
        assertError(f.getWith(mine, "/key/info?key=" + other), 401, "not_admin", "a key may read only its own",
                other);
        assertError(f.getWith(mine, "/key/list"), 401, "not_admin", "key 'self' may not call /key/list", mine);
    }

    static String sha256(String key) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(key.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
