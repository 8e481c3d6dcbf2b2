package dev.easel.proxy;

import static dev.easel.proxy.RoutingFixtures.config;
import static dev.easel.proxy.RoutingFixtures.deployment;
import static dev.easel.proxy.RoutingFixtures.edits;
import static dev.easel.proxy.RoutingFixtures.fake;
import static dev.easel.proxy.RoutingFixtures.header;
import static dev.easel.proxy.RoutingFixtures.post;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.proxy.RoutingFixtures.Form;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fallback groups through the real proxy: configured, per-request and default fallbacks, content-policy
 * fallbacks, loops, and fallback models that cannot take the request. One fake upstream per deployment.
 */
class RoutingFallbackTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dataDir;

    private static void failAlways(FakeOpenAi fake) {
        for (int i = 0; i < 10; i++) {
            fake.enqueue(FakeResponse.serverError());
        }
    }

    private static JsonNode error(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body()).get("error");
    }

    @Test
    void wholeGroupFailing_fallbackGroupAnswers_andHeadersSaySo() throws Exception {
        try (FakeOpenAi p1 = fake("sk-p1"); FakeOpenAi p2 = fake("sk-p2"); FakeOpenAi backup = fake("sk-backup")) {
            failAlways(p1);
            failAlways(p2);
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("primary", "p1", "gpt-image-1.5", p1, "sk-p1"),
                            deployment("primary", "p2", "gpt-image-1.5", p2, "sk-p2"),
                            deployment("backup", "bk", "gpt-image-1", backup, "sk-backup")),
                    "num_retries: 1", "allowed_fails: 100",
                    "fallbacks: [{\"primary\": [\"backup\"]}]"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("primary"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-model-group")).isEqualTo("backup");
                assertThat(header(r, "x-easel-deployment")).isEqualTo("bk");
                assertThat(header(r, "x-easel-attempted-fallbacks")).isEqualTo("1");
                assertThat(header(r, "x-easel-attempted-retries")).isEqualTo("1");
                // one attempt on each primary deployment (the retry goes to the one not tried yet), then backup
                assertThat(p1.requestCount()).isEqualTo(1);
                assertThat(p2.requestCount()).isEqualTo(1);
                assertThat(backup.requestCount()).isEqualTo(1);
                RecordedRequest sent = backup.takeRequest();
                assertThat(sent.textField("model")).contains("gpt-image-1");
                assertThat(sent.header("Authorization")).contains("Bearer sk-backup");
                assertThat(sent.textField("prompt")).contains("a cat in a hat");
            }
        }
    }

    @Test
    void perRequestFallbacksField_overridesConfiguredFallbacks() {
        try (FakeOpenAi primary = fake("sk-p"); FakeOpenAi backup = fake("sk-b"); FakeOpenAi other = fake("sk-o")) {
            failAlways(primary);
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("primary", "p", "gpt-image-1.5", primary, "sk-p"),
                            deployment("backup", "b", "gpt-image-1.5", backup, "sk-b"),
                            deployment("other", "o", "gpt-image-1.5", other, "sk-o")),
                    "num_retries: 0", "allowed_fails: 100",
                    "fallbacks: [{\"primary\": [\"backup\"]}]"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("primary").field("fallbacks", "[\"other\"]"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-model-group")).isEqualTo("other");
                assertThat(header(r, "x-easel-attempted-fallbacks")).isEqualTo("1");
                assertThat(primary.requestCount()).isEqualTo(1);
                assertThat(backup.requestCount()).isZero();
                assertThat(other.requestCount()).isEqualTo(1);
                // the routing field is Easel's own: it never reaches an upstream
                assertThat(primary.takeRequest().fieldNames()).doesNotContain("fallbacks");
                assertThat(other.takeRequest().fieldNames()).doesNotContain("fallbacks");

                // also as a JSON body's array
                HttpResponse<String> json = RoutingFixtures.postJson(proxy, "{\"model\":\"primary\",\"prompt\":\"p\","
                        + "\"images\":[{\"image_url\":\"data:image/png;base64," + java.util.Base64.getEncoder()
                        .encodeToString(RoutingFixtures.smallPng()) + "\"}],\"fallbacks\":[\"other\"]}");
                assertThat(json.statusCode()).as(json.body()).isEqualTo(200);
                assertThat(header(json, "x-easel-model-group")).isEqualTo("other");
                assertThat(backup.requestCount()).isZero();
                assertThat(other.requestCount()).isEqualTo(2);
            }
        }
    }

    @Test
    void defaultFallbacks_usedForGroupWithoutOwnFallbacks() {
        try (FakeOpenAi primary = fake("sk-p"); FakeOpenAi dflt = fake("sk-d"); FakeOpenAi own = fake("sk-own")) {
            failAlways(primary);
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("primary", "p", "gpt-image-1.5", primary, "sk-p"),
                            deployment("own", "own-dep", "gpt-image-1.5", own, "sk-own"),
                            deployment("dflt", "d", "gpt-image-1.5", dflt, "sk-d")),
                    "num_retries: 0", "allowed_fails: 100",
                    "fallbacks: [{\"other-group\": [\"own\"]}]",
                    "default_fallbacks: [\"dflt\"]"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("primary"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-model-group")).isEqualTo("dflt");
                assertThat(header(r, "x-easel-deployment")).isEqualTo("d");
                assertThat(header(r, "x-easel-attempted-fallbacks")).isEqualTo("1");
                assertThat(primary.requestCount()).isEqualTo(1);
                assertThat(dflt.requestCount()).isEqualTo(1);
                assertThat(own.requestCount()).isZero();
            }
        }
    }

    @Test
    void fallbackChainAtoBtoA_neverLoops() throws Exception {
        try (FakeOpenAi a = fake("sk-a"); FakeOpenAi b = fake("sk-b")) {
            failAlways(a);
            failAlways(b);
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("ga", "dep-a", "gpt-image-1.5", a, "sk-a"),
                            deployment("gb", "dep-b", "gpt-image-1.5", b, "sk-b")),
                    "num_retries: 0", "allowed_fails: 100",
                    "fallbacks: [{\"ga\": [\"gb\"]}, {\"gb\": [\"ga\"]}]"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("ga"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(500);
                assertThat(a.requestCount()).isEqualTo(1);
                assertThat(b.requestCount()).isEqualTo(1);
                JsonNode e = error(r);
                assertThat(e.get("type").asText()).isEqualTo("server_error");
                assertThat(e.get("message").asText())
                        .startsWith("The server had an error while processing your request.")
                        .contains("[tried: dep-a: 500 ", "; dep-b: 500 ")
                        .doesNotContain("sk-a", "sk-b");
            }
        }
    }

    @Test
    void moderationBlocked_goesToContentPolicyFallbacks_notRegularOnes() {
        try (FakeOpenAi primary = fake("sk-p"); FakeOpenAi regular = fake("sk-r"); FakeOpenAi safe = fake("sk-s")) {
            primary.enqueue(FakeResponse.moderationBlocked());
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("primary", "p", "gpt-image-1.5", primary, "sk-p"),
                            deployment("regular", "r", "gpt-image-1.5", regular, "sk-r"),
                            deployment("safe", "s", "gpt-image-1.5", safe, "sk-s")),
                    "num_retries: 2",
                    "fallbacks: [{\"primary\": [\"regular\"]}]",
                    "content_policy_fallbacks: [{\"primary\": [\"safe\"]}]"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("primary"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-model-group")).isEqualTo("safe");
                assertThat(header(r, "x-easel-deployment")).isEqualTo("s");
                assertThat(header(r, "x-easel-attempted-fallbacks")).isEqualTo("1");
                // a refusal is not retried on the same model
                assertThat(header(r, "x-easel-attempted-retries")).isEqualTo("0");
                assertThat(primary.requestCount()).isEqualTo(1);
                assertThat(regular.requestCount()).isZero();
                assertThat(safe.requestCount()).isEqualTo(1);
            }
        }
    }

    @Test
    void moderationBlocked_withoutFallbacks_reachesClientUnchanged() throws Exception {
        try (FakeOpenAi primary = fake("sk-p")) {
            primary.enqueue(FakeResponse.moderationBlocked());
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("primary", "p", "gpt-image-1.5", primary, "sk-p")),
                    "num_retries: 2"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("primary"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
                JsonNode e = error(r);
                assertThat(e.get("code").asText()).isEqualTo("moderation_blocked");
                assertThat(e.get("type").asText()).isEqualTo("image_generation_user_error");
                assertThat(e.get("message").asText())
                        .startsWith("Your request was rejected by the safety system.")
                        .doesNotContain("[tried:");
                assertThat(primary.requestCount()).isEqualTo(1);
            }
        }
    }

    @Test
    void fallbackModelTakingOneImage_isSkippedForThreeImages_withReason() throws Exception {
        try (FakeOpenAi primary = fake("sk-p"); FakeOpenAi dalle = fake("sk-d"); FakeOpenAi mini = fake("sk-m")) {
            failAlways(primary);
            String yaml = config(List.of(
                            deployment("primary", "p", "gpt-image-1.5", primary, "sk-p"),
                            deployment("dalle", "d2", "dall-e-2", dalle, "sk-d"),
                            deployment("mini", "m", "gpt-image-1", mini, "sk-m")),
                    "num_retries: 0", "allowed_fails: 100",
                    "fallbacks: [{\"primary\": [\"dalle\"]}]");
            try (ProxyServer proxy = RoutingFixtures.start(yaml, dataDir)) {
                HttpResponse<String> r = post(proxy, threeImages("primary"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(500);
                assertThat(primary.requestCount()).isEqualTo(1);
                assertThat(dalle.requestCount()).isZero();
                assertThat(error(r).get("message").asText())
                        .contains("[tried: p: 500 ")
                        .containsPattern("; d2: skipped: [^;\\]]*image");
            }
        }
    }

    @Test
    void unsuitableFallback_isSkipped_andTheNextOneAnswers() {
        try (FakeOpenAi primary = fake("sk-p"); FakeOpenAi dalle = fake("sk-d"); FakeOpenAi mini = fake("sk-m")) {
            failAlways(primary);
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("primary", "p", "gpt-image-1.5", primary, "sk-p"),
                            deployment("dalle", "d2", "dall-e-2", dalle, "sk-d"),
                            deployment("mini", "m", "gpt-image-1", mini, "sk-m")),
                    "num_retries: 0", "allowed_fails: 100",
                    "fallbacks: [{\"primary\": [\"dalle\", \"mini\"]}]"), dataDir)) {
                HttpResponse<String> r = post(proxy, threeImages("primary"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-model-group")).isEqualTo("mini");
                assertThat(dalle.requestCount()).isZero();
                assertThat(mini.requestCount()).isEqualTo(1);
                assertThat(mini.takeRequest().parts("image[]")).hasSize(3);
            }
        }
    }

    @Test
    void fallbackWithFixedSizes_receivesMappedSize() {
        try (FakeOpenAi primary = fake("sk-p"); FakeOpenAi older = fake("sk-o")) {
            failAlways(primary);
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("new", "p", "gpt-image-2", primary, "sk-p"),
                            deployment("old", "o", "gpt-image-1.5", older, "sk-o")),
                    "num_retries: 0", "allowed_fails: 100",
                    "fallbacks: [{\"new\": [\"old\"]}]"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("new").field("size", "2048x2048"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-model-group")).isEqualTo("old");
                // gpt-image-2 takes 2048x2048 as asked; gpt-image-1.5 gets the square size from its own list
                assertThat(primary.takeRequest().textField("size")).contains("2048x2048");
                RecordedRequest sent = older.takeRequest();
                assertThat(sent.textField("size")).contains("1024x1024");
                assertThat(sent.textField("model")).contains("gpt-image-1.5");
                assertThat(r.body()).contains("\"size\":\"1024x1024\"");
            }
        }
    }

    @Test
    void stream_primaryFailsBeforeStreaming_fallbackStreams_andHeadersSaySo() {
        try (FakeOpenAi primary = fake("sk-p"); FakeOpenAi backup = fake("sk-b")) {
            failAlways(primary);
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("primary", "p", "gpt-image-1.5", primary, "sk-p"),
                            deployment("backup", "b", "gpt-image-1.5", backup, "sk-b")),
                    "num_retries: 0", "allowed_fails: 100",
                    "fallbacks: [{\"primary\": [\"backup\"]}]"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("primary").field("stream", "true")
                        .field("partial_images", "1"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "Content-Type")).startsWith("text/event-stream");
                assertThat(header(r, "x-easel-model-group")).isEqualTo("backup");
                assertThat(header(r, "x-easel-deployment")).isEqualTo("b");
                assertThat(header(r, "x-easel-attempted-fallbacks")).isEqualTo("1");
                assertThat(r.body()).contains("event: image_edit.partial_image", "event: image_edit.completed")
                        .doesNotContain("\"error\"");
                assertThat(primary.takeRequest().textField("stream")).contains("true");
                assertThat(backup.takeRequest().textField("stream")).contains("true");
            }
        }
    }

    @Test
    void fallbackModel_getsParamsItCannotTakeDropped() {
        try (FakeOpenAi primary = fake("sk-p"); FakeOpenAi newer = fake("sk-n")) {
            failAlways(primary);
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("old", "p", "gpt-image-1.5", primary, "sk-p"),
                            deployment("new", "n", "gpt-image-2", newer, "sk-n")),
                    "num_retries: 0", "allowed_fails: 100",
                    "fallbacks: [{\"old\": [\"new\"]}]"), dataDir)) {
                HttpResponse<String> r = post(proxy, Form.simple("old").field("input_fidelity", "high")
                        .field("size", "1536x1024"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-model-group")).isEqualTo("new");
                assertThat(primary.takeRequest().textField("input_fidelity")).contains("high");
                // gpt-image-2 refuses input_fidelity (always high): the fallback call goes without it
                RecordedRequest sent = newer.takeRequest();
                assertThat(sent.fieldNames()).doesNotContain("input_fidelity");
                assertThat(sent.textField("size")).contains("1536x1024");
            }
        }
    }

    @Test
    void squareOnlyFallback_getsItsClosestSize() {
        try (FakeOpenAi primary = fake("sk-p"); FakeOpenAi dalle = fake("sk-d")) {
            failAlways(primary);
            try (ProxyServer proxy = RoutingFixtures.start(config(List.of(
                            deployment("gpt", "p", "gpt-image-1.5", primary, "sk-p"),
                            deployment("dalle", "d2", "dall-e-2", dalle, "sk-d")),
                    "num_retries: 0", "allowed_fails: 100",
                    "fallbacks: [{\"gpt\": [\"dalle\"]}]"), dataDir)) {
                // an image with alpha: without a mask dall-e-2 edits its transparent area (an RGB one is unsuitable)
                HttpResponse<String> r = post(proxy, new Form().field("model", "gpt").field("prompt", "a cat")
                        .file("image", "a.png", RoutingFixtures.noiseMask(16, 16, 1)).field("size", "1536x1024")
                        .field("quality", "high"));

                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(header(r, "x-easel-model-group")).isEqualTo("dalle");
                RecordedRequest sent = dalle.takeRequest();
                assertThat(sent.textField("model")).contains("dall-e-2");
                // every dall-e-2 size is square: the largest (closest to 1536x1024), not the first listed
                assertThat(sent.textField("size")).contains("1024x1024");
                assertThat(sent.fieldNames()).doesNotContain("quality");
            }
        }
    }

    private static Form threeImages(String model) {
        return new Form().field("model", model).field("prompt", "combine these")
                .file("image[]", "a.png", RoutingFixtures.smallPng())
                .file("image[]", "b.png", RoutingFixtures.noisePng(16, 16, 2))
                .file("image[]", "c.png", RoutingFixtures.noisePng(16, 16, 3));
    }
}
