package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.easel.AuthenticationException;
import dev.easel.Easel;
import dev.easel.engine.Engine;
import dev.easel.EaselException;
import dev.easel.ImageEditEvent;
import dev.easel.ImageEditRequest;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.engine.RequestMeta;
import dev.easel.callback.JsonLogsListener;
import dev.easel.callback.WebhookListener;
import dev.easel.config.ConfigLoader;
import dev.easel.config.EaselConfig;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Runs successes and failures through the real proxy (its {@code json_logs}, {@code webhook}, {@code otel} and
 * {@code prometheus} integrations configured by the YAML alone: log file, webhook and OTLP endpoints and their
 * Authorization tokens in {@code environment_variables}) and through the SDK with the same integrations attached,
 * captures everything written (standard output and error, every Logback event with Easel's loggers at TRACE and
 * its MDC, both log files, every webhook body, every OTLP export, {@code /metrics} and {@code /health/readiness}),
 * checks that each integration got exactly one record or request span per request, and finds no master key, no
 * provider key, no Authorization value (the receivers' tokens included) and no image data in any of it.
 */
class SecretsInLogsTest {

    static final String MASTER_KEY = "sk-master-secrets-4f1c9e2a7b";
    static final String PROVIDER_KEY = "sk-provider-secrets-8d3a6c1e5f";
    static final String REVOKED_PROVIDER_KEY = "sk-revoked-provider-2b7e9d4c1a";
    static final String WRONG_CLIENT_KEY = "sk-client-guess-6e2f8a1d3c";
    /** Sent as the webhook's and the OTLP exporter's Authorization: must reach the receivers, never a log. */
    static final String HOOK_TOKEN = "hook-secret-3c9e1a7f5b";
    static final String OTLP_TOKEN = "otlp-secret-9a4d2e6b8c";
    static final List<String> KEYS = List.of(MASTER_KEY, PROVIDER_KEY, REVOKED_PROVIDER_KEY, WRONG_CLIENT_KEY,
            HOOK_TOKEN, OTLP_TOKEN);
    static final ObjectMapper JSON = new ObjectMapper();

    /** A long run of the base64 alphabet: no log line or record has one unless it carries binary data. */
    static final Pattern BASE64_RUN = Pattern.compile("[A-Za-z0-9+/]{200,}");
    static final Pattern PNG_BASE64 = Pattern.compile("iVBORw0KGgo[A-Za-z0-9+/]{40}");
    /** An Authorization value: a bearer token or an {@code api-key} header (the {@code <key>} placeholder is fine). */
    static final Pattern AUTH_VALUE = Pattern.compile("(?i)(bearer\\s+(?!<key>)[A-Za-z0-9]|api-key\\s*:\\s*(?!<key>)"
            + "[A-Za-z0-9]|\"authorization\"\\s*:)");

    @TempDir
    Path dir;

    final ByteArrayOutputStream captured = new ByteArrayOutputStream();
    final ListAppender<ILoggingEvent> events = new ListAppender<>();
    final List<String> webhookBodies = new ArrayList<>();
    final List<String> webhookAuthorizations = new ArrayList<>();
    /** Each OTLP export, decoded from protobuf. */
    final List<io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest> otlpBodies = new ArrayList<>();
    final List<String> otlpAuthorizations = new ArrayList<>();
    final List<String> imagesB64 = new ArrayList<>();
    PrintStream originalOut;
    PrintStream originalErr;
    Level originalLevel;
    HttpServer receiver;
    FakeOpenAi fake;

    @BeforeEach
    void capture() throws IOException {
        originalOut = System.out;
        originalErr = System.err;
        System.setOut(new PrintStream(new Tee(originalOut, captured), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new Tee(originalErr, captured), true, StandardCharsets.UTF_8));
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        events.setContext(ctx);
        events.start();
        ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).addAppender(events);
        originalLevel = ctx.getLogger("dev.easel").getLevel();
        ctx.getLogger("dev.easel").setLevel(Level.TRACE);

        receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        receiver.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        receiver.createContext("/hook", ex -> {
            try (ex) {
                String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                synchronized (webhookBodies) {
                    webhookBodies.add(body);
                    webhookAuthorizations.add(ex.getRequestHeaders().getFirst("Authorization"));
                }
                ex.sendResponseHeaders(200, -1);
            }
        });
        receiver.createContext("/v1/traces", ex -> {
            try (ex) {
                var body = io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest.parseFrom(
                        ex.getRequestBody().readAllBytes());
                synchronized (otlpBodies) {
                    otlpBodies.add(body);
                    otlpAuthorizations.add(ex.getRequestHeaders().getFirst("Authorization"));
                }
                ex.getResponseHeaders().add("Content-Type", "application/x-protobuf");
                ex.sendResponseHeaders(200, -1);
            }
        });
        receiver.start();
        fake = FakeOpenAi.builder().apiKey(PROVIDER_KEY).start();
    }

    @AfterEach
    void restore() {
        fake.close();
        receiver.stop(0);
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).detachAppender(events);
        ctx.getLogger("dev.easel").setLevel(originalLevel);
        System.setOut(originalOut);
        System.setErr(originalErr);
    }

    URI hookUrl() {
        return URI.create("http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook");
    }

    String collectorUrl() {
        return "http://127.0.0.1:" + receiver.getAddress().getPort();
    }

    Path proxyLogFile() {
        return dir.resolve("proxy-logs/easel-requests.log");
    }

    String yaml() {
        return """
                model_list:
                  - model_name: gpt-image-1
                    litellm_params: {model: openai/gpt-image-1, api_key: %1$s, api_base: "%2$s"}
                  - model_name: revoked
                    litellm_params: {model: openai/gpt-image-1, api_key: %3$s, api_base: "%2$s"}
                litellm_settings:
                  callbacks: [json_logs, webhook, otel, prometheus]
                general_settings:
                  master_key: %4$s
                  webhook_url: "%5$s"
                  otel_exporter_endpoint: "%6$s"
                environment_variables:
                  EASEL_JSON_LOGS_FILE: "%7$s"
                  EASEL_WEBHOOK_AUTHORIZATION: "Bearer %8$s"
                  OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%%20%9$s"
                  OTEL_BSP_SCHEDULE_DELAY: "50"
                  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "true"
                """.formatted(PROVIDER_KEY, fake.baseUrl(), REVOKED_PROVIDER_KEY, MASTER_KEY, hookUrl(),
                collectorUrl(), proxyLogFile(), HOOK_TOKEN, OTLP_TOKEN);
    }

    /** The upstream's 400 quotes the key it was sent and a piece of the image: the worst a provider could do. */
    FakeResponse echoingError(byte[] png) {
        String b64 = Base64.getEncoder().encodeToString(png);
        return FakeResponse.error(400, "invalid_request_error", "invalid_value", "image", "Invalid image for key "
                + PROVIDER_KEY + " (Authorization: Bearer " + PROVIDER_KEY + "): " + b64.substring(0, 400));
    }

    @Test
    void proxyAndSdk_successesAndFailures_logNoKeyNoAuthorizationNoImageData() throws Exception {
        EaselConfig config = ConfigLoader.parse(yaml(), Map.of(), "test.yaml");
        byte[] png = EdgeSupport.noisePng(64, 64, 11);
        byte[] mask = WireImages.mask(64, 64);
        imagesB64.add(Base64.getEncoder().encodeToString(png));
        imagesB64.add(Base64.getEncoder().encodeToString(mask));

        // ---- through the real proxy: json_logs (to a file), webhook, otel and prometheus from the config ------
        List<String> proxyIds = new ArrayList<>();
        String metricsText;
        try (ProxyServer proxy = ProxyServer.start(ProxyOptions.of(config).listen("127.0.0.1", 0)
                .withDataDir(dir.resolve("data")))) {
            List<HttpResponse<String>> answers = new ArrayList<>();
            answers.add(post(proxy, MASTER_KEY, multipart("gpt-image-1", png, mask, false)));
            answers.add(post(proxy, MASTER_KEY, multipart("gpt-image-1", png, null, true)));
            answers.add(postJson(proxy, MASTER_KEY, """
                    {"model": "gpt-image-1", "prompt": "json edit", "images": [{"image_url": "%s"}]}
                    """.formatted(EdgeSupport.dataUrl(png))));
            answers.add(post(proxy, WRONG_CLIENT_KEY, multipart("gpt-image-1", png, null, false)));
            answers.add(post(proxy, null, multipart("gpt-image-1", png, null, false)));
            fake.enqueue(echoingError(png));
            answers.add(post(proxy, MASTER_KEY, multipart("gpt-image-1", png, null, false)));
            answers.add(post(proxy, MASTER_KEY, multipart("revoked", png, null, false)));
            fake.enqueue(FakeResponse.serverError());
            answers.add(post(proxy, MASTER_KEY, multipart("gpt-image-1", png, null, false)));

            assertThat(answers).extracting(HttpResponse::statusCode)
                    .containsExactly(200, 200, 200, 401, 401, 400, 401, 200);
            for (HttpResponse<String> r : answers) {
                EdgeSupport.assertNoLeak(r.headers().map(), r.body(), KEYS.toArray(String[]::new));
                collectImages(r.body());
                proxyIds.add(r.headers().firstValue("x-request-id").orElseThrow());
            }
            assertThat(imagesB64).hasSizeGreaterThanOrEqualTo(6); // 2 sent, 4 returned (1 partial)

            // every integration got every request: one log line, one webhook record, one request span each
            EdgeSupport.await("8 proxy log lines", () -> lines(proxyLogFile()).size() == 8);
            EdgeSupport.await("8 proxy webhook records", () -> records(webhookBodies).size() == 8);
            EdgeSupport.await("8 request spans", () -> spans(otlpBodies, 2).size() == 8);
            EdgeSupport.await("7 attempt spans", () -> spans(otlpBodies, 3).size() == 7);
            HttpResponse<String> metrics = send(HttpRequest.newBuilder(proxy.baseUri().resolve("/metrics")).GET()
                    .build());
            assertThat(metrics.statusCode()).isEqualTo(200);
            metricsText = metrics.body();
            HttpResponse<String> ready = send(HttpRequest.newBuilder(proxy.baseUri().resolve("/health/readiness"))
                    .GET().build());
            assertThat(ready.body()).contains("\"webhook\":{\"status\":\"up\"", "\"otel\":{\"status\":\"up\"");
            metricsText += "\n" + ready.body();
        }
        List<JsonNode> proxyLines = lines(proxyLogFile()).stream().map(SecretsInLogsTest::readTree).toList();
        assertThat(proxyLines).extracting(r -> r.get("request_id").asText()).containsExactlyElementsOf(proxyIds);
        assertThat(proxyLines).extracting(r -> r.get("http_status").asInt())
                .containsExactly(200, 200, 200, 401, 401, 400, 401, 200);
        assertThat(proxyLines.get(3).get("key_hash").asText()).isEqualTo(sha256(WRONG_CLIENT_KEY));
        assertThat(proxyLines.get(5).get("error").get("message").asText())
                .startsWith("Invalid image for key ").contains("[base64 omitted]");
        assertThat(proxyLines).extracting(r -> r.has("prompt")) // the two refused at the door were never read
                .containsExactly(true, true, true, false, false, true, true, true);
        assertThat(records(webhookBodies)).extracting(r -> r.get("request_id").asText())
                .containsExactlyInAnyOrderElementsOf(proxyIds);
        List<io.opentelemetry.proto.trace.v1.Span> requestSpans = spans(otlpBodies, 2);
        assertThat(requestSpans).extracting(sp -> attribute(sp, "easel.request_id"))
                .containsExactlyInAnyOrderElementsOf(proxyIds);
        // prompts were asked for: the exporter really carries request content, yet no key or image
        assertThat(requestSpans).anySatisfy(sp -> assertThat(attribute(sp, "gen_ai.input.messages")).contains("a red hat"));
        synchronized (webhookBodies) {
            assertThat(webhookAuthorizations).isNotEmpty().containsOnly("Bearer " + HOOK_TOKEN);
        }
        synchronized (otlpBodies) {
            assertThat(otlpAuthorizations).isNotEmpty().containsOnly("Bearer " + OTLP_TOKEN);
        }

        // ---- through the SDK, same keys, with both listeners attached ------------------------------------
        Path logFile = dir.resolve("logs/easel-requests.log");
        List<String> sdkHookBodiesBefore;
        synchronized (webhookBodies) {
            sdkHookBodiesBefore = List.copyOf(webhookBodies);
        }
        try (JsonLogsListener logs = JsonLogsListener.file(logFile, 64 * 1024, 3);
             WebhookListener hook = WebhookListener.builder(hookUrl()).flushInterval(Duration.ofMillis(20))
                     .header("Authorization", "Bearer " + HOOK_TOKEN).build();
             // an application's own SDK, exporting to the same collector
             OpenTelemetrySdk otel = OpenTelemetrySdk.builder().setTracerProvider(SdkTracerProvider.builder()
                     .addSpanProcessor(BatchSpanProcessor.builder(OtlpHttpSpanExporter.builder()
                             .setEndpoint(collectorUrl() + "/v1/traces")
                             .addHeader("Authorization", "Bearer " + OTLP_TOKEN).build())
                             .setScheduleDelay(Duration.ofMillis(20)).build()).build()).build()) {
            // the engine, as the proxy builds it: it also reports edits refused before they reach it
            Engine easel = Easel.builder().config(config).listener(logs).listener(hook).openTelemetry(otel)
                    .tracePrompts(true).engine();

            collectImages(easel.edit(request("gpt-image-1", png).mask(mask).build()));
            try (ImageEditStream s = easel.stream(request("gpt-image-1", png).partialImages(1).build())) {
                for (ImageEditEvent e : s) {
                    collectImages(e.toString());
                }
            }
            fake.enqueue(echoingError(png));
            assertThatThrownBy(() -> easel.edit(request("gpt-image-1", png).build()))
                    .isInstanceOf(EaselException.class);
            assertThatThrownBy(() -> easel.edit(request("revoked", png).build()))
                    .isInstanceOf(AuthenticationException.class);
            assertThatThrownBy(() -> easel.edit(request("gpt-image-1", png).n(99).build()))
                    .isInstanceOf(EaselException.class);
            fake.enqueue(FakeResponse.serverError());
            collectImages(easel.edit(request("gpt-image-1", png).build()));
            easel.reportRejected(new RequestMeta(RequestMeta.newRequestId(), Instant.now(), null,
                    sha256(WRONG_CLIENT_KEY), "proxy", null), "gpt-image-1",
                    new AuthenticationException("Incorrect API key provided.", "invalid_api_key", null));

            EdgeSupport.await("7 lines", () -> lines(logFile).size() == 7);
            EdgeSupport.await("7 webhook records", () -> hook.delivered() == 7);
            // proxy's 8 + the SDK's 7 requests; attempts: proxy 7, SDK 6 (the invalid n and the rejection have none)
            EdgeSupport.await("15 request spans", () -> spans(otlpBodies, 2).size() == 15);
            EdgeSupport.await("13 attempt spans", () -> spans(otlpBodies, 3).size() == 13);
            easel.close();
        }

        // non-vacuous: the records are there and carry what they should
        List<JsonNode> records = new ArrayList<>();
        for (String line : lines(logFile)) {
            records.add(JSON.readTree(line));
        }
        assertThat(records).extracting(r -> r.get("status").asText())
                .containsExactly("success", "success", "failure", "failure", "failure", "success", "failure");
        assertThat(records.get(2).get("error").get("message").asText())
                .startsWith("Invalid image for key ").doesNotContain(PROVIDER_KEY).contains("[base64 omitted]");
        assertThat(records.get(6).get("key_hash").asText()).isEqualTo(sha256(WRONG_CLIENT_KEY));
        List<String> sdkHookBodies;
        synchronized (webhookBodies) {
            sdkHookBodies = webhookBodies.subList(sdkHookBodiesBefore.size(), webhookBodies.size()).stream().toList();
        }
        assertThat(sdkHookBodies.stream().mapToInt(b -> readTree(b).get("records").size()).sum()).isEqualTo(7);

        // ---- the scan ----------------------------------------------------------------------------------
        List<String> outputs = new ArrayList<>();
        outputs.add("stdout+stderr: " + captured.toString(StandardCharsets.UTF_8));
        for (ILoggingEvent e : events.list) {
            outputs.add("log event: " + e.getLoggerName() + " " + e.getFormattedMessage() + " "
                    + e.getMDCPropertyMap() + " " + (e.getThrowableProxy() == null ? ""
                    : ThrowableProxyUtil.asString(e.getThrowableProxy())));
        }
        try (Stream<Path> files = Files.list(logFile.getParent())) {
            for (Path f : files.toList()) {
                outputs.add("file " + f.getFileName() + ": " + Files.readString(f));
            }
        }
        try (Stream<Path> files = Files.list(proxyLogFile().getParent())) {
            for (Path f : files.toList()) {
                outputs.add("proxy file " + f.getFileName() + ": " + Files.readString(f));
            }
        }
        synchronized (webhookBodies) {
            webhookBodies.forEach(b -> outputs.add("webhook body: " + b));
        }
        synchronized (otlpBodies) {
            otlpBodies.forEach(b -> outputs.add("otlp body: " + b)); // protobuf text: strings as sent
        }
        outputs.add("metrics and readiness: " + metricsText);
        for (String kind : List.of("stdout+stderr: ", "log event: ", "file ", "proxy file ", "webhook body: ",
                "otlp body: ", "metrics and readiness: ")) {
            assertThat(outputs).as("outputs scanned").anyMatch(o -> o.startsWith(kind));
        }

        for (String out : outputs) {
            String what = out.substring(0, Math.min(out.length(), 40));
            for (String key : KEYS) {
                assertThat(out).as(what).doesNotContain(key);
            }
            assertThat(out).as(what).doesNotContainPattern(AUTH_VALUE).doesNotContainPattern(BASE64_RUN)
                    .doesNotContainPattern(PNG_BASE64);
            for (String b64 : imagesB64) {
                // a piece from inside the data, past the PNG header every image shares
                int from = b64.length() / 4;
                assertThat(out).as(what).doesNotContain(b64.substring(from, from + Math.min(200, b64.length() / 2)));
            }
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------

    static ImageEditRequest.Builder request(String model, byte[] png) {
        return ImageEditRequest.builder().model(model).image(png).prompt("a red hat");
    }

    static byte[] multipart(String model, byte[] png, byte[] mask, boolean stream) {
        EdgeSupport.Form f = EdgeSupport.form().text("model", model).text("prompt", "a red hat")
                .file("image", "in.png", png);
        if (mask != null) {
            f.file("mask", "mask.png", mask);
        }
        if (stream) {
            f.text("stream", "true").text("partial_images", "1");
        }
        return f.bytes();
    }

    static HttpResponse<String> post(ProxyServer proxy, String key, byte[] body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits"))
                .timeout(Duration.ofSeconds(20))
                .header("Content-Type", "multipart/form-data; boundary=" + EdgeSupport.BOUNDARY)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return send(b.build());
    }

    static HttpResponse<String> postJson(ProxyServer proxy, String key, String json) {
        return send(HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits"))
                .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + key).POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    static HttpResponse<String> send(HttpRequest r) {
        try {
            return EdgeSupport.HTTP.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Keeps every base64 image in {@code text} (a JSON body, an SSE stream), to look for it in the logs. */
    void collectImages(String text) {
        var m = Pattern.compile("[A-Za-z0-9+/]{80,}={0,2}").matcher(text);
        while (m.find()) {
            imagesB64.add(m.group());
        }
    }

    void collectImages(ImageResponse r) {
        r.data().forEach(d -> d.b64Json().ifPresent(imagesB64::add));
    }

    static List<String> lines(Path file) {
        try {
            return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every record of the webhook bodies received so far. */
    static List<JsonNode> records(List<String> bodies) {
        List<JsonNode> out = new ArrayList<>();
        synchronized (bodies) {
            for (String b : bodies) {
                readTree(b).path("records").forEach(out::add);
            }
        }
        return out;
    }

    /** Every span of the OTLP exports received so far of {@code kind} (2 server, 3 client). */
    static List<io.opentelemetry.proto.trace.v1.Span> spans(
            List<io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest> bodies, int kind) {
        List<io.opentelemetry.proto.trace.v1.Span> out = new ArrayList<>();
        synchronized (bodies) {
            for (var b : bodies) {
                for (var rs : b.getResourceSpansList()) {
                    for (var ss : rs.getScopeSpansList()) {
                        for (var sp : ss.getSpansList()) {
                            if (sp.getKindValue() == kind) {
                                out.add(sp);
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /** A string attribute of an OTLP span, or null. */
    static String attribute(io.opentelemetry.proto.trace.v1.Span span, String key) {
        return OtlpReceiver.Span.attr(span.getAttributesList(), key).map(v -> v.getStringValue()).orElse(null);
    }

    static JsonNode readTree(String s) {
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + s, e);
        }
    }

    static String sha256(String s) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    /** Writes to the real stream (so test output stays visible) and to the capture. */
    static final class Tee extends OutputStream {
        private final OutputStream a;
        private final ByteArrayOutputStream b;

        Tee(OutputStream a, ByteArrayOutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int c) throws IOException {
            a.write(c);
            synchronized (b) {
                b.write(c);
            }
        }

        @Override
        public void write(byte[] buf, int off, int len) throws IOException {
            a.write(buf, off, len);
            synchronized (b) {
                b.write(buf, off, len);
            }
        }

        @Override
        public void flush() throws IOException {
            a.flush();
        }
    }
}
