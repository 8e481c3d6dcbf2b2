package dev.easel.provider.bfl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.provider.ProviderContract;
import dev.easel.testkit.FakeBfl;
import dev.easel.testkit.FakeResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The provider contract on FakeBfl with FLUX.2 [pro] (up to 8 images): the submission carries the images in order,
 * the prompt and the configured key as {@code x-key}; each error class is one of BFL's answers to the submission
 * (422 {@code detail[]}, 403 "Not authenticated", another 403, FastAPI's 404, 429 too many active tasks with
 * {@code Retry-After: 1}, 500, 503, a truncated 200, a reset). BFL does not stream, so the stream test is skipped;
 * everything else runs.
 */
class BflContractTest extends ProviderContract {

    static final ObjectMapper JSON = new ObjectMapper();

    @Override
    protected Fixture start() {
        FakeBfl fake = FakeBfl.builder().apiKey(KEY).pendingPolls(1).start();
        return new ProviderContract.FakeServerFixture(fake::holdAnswers, fake::releaseAnswers, fake::close) {
            @Override
            public Map<String, Object> litellmParams() {
                return Map.of("model", "black_forest_labs/flux-2-pro", "api_base", fake.baseUrl(), "api_key", KEY);
            }

            @Override
            public int maxImages() {
                return 8;
            }

            @Override
            public List<Received> received() {
                return fake.requests().stream().filter(r -> r.method().equals("POST")).map(r -> {
                    JsonNode body;
                    try {
                        body = JSON.readTree(r.body());
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    List<byte[]> images = new ArrayList<>();
                    for (int i = 1; body.hasNonNull(i == 1 ? "input_image" : "input_image_" + i); i++) {
                        images.add(Base64.getDecoder().decode(body.get(i == 1 ? "input_image" : "input_image_" + i)
                                .asText()));
                    }
                    return new Received(body.path("prompt").asText(null), images, r.header("x-key"));
                }).toList();
            }

            @Override
            public void fail(Failure f) {
                fake.enqueue(switch (f) {
                    case BAD_REQUEST -> FakeResponse.json(422, "{\"detail\":[{\"type\":\"value_error\",\"loc\":"
                            + "[\"body\"],\"msg\":\"Value error, width * height must be at most 4194304 pixels\","
                            + "\"input\":{}}]}");
                    case AUTHENTICATION -> FakeBfl.detail(403, "Not authenticated - Invalid Authentication");
                    case PERMISSION -> FakeBfl.detail(403, "Forbidden");
                    case NOT_FOUND -> FakeBfl.detail(404, "Not Found");
                    case RATE_LIMIT -> FakeBfl.tooManyActiveTasks();
                    case SERVER_ERROR -> FakeBfl.detail(500, "Internal Server Error");
                    case UNAVAILABLE -> FakeBfl.detail(503, "Service Unavailable");
                    case GARBAGE -> FakeResponse.malformedJson();
                    case RESET -> FakeResponse.dropConnection();
                });
            }

            @Override
            public Duration retryAfter() {
                return Duration.ofSeconds(1); // BFL's Retry-After on a 429
            }

            @Override
            public boolean priced() {
                return true;
            }
        };
    }
}
