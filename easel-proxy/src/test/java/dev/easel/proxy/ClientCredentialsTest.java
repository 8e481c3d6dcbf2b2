package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.RecordedRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 point 6: {@code api_key}, {@code api_base} and {@code base_url} in a request body were forwarded upstream
 * as form fields. They are refused unless {@code general_settings.allow_client_side_credentials} allows them; then
 * they are used for that request only, and never rest the deployment everyone shares.
 */
class ClientCredentialsTest {

    @TempDir
    Path dataDir;

    private static RawMultipart edit(String... fields) {
        RawMultipart m = new RawMultipart().text("model", "gpt-image-1").text("prompt", "p");
        for (int i = 0; i < fields.length; i += 2) {
            m.text(fields[i], fields[i + 1]);
        }
        return m.file("image", "i.png", "image/png", WireImages.png(32, 32, 1));
    }

    @Test
    void credentialFields_notAllowed_refusedBeforeUpstream() {
        try (WireFixture wire = WireFixture.start(dataDir)) {
            for (String field : List.of("api_key", "api_base", "base_url", "api_version")) {
                HttpResponse<byte[]> r = wire.postMultipart(edit(field, "https://attacker.example/v1"));

                assertThat(r.statusCode()).as(field).isEqualTo(400);
                JsonNode error = WireFixture.error(r);
                assertThat(error.path("code").asText()).isEqualTo("client_side_credentials_not_allowed");
                assertThat(error.path("param").asText()).isEqualTo(field);
                assertThat(error.path("message").asText()).isEqualTo("'" + field + "' is not allowed in the request "
                        + "body: it would change where or how the proxy calls the provider (an operator can allow it "
                        + "with general_settings.allow_client_side_credentials)");
            }
            HttpResponse<byte[]> json = wire.postJson("""
                    {"model":"gpt-image-1","prompt":"p","api_key":"sk-mine",
                     "images":[{"image_url":"%s"}]}""".formatted(EdgeSupport.dataUrl(WireImages.png(32, 32, 1))));
            assertThat(json.statusCode()).isEqualTo(400);
            assertThat(WireFixture.error(json).path("param").asText()).isEqualTo("api_key");
            assertThat(wire.fake.requestCount()).as("nothing reached the provider").isZero();
        }
    }

    @Test
    void routerConfigInTheBody_refusedEvenWhenAllowed() {
        try (WireFixture wire = WireFixture.start(dataDir, "allow_client_side_credentials: true", o -> o)) {
            HttpResponse<byte[]> r = wire.postMultipart(edit("user_config", "{}"));

            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(WireFixture.error(r).path("param").asText()).isEqualTo("user_config");
            assertThat(wire.fake.requestCount()).isZero();
        }
    }

    @Test
    void allowed_callersOwnKeyAndBase_usedForThatRequestOnly() {
        try (WireFixture wire = WireFixture.start(dataDir, "allow_client_side_credentials: true", o -> o);
             FakeOpenAi own = FakeOpenAi.builder().apiKey("sk-callers-own-key").start()) {
            HttpResponse<byte[]> r = wire.postMultipart(edit("api_key", "sk-callers-own-key", "api_base",
                    own.baseUrl()));

            assertThat(r.statusCode()).as(new String(r.body())).isEqualTo(200);
            assertThat(own.requestCount()).isEqualTo(1);
            RecordedRequest got = own.lastRequest();
            assertThat(got.header("Authorization")).contains("Bearer sk-callers-own-key");
            assertThat(got.fieldNames()).doesNotContain("api_key", "api_base");
            assertThat(wire.fake.requestCount()).as("the configured upstream was not called").isZero();

            // the next request without credentials uses the config's
            HttpResponse<byte[]> plain = wire.postMultipart(edit());
            assertThat(plain.statusCode()).isEqualTo(200);
            assertThat(wire.fake.lastRequest().header("Authorization")).contains("Bearer " + WireFixture.UPSTREAM_KEY);
        }
    }

