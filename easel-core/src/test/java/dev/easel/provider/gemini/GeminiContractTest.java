package dev.easel.provider.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.provider.ProviderContract;
import dev.easel.testkit.FakeGemini;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The Gemini adapter keeps the provider contract against the testkit's FakeGemini. Every failure is one the fake
 * answers as Google does. The stream test is skipped: the catalogue declares the Gemini models {@code streaming:
 * false} (Gemini's stream carries no partial images, only the final parts), so {@code stream=true} is a 400 before
 * any call.
 */
class GeminiContractTest extends ProviderContract {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    protected Fixture start() {
        FakeGemini fake = FakeGemini.builder().apiKey(KEY).start();
        return new ProviderContract.FakeServerFixture(fake::holdAnswers, fake::releaseAnswers, fake::close) {
            @Override
            public Map<String, Object> litellmParams() {
                return Map.of("model", "gemini/gemini-3.1-flash-image", "api_base", fake.baseUrl(), "api_key", KEY);
            }

            @Override
            public int maxImages() {
                return 14;
            }

            @Override
            public List<Received> received() {
                return fake.requests().stream().map(GeminiContractTest::received).toList();
            }

            @Override
            public void fail(Failure f) {
                fake.enqueue(switch (f) {
                    case BAD_REQUEST -> FakeGemini.error(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: "
                            + "contents is not specified\n");
                    case AUTHENTICATION -> FakeGemini.invalidApiKey();
                    case PERMISSION -> FakeGemini.permissionDenied();
                    case NOT_FOUND -> FakeGemini.error(404, "NOT_FOUND", "models/gemini-3.1-flash-image is not found "
                            + "for API version v1beta, or is not supported for generateContent.");
                    case RATE_LIMIT -> FakeGemini.rateLimited(7);
                    case SERVER_ERROR -> FakeGemini.internalError();
                    case UNAVAILABLE -> FakeGemini.unavailable();
                    case GARBAGE -> FakeResponse.malformedJson();
                    case RESET -> FakeResponse.dropConnection();
                });
            }

            @Override
            public Duration retryAfter() {
                return Duration.ofSeconds(7); // RetryInfo.retryDelay "7s"
            }

            @Override
            public boolean priced() {
                return true;
            }
        };
    }

    /** The prompt (the text part), the images (the inlineData parts, in order) and the key header of a request. */
    static Received received(RecordedRequest r) {
        JsonNode parts;
        try {
            parts = JSON.readTree(r.body()).path("contents").path(0).path("parts");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String prompt = null;
        List<byte[]> images = new ArrayList<>();
        for (JsonNode part : parts) {
            if (part.has("text")) {
                prompt = part.get("text").asText();
            } else if (part.has("inlineData")) {
                images.add(Base64.getDecoder().decode(part.path("inlineData").path("data").asText()));
            }
        }
        return new Received(prompt, images, r.header("x-goog-api-key"));
    }
}
