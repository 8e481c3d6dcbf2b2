package dev.easel.callback;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import dev.easel.config.ConfigLoader;
import dev.easel.image.TestImages;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Listeners hear each attempt start before it is sent, numbered like its end, with the fallback flag; a group
 * skipped because the request does not fit its model is no attempt and starts nothing.
 */
class AttemptStartEventTest {

    private static final String CONFIG = """
            model_list:
              - model_name: primary
                litellm_params: {model: mock/edit, failure_rate: 1, failure_status: 503}
                model_info: {id: primary-1}
              - model_name: square-only
                litellm_params: {model: openai/dall-e-2, api_key: sk-unused, api_base: "http://127.0.0.1:1/v1"}
              - model_name: backup
                litellm_params: {model: mock/edit}
                model_info: {id: backup-1}
            router_settings:
              num_retries: 1
              fallbacks: [{"primary": ["square-only", "backup"]}]
            """;

    @Test
    void edit_retryThenFallback_startsAndEndsEveryAttemptInOrder() throws Exception {
        List<String> heard = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        EaselListener listener = new EaselListener() {
            @Override
            public void onAttemptStart(AttemptStartEvent e) {
                heard.add("start " + e.number() + " " + e.modelGroup() + " " + e.deploymentId() + " fallback="
                        + e.fallback());
            }

            @Override
            public void onAttempt(AttemptEvent e) {
                heard.add("end " + e.number() + " " + e.modelGroup() + " " + e.outcome());
            }

            @Override
            public void onSuccess(EditLogRecord record) {
                done.countDown();
            }
        };
        Easel easel = Easel.builder().config(ConfigLoader.parse(CONFIG, Map.of(), "test.yaml")).listener(listener)
                .sleeper(d -> { }).build();
        try {
            ImageResponse r = easel.imageEdit(ImageEditRequest.builder().model("primary")
                    .image(TestImages.png(32, 16, false)).prompt("p").build());

            assertThat(r.data()).hasSize(1);
            assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
            // the 32x16 image does not fit dall-e-2 (square only): that fallback is skipped without an attempt
            assertThat(heard).containsExactly(
                    "start 1 primary primary-1 fallback=false",
                    "end 1 primary 503 service_unavailable",
                    "start 2 primary primary-1 fallback=false",
                    "end 2 primary 503 service_unavailable",
                    "start 3 backup backup-1 fallback=true",
                    "end 3 backup ok");
        } finally {
            easel.listeners().close();
        }
    }
}
