package dev.easel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.callback.EaselListener;
import dev.easel.callback.EditLogRecord;
import dev.easel.image.TestImages;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import dev.easel.testkit.Await;
import dev.easel.testkit.FakeOpenAi;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link Easel} owns threads and connections, and gives them back when closed. */
class EaselCloseTest {

    private static ImageEditRequest request() {
        return ImageEditRequest.builder().model("mock/edit").image(TestImages.png(64, 64, false)).prompt("a hat")
                .build();
    }

    private static boolean listenerThreadAlive(String name) {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals("easel-listener-" + name) && t.isAlive());
    }

    @Test
    void close_deliversQueuedRecords_stopsItsThreads_andRefusesLaterEdits() {
        List<EditLogRecord> seen = new CopyOnWriteArrayList<>();
        EaselListener listener = new EaselListener() {
            @Override
            public String name() {
                return "close-test";
            }

            @Override
            public void onSuccess(EditLogRecord record) {
                seen.add(record);
            }
        };
        Easel easel = Easel.builder().listener(listener).build();
        easel.imageEdit(request());
        assertThat(listenerThreadAlive("close-test")).isTrue();

        easel.close();

        assertThat(seen).hasSize(1); // queued before close, delivered by close
        assertThat(listenerThreadAlive("close-test")).isFalse();
        assertThatThrownBy(() -> easel.imageEdit(request())).isInstanceOf(IllegalStateException.class)
                .hasMessage("this Easel client is closed");
        assertThatThrownBy(() -> easel.imageEditStream(request())).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> easel.imageEditAsync(request())).isInstanceOf(IllegalStateException.class);
        easel.close(); // idempotent
    }

    @Test
    void close_leavesAnExecutorTheCallerGaveRunning() throws Exception {
        ExecutorService mine = Executors.newSingleThreadExecutor();
        try {
            try (Easel easel = Easel.builder().executor(mine).build()) {
                assertThat(easel.imageEditAsync(request()).get().data()).hasSize(1);
            }
            assertThat(mine.isShutdown()).isFalse();
        } finally {
            mine.shutdownNow();
        }
    }

    @Test
    void close_cancelsAnEditWaitingForItsProvider() throws Exception {
        try (FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-close").start()) {
            fake.holdAnswers();
            Easel easel = Easel.builder().apiKey("sk-close").apiBase(fake.baseUrl()).maxRetries(0).build();
            CompletableFuture<ImageResponse> running = easel.imageEditAsync(ImageEditRequest.builder()
                    .model("gpt-image-1.5").image(TestImages.png(64, 64, false)).prompt("a hat").build());
            Await.until("the edit reaches the provider", () -> fake.requestCount() == 1);

            easel.close();

            assertThatThrownBy(() -> running.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(ConnectionException.class);
            fake.releaseAnswers();
        }
    }
}
