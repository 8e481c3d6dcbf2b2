package dev.easel.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.ConfigLoader;
import dev.easel.testkit.FakeOpenAi;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The cost and spend end-to-end tests' setup: a real proxy on port 0 (SQLite spend store under a temp data
 * dir) in front of the testkit's fake OpenAI, plus a raw HTTP client. Model groups:
 * <ul>
 *   <li>{@code gpt-image-1}, {@code gpt-image-1.5}, {@code dall-e-2}: the fake's OpenAI route, catalogue prices</li>
 *   <li>{@code custom-priced}: gpt-image-1 with {@code model_info} token prices ($4 / $8 / $36 per 1M)</li>
 *   <li>{@code flat-priced}: gpt-image-1-mini with {@code output_cost_per_image: 0.01}</li>
 *   <li>{@code azure-image}: Azure deployment {@value #AZURE_DEPLOYMENT}, {@code base_model: gpt-image-1}</li>
 *   <li>{@code azure-unpriced}: the same deployment without {@code base_model}</li>
 * </ul>
 * No retries and no cool-down, so one scripted upstream failure is one failed request.
 */
final class SpendE2eFixture implements AutoCloseable {

    static final String MASTER_KEY = "sk-master-spend-2468";
    static final String UPSTREAM_KEY = "sk-upstream-spend-1357";
    static final String AZURE_DEPLOYMENT = "spend-deploy";
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    static final byte[] PNG = WireImages.pngWithAlpha(32, 32, 3); // alpha: dall-e-2 takes it without a mask

    final FakeOpenAi fake;
    final ProxyServer proxy;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private SpendE2eFixture(FakeOpenAi fake, ProxyServer proxy) {
        this.fake = fake;
        this.proxy = proxy;
    }

    /** Starts the fake and the proxy; {@code generalSettings} are extra YAML lines under {@code general_settings}. */
    static SpendE2eFixture start(Path dataDir, String generalSettings) {
        return start(dataDir, generalSettings, java.time.Clock.systemUTC());
    }

    /** Like {@link #start(Path, String)}, the proxy reading time from {@code clock}. */
    static SpendE2eFixture start(Path dataDir, String generalSettings, java.time.Clock clock) {
        return start(dataDir, generalSettings, clock, "");
    }

    /** Like {@link #start(Path, String, java.time.Clock)}, with more top-level YAML ({@code litellm_settings}…). */
    static SpendE2eFixture start(Path dataDir, String generalSettings, java.time.Clock clock, String topLevel) {
        FakeOpenAi fake = FakeOpenAi.builder().apiKey(UPSTREAM_KEY).start();
        try {
            String yaml = """
                    model_list:
                      - model_name: gpt-image-1
                        litellm_params: {model: openai/gpt-image-1, api_key: %1$s, api_base: "%2$s"}
                      - model_name: gpt-image-1.5
                        litellm_params: {model: openai/gpt-image-1.5, api_key: %1$s, api_base: "%2$s"}
                      - model_name: dall-e-2
                        litellm_params: {model: openai/dall-e-2, api_key: %1$s, api_base: "%2$s"}
                      - model_name: custom-priced
                        litellm_params: {model: openai/gpt-image-1, api_key: %1$s, api_base: "%2$s"}
                        model_info:
                          input_cost_per_token: 4.0e-06
                          input_cost_per_image_token: 8.0e-06
                          output_cost_per_image_token: 3.6e-05
                      - model_name: flat-priced
                        litellm_params: {model: openai/gpt-image-1-mini, api_key: %1$s, api_base: "%2$s"}
                        model_info: {output_cost_per_image: 0.01, access_groups: [cheap]}
                      - model_name: azure-image
                        litellm_params: {model: azure/%3$s, api_key: %1$s, api_base: "%4$s",
                                         api_version: 2025-04-01-preview}
                        model_info: {base_model: gpt-image-1}
                      - model_name: azure-unpriced
                        litellm_params: {model: azure/%3$s, api_key: %1$s, api_base: "%4$s",
                                         api_version: 2025-04-01-preview}
                    router_settings:
                      num_retries: 0
                      allowed_fails: 1000
                    general_settings:
                      master_key: %5$s
                    """.formatted(UPSTREAM_KEY, fake.baseUrl(), AZURE_DEPLOYMENT, fake.azureBaseUrl(), MASTER_KEY)
                    + generalSettings.indent(2) + topLevel;
            var config = ConfigLoader.parse(yaml, Map.of(), "test.yaml");
            ProxyServer proxy = ProxyServer.start(ProxyOptions.of(config).listen("127.0.0.1", 0)
                    .withDataDir(dataDir).withPrivateImageUrls(true), clock);
            return new SpendE2eFixture(fake, proxy);
        } catch (RuntimeException e) {
            fake.close();
            throw e;
        }
    }

    /** A multipart edit with one PNG and a prompt; more text fields from {@code fields}. */
    static RawMultipart form(String model, Map<String, String> fields) {
        RawMultipart m = new RawMultipart().text("model", model).text("prompt", "add a red hat");
        fields.forEach(m::text);
        return m.file("image", "cat.png", "image/png", PNG);
    }

    /** Text fields in order, as {@code k1, v1, k2, v2…}. */
    static Map<String, String> fields(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    /** POSTs an edit with the master key and extra headers ({@code name, value…}). */
    HttpResponse<byte[]> edit(RawMultipart form, String... headers) {
        HttpRequest.Builder b = request("/v1/images/edits").header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(form.build()));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return send(b.build());
    }

    /** POSTs an edit with {@code key} instead of the master key. */
    HttpResponse<byte[]> editWith(String key, RawMultipart form) {
        return send(HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits")).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + key).header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(form.build())).build());
    }

    /** GETs {@code path} with {@code key}. */
    HttpResponse<byte[]> getWith(String key, String path) {
        return send(HttpRequest.newBuilder(proxy.baseUri().resolve(path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + key).GET().build());
    }

    /** POSTs JSON to {@code path} with {@code key}. */
    HttpResponse<byte[]> postJsonWith(String key, String path, String json) {
        return send(HttpRequest.newBuilder(proxy.baseUri().resolve(path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(proxy.baseUri().resolve(path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + MASTER_KEY);
    }

    HttpResponse<byte[]> get(String path) {
        return send(request(path).GET().build());
    }

    HttpResponse<byte[]> postJson(String path, String json) {
        return send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
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

    /** The cost header of a response, exact. */
    static BigDecimal costHeader(HttpResponse<?> r) {
        String v = r.headers().firstValue("x-easel-response-cost")
                .orElseThrow(() -> new AssertionError("no x-easel-response-cost header (status " + r.statusCode()
                        + "): " + r.headers().map()));
        return new BigDecimal(v);
    }

    static String text(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    /** The body as JSON; numbers with a fraction are read as exact {@link BigDecimal}s. */
    static JsonNode json(HttpResponse<byte[]> r) {
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON (status " + r.statusCode() + "): " + text(r), e);
        }
    }

    /**
     * {@code GET /spend/logs?<query>} until it holds {@code rows} rows (rows reach the database within the flush
     * interval); bounded.
     */
    JsonNode logsWhenFlushed(String query, int rows) {
        return dev.easel.testkit.Await.value(rows + " rows in /spend/logs?" + query, () -> {
            HttpResponse<byte[]> r = get("/spend/logs?" + query);
            if (r.statusCode() != 200) {
                throw new AssertionError("/spend/logs?" + query + " answered " + r.statusCode() + ": " + text(r));
            }
            return json(r);
        }, last -> last.size() >= rows);
    }

    URI uri(String path) {
        return proxy.baseUri().resolve(path);
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
