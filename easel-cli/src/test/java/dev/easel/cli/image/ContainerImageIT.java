package dev.easel.cli.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The container image Jib wrote in {@code package} (target/jib-image.tar), checked as an image and run as one: its
 * layers unpacked into a root, the entrypoint started in that root as the image's user (chroot in a fresh PID and
 * mount namespace with its own /proc, which is what a container runtime gives a process, minus the network
 * namespace), with a config mounted at /config/config.yaml. It answers the health probes the docs name and an
 * edit, writes its data under /data as the unprivileged user, and exits cleanly on SIGTERM.
 *
 * <p>Running it needs root (chroot) and util-linux's unshare; without them only the image's metadata is checked.
 */
class ContainerImageIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LISTENING = Pattern.compile("Easel proxy listening on http://[^:]+:(\\d+)\\s");
    private static final String BOUNDARY = "imageBoundary";

    private static Path tar;

    @TempDir
    Path work;

    private Process process;

    @BeforeAll
    static void image() {
        tar = Path.of(System.getProperty("easel.image.tar", "target/jib-image.tar"));
        assertThat(tar).as("the image tar Jib writes in package (was the build run with -Dimage.skip?)").exists();
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void image_runsTheProxyAsAnUnprivilegedUserWithTheConfigMountedAndADataVolume() throws Exception {
        JsonNode config = unpack(work.resolve("image")).get("config");

        assertThat(config.get("User").asText()).isEqualTo("65532:65532");
        assertThat(config.get("ExposedPorts").has("4000/tcp")).isTrue();
        assertThat(config.get("Volumes").has("/data")).isTrue();
        assertThat(strings(config.get("Cmd")))
                .containsSubsequence("proxy", "--config", "/config/config.yaml")
                .containsSubsequence("--host", "0.0.0.0", "--port", "4000", "--data-dir", "/data");
        assertThat(strings(config.get("Entrypoint")))
                .contains("-XX:MaxRAMPercentage=50", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true");
    }

    @Test
    void image_isReproducible_noBuildTimeInsideIt() throws Exception {
        JsonNode image = unpack(work.resolve("image"));

        assertThat(image.get("created").asText()).isEqualTo("1970-01-01T00:00:00Z");
        Path root = work.resolve("image/root");
        try (Stream<Path> files = Files.walk(root)) {
            List<Path> stamped = files.filter(p -> !p.equals(root))
                    .filter(p -> lastModifiedMillis(p) > Duration.ofDays(1).toMillis()).toList();
            assertThat(stamped).as("files carrying the build's time").isEmpty();
        }
    }

    @Test
    void container_answersProbesAndAnEdit_writesDataAsItsUser_andStopsOnSigterm() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "chroot needs root");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/unshare")) && Files.isExecutable(Path.of("/usr/sbin/chroot")),
                "needs util-linux unshare and coreutils chroot");
        Path dir = work.resolve("image");
        JsonNode config = unpack(dir).get("config");
        Path root = dir.resolve("root");
        Files.createDirectories(root.resolve("proc"));
        Files.writeString(root.resolve("config/config.yaml"), """
                model_list:
                  - model_name: gpt-image-1
                    litellm_params:
                      model: mock/gpt-image-1
                general_settings:
                  master_key: sk-image-test
                """);

        List<String> cmd = new ArrayList<>(List.of("/usr/bin/unshare", "--fork", "--pid", "--mount",
                "--mount-proc=" + root.resolve("proc"), "--kill-child",
                "/usr/sbin/chroot", "--userspec=" + config.get("User").asText(), root.toString()));
        List<String> entrypoint = strings(config.get("Entrypoint"));
        // PATH inside the image is /opt/java/bin; chroot looks the program up with the host's PATH, so name it.
        cmd.add("/opt/java/bin/" + entrypoint.get(0));
        cmd.addAll(entrypoint.subList(1, entrypoint.size()));
        for (String arg : strings(config.get("Cmd"))) {
            cmd.add(switch (arg) {
                case "0.0.0.0" -> "127.0.0.1"; // the host's network: keep it private
                case "4000" -> "0";              // and take any free port
                default -> arg;
            });
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().clear();
        for (String kv : strings(config.get("Env"))) {
            int eq = kv.indexOf('=');
            pb.environment().put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        process = pb.start();
        BlockingQueue<String> out = new LinkedBlockingQueue<>();
        Thread pump = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = process.inputReader(StandardCharsets.UTF_8)) {
                for (String line; (line = r.readLine()) != null; ) {
                    out.add(line);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
        int port = listeningPort(out, Duration.ofSeconds(90));
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + port;

        assertThat(get(http, base + "/health/liveliness").statusCode()).isEqualTo(200);
        HttpResponse<String> ready = get(http, base + "/health/readiness");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).contains("\"store\":\"sqlite:/data/spend.db\"");

        HttpResponse<String> edit = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/images/edits"))
                .header("Authorization", "Bearer sk-image-test")
                .header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY)
                .POST(HttpRequest.BodyPublishers.ofByteArray(editBody())).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(edit.statusCode()).as(edit.body()).isEqualTo(200);
        assertThat(JSON.readTree(edit.body()).at("/data/0/b64_json").asText()).isNotEmpty();

        PosixFileAttributes db = Files.readAttributes(root.resolve("data/spend.db"), PosixFileAttributes.class);
        assertThat(db.owner().getName()).isIn("65532", "nonroot");

        // What `docker stop` does: SIGTERM to the container's process (the JVM, PID 1 in its namespace).
        ProcessHandle jvm = process.descendants()
                .filter(h -> h.info().command().map(c -> c.endsWith("/java")).orElse(false))
                .findFirst().orElseThrow(() -> new AssertionError("no java process under " + process.pid()));
        assertThat(jvm.destroy()).isTrue();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("stopped after SIGTERM").isTrue();
        assertThat(process.exitValue()).as("exit status after SIGTERM").isZero();
        pump.join(Duration.ofSeconds(5));
        assertThat(String.join("\n", out)).doesNotContain("Exception");
    }

    /** Unpacks the image tar and its layers (in order) under dir/root; returns the image's config. */
    private static JsonNode unpack(Path dir) throws Exception {
        Files.createDirectories(dir.resolve("root"));
        run(dir, "tar", "-xf", tar.toAbsolutePath().toString());
        JsonNode manifest = JSON.readTree(dir.resolve("manifest.json").toFile()).get(0);
        for (JsonNode layer : manifest.get("Layers")) {
            run(dir, "tar", "--warning=no-unknown-keyword", "-xzf", layer.asText(), "-C", "root");
        }
        return JSON.readTree(dir.resolve(manifest.get("Config").asText()).toFile());
    }

    private static void run(Path dir, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String output;
        try (InputStream in = p.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + output).isZero();
    }

    private static long lastModifiedMillis(Path p) {
        try {
            return Files.getLastModifiedTime(p, java.nio.file.LinkOption.NOFOLLOW_LINKS).toMillis();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> values = new ArrayList<>();
        array.forEach(n -> values.add(n.asText()));
        return values;
    }

    private int listeningPort(BlockingQueue<String> out, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            String line = out.poll(1, TimeUnit.SECONDS);
            if (line == null) {
                assertThat(process.isAlive()).as("container exited early: %s", seen).isTrue();
                continue;
            }
            seen.add(line);
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                out.addAll(seen);
                return Integer.parseInt(m.group(1));
            }
        }
        throw new AssertionError("the container printed no listening line in " + within + ": " + seen);
    }

    private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static byte[] editBody() throws IOException {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(64, 64, BufferedImage.TYPE_INT_ARGB), "png", png);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        String fields = "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ngpt-image-1\r\n"
                + "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nadd a hat\r\n"
                + "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
                + "Content-Type: image/png\r\n\r\n";
        body.write(fields.getBytes(StandardCharsets.UTF_8));
        body.write(png.toByteArray());
        body.write(("\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return body.toByteArray();
    }
}
