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
import dev.easel.EaselException;
import dev.easel.ImageEditEvent;
import dev.easel.ImageEditRequest;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.RequestMeta;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Runs successes and failures through the real proxy and through the SDK with {@code json_logs} (to a file)
 * and {@code webhook} (to a real receiver) attached, captures everything written (standard output and error,
 * every Logback event with Easel's loggers at TRACE, the log file, the webhook bodies) and finds no master key,
 * no provider key, no Authorization value and no image data in any of it.
 */
class SecretsInLogsTest {

    static final String MASTER_KEY = "sk-master-secrets-4f1c9e2a7b";
    static final String PROVIDER_KEY = "sk-provider-secrets-8d3a6c1e5f";
    static final String REVOKED_PROVIDER_KEY = "sk-revoked-provider-2b7e9d4c1a";
    static final String WRONG_CLIENT_KEY = "sk-client-guess-6e2f8a1d3c";
    static final List<String> KEYS = List.of(MASTER_KEY, PROVIDER_KEY, REVOKED_PROVIDER_KEY, WRONG_CLIENT_KEY);
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
                }
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

    String yaml() {
        return """
                model_list:
                  - model_name: gpt-image-1
                    litellm_params: {model: openai/gpt-image-1, api_key: %1$s, api_base: "%2$s"}
                  - model_name: revoked
                    litellm_params: {model: openai/gpt-image-1, api_key: %3$s, api_base: "%2$s"}
                litellm_settings:
                  callbacks: [json_logs, webhook]
                general_settings:
                  master_key: %4$s
                  webhook_url: "%5$s"
                """.formatted(PROVIDER_KEY, fake.baseUrl(), REVOKED_PROVIDER_KEY, MASTER_KEY, hookUrl());
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

        // ---- through the real proxy (its json_logs / webhook once the config's callbacks are wired) ----------
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
            }
            assertThat(imagesB64).hasSizeGreaterThanOrEqualTo(6); // 2 sent, 4 returned (1 partial)
        }

        // ---- through the SDK, same keys, with both listeners attached ------------------------------------
        Path logFile = dir.resolve("logs/easel-requests.log");
        List<String> sdkHookBodiesBefore;
        synchronized (webhookBodies) {
            sdkHookBodiesBefore = List.copyOf(webhookBodies);
        }
        try (JsonLogsListener logs = JsonLogsListener.file(logFile, 64 * 1024, 3);
             WebhookListener hook = WebhookListener.builder(hookUrl()).flushInterval(Duration.ofMillis(20))
                     .header("Authorization", "Bearer " + MASTER_KEY).build()) {
            Easel easel = Easel.builder().config(config).listener(logs).listener(hook).build();

            collectImages(easel.imageEdit(request("gpt-image-1", png).mask(mask).build()));
            try (ImageEditStream s = easel.imageEditStream(request("gpt-image-1", png).partialImages(1).build())) {
                for (ImageEditEvent e : s) {
                    collectImages(e.toString());
                }
            }
            fake.enqueue(echoingError(png));
            assertThatThrownBy(() -> easel.imageEdit(request("gpt-image-1", png).build()))
                    .isInstanceOf(EaselException.class);
            assertThatThrownBy(() -> easel.imageEdit(request("revoked", png).build()))
                    .isInstanceOf(AuthenticationException.class);
            assertThatThrownBy(() -> easel.imageEdit(request("gpt-image-1", png).n(99).build()))
                    .isInstanceOf(EaselException.class);
            fake.enqueue(FakeResponse.serverError());
            collectImages(easel.imageEdit(request("gpt-image-1", png).build()));
            easel.reportRejected(new RequestMeta(RequestMeta.newRequestId(), Instant.now(), null,
                    sha256(WRONG_CLIENT_KEY), "proxy", null), "gpt-image-1",
                    new AuthenticationException("Incorrect API key provided.", "invalid_api_key", null));

            EdgeSupport.await("7 lines", () -> lines(logFile).size() == 7);
            EdgeSupport.await("7 webhook records", () -> hook.delivered() == 7);
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
        synchronized (webhookBodies) {
            webhookBodies.forEach(b -> outputs.add("webhook body: " + b));
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
