package dev.easel.proxy;

import static dev.easel.proxy.SpendE2eFixture.fields;
import static dev.easel.proxy.SpendE2eFixture.form;
import static dev.easel.proxy.SpendE2eFixture.json;
import static dev.easel.proxy.SpendE2eFixture.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.testkit.Await;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code soft_budget}: the request that takes a key (or its team) over it is served, and the listeners get one
 * {@code soft_budget_crossed} event for it — the webhook as LiteLLM's event object, naming the key by its alias and
 * hash, never the key.
 */
class KeySoftBudgetTest {

    @TempDir
    Path dataDir;

    @Test
    void crossingTheSoftBudget_servesTheRequest_andSendsOneAlertPerCrossing() {
        try (ObservabilityE2eTest.Receiver hook = ObservabilityE2eTest.Receiver.start("/hook");
             SpendE2eFixture f = SpendE2eFixture.start(dataDir, "webhook_url: \"" + hook.url() + "\"\n",
                     Clock.systemUTC(), "litellm_settings:\n  callbacks: [webhook, prometheus]\n")) {
            assertThat(f.postJson("/team/new", "{\"team_id\":\"watch\",\"soft_budget\":0.04}").statusCode())
                    .isEqualTo(200);
            HttpResponse<byte[]> made = f.postJson("/key/generate",
                    "{\"key_alias\":\"watched\",\"team_id\":\"watch\",\"soft_budget\":0.02,\"max_budget\":1}");
            assertThat(made.statusCode()).as(text(made)).isEqualTo(200);
            String key = json(made).path("key").asText();
            String token = json(made).path("token").asText();

            for (int i = 0; i < 4; i++) { // 0.016 each: key crosses 0.02 on the 2nd, team 0.04 on the 3rd
                HttpResponse<byte[]> r = f.editWith(key, form("dall-e-2", fields("size", "256x256")));
                assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
            }
            List<JsonNode> alerts = Await.value("two budget alerts", () -> events(hook), a -> a.size() >= 2);
            assertThat(alerts).hasSize(2);
            JsonNode keyAlert = alerts.stream().filter(a -> a.path("event_group").asText().equals("key"))
                    .findFirst().orElseThrow();
            assertThat(keyAlert.path("event").asText()).isEqualTo("soft_budget_crossed");
            assertThat(keyAlert.path("key_alias").asText()).isEqualTo("watched");
            assertThat(keyAlert.path("token").asText()).isEqualTo(token);
            assertThat(keyAlert.path("spend").decimalValue()).isEqualByComparingTo("0.032");
            assertThat(keyAlert.path("soft_budget").decimalValue()).isEqualByComparingTo("0.02");
            JsonNode teamAlert = alerts.stream().filter(a -> a.path("event_group").asText().equals("team"))
                    .findFirst().orElseThrow();
            assertThat(teamAlert.path("team_id").asText()).isEqualTo("watch");
            assertThat(teamAlert.path("spend").decimalValue()).isEqualByComparingTo("0.048");
            for (var p : hook.posts()) {
                assertThat(p.body()).doesNotContain(key.substring(3));
            }
            // the edits' records name the key by its id, alias, team (webhook and json_logs share the record)
            JsonNode record = Await.value("an edit record", () -> hook.records().stream()
                    .filter(n -> n.has("request_id")).findFirst(), java.util.Optional::isPresent).orElseThrow();
            assertThat(record.path("key_hash").asText()).isEqualTo(token);
            assertThat(record.path("key_alias").asText()).isEqualTo("watched");
            assertThat(record.path("team_id").asText()).isEqualTo("watch");
            // LiteLLM's metrics carry the key's hash prefix, alias and team
            String metrics = text(f.get("/metrics"));
            assertThat(metrics).containsPattern("litellm_requests_metric_total\\{[^}]*api_key_alias=\"watched\"[^}]*"
                    + "hashed_api_key=\"" + token.substring(0, 12) + "\"[^}]*team=\"watch\"");
            assertThat(metrics).doesNotContain(token.substring(12, 30)).doesNotContain(key.substring(3));
        }
    }

    /** Every posted element that is a budget event (records and events share the webhook's batches). */
    private static List<JsonNode> events(ObservabilityE2eTest.Receiver hook) {
        return hook.posts().stream().filter(p -> p.json() != null)
                .flatMap(p -> {
                    List<JsonNode> out = new java.util.ArrayList<>();
                    p.json().path("records").forEach(out::add);
                    return out.stream();
                })
                .filter(n -> n.path("event").asText().equals("soft_budget_crossed")).toList();
    }
}
