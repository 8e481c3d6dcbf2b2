package dev.easel.provider.gemini;

import static dev.easel.provider.gemini.GeminiFixture.KEY;
import static dev.easel.provider.gemini.GeminiFixture.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.EaselException;
import dev.easel.InternalServerException;
import dev.easel.NotFoundException;
import dev.easel.PermissionDeniedException;
import dev.easel.RateLimitException;
import dev.easel.ServiceUnavailableException;
import dev.easel.testkit.FakeGemini;
import dev.easel.testkit.FakeResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Google's error answers, as the fake gives them, mapped by meaning (GeminiErrors): what the caller should do
 * decides the class, whatever status Google used; messages are Google's, never with the key.
 */
class GeminiErrorsTest {

    static final String FLASH = GeminiProviderTest.FLASH;

    final GeminiFixture gemini = new GeminiFixture();

    @AfterEach
    void stop() {
        gemini.close();
    }

    EaselException failure(String model) {
        try {
            gemini.client(model).imageEdit(request().build());
        } catch (EaselException e) {
            return e;
        }
        throw new AssertionError("the edit succeeded");
    }

    EaselException failure() {
        return failure(FLASH);
    }

    static void is(EaselException e, int status, String type, String code) {
        assertThat(e.status()).hasValue(status);
        assertThat(e.type()).isEqualTo(type);
        assertThat(e.code()).hasValue(code);
        assertThat(e.provider()).contains("gemini");
    }

