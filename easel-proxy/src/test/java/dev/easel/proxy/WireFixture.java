package dev.easel.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.ConfigLoader;
import dev.easel.testkit.FakeOpenAi;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A real proxy on port 0 in front of the testkit's fake OpenAI, plus a raw HTTP client. Model groups:
 * {@code gpt-image-1}, {@code gpt-image-2}, {@code dall-e-2} (OpenAI route of the fake) and
 * {@code azure-image} (Azure deployment {@value #AZURE_DEPLOYMENT} of the fake).
 */
final class WireFixture implements AutoCloseable {

    static final String MASTER_KEY = "sk-master-wire-1234";
    static final String UPSTREAM_KEY = "sk-upstream-wire-5678";
    static final String AZURE_DEPLOYMENT = "edits-deploy";
    static final String AZURE_API_VERSION = "2025-04-01-preview";
    static final ObjectMapper JSON = new ObjectMapper();

    final FakeOpenAi fake;
    final ProxyServer proxy;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private WireFixture(FakeOpenAi fake, ProxyServer proxy) {
        this.fake = fake;
        this.proxy = proxy;
    }

    static WireFixture start(Path dataDir) {
        return start(dataDir, "", o -> o);
    }

    /**
     * Starts the fake and the proxy; {@code generalSettings} are extra YAML lines under
     * {@code general_settings} (indented by two spaces), {@code options} adjusts the proxy options.
     */
    static WireFixture start(Path dataDir, String generalSettings, UnaryOperator<ProxyOptions> options) {
        return start(dataDir, generalSettings, options, java.time.Clock.systemUTC());
    }

    /** Like {@link #start(Path, String, UnaryOperator)}; the proxy's time (image URL expiry…) comes from {@code clock}. */
    static WireFixture start(Path dataDir, String generalSettings, UnaryOperator<ProxyOptions> options,
                             java.time.Clock clock) {
        FakeOpenAi fake = FakeOpenAi.builder().apiKey(UPSTREAM_KEY).start();
        try {
            String yaml = """
                    model_list:
                      - model_name: gpt-image-1
                        litellm_params: {model: openai/gpt-image-1, api_key: %1$s, api_base: "%2$s"}
                      - model_name: gpt-image-2
                        litellm_params: {model: openai/gpt-image-2, api_key: %1$s, api_base: "%2$s"}
                      - model_name: dall-e-2
                        litellm_params: {model: openai/dall-e-2, api_key: %1$s, api_base: "%2$s"}
                      - model_name: azure-image
                        litellm_params: {model: azure/%3$s, api_key: %1$s, api_base: "%4$s", api_version: "%5$s"}
                        model_info: {base_model: gpt-image-1}
                    general_settings:
                      master_key: %6$s
                    """.formatted(UPSTREAM_KEY, fake.baseUrl(), AZURE_DEPLOYMENT, fake.azureBaseUrl(),
                    AZURE_API_VERSION, MASTER_KEY) + generalSettings.indent(2);
            var config = ConfigLoader.parse(yaml, Map.of(), "test.yaml");
            ProxyServer proxy = ProxyServer.start(options.apply(ProxyOptions.of(config).listen("127.0.0.1", 0)
                    .withDataDir(dataDir)), clock);
            return new WireFixture(fake, proxy);
        } catch (RuntimeException e) {
            fake.close();
            throw e;
        }
    }

    URI uri(String path) {
        return proxy.baseUri().resolve(path);
    }

    /** A request to the proxy with the master key. */
    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + MASTER_KEY);
    }

    /** POSTs a hand-made multipart body to {@code /v1/images/edits}. */
    HttpResponse<byte[]> postMultipart(RawMultipart body) {
        return send(request("/v1/images/edits").header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.build())).build());
    }

    /** POSTs a JSON body to {@code /v1/images/edits}. */
    HttpResponse<byte[]> postJson(String json) {
        return send(request("/v1/images/edits").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    HttpResponse<byte[]> get(String path) {
        return send(request(path).GET().build());
    }

    HttpResponse<byte[]> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static JsonNode json(HttpResponse<byte[]> response) {
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON (status " + response.statusCode() + "): "
                    + new String(response.body(), java.nio.charset.StandardCharsets.UTF_8), e);
        }
    }

    /** The {@code error} object of an OpenAI error body, checking the shape on the way. */
    static JsonNode error(HttpResponse<byte[]> response) {
        JsonNode root = json(response);
        JsonNode error = root.path("error");
        if (!error.isObject() || !error.has("message") || !error.has("type") || !error.has("param")
                || !error.has("code")) {
            throw new AssertionError("not an OpenAI error body: " + root);
        }
        return error;
    }

    @Override
    public void close() {
        try {
            proxy.close();
        } finally {
            fake.close();
        }
    }
}
