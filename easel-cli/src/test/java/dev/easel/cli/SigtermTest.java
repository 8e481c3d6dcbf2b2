package dev.easel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real CLI in its own JVM: {@code easel proxy} starts quickly, prints its URL, and on SIGTERM lets the
 * request in flight finish and exits 0; a bad config exits 2 with one line naming the YAML path.
 */
class SigtermTest {

    private static final Pattern LISTENING = Pattern.compile("Easel proxy listening on http://[^:]+:(\\d+)\\s");
    private static final String BOUNDARY = "sigtermBoundary";

    @TempDir
    Path dir;

    private Process process;
    private final List<Thread> pumps = new ArrayList<>();
    private final BlockingQueue<String> stdout = new LinkedBlockingQueue<>();
    private final List<String> stderr = java.util.Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private Process start(Path config, String... envToRemove) throws IOException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "dev.easel.cli.Main", "proxy", "--config", config.toString(), "--host", "127.0.0.1", "--port", "0",
                "--data-dir", dir.resolve("data").toString());
        for (String name : envToRemove) {
            pb.environment().remove(name);
        }
        process = pb.start();
        pumps.add(pump(process.inputReader(StandardCharsets.UTF_8), stdout::add));
        pumps.add(pump(process.errorReader(StandardCharsets.UTF_8), stderr::add));
        return process;
    }

    /** Waits (bounded) for the process to exit and its output to be read to the end. */
    private boolean exited(Duration within) throws InterruptedException {
        if (!process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS)) {
            return false;
        }
        for (Thread t : pumps) {
            t.join(Duration.ofSeconds(5));
        }
        return true;
    }

    private static Thread pump(BufferedReader reader, java.util.function.Consumer<String> sink) {
        return Thread.ofVirtual().start(() -> {
            try (reader) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    sink.accept(line);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
    }

    private static byte[] png() {
        BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_ARGB);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static byte[] editBody() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nedit\r\n"
                + "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nadd a hat\r\n"
                + "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
                + "Content-Type: image/png\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        b.writeBytes(png());
        b.writeBytes(("\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return b.toByteArray();
    }

    @Test
    void proxy_sigtermWhileARequestIsInFlight_finishesItAndExitsZero() throws Exception {
        Path config = Files.writeString(dir.resolve("config.yaml"), """
                model_list:
                  - model_name: edit
                    litellm_params: {model: mock/edit, latency_ms: 1500}
                general_settings:
                  grace_period: 10
                """);
        long t0 = System.nanoTime();
        start(config);
        String line = stdout.poll(30, TimeUnit.SECONDS);
        long startupMs = Duration.ofNanos(System.nanoTime() - t0).toMillis();
        assertThat(line).as("listening line; stderr: %s", stderr).isNotNull();
        Matcher m = LISTENING.matcher(line + " ");
        assertThat(m.find()).as(line).isTrue();
        assertThat(line).contains("(models: edit; heap max ");
        System.out.println("easel proxy: process start to listening line in " + startupMs + " ms");
        assertThat(startupMs).isLessThan(10_000);
        URI base = URI.create("http://127.0.0.1:" + m.group(1));

        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        CompletableFuture<HttpResponse<String>> pending = http.sendAsync(HttpRequest.newBuilder(
                        base.resolve("/v1/images/edits")).header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY)
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofByteArray(editBody())).build(),
                HttpResponse.BodyHandlers.ofString());
        awaitInflight(http, base);

        long signalled = System.nanoTime();
        // SIGTERM; unlike Process.destroy(), the handle's destroy leaves our ends of stdout/stderr open
        assertThat(process.toHandle().destroy()).isTrue();

        HttpResponse<String> r = pending.get(15, TimeUnit.SECONDS);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).contains("\"b64_json\"");
        assertThat(exited(Duration.ofSeconds(10))).as("exited within the grace period").isTrue();
        assertThat(process.exitValue()).as("exit code; stderr: %s", stderr).isZero();
        assertThat(Duration.ofNanos(System.nanoTime() - signalled)).isLessThan(Duration.ofSeconds(10));
        assertThat(stderr).contains("easel: stopping; waiting up to 10 s for 1 request(s) in flight", "easel: stopped");
    }

    /** Polls readiness until the edit is in flight (bounded). */
    private static void awaitInflight(HttpClient http, URI base) {
        dev.easel.testkit.Await.until("the edit to be in flight", () -> {
            try {
                return http.send(HttpRequest.newBuilder(base.resolve("/health/readiness")).build(),
                        HttpResponse.BodyHandlers.ofString()).body().contains("\"inflight_requests\":1");
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void proxy_invalidYaml_exitsTwoWithOneLineNamingThePlace() throws Exception {
        Path config = Files.writeString(dir.resolve("broken.yaml"), "model_list:\n  - model_name: a\n   x: [\n");

        start(config);

        assertThat(exited(Duration.ofSeconds(30))).isTrue();
        assertThat(process.exitValue()).as("stderr: %s", stderr).isEqualTo(2);
        assertThat(stderr).hasSize(1);
        assertThat(stderr.get(0)).startsWith("easel: ").contains("broken.yaml").contains("invalid YAML at line ");
        assertThat(stdout).isEmpty();
    }

    @Test
    void proxy_missingEnvironmentVariable_exitsTwoNamingTheYamlPath() throws Exception {
        Path config = Files.writeString(dir.resolve("env.yaml"), """
                model_list:
                  - model_name: gpt
                    litellm_params:
                      model: openai/gpt-image-1
                      api_key: os.environ/EASEL_SIGTERM_TEST_UNSET_KEY
                """);

        start(config, "EASEL_SIGTERM_TEST_UNSET_KEY");

        assertThat(exited(Duration.ofSeconds(30))).isTrue();
        assertThat(process.exitValue()).as("stderr: %s", stderr).isEqualTo(2);
        assertThat(stderr).containsExactly("easel: " + config + ": model_list[0].litellm_params.api_key: environment "
                + "variable 'EASEL_SIGTERM_TEST_UNSET_KEY' is not set");
        assertThat(stdout).isEmpty();
    }
}