    @Test
    void wrongKey_googles400ApiKeyInvalid_isA401() {
        // the fake's own check: the deployment's key is not the fake's
        var easel = gemini.group("{model: gemini/" + FLASH
                + ", api_key: gm-wrong-key-99999, api_base: \"" + gemini.fake.baseUrl() + "\"}");

        assertThatThrownBy(() -> easel.imageEdit(request().build()))
                .isInstanceOf(AuthenticationException.class)
                .hasMessage("API key not valid. Please pass a valid API key.")
                .satisfies(e -> is((EaselException) e, 401, "authentication_error", "invalid_api_key"))
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("gm-wrong-key-99999"));
    }

    @Test
    void noKeyReachingGoogle_403UnregisteredCallers_isA401() {
        gemini.fake.enqueue(FakeGemini.error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers "
                + "(callers without established identity). Please use API Key or other form of API consumer identity "
                + "to call this API."));

        EaselException e = failure();

        assertThat(e).isInstanceOf(AuthenticationException.class);
        is(e, 401, "authentication_error", "missing_api_key");
    }

    @Test
    void noKeyConfigured_isRefusedBeforeTheCall() {
        var easel = gemini.group("{model: gemini/" + FLASH
                + ", api_base: \"" + gemini.fake.baseUrl() + "\"}");

        assertThatThrownBy(() -> easel.imageEdit(request().build()))
                .isInstanceOf(AuthenticationException.class)
                .hasMessage("no api key for gemini deployment 'gemini-3.1-flash-image': set api_key (e.g. "
                        + "os.environ/GEMINI_API_KEY)");
        assertThat(gemini.fake.requestCount()).isZero();
    }

    @Test
    void permissionDenied_isA403() {
        gemini.fake.enqueue(FakeGemini.permissionDenied());

        EaselException e = failure();

        assertThat(e).isInstanceOf(PermissionDeniedException.class).hasMessage("The caller does not have permission");
        is(e, 403, "permission_error", "permission_denied");
    }

    @Test
    void failedPrecondition_aRegionOrProjectWithoutTheModel_isA403() {
        gemini.fake.enqueue(FakeGemini.error(400, "FAILED_PRECONDITION", "User location is not supported for the "
                + "API use."));

        EaselException e = failure();

        assertThat(e).isInstanceOf(PermissionDeniedException.class);
        is(e, 403, "permission_error", "failed_precondition");
    }

    @Test
    void shutDownModel_googles404_namesTheCataloguesReplacement() {
        EaselException e = failure("gemini-2.5-flash-image");

        assertThat(e).isInstanceOf(NotFoundException.class).hasMessage("models/gemini-2.5-flash-image is not found "
                + "for API version v1beta, or is not supported for generateContent. Call ModelService.ListModels to "
                + "see the list of available models and their supported methods. (Easel's catalogue: "
                + "'gemini-2.5-flash-image' was shut down on 2026-10-02; use 'gemini-3.1-flash-image' instead)");
        is(e, 404, "invalid_request_error", "model_not_found");
        assertThat(e.param()).contains("model");
        assertThat(failure("gemini-3-pro-image-preview").getMessage())
                .endsWith("(Easel's catalogue: 'gemini-3-pro-image-preview' was shut down on 2026-06-25; use "
                        + "'gemini-3-pro-image' instead)");
    }

    @Test
    void unknownModel_googles404_asItIs() {
        EaselException e = failure("gemini-9-image");

        assertThat(e).isInstanceOf(NotFoundException.class).hasMessageStartingWith("models/gemini-9-image is not found")
                .hasMessageNotContaining("catalogue");
    }

    @Test
    void wrongApiBase_googlesHtml404_isANotFoundWithTheTextOfThePage() {
        var easel = gemini.group("{model: gemini/" + FLASH
                + ", api_key: " + KEY + ", api_base: \"" + gemini.fake.baseUrl() + "/v1/x\"}");

        assertThatThrownBy(() -> easel.imageEdit(request().build()))
                .isInstanceOf(NotFoundException.class)
                .hasMessageStartingWith("gemini returned HTTP 404: Error 404 (Not Found)!!1 404. That’s an error.")
                .satisfies(e -> is((EaselException) e, 404, "invalid_request_error", "not_found"));
    }

    @Test
    void rateLimited_isA429_withGooglesRetryDelay() {
        gemini.fake.enqueue(FakeGemini.rateLimited(7));

        EaselException e = failure();

        assertThat(e).isInstanceOf(RateLimitException.class).hasMessageStartingWith("You exceeded your current quota");
        is(e, 429, "rate_limit_error", "rate_limit_exceeded");
        assertThat(((RateLimitException) e).retryAfter()).contains(Duration.ofSeconds(7));
        assertThat(e.retryable()).isTrue();
    }

    @Test
    void rateLimited_withoutRetryInfo_takesRetryAfter() {
        gemini.fake.enqueue(FakeGemini.error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check "
                + "quota).").withHeader("Retry-After", "3"));

        assertThat(((RateLimitException) failure()).retryAfter()).contains(Duration.ofSeconds(3));
    }

    @Test
    void quotaOfZero_aModelTheTierDoesNotInclude_isInsufficientQuota_notRetried() {
        gemini.fake.enqueue(FakeResponse.json(429, """
                {"error":{"code":429,"message":"You exceeded your current quota. Quota exceeded for metric: \
                generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0","status":\
                "RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":\
                [{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaValue":\
                "0"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"0.5s"}]}}"""));

        EaselException e = failure();

        is(e, 429, "rate_limit_error", "insufficient_quota");
        assertThat(e.retryable()).isFalse();
        assertThat(((RateLimitException) e).retryAfter()).contains(Duration.ofMillis(500));
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "500, INTERNAL, 500, internal",
            "504, DEADLINE_EXCEEDED, 504, deadline_exceeded",
    })
    void serverErrors_areInternalServerErrors(int status, String google, int mapped, String code) {
        gemini.fake.enqueue(FakeGemini.error(status, google, "An internal error has occurred."));

        EaselException e = failure();

        assertThat(e).isInstanceOf(InternalServerException.class).isNotInstanceOf(ServiceUnavailableException.class);
        is(e, mapped, "api_error", code);
        assertThat(e.retryable()).isTrue();
    }

    @Test
    void overloaded_isA503() {
        gemini.fake.enqueue(FakeGemini.unavailable());

        EaselException e = failure();

        assertThat(e).isInstanceOf(ServiceUnavailableException.class)
                .hasMessage("The model is overloaded. Please try again later.");
        is(e, 503, "api_error", "unavailable");
    }

    @Test
    void invalidArgument_isA400_withGooglesMessage() {
        gemini.fake.enqueue(FakeGemini.error(400, "INVALID_ARGUMENT", "Unable to process input image. Please retry "
                + "or report in https://developers.generativeai.google/guide/troubleshooting"));

        EaselException e = failure();

        assertThat(e).isInstanceOf(BadRequestException.class).hasMessageStartingWith("Unable to process input image.");
        is(e, 400, "invalid_request_error", "invalid_argument");
    }

    @Test
    void aMessageThatEchoesTheKey_hasItRedacted() {
        gemini.fake.enqueue(FakeGemini.error(400, "INVALID_ARGUMENT", "key " + KEY + " is malformed"));

        assertThat(failure().getMessage()).isEqualTo("key **** is malformed");
    }

    @Test
    void notJsonAt500_namesTheStatusAndWhatCame() {
        gemini.fake.enqueue(FakeResponse.body(502, "text/plain", "upstream connect error".getBytes()));

        EaselException e = failure();

        assertThat(e).isInstanceOf(InternalServerException.class)
                .hasMessage("gemini returned HTTP 502: upstream connect error");
    }

    @Test
    void googleDurations_parse() {
        assertThat(GeminiErrors.duration("7s")).contains(Duration.ofSeconds(7));
        assertThat(GeminiErrors.duration("1.000340012s")).contains(Duration.ofNanos(1_000_340_012));
        assertThat(GeminiErrors.duration("7")).isEmpty();
        assertThat(GeminiErrors.duration("-1s")).isEmpty();
        assertThat(GeminiErrors.duration("9999999999s")).as("out of range, not an overflow").isEmpty();
    }
}
