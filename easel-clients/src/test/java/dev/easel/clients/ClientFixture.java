package dev.easel.clients;

import dev.easel.config.ConfigLoader;
import dev.easel.proxy.ProxyOptions;
import dev.easel.proxy.ProxyServer;
import dev.easel.testkit.FakeBfl;
import dev.easel.testkit.FakeGemini;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeStability;
import java.nio.file.Path;
import java.util.Map;

/**
 * The real proxy on 127.0.0.1 port 0 in front of the testkit's strict fake OpenAI. Model groups, all served by
 * the fake as {@code openai/gpt-image-1}: {@code gpt-image-1} for the normal cases, and {@value #LIMITED},
 * {@value #FAILING} and {@value #STREAM_FAILING} for the upstream-error cases, one each, so that the deployment
 * a 429 rests (or a failure counts against) is one no other case uses. {@code router_settings.num_retries: 0}: one client call is one upstream request,
 * and an upstream error reaches the client as it is. Beside them, one group per other provider, each on its strict
 * fake: {@value #BFL} ({@code black_forest_labs/flux-kontext-pro}), {@value #GEMINI}
 * ({@code gemini/gemini-3.1-flash-image}) and {@value #STABILITY} ({@code stability/inpaint}).
 */
final class ClientFixture implements AutoCloseable {

    static final String MASTER_KEY = "sk-master-clients-1234";
    static final String UPSTREAM_KEY = "sk-upstream-clients-5678";
    static final String MODEL = "gpt-image-1";
    static final String LIMITED = "gpt-image-1-limited";
    static final String FAILING = "gpt-image-1-failing";
    static final String STREAM_FAILING = "gpt-image-1-stream-failing";
    static final String BFL = "flux";
    static final String GEMINI = "banana";
    static final String STABILITY = "inpaint";

    final FakeOpenAi fake;
    final FakeBfl bfl;
    final FakeGemini gemini;
    final FakeStability stability;
    final ProxyServer proxy;

    private ClientFixture(FakeOpenAi fake, FakeBfl bfl, FakeGemini gemini, FakeStability stability,
                          ProxyServer proxy) {
        this.fake = fake;
        this.bfl = bfl;
        this.gemini = gemini;
        this.stability = stability;
        this.proxy = proxy;
    }

    static ClientFixture start(Path dataDir) {
        FakeOpenAi fake = FakeOpenAi.builder().apiKey(UPSTREAM_KEY).start();
        FakeBfl bfl = FakeBfl.builder().apiKey(UPSTREAM_KEY).start();
        FakeGemini gemini = FakeGemini.builder().apiKey(UPSTREAM_KEY).start();
        FakeStability stability = FakeStability.builder().apiKey(UPSTREAM_KEY).start();
        try {
            String deployment = "litellm_params: {model: openai/gpt-image-1, api_key: %s, api_base: \"%s\"}"
                    .formatted(UPSTREAM_KEY, fake.baseUrl());
            String yaml = """
                    model_list:
                      - model_name: %1$s
                        %4$s
                      - model_name: %2$s
                        %4$s
                      - model_name: %3$s
                        %4$s
                      - model_name: %6$s
                        %4$s
                      - model_name: %7$s
                        litellm_params: {model: black_forest_labs/flux-kontext-pro, api_key: %8$s, api_base: "%9$s"}
                      - model_name: %10$s
                        litellm_params: {model: gemini/gemini-3.1-flash-image, api_key: %8$s, api_base: "%11$s"}
                      - model_name: %12$s
                        litellm_params: {model: stability/inpaint, api_key: %8$s, api_base: "%13$s"}
                    router_settings:
                      num_retries: 0
                    general_settings:
                      master_key: %5$s
                    """.formatted(MODEL, LIMITED, FAILING, deployment, MASTER_KEY, STREAM_FAILING, BFL, UPSTREAM_KEY,
                    bfl.baseUrl(), GEMINI, gemini.baseUrl(), STABILITY, stability.baseUrl());
            ProxyServer proxy = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, Map.of(), "clients.yaml"))
                    .listen("127.0.0.1", 0).withDataDir(dataDir));
            return new ClientFixture(fake, bfl, gemini, stability, proxy);
        } catch (RuntimeException e) {
            fake.close();
            bfl.close();
            gemini.close();
            stability.close();
            throw e;
        }
    }

    /** What the SDKs take as base URL ({@code OPENAI_BASE_URL}). */
    String sdkBaseUrl() {
        return proxy.baseUri() + "/v1";
    }

    /** Forgets what every fake received and what was scripted. */
    void reset() {
        fake.reset();
        bfl.reset();
        gemini.reset();
        stability.reset();
    }

    @Override
    public void close() {
        try {
            proxy.close();
        } finally {
            fake.close();
            bfl.close();
            gemini.close();
            stability.close();
        }
    }
}
