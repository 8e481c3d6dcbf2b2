package dev.easel.clients;

import dev.easel.config.ConfigLoader;
import dev.easel.proxy.ProxyOptions;
import dev.easel.proxy.ProxyServer;
import dev.easel.testkit.FakeOpenAi;
import java.nio.file.Path;
import java.util.Map;

/**
 * The real proxy on 127.0.0.1 port 0 in front of the testkit's strict fake OpenAI. Model groups, all served by
 * the fake as {@code openai/gpt-image-1}: {@code gpt-image-1} for the normal cases, and {@value #LIMITED},
 * {@value #FAILING} and {@value #STREAM_FAILING} for the upstream-error cases, one each, so that the deployment
 * a 429 rests (or a failure counts against) is one no other case uses. {@code router_settings.num_retries: 0}: one client call is one upstream request,
 * and an upstream error reaches the client as it is.
 */
final class ClientFixture implements AutoCloseable {

    static final String MASTER_KEY = "sk-master-clients-1234";
    static final String UPSTREAM_KEY = "sk-upstream-clients-5678";
    static final String MODEL = "gpt-image-1";
    static final String LIMITED = "gpt-image-1-limited";
    static final String FAILING = "gpt-image-1-failing";
    static final String STREAM_FAILING = "gpt-image-1-stream-failing";

    final FakeOpenAi fake;
    final ProxyServer proxy;

    private ClientFixture(FakeOpenAi fake, ProxyServer proxy) {
        this.fake = fake;
        this.proxy = proxy;
    }

    static ClientFixture start(Path dataDir) {
        FakeOpenAi fake = FakeOpenAi.builder().apiKey(UPSTREAM_KEY).start();
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
                    router_settings:
                      num_retries: 0
                    general_settings:
                      master_key: %5$s
                    """.formatted(MODEL, LIMITED, FAILING, deployment, MASTER_KEY, STREAM_FAILING);
            ProxyServer proxy = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, Map.of(), "clients.yaml"))
                    .listen("127.0.0.1", 0).withDataDir(dataDir));
            return new ClientFixture(fake, proxy);
        } catch (RuntimeException e) {
            fake.close();
            throw e;
        }
    }

    /** What the SDKs take as base URL ({@code OPENAI_BASE_URL}). */
    String sdkBaseUrl() {
        return proxy.baseUri() + "/v1";
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
