package dev.easel.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FakeOpenAiStreamingTest {

    private final FakeOpenAi fake = FakeOpenAi.start();

    @AfterEach
    void stop() {
        fake.close();
    }

    /** An SSE event and the time (nanoTime) its blank line arrived. */
    record Frame(String event, JsonNode data, String raw, long arrivedNanos) {
    }

    static List<Frame> readFrames(HttpResponse<InputStream> response) throws Exception {
        List<Frame> frames = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(),
                StandardCharsets.UTF_8))) {
            String event = null;
            String data = null;
            StringBuilder raw = new StringBuilder();
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                raw.append(line).append('\n');
                if (line.startsWith("event: ")) {
                    event = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    data = line.substring(6);
                } else if (line.isEmpty()) {
                    long arrived = System.nanoTime(); // before any parsing, so JSON warm-up does not skew timing
                    frames.add(new Frame(event, data == null ? null : Json.MAPPER.readTree(data), raw.toString(),
                            arrived));
                    event = null;
                    data = null;
                    raw.setLength(0);
                }
            }
        }
        return frames;
    }

    private HttpResponse<InputStream> stream(Form form) throws Exception {
        return Http.CLIENT.send(Http.post(fake.baseUrl() + "/images/edits", form, "Authorization", "Bearer k")
                .build(), HttpResponse.BodyHandlers.ofInputStream());
    }

    @Test
    void edit_streamTrue_sendsPartialsThenCompletedWithUsage() throws Exception {
        HttpResponse<InputStream> response = stream(Form.edit("gpt-image-1").text("stream", "true")
                .text("partial_images", "2").text("quality", "low").png("image"));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).contains("text/event-stream; charset=utf-8");
        assertThat(response.headers().firstValue("x-request-id")).isPresent();
        List<Frame> frames = readFrames(response);
        assertThat(frames).extracting(Frame::event).containsExactly("image_edit.partial_image",
                "image_edit.partial_image", "image_edit.completed");
        JsonNode partial = frames.get(1).data();
        assertThat(partial.fieldNames()).toIterable().containsExactly("type", "b64_json", "created_at", "size",
                "quality", "background", "output_format", "partial_image_index");
        assertThat(partial.get("type").asText()).isEqualTo("image_edit.partial_image");
        assertThat(partial.get("partial_image_index").asInt()).isEqualTo(1);
        assertThat(partial.get("quality").asText()).isEqualTo("low");
        JsonNode completed = frames.get(2).data();
        assertThat(completed.get("type").asText()).isEqualTo("image_edit.completed");
        assertThat(completed.has("partial_image_index")).isFalse();
        assertThat(completed.get("usage").get("output_tokens").asInt()).isEqualTo(1056);
        assertThat(java.util.Base64.getDecoder().decode(completed.get("b64_json").asText())).isEqualTo(Images.PNG);
        assertThat(frames.getFirst().raw()).startsWith("event: image_edit.partial_image\ndata: {\"type\":");
    }

    @Test
    void edit_streamWithoutPartials_sendsOnlyCompleted() throws Exception {
        List<Frame> frames = readFrames(stream(Form.edit("gpt-image-1").text("stream", "true").png("image")));

        assertThat(frames).extracting(Frame::event).containsExactly("image_edit.completed");
    }

    @Test
    void edit_streamEventDelay_framesArriveIncrementally() throws Exception {
        fake.streamEventDelay(Duration.ofMillis(600));

        List<Frame> frames = readFrames(stream(Form.edit("gpt-image-1").text("stream", "true")
                .text("partial_images", "1").png("image")));

        assertThat(frames).hasSize(2);
        Duration gap = Duration.ofNanos(frames.get(1).arrivedNanos() - frames.get(0).arrivedNanos());
        assertThat(gap).isGreaterThanOrEqualTo(Duration.ofMillis(300));
    }
}
