package dev.easel.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FakeOpenAiScriptTest {

    private final FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-test").start();

    @AfterEach
    void stop() {
        fake.close();
    }

    private HttpResponse<String> edit() {
        return Http.edit(fake, Form.edit("gpt-image-1").png("image"));
    }

    @Test
    void enqueue_consumedInOrderThenDefaultBehaviour() {
        fake.enqueue(FakeResponse.json(201, "{\"a\":1}"));
        fake.enqueue(FakeResponse.error(503, "server_error", null, "overloaded"));

        HttpResponse<String> first = edit();
        HttpResponse<String> second = edit();
        HttpResponse<String> third = edit();

        assertThat(first.statusCode()).isEqualTo(201);
        assertThat(first.body()).isEqualTo("{\"a\":1}");
        assertThat(first.headers().firstValue("x-request-id")).isPresent();
        assertThat(second.statusCode()).isEqualTo(503);
        assertThat(second.body()).isEqualTo("{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\","
                + "\"param\":null,\"code\":null}}");
        assertThat(third.statusCode()).isEqualTo(200);
        assertThat(fake.requestCount()).isEqualTo(3);
    }

    @Test
    void enqueue_scriptedResponseSkipsAuthAndBodyRules() {
        fake.enqueue(FakeResponse.json(200, "{}"));

        HttpResponse<String> response = Http.send(Http.post(fake.baseUrl() + "/images/edits", new Form()));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("{}");
    }

    @Test
    void rateLimited_429WithRetryAfterAndOpenAiBody() {
        fake.enqueue(FakeResponse.rateLimited(7));

        HttpResponse<String> response = edit();

        assertThat(response.statusCode()).isEqualTo(429);
        assertThat(response.headers().firstValue("Retry-After")).contains("7");
        assertThat(response.headers().firstValue("x-ratelimit-reset-requests")).contains("7s");
        JsonNode error = Http.json(response).get("error");
        assertThat(error.get("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(error.get("type").asText()).isEqualTo("requests");
        assertThat(error.get("message").asText()).isEqualTo("Rate limit reached for images per minute (IPM): "
                + "Limit 5, Used 5, Requested 1. Please try again in 7s. "
                + "Visit https://platform.openai.com/account/rate-limits to learn more.");
    }

    @Test
    void moderationBlocked_400NamingTheRequestId() {
        fake.enqueue(FakeResponse.moderationBlocked());

        HttpResponse<String> response = edit();

        assertThat(response.statusCode()).isEqualTo(400);
        String requestId = response.headers().firstValue("x-request-id").orElseThrow();
        JsonNode error = Http.json(response).get("error");
        assertThat(error.get("type").asText()).isEqualTo("image_generation_user_error");
        assertThat(error.get("code").asText()).isEqualTo("moderation_blocked");
        assertThat(error.get("message").asText()).isEqualTo("Your request was rejected by the safety system. If "
                + "you believe this is an error, contact us at help.openai.com and include the request ID "
                + requestId + ".");
        assertThat(error.get("moderation_details").get("moderation_stage").asText()).isEqualTo("input");
    }

    @Test
    void malformedJson_200WithUnparseableJson() {
        fake.enqueue(FakeResponse.malformedJson());

        HttpResponse<String> response = edit();

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).contains("application/json");
        assertThatThrownBy(() -> Json.MAPPER.readTree(response.body())).isInstanceOf(IOException.class);
    }

    @Test
    void dropConnection_clientSeesIoErrorWithoutResponse() {
        fake.enqueue(FakeResponse.dropConnection());

        assertThatThrownBy(this::edit).isInstanceOf(java.io.UncheckedIOException.class)
                .hasRootCauseInstanceOf(IOException.class);
        assertThat(fake.takeRequest().part("image").bytes()).isEqualTo(Images.PNG);
        assertThat(edit().statusCode()).isEqualTo(200);
    }

    @Test
    void delay_provokesClientReadTimeout() {
        fake.enqueue(FakeResponse.defaultBehaviour().delay(Duration.ofSeconds(30)));

        assertThatThrownBy(() -> Http.CLIENT.send(Http.post(fake.baseUrl() + "/images/edits",
                Form.edit("gpt-image-1").png("image"), "Authorization", "Bearer sk-test")
                .timeout(Duration.ofMillis(300)).build(), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(HttpTimeoutException.class);
    }

    @Test
    void defaultLatency_delaysEveryAnswer() {
        fake.defaultLatency(Duration.ofMillis(300));
        long start = System.nanoTime();

        HttpResponse<String> response = edit();

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
    }

    @Test
    void close_withDelayedResponseInFlight_returnsQuicklyAndCutsTheClient() throws Exception {
        fake.enqueue(FakeResponse.json(200, "{}").delay(Duration.ofMinutes(5)));
        CompletableFuture<HttpResponse<String>> inFlight = Http.CLIENT.sendAsync(Http.post(fake.baseUrl()
                + "/images/edits", Form.edit("gpt-image-1").png("image")).build(),
                HttpResponse.BodyHandlers.ofString());
        fake.takeRequest();
        long start = System.nanoTime();

        fake.close();

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        assertThatThrownBy(() -> inFlight.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(IOException.class);
    }

    @Test
    void holdAnswers_requestIsRecordedAndItsAnswerWaitsUntilReleased() throws Exception {
        fake.holdAnswers();
        CompletableFuture<HttpResponse<String>> first = CompletableFuture.supplyAsync(this::edit);
        CompletableFuture<HttpResponse<String>> second = CompletableFuture.supplyAsync(this::edit);
        fake.takeRequest();
        fake.takeRequest();
        assertThat(first).isNotDone();
        assertThat(second).isNotDone();

        fake.releaseAnswers();

        assertThat(first.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(second.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(edit().statusCode()).as("answers are no longer held").isEqualTo(200);
    }

    @Test
    void holdAnswers_aReleaseLetsGoEveryRequestAlreadyRecorded_evenWhenAnswersAreHeldAgainAtOnce() throws Exception {
        // the hold a request is under is the one in force when it was recorded: a test that sees the request,
        // releases and holds again for the next one never leaves this request waiting on the new hold
        for (int i = 0; i < 20; i++) {
            fake.holdAnswers();
            CompletableFuture<HttpResponse<String>> call = CompletableFuture.supplyAsync(this::edit);
            fake.takeRequest();

            fake.releaseAnswers();
            fake.holdAnswers();

            assertThat(call.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            fake.releaseAnswers();
        }
    }

    @Test
    void holdAnswers_closeEndsTheHeldCall() throws Exception {
        fake.holdAnswers();
        CompletableFuture<HttpResponse<String>> held = Http.CLIENT.sendAsync(Http.post(fake.baseUrl()
                + "/images/edits", Form.edit("gpt-image-1").png("image")).build(),
                HttpResponse.BodyHandlers.ofString());
        fake.takeRequest();

        fake.close();

        assertThatThrownBy(() -> held.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(IOException.class);
    }

    @Test
    void sse_writesRawEventsVerbatimInOrder() throws Exception {
        List<String> events = List.of(FakeResponse.sseEvent("image_edit.partial_image", "{\"type\":\"x\"}"),
                "data: {\"error\":{\"message\":\"boom\"}}\n\n");
        fake.enqueue(FakeResponse.sse(events, Duration.ofMillis(500)).withHeader("x-request-id", "req_fixed"));

        HttpResponse<InputStream> response = Http.CLIENT.send(Http.post(fake.baseUrl() + "/images/edits",
                Form.edit("gpt-image-1").png("image")).build(), HttpResponse.BodyHandlers.ofInputStream());
        List<FakeOpenAiStreamingTest.Frame> frames = FakeOpenAiStreamingTest.readFrames(response);

        assertThat(response.headers().firstValue("x-request-id")).contains("req_fixed");
        assertThat(response.headers().firstValue("Content-Type")).contains("text/event-stream; charset=utf-8");
        assertThat(frames).extracting(FakeOpenAiStreamingTest.Frame::raw).containsExactly(
                "event: image_edit.partial_image\ndata: {\"type\":\"x\"}\n\n", "data: {\"error\":{\"message\":\"boom\"}}\n\n");
        assertThat(Duration.ofNanos(frames.get(1).arrivedNanos() - frames.get(0).arrivedNanos()))
                .isGreaterThanOrEqualTo(Duration.ofMillis(250));
    }

    @Test
    void withHeader_onDefaultBehaviour_addsHeaderToNormalAnswer() {
        fake.enqueue(FakeResponse.defaultBehaviour().withHeader("openai-processing-ms", "1234"));

        HttpResponse<String> response = edit();

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("openai-processing-ms")).contains("1234");
        assertThat(Http.json(response).get("data")).hasSize(1);
    }

    @Test
    void body_arbitraryContentType() {
        fake.enqueue(FakeResponse.body(502, "text/html", "<html>bad gateway</html>".getBytes()));

        HttpResponse<String> response = edit();

        assertThat(response.statusCode()).isEqualTo(502);
        assertThat(response.headers().firstValue("Content-Type")).contains("text/html");
        assertThat(response.body()).isEqualTo("<html>bad gateway</html>");
    }

    @Test
    void factories_rejectBadArguments() {
        assertThatThrownBy(() -> FakeResponse.json(99, "{}"))
                .hasMessage("status must be between 100 and 599 (was 99)");
        assertThatThrownBy(() -> FakeResponse.rateLimited(-1)).hasMessage("retryAfterSeconds must be >= 0 (was -1)");
        assertThatThrownBy(() -> FakeResponse.serverError().delay(Duration.ofSeconds(-1)))
                .hasMessage("delay must not be negative (was PT-1S)");
    }
}
