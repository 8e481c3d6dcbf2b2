package dev.easel.proxy.keys;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.proxy.spend.SpendOptions;
import dev.easel.proxy.spend.SpendService;
import io.javalin.Javalin;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link KeyApi} publishes on {@link AuthChanges} after each write (so replicas drop their caches), and the
 * spend it shows comes from its {@link SpendLookup} for the current budget window. Javalin on port 0, SQLite.
 */
class KeyApiChangesTest {

    static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");

    @TempDir
    Path dir;

    private SpendService spend;
    private Javalin app;
    private final List<String> published = new CopyOnWriteArrayList<>();
    private final List<String> lookups = new CopyOnWriteArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() {
        spend = SpendService.start(SpendOptions.sqlite(dir));
        AuthChanges recording = new AuthChanges() {
            @Override
            public void publish(String message) {
                published.add(message);
            }

            @Override
            public void subscribe(Consumer<String> listener) {
            }
        };
        SpendLookup lookup = (dimension, id, from) -> {
            lookups.add(dimension + ":" + id + "@" + from);
            return new BigDecimal("1.25");
        };
        KeyApi api = new KeyApi(KeyStore.jdbc(spend.database()), recording, lookup, ctx -> {
            try {
                return KeyApi.JSON.readTree(ctx.bodyAsBytes());
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException(e);
            }
        }, ctx -> "tester", Clock.fixed(NOW, ZoneOffset.UTC));
        app = Javalin.create(c -> {
            c.startup.showJavalinBanner = false;
            c.routes.post("/key/generate", api::generateKey);
            c.routes.post("/key/update", api::updateKey);
            c.routes.post("/key/regenerate", api::regenerateKey);
            c.routes.post("/key/block", api::blockKey);
            c.routes.post("/key/delete", api::deleteKeys);
            c.routes.post("/team/new", api::newTeam);
            c.routes.post("/team/member_add", api::addTeamMember);
            c.routes.post("/team/delete", api::deleteTeams);
            c.routes.post("/user/new", api::newUser);
            c.routes.post("/user/delete", api::deleteUsers);
            c.routes.get("/key/info", api::keyInfo);
        }).start("127.0.0.1", 0);
    }

    @AfterEach
    void stop() {
        app.stop();
        spend.close();
    }

    private JsonNode post(String path, String json) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.port() + path))
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return KeyApi.JSON.readTree(r.body());
    }

    @Test
    void everyWrite_publishesWhatChanged() throws Exception {
        String t1 = post("/key/generate", "{\"user_id\":\"new-user\"}").get("token").asText();
        assertThat(published).containsExactly("key:" + t1, "user:new-user");

        published.clear();
        post("/key/update", "{\"key\":\"" + t1 + "\",\"rpm_limit\":3}");
        post("/key/block", "{\"key\":\"" + t1 + "\"}");
        String t2 = post("/key/regenerate", "{\"key\":\"" + t1 + "\"}").get("token").asText();
        assertThat(published).containsExactly("key:" + t1, "key:" + t1, "key:" + t1); // the OLD token each time

        published.clear();
        post("/team/new", "{\"team_id\":\"t\",\"members_with_roles\":[{\"user_id\":\"m\",\"role\":\"user\"}]}");
        assertThat(published).containsExactly("team:t", "user:m");
        published.clear();
        post("/team/member_add", "{\"team_id\":\"t\",\"member\":{\"user_id\":\"new-user\",\"role\":\"admin\"}}");
        assertThat(published).containsExactly("team:t");
        String t3 = post("/key/generate", "{\"team_id\":\"t\"}").get("token").asText();

        published.clear();
        post("/user/delete", "{\"user_ids\":[\"new-user\"]}");
        assertThat(published).containsExactly("user:new-user", "team:t", "key:" + t2);

        published.clear();
        post("/team/delete", "{\"team_ids\":[\"t\"]}");
        assertThat(published).containsExactly("team:t", "key:" + t3);

        published.clear();
        String t4 = post("/user/new", "{\"user_id\":\"u2\"}").get("token").asText();
        post("/key/delete", "{\"keys\":[\"" + t4 + "\"]}");
        assertThat(published).containsExactly("user:u2", "key:" + t4, "key:" + t4);
    }

    @Test
    void spend_isAskedForTheCurrentBudgetWindow() throws Exception {
        JsonNode g = post("/key/generate", "{\"max_budget\":5,\"budget_duration\":\"1d\"}");
        String token = g.get("token").asText();

        assertThat(g.get("spend").decimalValue()).isEqualByComparingTo("1.25");
        assertThat(lookups).contains("key:" + token + "@" + NOW); // the window anchored now starts now
        assertThat(g.get("budget_reset_at").asText()).isEqualTo("2026-12-08T12:00:00Z");
        lookups.clear();
        post("/key/generate", "{}");
        assertThat(lookups).singleElement().asString().endsWith("@" + Instant.EPOCH); // no window: all time
    }
}
