package dev.easel.proxy.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import dev.easel.callback.MetricsListener;
import dev.easel.config.ConfigLoader;
import dev.easel.config.EaselConfig;
import dev.easel.routing.InMemoryRouterState;
import io.javalin.Javalin;
import io.javalin.http.Handler;
import io.javalin.http.UnauthorizedResponse;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code GET /metrics} served by a small Javalin app, scraped over HTTP and parsed. */
class PrometheusEndpointTest {

    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final String MASTER_KEY = "sk-master-test";

    private final PrometheusEndpoint endpoint = PrometheusEndpoint.create();
    private Javalin app;
    private Easel easel;

    @AfterEach
    void stop() {
        if (app != null) {
            app.stop();
        }
        if (easel != null) {
            easel.listeners().close();
        }
        endpoint.close();
    }

    private URI start(Handler guard) {
        app = Javalin.create(c -> {
            c.startup.showJavalinBanner = false;
            c.routes.get(PrometheusEndpoint.PATH, endpoint.handler(guard));
        }).start("127.0.0.1", 0);
        return URI.create("http://127.0.0.1:" + app.port() + PrometheusEndpoint.PATH);
    }

    /** The proxy's check, in miniature: {@code Authorization: Bearer <master key>} or 401. */
    private static void requireMasterKey(io.javalin.http.Context ctx) {
        if (!("Bearer " + MASTER_KEY).equals(ctx.header("Authorization"))) {
            throw new UnauthorizedResponse("missing or wrong master key");
        }
    }

    private static HttpResponse<String> get(URI uri, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static byte[] png() throws IOException {
        BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                img.setRGB(x, y, x << 19 | y << 11 | 0x40);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    @Test
    void metrics_afterRealEdits_countersAndProxyGaugesScrapedOverHttp() throws Exception {
        // primary always fails and rests after one failure; backup answers
        EaselConfig config = ConfigLoader.parse("""
                model_list:
                  - model_name: primary
                    litellm_params: {model: mock/edit, failure_rate: 1, failure_status: 503}
                    model_info: {id: primary-1}
                  - model_name: backup
                    litellm_params: {model: mock/edit}
                    model_info: {id: backup-1, output_cost_per_image: 0.02}
                router_settings:
                  fallbacks: [{primary: [backup]}]
                  allowed_fails: 1
                  cooldown_time: 600
                litellm_settings:
                  callbacks: [prometheus]
                """, Map.of(), "config.yaml");
        InMemoryRouterState state = new InMemoryRouterState();
        easel = Easel.builder().config(config).routerState(state).sleeper(d -> { })
                .listener(MetricsListener.fromConfig(config, endpoint.registry()).orElseThrow()).build();
        AtomicInteger inflight = new AtomicInteger(3);
        AtomicLong uploadBytes = new AtomicLong(12_345);
        ProxyMetrics.bind(endpoint, inflight::get, uploadBytes::get,
                ProxyMetrics.cooldowns(state, List.of("primary-1", "backup-1"), Clock.systemUTC()), easel.listeners());
        URI uri = start(ctx -> { });

        byte[] image = png();
        ImageResponse first = easel.imageEdit(ImageEditRequest.builder().model("primary").image(image).prompt("p")
                .build());
        ImageResponse second = easel.imageEdit(ImageEditRequest.builder().model("backup").image(image).prompt("p")
                .n(2).build());
        assertThat(easel.listeners().drain(Duration.ofSeconds(10))).isTrue();

        HttpResponse<String> r = get(uri);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).contains(PrometheusEndpoint.TEXT);
        PromText m = PromText.parse(r.body());
        assertThat(m.sum("easel_requests_total")).isEqualTo(2);
        assertThat(m.sum("easel_requests_total", "model_group", "backup", "deployment", "backup-1",
                "status", "success")).isEqualTo(2);
        assertThat(m.sum("easel_attempts_total", "deployment", "primary-1", "http_status", "503")).isGreaterThan(0);
        assertThat(m.sum("easel_fallbacks_total", "model_group", "primary")).isEqualTo(1);
        assertThat(m.sum("easel_images_out_total")).isEqualTo(3);
        assertThat(m.sum("easel_upload_bytes_total")).isEqualTo(2.0 * image.length);
        assertThat(m.sum("easel_cost_usd_total")).isCloseTo(
                first.cost().orElseThrow().add(second.cost().orElseThrow()).doubleValue(), within(1e-12));
        assertThat(m.sum("easel_request_duration_seconds_count")).isEqualTo(2);
        // the proxy's gauges
        assertThat(m.sum("easel_inflight_requests")).isEqualTo(3);
        assertThat(m.sum("easel_inflight_upload_bytes")).isEqualTo(12_345);
        assertThat(m.sum("easel_deployment_cooldown", "deployment", "primary-1")).isEqualTo(1);
        assertThat(m.sum("easel_deployment_cooldown", "deployment", "backup-1")).isEqualTo(0);
        assertThat(m.sum("easel_listener_up", "listener", "prometheus")).isEqualTo(1);
        assertThat(m.sum("easel_listener_dropped_events_total", "listener", "prometheus")).isEqualTo(0);
        // and the JVM's
        assertThat(m.sum("jvm_memory_used_bytes")).isPositive();
        assertThat(m.sum("process_uptime_seconds")).isPositive();

        // gauges are read at scrape time
        inflight.set(0);
        uploadBytes.set(0);
        PromText later = PromText.parse(get(uri).body());
        assertThat(later.sum("easel_inflight_requests")).isEqualTo(0);
        assertThat(later.sum("easel_inflight_upload_bytes")).isEqualTo(0);
    }

    @Test
    void metrics_guardRequiresMasterKey_401WithoutIt() throws Exception {
        URI uri = start(PrometheusEndpointTest::requireMasterKey);

        HttpResponse<String> none = get(uri);
        HttpResponse<String> wrong = get(uri, "Authorization", "Bearer sk-other");
        HttpResponse<String> right = get(uri, "Authorization", "Bearer " + MASTER_KEY);

        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.body()).doesNotContain("jvm_memory_used_bytes");
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(right.statusCode()).isEqualTo(200);
        assertThat(right.body()).contains("jvm_memory_used_bytes");
    }

    @Test
    void metrics_guardSettingAStatus_isRespected() throws Exception {
        URI uri = start(ctx -> ctx.status(403).result("no"));

        HttpResponse<String> r = get(uri);

        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.body()).isEqualTo("no");
    }

    @Test
    void metrics_acceptOpenMetrics_answersOpenMetrics() throws Exception {
        URI uri = start(ctx -> { });

        HttpResponse<String> r = get(uri, "Accept", "application/openmetrics-text;version=1.0.0,"
                + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
        HttpResponse<String> protobufFirst = get(uri, "Accept",
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,"
                        + "text/plain;version=0.0.4;q=0.5");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).contains(PrometheusEndpoint.OPENMETRICS);
        assertThat(r.body()).endsWith("# EOF\n");
        // never protobuf: the text format instead
        assertThat(protobufFirst.headers().firstValue("Content-Type")).contains(PrometheusEndpoint.TEXT);
        assertThat(PromText.parse(protobufFirst.body()).sum("process_uptime_seconds")).isPositive();
    }
}
