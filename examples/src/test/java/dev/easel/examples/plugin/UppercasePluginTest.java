package dev.easel.examples.plugin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import dev.easel.config.ConfigLoader;
import dev.easel.provider.ProviderRegistry;
import dev.easel.proxy.ProxyOptions;
import dev.easel.proxy.ProxyServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example plugin is a provider like any other: found on the classpath by its factory, a config naming
 * {@code uppercase/shout-1} serves edits through the SDK and through the proxy, and the {@code ./easel} launcher
 * picks its jar up from a {@code plugins/} folder without rebuilding Easel.
 */
class UppercasePluginTest {

    static final String CONFIG = """
            model_list:
              - model_name: shout
                litellm_params: {model: uppercase/shout-1}
            """;
    static final Pattern LISTENING = Pattern.compile("Easel proxy listening on http://[^:]+:(\\d+)\\s");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static byte[] png() throws IOException {
        var img = new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_INT_RGB);
        var out = new ByteArrayOutputStream();
        javax.imageio.ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    @Test
    void factoryOnTheClasspath_isInstalled_withItsCatalogue() {
        assertThat(ProviderRegistry.installed().find("uppercase")).isPresent();
        assertThat(dev.easel.catalog.ModelCatalog.bundled().find("shout-1"))
                .hasValueSatisfying(m -> assertThat(m.imagesPerCall()).isEqualTo(1));
    }

