package dev.easel.provider.openai;

import dev.easel.provider.ProviderContract;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedPart;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Contract fixtures on the testkit's FakeOpenAi, shared by the OpenAI and Azure contract tests. */
public final class OpenAiContractFixtures {

    private OpenAiContractFixtures() {
    }

    /** A FakeOpenAi-based fixture; {@code azure} switches to Azure's route, header and deployment model string. */
    public static ProviderContract.Fixture fakeOpenAi(boolean azure) {
        FakeOpenAi fake = FakeOpenAi.builder().apiKey(ProviderContract.KEY).start();
        return new ProviderContract.FakeServerFixture(fake::holdAnswers, fake::releaseAnswers, fake::close) {
            @Override
            public Map<String, Object> litellmParams() {
                return azure ? Map.of("model", "azure/gpt-image-1.5", "api_base", fake.azureBaseUrl(), "api_key", ProviderContract.KEY)
                        : Map.of("model", "openai/gpt-image-1.5", "api_base", fake.baseUrl(), "api_key", ProviderContract.KEY);
            }

            @Override
            public int maxImages() {
                return 16;
            }

            @Override
            public List<ProviderContract.Received> received() {
                return fake.requests().stream().filter(r -> r.path().endsWith("/images/edits")).map(r -> {
                    List<RecordedPart> images = r.parts("image").isEmpty() ? r.parts("image[]") : r.parts("image");
                    return new ProviderContract.Received(r.textField("prompt").orElse(null),
                            images.stream().map(RecordedPart::bytes).toList(),
                            azure ? r.header("api-key") : r.header("Authorization"));
                }).toList();
            }

            @Override
            public void fail(ProviderContract.Failure f) {
                fake.enqueue(switch (f) {
                    case BAD_REQUEST -> FakeResponse.error(400, "invalid_request_error", "invalid_value", "size",
                            "Invalid size");
                    case AUTHENTICATION -> FakeResponse.error(401, "invalid_request_error", "invalid_api_key",
                            "Incorrect API key provided");
                    case PERMISSION -> FakeResponse.error(403, "invalid_request_error", null,
                            "Your organization must be verified");
                    case NOT_FOUND -> FakeResponse.error(404, "invalid_request_error", "model_not_found",
                            "no such model");
                    case RATE_LIMIT -> FakeResponse.rateLimited(7);
                    case SERVER_ERROR -> FakeResponse.serverError();
                    case UNAVAILABLE -> FakeResponse.error(503, "server_error", null, "overloaded");
                    case GARBAGE -> FakeResponse.malformedJson();
                    case RESET -> FakeResponse.dropConnection();
                });
            }

            @Override
            public boolean streams() {
                return true;
            }

            @Override
            public void slowStream() {
                fake.streamEventDelay(Duration.ofSeconds(2));
            }

            @Override
            public boolean priced() {
                return true;
            }
        };
    }

}
