package dev.easel.clients;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.ConfigLoader;
import dev.easel.proxy.ProxyOptions;
import dev.easel.proxy.ProxyServer;
import dev.easel.testkit.Await;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The done-when check of LiteLLM's operational surface: an operator's script written for LiteLLM
 * ({@code src/test/resources/clients/litellm_admin.py}: Python standard library only, LiteLLM's endpoint and metric
 * names only) runs unchanged against the real proxy and reads health, models, prices and counters that match what
 * the proxy did. Skipped where python3 is not on the PATH.
 */
class LitellmAdminScriptTest {

    static final String MASTER = "sk-master-admin-script";
    static final String UPSTREAM = "sk-upstream-admin-script";
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    FakeOpenAi fake;
    ProxyServer proxy;

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    @Test
    void adminScript_writtenForLitellm_readsHealthModelsCostsAndMetrics() throws Exception {
        fake = FakeOpenAi.builder().apiKey(UPSTREAM).start();
        String yaml = """
                model_list:
                  - model_name: gpt-image-1
                    litellm_params: {model: openai/gpt-image-1, api_key: %1$s, api_base: "%2$s", rpm: 60}
                    model_info: {id: main}
                  - model_name: flaky
                    litellm_params: {model: openai/gpt-image-1, api_key: %1$s, api_base: "%2$s"}
                    model_info: {id: flaky-1, output_cost_per_image: 0.05}
                router_settings: {num_retries: 0, allowed_fails: 1, cooldown_time: 600}
                general_settings: {master_key: %3$s}
                litellm_settings: {callbacks: ["prometheus"]}
                """.formatted(UPSTREAM, fake.baseUrl(), MASTER);
        proxy = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, Map.of(), "admin.yaml"))
                .listen("127.0.0.1", 0).withDataDir(dir.resolve("data")));
        HttpResponse<String> ok = edit("gpt-image-1");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        fake.enqueue(FakeResponse.serverError());
        assertThat(edit("flaky").statusCode()).isEqualTo(500);
        // the counters are fed by the listener bus, a moment after the answers
        Await.until("both edits in the metrics", () -> metricsText().contains("litellm_proxy_failed_requests_metric"
                + "_total{") && metricsText().contains("litellm_requests_metric_total{"));

        Path script = dir.resolve("litellm_admin.py");
        try (InputStream in = getClass().getResourceAsStream("/clients/litellm_admin.py")) {
            Files.write(script, in.readAllBytes());
        }
        Processes.Result run;
        try {
            run = Processes.run(List.of("python3", script.toString()), dir,
                    Map.of("LITELLM_PROXY_URL", proxy.baseUri().toString(), "LITELLM_MASTER_KEY", MASTER),
                    Duration.ofSeconds(60));
        } catch (IOException notInstalled) {
            Assumptions.abort("python3 is not on the PATH: " + notInstalled.getMessage());
            return;
        }

        assertThat(run.ok()).as(run.describe()).isTrue();
        String line = run.stdout().lines().filter(l -> l.startsWith("REPORT ")).findFirst()
                .orElseThrow(() -> new AssertionError("no REPORT line:\n" + run.describe()));
        JsonNode report = JSON.readTree(line.substring("REPORT ".length()));
        assertThat(report.path("healthy_count").asInt()).isEqualTo(1);
        assertThat(report.path("unhealthy_count").asInt()).isEqualTo(1);
        assertThat(report.path("unhealthy_ids").get(0).asText()).isEqualTo("flaky-1");
        assertThat(report.path("unhealthy_errors").get(0).asText()).startsWith("cooling down until");
        JsonNode models = report.path("models");
        assertThat(models).hasSize(2);
        for (JsonNode m : models) {
            assertThat(m.path("mode").asText()).isEqualTo("image_edit");
            assertThat(m.path("provider").asText()).isEqualTo("openai");
            assertThat(m.path("has_api_key").asBoolean(true)).isFalse();
            assertThat(m.path("input_cost_per_token").asDouble()).isEqualTo(5e-6);
        }
        assertThat(models.get(1).path("id").asText()).isEqualTo("flaky-1");
        assertThat(models.get(1).path("output_cost_per_image").asDouble()).isEqualTo(0.05);
        assertThat(report.path("groups").path("gpt-image-1").path("rpm").asInt()).isEqualTo(60);
        assertThat(report.path("requests").asDouble()).isEqualTo(1);
        assertThat(report.path("failed").asDouble()).isEqualTo(1);
        assertThat(report.path("spend").asDouble())
                .isEqualTo(Double.parseDouble(ok.headers().firstValue("x-litellm-response-cost").orElseThrow()));
        assertThat(report.path("states").path("main").asInt()).isZero();
        assertThat(report.path("states").path("flaky-1").asInt()).isEqualTo(2);
        assertThat(run.stdout()).doesNotContain(UPSTREAM, MASTER);
        assertThat(fake.requests().stream().filter(r -> r.method().equals("POST")).count())
                .as("reading health made no provider call").isEqualTo(2);
    }

    String metricsText() {
        try {
            return HTTP.send(HttpRequest.newBuilder(proxy.baseUri().resolve("/metrics")).GET().build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    HttpResponse<String> edit(String model) throws IOException, InterruptedException {
        String boundary = "----easel-admin-" + System.nanoTime();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        List<String[]> fields = new ArrayList<>(List.of(new String[] {"model", model},
                new String[] {"prompt", "a lighthouse at dusk"}));
        for (String[] f : fields) {
            body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f[0] + "\"\r\n\r\n"
                    + f[1] + "\r\n").getBytes(StandardCharsets.UTF_8));
        }
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\""
                + "\r\nContent-Type: image/png\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.writeBytes(ClientImages.png(32, 32, 3));
        body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return HTTP.send(HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits"))
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + MASTER)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
