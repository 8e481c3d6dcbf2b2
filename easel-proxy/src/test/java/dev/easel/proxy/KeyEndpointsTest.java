package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.proxy.keys.KeyApi;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LiteLLM's /key, /team and /user endpoints on a real proxy (port 0, master key) over HTTP: the answers' field names
 * and types, each refusal, paging, and that no answer but generate/regenerate/user-new carries key material.
 * SQLite here; {@link PostgresKeyEndpointsTest} runs the same on PostgreSQL.
 */
class KeyEndpointsTest {

    @TempDir
    Path dataDir;

    WireFixture wire;

    /** Extra {@code general_settings} lines (the PostgreSQL subclass names its database). */
    String generalSettings() throws Exception {
        return "";
    }

    @BeforeEach
    void start() throws Exception {
        wire = WireFixture.start(dataDir, generalSettings(), o -> o);
    }

    @AfterEach
    void stop() {
        if (wire != null) {
            wire.close();
        }
    }

    HttpResponse<byte[]> post(String path, String json) {
        return wire.send(wire.request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    JsonNode ok(HttpResponse<byte[]> r) {
        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        return WireFixture.json(r);
    }

    static String text(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    /** The error object of a refusal with {@code status}, checking its param and code. */
    static JsonNode refused(HttpResponse<byte[]> r, int status, String param, String code) {
        assertThat(r.statusCode()).as(text(r)).isEqualTo(status);
        JsonNode e = WireFixture.error(r);
        assertThat(e.get("param").isNull() ? null : e.get("param").asText()).isEqualTo(param);
        assertThat(e.get("code").asText()).isEqualTo(code);
        return e;
    }

    JsonNode generate(String json) {
        return ok(post("/key/generate", json));
    }

    // ---------------------------------------------------------------- /key/generate, /key/info

    @Test
    void generate_answersLitellmFields_andTheKeyOnlyThere() {
        ok(post("/team/new", "{\"team_id\":\"design\",\"models\":[\"gpt-image-2\",\"edit\"]}"));
        Instant before = Instant.now();
        JsonNode g = generate("{\"key_alias\":\"mobile-app\",\"models\":[\"gpt-image-2\",\"edit\"],\"max_budget\":25,"
                + "\"budget_duration\":\"30d\",\"rpm_limit\":60,\"max_parallel_requests\":4,\"team_id\":\"design\","
                + "\"duration\":\"1h\",\"metadata\":{\"env\":\"prod\",\"n\":{\"x\":1.5}},\"tags\":[\"ios\"],"
                + "\"soft_budget\":20.5,\"tpm_limit\":100000}");

        String key = g.get("key").asText();
        assertThat(key).startsWith("sk-").hasSizeGreaterThanOrEqualTo(46);
        assertThat(g.get("token").asText()).isEqualTo(KeyApi.hash(key)).hasSize(64);
        assertThat(g.get("token_id").asText()).isEqualTo(KeyApi.hash(key));
        assertThat(g.get("key_name").asText()).isEqualTo("sk-..." + key.substring(key.length() - 4));
        assertThat(g.get("key_alias").asText()).isEqualTo("mobile-app");
        assertThat(g.get("models")).extracting(JsonNode::asText).containsExactly("gpt-image-2", "edit");
        assertThat(g.get("max_budget").isNumber()).isTrue();
        assertThat(g.get("max_budget").decimalValue()).isEqualByComparingTo("25");
        assertThat(g.get("soft_budget").decimalValue()).isEqualByComparingTo("20.5");
        assertThat(g.get("budget_duration").asText()).isEqualTo("30d");
        Instant reset = Instant.parse(g.get("budget_reset_at").asText());
        assertThat(reset).isBetween(before.plus(Duration.ofDays(30)), Instant.now().plus(Duration.ofDays(30)));
        assertThat(g.get("rpm_limit").asInt()).isEqualTo(60);
        assertThat(g.get("tpm_limit").asLong()).isEqualTo(100000);
        assertThat(g.get("max_parallel_requests").asInt()).isEqualTo(4);
        assertThat(g.get("team_id").asText()).isEqualTo("design");
        assertThat(g.get("user_id").isNull()).isTrue();
        assertThat(g.get("duration").asText()).isEqualTo("1h");
        Instant expires = Instant.parse(g.get("expires").asText());
        assertThat(expires).isBetween(before.plus(Duration.ofHours(1)).minusSeconds(1),
                Instant.now().plus(Duration.ofHours(1)));
        assertThat(g.get("metadata").get("n").get("x").decimalValue()).isEqualByComparingTo("1.5");
        assertThat(g.get("tags")).extracting(JsonNode::asText).containsExactly("ios");
        assertThat(g.get("blocked").asBoolean()).isFalse();
        assertThat(g.get("spend").isNumber()).isTrue();
        assertThat(g.get("created_by").asText()).isEqualTo("default_user_id");
        assertThat(g.get("updated_by").asText()).isEqualTo("default_user_id");
        Instant.parse(g.get("created_at").asText());
        assertThat(g.get("aliases").isObject()).isTrue();
        assertThat(g.get("allowed_routes").isArray()).isTrue();

        for (String asked : List.of(key, KeyApi.hash(key))) {
            HttpResponse<byte[]> r = wire.get("/key/info?key=" + asked);
            JsonNode info = ok(r);
            assertThat(text(r)).doesNotContain(key);
            assertThat(info.get("key").asText()).isEqualTo(KeyApi.hash(key));
            JsonNode i = info.get("info");
            assertThat(i.get("token").asText()).isEqualTo(KeyApi.hash(key));
            assertThat(i.get("key_name").asText()).isEqualTo(g.get("key_name").asText());
            assertThat(i.get("expires").asText()).isEqualTo(g.get("expires").asText());
            assertThat(i.get("created_at").asText()).isEqualTo(g.get("created_at").asText());
            assertThat(i.get("budget_reset_at").asText()).isEqualTo(g.get("budget_reset_at").asText());
            assertThat(i.get("metadata")).isEqualTo(g.get("metadata"));
            assertThat(i.has("key")).isFalse();
        }
    }

    @Test
    void generate_callerSuppliedKey_isHashed_andABadOneIsRefusedWithoutRepeatingIt() {
        String own = "sk-my-own-key-0123456789";
        JsonNode g = generate("{\"key\":\"" + own + "\"}");
        assertThat(g.get("key").asText()).isEqualTo(own);
        assertThat(g.get("token").asText()).isEqualTo(KeyApi.hash(own));

        HttpResponse<byte[]> shortKey = post("/key/generate", "{\"key\":\"sk-short-1\"}");
        assertThat(refused(shortKey, 400, "key", "invalid_parameter").get("message").asText())
                .isEqualTo("key: a key must be at least 20 characters long (was 10)");
        assertThat(text(shortKey)).doesNotContain("sk-short-1");
        HttpResponse<byte[]> noPrefix = post("/key/generate", "{\"key\":\"pk-0123456789abcdefghij\"}");
        refused(noPrefix, 400, "key", "invalid_parameter");
        assertThat(text(noPrefix)).doesNotContain("pk-0123456789abcdefghij");
        refused(post("/key/generate", "{\"key\":\"" + own + "\"}"), 409, null, "conflict");
    }

    @Test
    void generate_refusesUnknownFields_unsupportedValues_andBadTypes_namingThem() {
        assertThat(refused(post("/key/generate", "{\"key_alias\":\"a\",\"colour\":\"red\"}"), 400, "colour",
                "unknown_parameter").get("message").asText()).isEqualTo("unknown field 'colour'");
        assertThat(refused(post("/key/generate", "{\"guardrails\":[\"pii\"]}"), 400, "guardrails",
                "unsupported_parameter").get("message").asText()).isEqualTo("guardrails: Easel does not support "
                + "this field (was [\"pii\"]); leave it out or null");
        refused(post("/key/generate", "{\"model_max_budget\":{\"gpt-image-1\":5}}"), 400, "model_max_budget",
                "unsupported_parameter");
        refused(post("/key/generate", "{\"key_type\":\"management\"}"), 400, "key_type", "unsupported_parameter");
        refused(post("/key/generate", "{\"send_invite_email\":true}"), 400, "send_invite_email",
                "unsupported_parameter");
        refused(post("/key/generate", "{\"organization_id\":\"org\"}"), 400, "organization_id",
                "unsupported_parameter");
        refused(post("/key/generate", "{\"spend\":3}"), 400, "spend", "unsupported_parameter");
        // LiteLLM's defaults, as its SDK and UI send them, are accepted
        generate("{\"guardrails\":[],\"key_type\":\"default\",\"aliases\":{},\"config\":{},\"permissions\":{},"
                + "\"send_invite_email\":false,\"spend\":0,\"auto_rotate\":false,\"allowed_routes\":[],"
                + "\"model_max_budget\":{},\"organization_id\":null}");

        assertThat(refused(post("/key/generate", "{\"max_budget\":\"ten\"}"), 400, "max_budget",
                "invalid_parameter").get("message").asText()).isEqualTo("max_budget: expected a number (was \"ten\")");
        assertThat(refused(post("/key/generate", "{\"rpm_limit\":-1}"), 400, "rpm_limit", "invalid_parameter")
                .get("message").asText()).isEqualTo("rpm_limit: must not be negative (was -1)");
        refused(post("/key/generate", "{\"max_parallel_requests\":1.5}"), 400, "max_parallel_requests",
                "invalid_parameter");
        refused(post("/key/generate", "{\"max_budget\":-0.01}"), 400, "max_budget", "invalid_parameter");
        assertThat(refused(post("/key/generate", "{\"duration\":\"soon\"}"), 400, "duration", "invalid_parameter")
                .get("message").asText()).startsWith("duration: expected a duration like 30s");
        refused(post("/key/generate", "{\"budget_duration\":\"0d\"}"), 400, "budget_duration", "invalid_parameter");
        refused(post("/key/generate", "{\"models\":\"gpt-image-1\"}"), 400, "models", "invalid_parameter");
        refused(post("/key/generate", "{\"models\":[\"a\",3]}"), 400, "models[1]", "invalid_parameter");
        refused(post("/key/generate", "{\"metadata\":[1]}"), 400, "metadata", "invalid_parameter");
        refused(post("/key/generate", "{\"blocked\":\"yes\"}"), 400, "blocked", "invalid_parameter");
        refused(post("/key/generate", "[1,2]"), 400, null, "invalid_json");
        refused(post("/key/generate", "{not json"), 400, null, "invalid_json");
    }

    @Test
    void generate_forATeam_needsTheTeam_andItsModels() {
        assertThat(refused(post("/key/generate", "{\"team_id\":\"ghost\"}"), 400, "team_id", "invalid_parameter")
                .get("message").asText()).isEqualTo("team_id: no team 'ghost'; create it with /team/new first");
        ok(post("/team/new", "{\"team_id\":\"design\",\"models\":[\"gpt-image-1\"]}"));
        assertThat(refused(post("/key/generate", "{\"team_id\":\"design\",\"models\":[\"gpt-image-1\",\"dall-e-2\"]}"),
                400, "models", "invalid_parameter").get("message").asText())
                .isEqualTo("models: 'dall-e-2' is not among team 'design''s models [gpt-image-1]");
        generate("{\"team_id\":\"design\",\"models\":[\"gpt-image-1\"]}");
        generate("{\"team_id\":\"design\",\"models\":[\"all-team-models\"]}");
        ok(post("/team/new", "{\"team_id\":\"open\"}"));
        generate("{\"team_id\":\"open\",\"models\":[\"anything\"]}");
    }

    @Test
    void generate_forAnUnknownUser_createsTheUser_asLitellm_butNotWhenTheKeyIsRefused() {
        generate("{\"key_alias\":\"taken\"}");
        refused(post("/key/generate", "{\"user_id\":\"never\",\"key_alias\":\"taken\"}"), 409, "key_alias",
                "conflict");
        refused(wire.get("/user/info?user_id=never"), 404, "user_id", "user_not_found");
        JsonNode g = generate("{\"user_id\":\"new-dev\"}");
        JsonNode info = ok(wire.get("/user/info?user_id=new-dev"));
        assertThat(info.get("user_info").get("user_role").asText()).isEqualTo("internal_user");
        assertThat(info.get("keys")).extracting(k -> k.get("token").asText())
                .containsExactly(g.get("token").asText());
    }

    @Test
    void generate_sameAliasConcurrently_oneWins_othersAre409() throws Exception {
        int n = 12;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        List<Future<Integer>> fs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            fs.add(pool.submit(() -> {
                go.await();
                return post("/key/generate", "{\"key_alias\":\"same\"}").statusCode();
            }));
        }
        go.countDown();
        List<Integer> codes = new ArrayList<>();
        for (Future<Integer> f : fs) {
            codes.add(f.get());
        }
        pool.shutdown();

        assertThat(codes).filteredOn(c -> c == 200).hasSize(1);
        assertThat(codes).filteredOn(c -> c == 409).hasSize(n - 1);
    }

    @Test
    void unknownKey_is404_everywhere() {
        String ghost = "sk-ghost-key-000000000000";
        for (HttpResponse<byte[]> r : List.of(wire.get("/key/info?key=" + ghost),
                post("/key/update", "{\"key\":\"" + ghost + "\",\"max_budget\":1}"),
                post("/key/block", "{\"key\":\"" + ghost + "\"}"),
                post("/key/unblock", "{\"key\":\"" + ghost + "\"}"),
                post("/key/regenerate", "{\"key\":\"" + ghost + "\"}"),
                post("/key/delete", "{\"keys\":[\"" + ghost + "\"]}"))) {
            JsonNode e = refused(r, 404, "key", "key_not_found");
            assertThat(e.get("message").asText()).isEqualTo("no key with token " + KeyApi.hash(ghost));
            assertThat(text(r)).doesNotContain(ghost);
        }
        refused(wire.get("/key/info"), 400, "key", "missing_parameter");
    }

    @Test
    void withoutTheMasterKey_is401() {
        HttpResponse<byte[]> r = wire.send(HttpRequest.newBuilder(wire.uri("/key/generate"))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(r.statusCode()).isEqualTo(401);
        HttpResponse<byte[]> list = wire.send(HttpRequest.newBuilder(wire.uri("/key/list"))
                .header("Authorization", "Bearer sk-wrong").GET().build());
        assertThat(list.statusCode()).isEqualTo(401);
    }

    // ---------------------------------------------------------------- /key/update, block, regenerate, delete

    @Test
    void update_changesOnlyWhatIsGiven() {
        JsonNode g = generate("{\"key_alias\":\"a\",\"rpm_limit\":5,\"metadata\":{\"k\":\"v\"}}");
        String token = g.get("token").asText();
        ok(post("/team/new", "{\"team_id\":\"t\",\"models\":[\"gpt-image-1\"]}"));

        JsonNode u = ok(post("/key/update", "{\"key\":\"" + token + "\",\"max_budget\":2.5,\"key_alias\":\"b\","
                + "\"team_id\":\"t\",\"budget_duration\":\"1d\",\"rpm_limit\":null}"));

        assertThat(u.get("key").asText()).isEqualTo(token);
        assertThat(u.get("key_alias").asText()).isEqualTo("b");
        assertThat(u.get("max_budget").decimalValue()).isEqualByComparingTo("2.5");
        assertThat(u.get("rpm_limit").asInt()).isEqualTo(5);
        assertThat(u.get("metadata").get("k").asText()).isEqualTo("v");
        assertThat(u.get("team_id").asText()).isEqualTo("t");
        JsonNode info = ok(wire.get("/key/info?key=" + token)).get("info");
        assertThat(info.get("key_alias").asText()).isEqualTo("b");
        assertThat(info.get("budget_duration").asText()).isEqualTo("1d");
        refused(post("/key/update", "{\"key\":\"" + token + "\",\"models\":[\"dall-e-2\"]}"), 400, "models",
                "invalid_parameter");
        generate("{\"key_alias\":\"c\"}");
        refused(post("/key/update", "{\"key\":\"" + token + "\",\"key_alias\":\"c\"}"), 409, "key_alias",
                "conflict");
        refused(post("/key/update", "{\"key\":\"" + token + "\",\"temp_budget_increase\":5}"), 400,
                "temp_budget_increase", "unsupported_parameter");
        refused(post("/key/update", "{\"max_budget\":1}"), 400, "key", "missing_parameter");
        JsonNode never = ok(post("/key/update", "{\"key\":\"" + token + "\",\"duration\":\"-1\"}"));
        assertThat(never.get("expires").isNull()).isTrue();
    }

    @Test
    void blockAndUnblock_flipTheFlag() {
        String token = generate("{}").get("token").asText();

        assertThat(ok(post("/key/block", "{\"key\":\"" + token + "\"}")).get("blocked").asBoolean()).isTrue();
        assertThat(ok(wire.get("/key/info?key=" + token)).get("info").get("blocked").asBoolean()).isTrue();
        assertThat(ok(post("/key/unblock", "{\"key\":\"" + token + "\"}")).get("blocked").asBoolean()).isFalse();
        refused(post("/key/block", "{\"key\":\"" + token + "\",\"why\":1}"), 400, "why", "unknown_parameter");
    }

    @Test
    void regenerate_makesTheOldTokenUnknown_andKeepsTheRest() {
        JsonNode g = generate("{\"key_alias\":\"rot\",\"max_budget\":3,\"tags\":[\"x\"]}");
        String oldKey = g.get("key").asText();

        JsonNode r = ok(post("/key/regenerate", "{\"key\":\"" + oldKey + "\",\"max_budget\":4}"));

        String newKey = r.get("key").asText();
        assertThat(newKey).startsWith("sk-").isNotEqualTo(oldKey);
        assertThat(r.get("token").asText()).isEqualTo(KeyApi.hash(newKey));
        assertThat(r.get("key_alias").asText()).isEqualTo("rot");
        assertThat(r.get("max_budget").decimalValue()).isEqualByComparingTo("4");
        assertThat(r.get("tags")).extracting(JsonNode::asText).containsExactly("x");
        assertThat(r.get("created_at").asText()).isEqualTo(g.get("created_at").asText());
        refused(wire.get("/key/info?key=" + oldKey), 404, "key", "key_not_found");
        ok(wire.get("/key/info?key=" + newKey));

        // the path form, with no body, and a caller's own new key
        JsonNode p = ok(wire.send(wire.request("/key/" + KeyApi.hash(newKey) + "/regenerate")
                .POST(HttpRequest.BodyPublishers.noBody()).build()));
        assertThat(p.get("key").asText()).isNotEqualTo(newKey);
        refused(wire.get("/key/info?key=" + newKey), 404, "key", "key_not_found");
        String own = "sk-rotated-by-hand-000000";
        JsonNode q = ok(post("/key/" + p.get("key").asText() + "/regenerate", "{\"new_key\":\"" + own + "\"}"));
        assertThat(q.get("token").asText()).isEqualTo(KeyApi.hash(own));
        refused(post("/key/regenerate", "{\"key\":\"" + own + "\",\"grace_period\":\"24h\"}"), 400, "grace_period",
                "unsupported_parameter");
    }

    @Test
    void delete_byKeysOrAliases_allOrNothing() {
        JsonNode a = generate("{\"key_alias\":\"a\"}");
        JsonNode b = generate("{\"key_alias\":\"b\"}");
        JsonNode c = generate("{}");

        refused(post("/key/delete", "{\"keys\":[\"" + a.get("key").asText() + "\",\"sk-nope-00000000000000000\"]}"),
                404, "key", "key_not_found");
        ok(wire.get("/key/info?key=" + a.get("token").asText()));
        refused(post("/key/delete", "{\"key_aliases\":[\"zzz\"]}"), 404, "key_aliases", "key_not_found");
        refused(post("/key/delete", "{}"), 400, "keys", "missing_parameter");

        JsonNode d = ok(post("/key/delete", "{\"keys\":[\"" + a.get("key").asText() + "\",\""
                + c.get("token").asText() + "\"],\"key_aliases\":[\"b\"]}"));

        assertThat(d.get("deleted_keys")).extracting(JsonNode::asText).containsExactlyInAnyOrder(
                a.get("token").asText(), b.get("token").asText(), c.get("token").asText());
        assertThat(d.toString()).doesNotContain(a.get("key").asText());
        refused(wire.get("/key/info?key=" + b.get("token").asText()), 404, "key", "key_not_found");
    }

    // ---------------------------------------------------------------- /key/list

    @Test
    void list_pagesTokens_andFullObjectsOnRequest_neverTheKeys() {
        ok(post("/team/new", "{\"team_id\":\"t\"}"));
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            keys.add(generate(i < 2 ? "{\"team_id\":\"t\",\"user_id\":\"u\"}" : "{\"key_alias\":\"k" + i + "\"}")
                    .get("key").asText());
        }

        HttpResponse<byte[]> r = wire.get("/key/list?page=3&size=2");
        JsonNode page = ok(r);
        assertThat(page.get("total_count").asLong()).isEqualTo(5);
        assertThat(page.get("current_page").asInt()).isEqualTo(3);
        assertThat(page.get("total_pages").asInt()).isEqualTo(3);
        assertThat(page.get("keys")).hasSize(1);
        assertThat(page.get("keys").get(0).asText()).isEqualTo(KeyApi.hash(keys.get(4)));

        HttpResponse<byte[]> full = wire.get("/key/list?return_full_object=true&size=100");
        JsonNode all = ok(full);
        assertThat(all.get("keys")).hasSize(5);
        assertThat(all.get("keys").get(0).get("token").asText()).isEqualTo(KeyApi.hash(keys.get(0)));
        for (String k : keys) {
            assertThat(text(r)).doesNotContain(k);
            assertThat(text(full)).doesNotContain(k);
        }
        assertThat(ok(wire.get("/key/list?team_id=t")).get("total_count").asLong()).isEqualTo(2);
        assertThat(ok(wire.get("/key/list?user_id=u")).get("total_count").asLong()).isEqualTo(2);
        assertThat(ok(wire.get("/key/list?key_alias=k3")).get("keys").get(0).asText())
                .isEqualTo(KeyApi.hash(keys.get(3)));
        refused(wire.get("/key/list?size=101"), 400, "size", "invalid_parameter");
        refused(wire.get("/key/list?page=0"), 400, "page", "invalid_parameter");
        refused(wire.get("/key/list?colour=red"), 400, "colour", "unknown_parameter");
        refused(wire.get("/key/list?sort_by=spend"), 400, "sort_by", "unsupported_parameter");
        refused(wire.get("/key/list?return_full_object=maybe"), 400, "return_full_object", "invalid_parameter");
    }

    // ---------------------------------------------------------------- /team

    @Test
    void teams_newInfoListUpdate_withLitellmShapes() {
        JsonNode t = ok(post("/team/new", "{\"team_id\":\"design\",\"team_alias\":\"Design\",\"models\":[\"gpt-image-1\"],"
                + "\"max_budget\":100,\"budget_duration\":\"1mo\",\"rpm_limit\":600,\"tpm_limit\":10000,"
                + "\"members_with_roles\":[{\"user_id\":\"ann\",\"role\":\"admin\"},{\"user_id\":\"bo\","
                + "\"user_email\":\"bo@example.com\"}],\"metadata\":{\"cost_center\":\"42\"}}"));
        assertThat(t.get("team_id").asText()).isEqualTo("design");
        assertThat(t.get("team_alias").asText()).isEqualTo("Design");
        assertThat(t.get("models")).extracting(JsonNode::asText).containsExactly("gpt-image-1");
        assertThat(t.get("max_budget").decimalValue()).isEqualByComparingTo("100");
        assertThat(t.get("budget_duration").asText()).isEqualTo("1mo");
        assertThat(t.get("rpm_limit").asInt()).isEqualTo(600);
        assertThat(t.get("tpm_limit").asLong()).isEqualTo(10000);
        assertThat(t.get("spend").isNumber()).isTrue();
        assertThat(t.get("blocked").asBoolean()).isFalse();
        assertThat(t.get("members_with_roles")).hasSize(2);
        assertThat(t.get("members_with_roles").get(1).get("user_email").asText()).isEqualTo("bo@example.com");
        assertThat(t.get("members_with_roles").get(1).get("role").asText()).isEqualTo("user");
        assertThat(t.get("admins")).extracting(JsonNode::asText).containsExactly("ann");
        Instant.parse(t.get("created_at").asText());
        ok(wire.get("/user/info?user_id=ann")); // members are users
        String key = generate("{\"team_id\":\"design\"}").get("key").asText();

        JsonNode info = ok(wire.get("/team/info?team_id=design"));
        assertThat(info.get("team_id").asText()).isEqualTo("design");
        assertThat(info.get("team_info").get("team_alias").asText()).isEqualTo("Design");
        assertThat(info.get("keys")).extracting(k -> k.get("token").asText()).containsExactly(KeyApi.hash(key));

        ok(post("/team/new", "{\"team_alias\":\"generated id\"}"));
        JsonNode list = ok(wire.get("/team/list"));
        assertThat(list.isArray()).isTrue();
        assertThat(list).hasSize(2);
        assertThat(ok(wire.get("/team/list?user_id=bo"))).extracting(x -> x.get("team_id").asText())
                .containsExactly("design");

        JsonNode u = ok(post("/team/update", "{\"team_id\":\"design\",\"blocked\":true,\"max_budget\":50}"));
        assertThat(u.get("team_id").asText()).isEqualTo("design");
        assertThat(u.get("data").get("blocked").asBoolean()).isTrue();
        assertThat(u.get("data").get("max_budget").decimalValue()).isEqualByComparingTo("50");
        assertThat(u.get("data").get("team_alias").asText()).isEqualTo("Design");

        refused(post("/team/new", "{\"team_id\":\"design\"}"), 409, "team_id", "conflict");
        refused(wire.get("/team/info?team_id=none"), 404, "team_id", "team_not_found");
        refused(post("/team/update", "{\"team_id\":\"none\"}"), 404, "team_id", "team_not_found");
        refused(post("/team/new", "{\"guardrails\":[\"g\"]}"), 400, "guardrails", "unsupported_parameter");
        refused(post("/team/new", "{\"team_member_budget\":5}"), 400, "team_member_budget", "unsupported_parameter");
        refused(post("/team/new", "{\"members_with_roles\":[{\"user_email\":\"x@example.com\",\"role\":\"user\"}]}"),
                400, "members_with_roles[0].user_id", "missing_parameter");
        refused(post("/team/new", "{\"members_with_roles\":[{\"user_id\":\"x\",\"role\":\"owner\"}]}"), 400,
                "members_with_roles[0].role", "invalid_parameter");
        assertThat(refused(post("/team/new", "{\"members_with_roles\":[{\"user_id\":\"x\",\"age\":3}]}"), 400,
                "members_with_roles[0].age", "unknown_parameter").get("message").asText())
                .isEqualTo("members_with_roles[0]: unknown field 'age'");
        assertThat(refused(post("/team/new", "{\"members_with_roles\":[{\"user_id\":7}]}"), 400,
                "members_with_roles[0].user_id", "invalid_parameter").get("message").asText())
                .isEqualTo("members_with_roles[0].user_id: expected a string (was 7)");
        refused(post("/team/update", "{\"team_id\":\"design\",\"rpm_limit\":\"fast\"}"), 400, "rpm_limit",
                "invalid_parameter");
    }

    @Test
    void teamMembers_addAndDelete() {
        ok(post("/team/new", "{\"team_id\":\"t\"}"));

        JsonNode a = ok(post("/team/member_add", "{\"team_id\":\"t\",\"member\":{\"user_id\":\"cy\",\"role\":\"user\"}}"));
        assertThat(a.get("members_with_roles")).extracting(m -> m.get("user_id").asText()).containsExactly("cy");
        assertThat(a.get("updated_users")).extracting(m -> m.get("user_id").asText()).containsExactly("cy");
        assertThat(a.get("updated_users").get(0).get("teams")).extracting(JsonNode::asText).containsExactly("t");
        ok(post("/team/member_add", "{\"team_id\":\"t\",\"member\":[{\"user_id\":\"di\",\"role\":\"admin\"},"
                + "{\"user_id\":\"ed\",\"role\":\"user\"}]}"));
        refused(post("/team/member_add", "{\"team_id\":\"t\",\"member\":{\"user_id\":\"cy\",\"role\":\"admin\"}}"),
                409, "member", "conflict");
        refused(post("/team/member_add", "{\"team_id\":\"none\",\"member\":{\"user_id\":\"cy\",\"role\":\"user\"}}"),
                404, "team_id", "team_not_found");
        refused(post("/team/member_add", "{\"team_id\":\"t\",\"member\":{\"user_id\":\"fu\",\"role\":\"user\"},"
                + "\"max_budget_in_team\":5}"), 400, "max_budget_in_team", "unsupported_parameter");

        JsonNode d = ok(post("/team/member_delete", "{\"team_id\":\"t\",\"user_id\":\"di\"}"));
        assertThat(d.get("members_with_roles")).extracting(m -> m.get("user_id").asText()).containsExactly("cy", "ed");
        refused(post("/team/member_delete", "{\"team_id\":\"t\",\"user_id\":\"di\"}"), 404, "user_id",
                "member_not_found");
        assertThat(ok(wire.get("/user/info?user_id=di")).get("teams")).isEmpty();
    }

    @Test
    void teamDelete_deletesItsKeys() {
        ok(post("/team/new", "{\"team_id\":\"t\"}"));
        String inTeam = generate("{\"team_id\":\"t\"}").get("token").asText();
        String other = generate("{}").get("token").asText();

        refused(post("/team/delete", "{\"team_ids\":[\"t\",\"ghost\"]}"), 404, "team_id", "team_not_found");
        ok(wire.get("/team/info?team_id=t"));
        JsonNode d = ok(post("/team/delete", "{\"team_ids\":[\"t\"]}"));

        assertThat(d.get("deleted_teams")).extracting(JsonNode::asText).containsExactly("t");
        refused(wire.get("/key/info?key=" + inTeam), 404, "key", "key_not_found");
        ok(wire.get("/key/info?key=" + other));
        refused(post("/team/delete", "{\"team_ids\":[]}"), 400, "team_ids", "missing_parameter");
    }

    // ---------------------------------------------------------------- /user

    @Test
    void userNew_createsAKeyAsLitellm_andInfoListUpdate() {
        ok(post("/team/new", "{\"team_id\":\"t\"}"));
        HttpResponse<byte[]> created = post("/user/new", "{\"user_id\":\"ann\",\"user_email\":\"ann@example.com\","
                + "\"user_role\":\"proxy_admin\",\"max_budget\":10,\"models\":[\"gpt-image-1\"],\"teams\":[\"t\"],"
                + "\"key_alias\":\"ann-key\",\"duration\":\"7d\"}");
        JsonNode n = ok(created);
        String key = n.get("key").asText();
        assertThat(key).startsWith("sk-");
        assertThat(n.get("token").asText()).isEqualTo(KeyApi.hash(key));
        assertThat(n.get("user_id").asText()).isEqualTo("ann");
        assertThat(n.get("user_email").asText()).isEqualTo("ann@example.com");
        assertThat(n.get("user_role").asText()).isEqualTo("proxy_admin");
        assertThat(n.get("max_budget").decimalValue()).isEqualByComparingTo("10");
        assertThat(n.get("teams")).extracting(JsonNode::asText).containsExactly("t");
        assertThat(n.get("key_alias").asText()).isEqualTo("ann-key");
        Instant.parse(n.get("expires").asText());
        assertThat(n.get("key_name").asText()).isEqualTo("sk-..." + key.substring(key.length() - 4));

        HttpResponse<byte[]> infoR = wire.get("/user/info?user_id=ann");
        JsonNode info = ok(infoR);
        assertThat(text(infoR)).doesNotContain(key);
        assertThat(info.get("user_id").asText()).isEqualTo("ann");
        JsonNode ui = info.get("user_info");
        assertThat(ui.get("user_email").asText()).isEqualTo("ann@example.com");
        assertThat(ui.get("spend").isNumber()).isTrue();
        assertThat(ui.get("models")).extracting(JsonNode::asText).containsExactly("gpt-image-1");
        assertThat(ui.get("teams")).extracting(JsonNode::asText).containsExactly("t");
        assertThat(info.get("keys")).extracting(k -> k.get("token").asText()).containsExactly(KeyApi.hash(key));
        assertThat(info.get("teams")).extracting(t -> t.get("team_id").asText()).containsExactly("t");
        assertThat(ok(wire.get("/team/info?team_id=t")).get("team_info").get("members_with_roles").get(0)
                .get("user_id").asText()).isEqualTo("ann");

        JsonNode noKey = ok(post("/user/new", "{\"user_id\":\"bob\",\"auto_create_key\":false}"));
        assertThat(noKey.get("key").isNull()).isTrue();
        assertThat(noKey.get("user_role").asText()).isEqualTo("internal_user");
        assertThat(ok(wire.get("/user/info?user_id=bob")).get("keys")).isEmpty();
        ok(post("/user/new", "{}"));

        JsonNode list = ok(wire.get("/user/list?page=1&page_size=2"));
        assertThat(list.get("total").asLong()).isEqualTo(3);
        assertThat(list.get("page").asInt()).isEqualTo(1);
        assertThat(list.get("page_size").asInt()).isEqualTo(2);
        assertThat(list.get("total_pages").asInt()).isEqualTo(2);
        assertThat(list.get("users")).hasSize(2);
        assertThat(ok(wire.get("/user/list?role=proxy_admin")).get("users")).extracting(u -> u.get("user_id")
                .asText()).containsExactly("ann");
        refused(wire.get("/user/list?role=god"), 400, "role", "invalid_parameter");

        JsonNode up = ok(post("/user/update", "{\"user_id\":\"bob\",\"max_budget\":3,\"user_role\":\"internal_user_viewer\"}"));
        assertThat(up.get("user_id").asText()).isEqualTo("bob");
        assertThat(up.get("data").get("max_budget").decimalValue()).isEqualByComparingTo("3");
        assertThat(up.get("data").get("user_role").asText()).isEqualTo("internal_user_viewer");

        refused(post("/user/new", "{\"user_id\":\"ann\"}"), 409, "user_id", "conflict");
        refused(post("/user/new", "{\"user_alias\":\"Ann\"}"), 400, "user_alias", "unsupported_parameter");
        refused(post("/user/new", "{\"user_role\":\"root\"}"), 400, "user_role", "invalid_parameter");
        refused(post("/user/new", "{\"teams\":[\"ghost\"]}"), 400, "teams", "invalid_parameter");
        refused(post("/user/new", "{\"password\":\"hunter22hunter\"}"), 400, "password", "unsupported_parameter");
        refused(post("/user/update", "{\"user_email\":\"ann@example.com\"}"), 400, "user_id", "missing_parameter");
        refused(post("/user/update", "{\"user_id\":\"nobody\"}"), 404, "user_id", "user_not_found");
        refused(wire.get("/user/info?user_id=nobody"), 404, "user_id", "user_not_found");
    }

    @Test
    void userDelete_deletesItsKeysAndMemberships() {
        ok(post("/team/new", "{\"team_id\":\"t\"}"));
        String key = ok(post("/user/new", "{\"user_id\":\"gone\",\"teams\":[\"t\"]}")).get("key").asText();
        String extra = generate("{\"user_id\":\"gone\",\"team_id\":\"t\"}").get("token").asText();
        String other = ok(post("/user/new", "{\"user_id\":\"stays\",\"teams\":[\"t\"]}")).get("token").asText();

        refused(post("/user/delete", "{\"user_ids\":[\"gone\",\"ghost\"]}"), 404, "user_id", "user_not_found");
        JsonNode d = ok(post("/user/delete", "{\"user_ids\":[\"gone\"]}"));

        assertThat(d.get("deleted_users")).extracting(JsonNode::asText).containsExactly("gone");
        refused(wire.get("/key/info?key=" + key), 404, "key", "key_not_found");
        refused(wire.get("/key/info?key=" + extra), 404, "key", "key_not_found");
        ok(wire.get("/key/info?key=" + other));
        assertThat(ok(wire.get("/team/info?team_id=t")).get("team_info").get("members_with_roles"))
                .extracting(m -> m.get("user_id").asText()).containsExactly("stays");
        refused(wire.get("/user/info?user_id=gone"), 404, "user_id", "user_not_found");
    }

    @Test
    void moneyStaysExact() {
        String exact = "0.1000000000000000055511151231257827";
        HttpResponse<byte[]> g = post("/key/generate", "{\"max_budget\":" + exact + "}");
        assertThat(text(g)).contains("\"max_budget\":" + exact + ",");
        String token = ok(g).get("token").asText();
        assertThat(text(wire.get("/key/info?key=" + token))).contains("\"max_budget\":" + exact + ",");
    }
}