    @Test
    void allowed_baseWithoutTheCallersOwnKey_isRefused_theConfiguredKeyNeverGoesThere() {
        try (WireFixture wire = WireFixture.start(dataDir, "allow_client_side_credentials: true", o -> o);
             FakeOpenAi elsewhere = FakeOpenAi.builder().apiKey("sk-any").start()) {
            for (String field : List.of("api_base", "base_url")) {
                HttpResponse<byte[]> r = wire.postMultipart(edit(field, elsewhere.baseUrl()));

                assertThat(r.statusCode()).as(field).isEqualTo(400);
                JsonNode error = WireFixture.error(r);
                assertThat(error.path("code").asText()).isEqualTo("missing_required_parameter");
                assertThat(error.path("param").asText()).isEqualTo("api_key");
                assertThat(error.path("message").asText()).isEqualTo("'" + field + "' needs the caller's own "
                        + "'api_key': the proxy does not send its configured key to a URL a request names");
            }
            assertThat(elsewhere.requestCount()).isZero();
            assertThat(wire.fake.requestCount()).isZero();
        }
    }

    @Test
    void allowed_credentialsInAnotherCase_areTakenOutToo_neverForwardedAsFields() {
        try (WireFixture wire = WireFixture.start(dataDir, "allow_client_side_credentials: true", o -> o);
             FakeOpenAi own = FakeOpenAi.builder().apiKey("sk-callers-own-key").start()) {
            HttpResponse<byte[]> r = wire.postMultipart(edit("API_KEY", "sk-callers-own-key", "Api_Base",
                    own.baseUrl()));

            assertThat(r.statusCode()).as(new String(r.body())).isEqualTo(200);
            assertThat(own.lastRequest().header("Authorization")).contains("Bearer sk-callers-own-key");
            assertThat(own.lastRequest().fieldNames()).doesNotContain("API_KEY", "Api_Base", "api_key", "api_base");

            HttpResponse<byte[]> twice = wire.postMultipart(edit("api_key", "sk-a", "API_KEY", "sk-b"));
            assertThat(twice.statusCode()).isEqualTo(400);
            assertThat(WireFixture.error(twice).path("code").asText()).isEqualTo("duplicate_parameter");
        }
    }

    @Test
    void notAllowed_anySpelling_isRefused() {
        try (WireFixture wire = WireFixture.start(dataDir)) {
            HttpResponse<byte[]> r = wire.postMultipart(edit("API_KEY", "sk-mine"));

            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(WireFixture.error(r).path("param").asText()).isEqualTo("API_KEY");
            assertThat(wire.fake.requestCount()).isZero();
        }
    }

    @Test
    void allowed_callersBadKey_getsTheProvidersError_andDoesNotRestTheSharedDeployment() {
        try (WireFixture wire = WireFixture.start(dataDir, "allow_client_side_credentials: true", o -> o)) {
            HttpResponse<byte[]> bad = wire.postMultipart(edit("api_key", "sk-wrong"));

            assertThat(bad.statusCode()).isEqualTo(401);
            assertThat(WireFixture.error(bad).path("message").asText()).doesNotContain("sk-wrong");

            // a 401 rests a deployment at once; the caller's own key must not rest the one every caller shares
            HttpResponse<byte[]> next = wire.postMultipart(edit());
            assertThat(next.statusCode()).as(new String(next.body())).isEqualTo(200);
        }
    }

    @Test
    void allowed_malformedBase_isA400() {
        try (WireFixture wire = WireFixture.start(dataDir, "allow_client_side_credentials: true", o -> o)) {
            HttpResponse<byte[]> r = wire.postMultipart(edit("api_key", "sk-mine", "api_base", "file:///etc/passwd"));

            assertThat(r.statusCode()).isEqualTo(400);
            JsonNode error = WireFixture.error(r);
            assertThat(error.path("param").asText()).isEqualTo("api_base");
            assertThat(error.path("code").asText()).isEqualTo("invalid_value");
            assertThat(wire.fake.requestCount()).isZero();
        }
    }
}
