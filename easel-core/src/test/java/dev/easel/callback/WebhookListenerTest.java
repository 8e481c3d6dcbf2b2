package dev.easel.callback;

import static dev.easel.callback.WebhookReceiver.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.config.ConfigException;
import dev.easel.config.ConfigLoader;
import dev.easel.config.EaselConfig;
import dev.easel.image.TestImages;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WebhookListenerTest {

    static final byte[] PNG = TestImages.png(32, 32, false);

    final WebhookReceiver receiver = WebhookReceiver.start();
    final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : toClose.reversed()) {
            c.close();
        }
        receiver.close();
    }

    WebhookListener.Builder hook() {
        return WebhookListener.builder(receiver.url()).flushInterval(Duration.ofMillis(20))
                .backoff(Duration.ofMillis(20), Duration.ofMillis(100)).timeout(Duration.ofSeconds(2));
    }

    WebhookListener start(WebhookListener.Builder b) {
        WebhookListener l = b.build();
        toClose.add(l);
        return l;
    }

    static void edit(Easel easel) {
        easel.imageEdit(ImageEditRequest.builder().model("mock/edit").image(PNG).prompt("a hat").build());
    }

    static List<String> ids(int from, int to) {
        List<String> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            out.add("rec-" + i);
        }
        return out;
    }

    static void send(WebhookListener hook, List<String> ids) {
        for (String id : ids) {
            hook.onSuccess(JsonLogsListenerTest.withId(RecordJsonTest.record("p", null), id));
        }
    }

    @Test
    void edits_receiverUp_getsEveryRecordOnceInBatchesWithIdempotencyKeys() {
        WebhookListener hook = start(hook().header("Authorization", "Bearer hook-token-1").batchSize(3));
        Easel easel = Easel.builder().listener(hook).build();

        for (int i = 0; i < 7; i++) {
            edit(easel);
        }
        assertThatThrownBy(() -> easel.imageEdit(ImageEditRequest.builder().model("nosuch/x").image(PNG)
                .prompt("p").build())).hasMessageContaining("nosuch");
        await("8 records", () -> receiver.records().size() >= 8);

        List<JsonNode> records = receiver.records();
        assertThat(records).hasSize(8);
        assertThat(receiver.requestIds()).doesNotHaveDuplicates();
        assertThat(records.stream().filter(r -> r.get("status").asText().equals("success"))).hasSize(7);
        assertThat(records.stream().filter(r -> r.get("status").asText().equals("failure"))).hasSize(1);
        assertThat(records.getFirst().get("provider").asText()).isEqualTo("mock");
        assertThat(records.getFirst().get("prompt").asText()).isEqualTo("a hat");
        for (WebhookReceiver.Post p : receiver.posts()) {
            assertThat(p.body().get("records").size()).isBetween(1, 3);
            assertThat(p.body().get("batch_id").asText()).isEqualTo(p.idempotencyKey()).hasSize(36);
            assertThat(p.authorization()).isEqualTo("Bearer hook-token-1");
            assertThat(p.contentType()).isEqualTo("application/json");
        }
        assertThat(receiver.posts().stream().map(WebhookReceiver.Post::idempotencyKey)).doesNotHaveDuplicates();
        await("delivered counted", () -> hook.delivered() == 8);
        assertThat(hook.pending()).isZero();
        assertThat(hook.health()).isEqualTo(EaselListener.Health.UP);
    }

    @Test
    void edits_receiverAnswering503ForAWhile_getEveryRecordOnceWhenItIsBack() {
        WebhookListener hook = start(hook().batchSize(2));
        Easel easel = Easel.builder().listener(hook).build();
        receiver.answer(503);

        for (int i = 0; i < 5; i++) {
            edit(easel);
        }
        await("several failed posts", () -> hook.failedPosts() >= 3);
        assertThat(receiver.records()).isEmpty();
        assertThat(hook.health().up()).isFalse();
        assertThat(hook.health().detail()).startsWith("webhook " + "http://127.0.0.1:" + receiver.url().getPort()
                + ": ").contains("failed in a row (last: HTTP 503)").contains("records waiting");
        assertThat(hook.health().detail()).doesNotContain("/hook");

        receiver.answer(200);
        await("5 records", () -> receiver.records().size() >= 5);
        await("delivered counted", () -> hook.delivered() == 5);
        assertThat(receiver.records()).hasSize(5);
        assertThat(receiver.requestIds()).doesNotHaveDuplicates();
        assertThat(hook.dropped()).isZero();
        assertThat(hook.health().up()).isTrue();
    }

    @Test
    void records_receiverRefusingConnectionsForAWhile_getEveryRecordOnceWhenItIsBack() {
        WebhookListener hook = start(hook().batchSize(4));
        receiver.stop();

        send(hook, ids(0, 10));
        await("several failed posts", () -> hook.failedPosts() >= 3);
        assertThat(hook.health().up()).isFalse();
        assertThat(hook.health().detail()).contains("ConnectException");
        assertThat(hook.pending()).isEqualTo(10);

        receiver.restart();
        await("10 records", () -> receiver.records().size() >= 10);
        await("delivered counted", () -> hook.delivered() == 10);
        assertThat(receiver.requestIds()).containsExactlyElementsOf(ids(0, 10));
        assertThat(hook.health().up()).isTrue();
    }

    @Test
    void records_retriedBatch_keepsItsBatchIdSoTheReceiverCanDedupe() {
        // a flush interval longer than send() takes, so the three records form one batch
        WebhookListener hook = start(hook().batchSize(10).flushInterval(Duration.ofMillis(300)));
        receiver.answer(500);
        send(hook, ids(0, 3));
        await("failed posts", () -> hook.failedPosts() >= 2);
        receiver.answer(200);
        await("3 records", () -> receiver.records().size() >= 3);

        // the batch that was refused (it holds rec-0, the first record sent) arrives under its first batch id,
        // so a receiver can dedupe; records sent later may form a batch of their own
        WebhookReceiver.Post first = receiver.posts().stream()
                .filter(p -> p.body().path("records").get(0).path("request_id").asText().equals("rec-0"))
                .findFirst().orElseThrow();
        assertThat(receiver.refusedKeys()).contains(first.idempotencyKey());
        assertThat(receiver.requestIds()).containsExactlyElementsOf(ids(0, 3));
    }

    @Test
    void records_beyondTheBuffer_areDroppedAndCountedTheRestArrives() {
        WebhookListener hook = start(hook().maxBuffered(4).batchSize(2));
        receiver.answer(503);

        send(hook, ids(0, 10));
        assertThat(hook.dropped()).isEqualTo(6);
        assertThat(hook.pending()).isEqualTo(4);
        await("failed posts", () -> hook.failedPosts() >= 1);
        assertThat(hook.health().detail()).contains("4 records waiting, 6 dropped");

        receiver.answer(200);
        await("4 records", () -> receiver.records().size() >= 4);
        assertThat(receiver.requestIds()).containsExactlyElementsOf(ids(0, 4));
    }

    @Test
    void records_rejectedWith400_areCountedNotRetried() {
        WebhookListener hook = start(hook().batchSize(5));
        receiver.answer(400);
        send(hook, ids(0, 2));
        await("rejected", () -> hook.rejected() == 2);

        assertThat(hook.pending()).isZero();
        assertThat(hook.failedPosts()).isZero();
        assertThat(hook.health().up()).isFalse();
        assertThat(hook.health().detail()).contains("rejected with HTTP 400");

        receiver.answer(200);
        send(hook, ids(2, 3));
        await("next record", () -> receiver.records().size() == 1);
        await("healthy again", () -> hook.health().up()); // set once the POST returned, just after the receiver saw it
    }

    @Test
    void edits_receiverThatHangs_delayNoEdit() {
        WebhookListener hook = start(hook().timeout(Duration.ofSeconds(20)).batchSize(1));
        Easel easel = Easel.builder().listener(hook).build();
        edit(easel); // warm up the mock painter and the JIT
        long baseline = System.nanoTime();
        edit(easel);
        long oneEdit = System.nanoTime() - baseline;
        await("warm-up records", () -> hook.delivered() == 2);

        receiver.hang();
        long t0 = System.nanoTime();
        for (int i = 0; i < 5; i++) {
            edit(easel);
        }
        long fiveEdits = System.nanoTime() - t0;

        // the sender is stuck on the first POST for up to 20 s; the edits never waited for it
        assertThat(Duration.ofNanos(fiveEdits)).isLessThan(Duration.ofNanos(oneEdit * 5).plusSeconds(2));
        assertThat(hook.delivered()).isEqualTo(2);
        receiver.release();
        await("all records", () -> hook.delivered() == 7);
    }

    @Test
    void close_deliversWhatIsBufferedWithoutWaitingForTheFlushInterval() {
        WebhookListener hook = hook().flushInterval(Duration.ofSeconds(30)).batchSize(100).build();
        send(hook, ids(0, 3));

        long t0 = System.nanoTime();
        hook.close();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
        assertThat(receiver.requestIds()).containsExactlyElementsOf(ids(0, 3));
        assertThat(hook.dropped()).isZero();

        send(hook, ids(3, 4));
        assertThat(hook.dropped()).isEqualTo(1);
    }

    @Test
    void close_receiverDown_givesUpAfterTheCloseTimeoutAndCountsTheRest() {
        WebhookListener hook = hook().closeTimeout(Duration.ofMillis(300)).build();
        receiver.hang();
        send(hook, ids(0, 3));
        await("a post in flight", () -> hook.pending() == 3);

        long t0 = System.nanoTime();
        hook.close();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
        assertThat(hook.dropped()).isEqualTo(3);
        assertThat(hook.pending()).isZero();
    }

    @Test
    void fromConfig_urlFromSettingsOrEnvironment_authorizationFromEnvironment() {
        EaselConfig listed = ConfigLoader.parse("litellm_settings: {callbacks: [webhook]}\n", Map.of(), "t.yaml");
        EaselConfig withUrl = ConfigLoader.parse("general_settings: {webhook_url: '" + receiver.url() + "'}\n",
                Map.of(), "t.yaml");
        EaselConfig none = ConfigLoader.parse("litellm_settings: {callbacks: [otel]}\n", Map.of(), "t.yaml");

        assertThat(WebhookListener.fromConfig(none, Map.of())).isEmpty();
        assertThatThrownBy(() -> WebhookListener.fromConfig(listed, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("litellm_settings.callbacks: 'webhook' needs general_settings.webhook_url or the"
                        + " EASEL_WEBHOOK_URL environment variable");
        assertThatThrownBy(() -> WebhookListener.fromConfig(listed, Map.of("EASEL_WEBHOOK_URL", "ftp://x/y")))
                .hasMessage("EASEL_WEBHOOK_URL must be an http(s) URL (was 'ftp://x/y')");

        WebhookListener fromEnv = WebhookListener.fromConfig(listed, Map.of("EASEL_WEBHOOK_URL",
                receiver.url().toString(), "EASEL_WEBHOOK_AUTHORIZATION", "Bearer env-token")).orElseThrow();
        toClose.add(fromEnv);
        send(fromEnv, ids(0, 1));
        WebhookListener fromSettings = WebhookListener.fromConfig(withUrl, Map.of()).orElseThrow();
        toClose.add(fromSettings);
        send(fromSettings, ids(1, 2));
        await("2 records", () -> receiver.records().size() == 2);

        assertThat(fromEnv.name()).isEqualTo("webhook");
        assertThat(receiver.posts().stream().map(WebhookReceiver.Post::authorization))
                .containsExactlyInAnyOrder("Bearer env-token", null);
        assertThat(fromEnv.toString()).doesNotContain("env-token");
    }

    @Test
    void builder_badValues_areRefusedWithTheValue() {
        assertThatThrownBy(() -> WebhookListener.builder(URI.create("file:///tmp/x")))
                .hasMessage("webhook url must be an http(s) URL (was 'file:///tmp/x')");
        assertThatThrownBy(() -> hook().batchSize(0)).hasMessage("batchSize must be at least 1 (was 0)");
        assertThatThrownBy(() -> hook().maxBuffered(-1)).hasMessage("maxBuffered must be at least 1 (was -1)");
        assertThatThrownBy(() -> hook().backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .hasMessage("backoff max must be at least the initial delay (was PT1S < PT2S)");
        assertThatThrownBy(() -> hook().header("Host", "x")).isInstanceOf(IllegalArgumentException.class);
    }
}
