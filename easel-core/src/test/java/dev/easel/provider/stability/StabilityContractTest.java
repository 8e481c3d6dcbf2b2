package dev.easel.provider.stability;

import dev.easel.provider.ProviderContract;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.FakeStability;
import dev.easel.testkit.RecordedPart;
import java.util.List;
import java.util.Map;

/**
 * The Stability adapter keeps the provider contract against the testkit's FakeStability, on
 * {@code stability/search-and-replace}: of Stability's operations it is one that reads a prompt and edits an image
 * without transparency or mask (the contract sends an opaque PNG), given the {@code search_prompt} it requires.
 * Every failure is one Stability answers; the 429's {@code Retry-After} is the fixture's (Stability's documentation
 * promises none; the adapter honours it when sent). Stability does not stream: that test is skipped, nothing else.
 */
class StabilityContractTest extends ProviderContract {

    @Override
    protected Fixture start() {
        FakeStability fake = FakeStability.builder().apiKey(KEY).start();
        return new ProviderContract.FakeServerFixture(fake::holdAnswers, fake::releaseAnswers, fake::close) {
            @Override
            public Map<String, Object> litellmParams() {
                return Map.of("model", "stability/search-and-replace", "api_base", fake.baseUrl(), "api_key", KEY);
            }

            @Override
            public Map<String, Object> requiredFields() {
                return Map.of("search_prompt", "the head");
            }

            @Override
            public int maxImages() {
                return 1;
            }

            @Override
            public List<Received> received() {
                return fake.requests().stream().filter(r -> r.path().startsWith("/v2beta/stable-image/edit/"))
                        .map(r -> new Received(r.textField("prompt").orElse(null),
                                r.parts("image").stream().map(RecordedPart::bytes).toList(),
                                r.header("Authorization")))
                        .toList();
            }

            @Override
            public void fail(Failure f) {
                fake.enqueue(switch (f) {
                    case BAD_REQUEST -> FakeStability.error(400, "bad_request", "search_prompt: is required");
                    case AUTHENTICATION -> FakeStability.error(401, "unauthorized",
                            "authorization: invalid or missing header value");
                    case PERMISSION -> FakeStability.error(403, "forbidden", "this key may not use this operation");
                    case NOT_FOUND -> FakeStability.error(404, "not_found", "the requested resource was not found");
                    case RATE_LIMIT -> FakeStability.rateLimited().withHeader("Retry-After",
                            Long.toString(retryAfter().toSeconds()));
                    case SERVER_ERROR -> FakeStability.internalError();
                    case UNAVAILABLE -> FakeStability.error(503, "service_unavailable", "try again later");
                    case GARBAGE -> FakeResponse.malformedJson();
                    case RESET -> FakeResponse.dropConnection();
                });
            }

            @Override
            public boolean priced() {
                return true;
            }
        };
    }
}