    @Test
    void sdk_servesTheConfiguredPluginModel_nFannedOutToOneImagePerCall() throws Exception {
        Easel easel = Easel.builder().config(ConfigLoader.parse(CONFIG, Map.of(), "plugin.yaml")).build();
        assertThat(easel.deployments()).singleElement().satisfies(d -> assertThat(d.unavailableReason()).isEmpty());

        ImageResponse r = easel.imageEdit(ImageEditRequest.builder().model("shout").prompt("add a hat").image(png())
                .n(2).build());

        assertThat(r.data()).hasSize(2).allSatisfy(d -> assertThat(d.revisedPrompt()).contains("ADD A HAT"));
        assertThat(r.provider()).contains("uppercase");
        assertThat(r.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.002"));
    }

    @Test
    void proxy_servesThePluginModel_overHttp() throws Exception {
        try (ProxyServer proxy = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(CONFIG, Map.of(), "plugin.yaml"))
                .listen("127.0.0.1", 0).withDataDir(dir.resolve("data")))) {
            HttpResponse<String> r = edit(proxy.port());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).path("data").get(0).path("revised_prompt").asText())
                    .isEqualTo("ADD A HAT");
        }
    }

    @Test
    void launcher_addsTheJarsOfPluginsToTheClasspath() throws Exception {
        Path repo = Files.createDirectories(dir.resolve("repo"));
        Path launcher = repo.resolve("easel");
        Files.copy(Path.of("..", "easel"), launcher);
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        // easel-cli/target/easel.jar: a jar whose manifest points at this build's classes, minus the plugin's own
        pathingJar(Files.createDirectories(repo.resolve("easel-cli/target")).resolve("easel.jar"));
        Path plugins = Files.createDirectories(repo.resolve("plugins"));
        pluginJar(plugins.resolve("uppercase.jar"));
        Path config = Files.writeString(dir.resolve("config.yaml"), CONFIG);

        // with the plugin: the model is served
        Process withPlugin = launch(launcher, config, Map.of());
        try {
            int port = port(withPlugin);
            HttpResponse<String> r = edit(port);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).contains("ADD A HAT");
        } finally {
            stop(withPlugin);
        }

        // the same launcher pointed at an empty plugins folder: the provider is not served
        Path empty = Files.createDirectories(dir.resolve("no-plugins"));
        Process without = launch(launcher, config, Map.of("EASEL_PLUGINS", empty.toString()));
        try {
            HttpResponse<String> r = edit(port(without));
            assertThat(r.statusCode()).isEqualTo(501);
            assertThat(r.body()).contains("provider 'uppercase' is not served by this Easel");
        } finally {
            stop(without);
        }
    }

    @Test
    void launcher_sizesTheProxyHeapUnlessTheCallerDoes() throws Exception {
        Path repo = Files.createDirectories(dir.resolve("repo-heap"));
        Path launcher = repo.resolve("easel");
        Files.copy(Path.of("..", "easel"), launcher);
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        pathingJar(Files.createDirectories(repo.resolve("easel-cli/target")).resolve("easel.jar"));
        Path config = Files.writeString(dir.resolve("config-heap.yaml"), CONFIG);
        Process byDefault = launch(launcher, config, Map.of("EASEL_PLUGINS", dir.toString()));
        try {
            port(byDefault);
            // 768 MB, or half the machine's (or container's) memory when that is smaller
            long expected = Math.min(768, Math.max(128, totalMemoryMb() / 2));
            assertThat(heapMaxMb(lastListening)).isBetween(expected * 9 / 10, expected);
        } finally {
            stop(byDefault);
        }
        Process sized = launch(launcher, config, Map.of("EASEL_PLUGINS", dir.toString(), "EASEL_JAVA_OPTS", "-Xmx320m"));
        try {
            port(sized);
            assertThat(heapMaxMb(lastListening)).isBetween(288L, 320L);
        } finally {
            stop(sized);
        }
    }

    private static long heapMaxMb(String line) {
        Matcher m = Pattern.compile("heap max (\\d+) MB").matcher(line);
        assertThat(m.find()).as(line).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static long totalMemoryMb() throws IOException {
        long total = Long.MAX_VALUE;
        for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (l.startsWith("MemTotal:")) {
                total = Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024;
            }
        }
        Path v2 = Path.of("/sys/fs/cgroup/memory.max");
        if (Files.isReadable(v2)) {
            String v = Files.readString(v2).strip();
            if (v.matches("\\d+")) {
                total = Math.min(total, Long.parseLong(v) >> 20);
            }
        }
        return total;
    }

    private Process launch(Path launcher, Path config, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder("bash", launcher.toString(), "proxy", "--config", config.toString(),
                "--host", "127.0.0.1", "--port", "0", "--data-dir", dir.resolve("data-" + System.nanoTime()).toString());
        pb.environment().put("EASEL_CDS", "0");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().remove("EASEL_PLUGINS");
        pb.environment().putAll(env);
        pb.redirectErrorStream(true);
        return pb.start();
    }

    /** Reads the launched proxy's output until it says where it listens (bounded). */
    /** The last proxy start line {@link #port} saw. */
    private static volatile String lastListening;

    private static int port(Process p) throws Exception {
        List<String> seen = new ArrayList<>();
        CompletableFuture<Integer> port = CompletableFuture.supplyAsync(() -> {
            // not closed here: once the drain below reads, it holds the reader's lock, and a close would wait for the
            // proxy's next line (or its exit) — the port would never be returned; the process's end closes it
            var reader = p.inputReader(StandardCharsets.UTF_8);
            try {
                String line;
                while ((line = reader.readLine()) != null) {
                    seen.add(line);
                    Matcher m = LISTENING.matcher(line + " ");
                    if (m.find()) {
                        lastListening = line;
                        Thread.ofVirtual().start(() -> { // keep draining until the process ends
                            try {
                                reader.lines().forEach(l -> { });
                            } catch (java.io.UncheckedIOException closed) {
                                // the process ended and its output was closed
                            }
                        });
                        return Integer.parseInt(m.group(1));
                    }
                }
                throw new IllegalStateException("the proxy exited without listening: " + seen);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        try {
            return port.get(120, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the proxy did not start within 120 s: " + seen, e);
        }
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static HttpResponse<String> edit(int port) throws Exception {
        String boundary = "pluginBoundary";
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nshout\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nadd a hat\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
                + "Content-Type: image/png\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.write(png());
        body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        try (HttpClient client = HttpClient.newHttpClient()) {
            return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/images/edits"))
                            .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                            .timeout(Duration.ofSeconds(30))
                            .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(),
                    HttpResponse.BodyHandlers.ofString());
        }
    }

    /** This test's classpath as a manifest Class-Path, without this module's own classes (the plugin is there). */
    private static void pathingJar(Path jar) throws IOException {
        List<String> urls = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path p = Path.of(entry).toAbsolutePath().normalize();
            if (p.endsWith(Path.of("examples", "target", "classes"))
                    || p.endsWith(Path.of("examples", "target", "test-classes"))) {
                continue;
            }
            urls.add(p.toUri().toString());
        }
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.CLASS_PATH, String.join(" ", urls));
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, m)) {
            j.flush();
        }
    }

    /** The plugin's classes, its services file and its catalogue, as a jar a user would drop in plugins/. */
    private static void pluginJar(Path jar) throws IOException {
        Path classes = Path.of("target", "classes");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out);
             Stream<Path> files = Files.walk(classes)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String name = classes.relativize(f).toString().replace('\\', '/');
                if (name.startsWith("dev/easel/examples/plugin/") || name.equals(
                        "META-INF/services/dev.easel.provider.ProviderFactory")) {
                    j.putNextEntry(new JarEntry(name));
                    Files.copy(f, j);
                    j.closeEntry();
                }
            }
        }
    }
}
