package dev.easel.proxy;

import dev.easel.config.ConfigLoader;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.RecordedRequest;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * Shared helpers for the {@code Routing*Test} classes: test images, a hand-built multipart body, a
 * proxy started from YAML, and config snippets pointing deployments at {@link FakeOpenAi} instances.
 */
final class RoutingFixtures {

    static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private RoutingFixtures() {
    }

    // ---- images -----------------------------------------------------------------------------------

    /** A small opaque RGB PNG (a few hundred bytes: stays in memory in the proxy). */
    static byte[] smallPng() {
        return png(16, 16, false, 1);
    }

    /**
     * A PNG of random noise (does not compress), {@code w*h*3} bytes and more; 200x200 is about 120 KB,
     * well above the proxy's 64 KB in-memory threshold, so it is spooled to disk.
     */
    static byte[] noisePng(int w, int h, long seed) {
        return png(w, h, true, seed);
    }

    /** An RGBA mask PNG of noise with a transparent square in the middle (alpha present, as masks need). */
    static byte[] noiseMask(int w, int h, long seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
        Random r = new Random(seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                boolean hole = x > w / 4 && x < 3 * w / 4 && y > h / 4 && y < 3 * h / 4;
                int alpha = hole ? 0 : 255;
                img.setRGB(x, y, (alpha << 24) | (r.nextInt() & 0xFFFFFF));
            }
        }
        return encode(img);
    }

    private static byte[] png(int w, int h, boolean noise, long seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Random r = new Random(seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, noise ? r.nextInt() & 0xFFFFFF : (x * 16) << 16 | (y * 16) << 8 | 0x80);
            }
        }
        return encode(img);
    }

    private static byte[] encode(BufferedImage img) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, "png", out)) {
                throw new IllegalStateException("no PNG writer");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    // ---- requests ---------------------------------------------------------------------------------

    /** A multipart/form-data body built part by part. */
    static final class Form {
        private final String boundary = "----easel-routing-" + Long.toHexString(System.nanoTime());
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        /** A form with {@code model}, {@code prompt} and one small PNG as {@code image}. */
        static Form simple(String model) {
            return new Form().field("model", model).field("prompt", "a cat in a hat").file("image", "a.png",
                    smallPng());
        }

        Form field(String name, String value) {
            write("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value
                    + "\r\n");
            return this;
        }

        Form file(String name, String fileName, byte[] bytes) {
            write("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\""
                    + fileName + "\"\r\nContent-Type: image/png\r\n\r\n");
            out.writeBytes(bytes);
            write("\r\n");
            return this;
        }

        HttpRequest.Builder request(URI base) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.writeBytes(out.toByteArray());
            body.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
            return HttpRequest.newBuilder(base.resolve("/v1/images/edits"))
                    .timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()));
        }

        private void write(String s) {
            out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Posts {@code form} to the proxy's {@code /v1/images/edits}. */
    static HttpResponse<String> post(ProxyServer proxy, Form form) {
        return send(form.request(proxy.baseUri()).build());
    }

    /** Posts a JSON edit body to the proxy's {@code /v1/images/edits}. */
    static HttpResponse<String> postJson(ProxyServer proxy, String json) {
        return send(HttpRequest.newBuilder(proxy.baseUri().resolve("/v1/images/edits"))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    static HttpResponse<String> send(HttpRequest request) {
        try {
            return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A response header (must be present). */
    static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElseThrow(() -> new AssertionError("no header " + name + " in "
                + r.headers().map()));
    }

    // ---- proxy and config -------------------------------------------------------------------------

    /** Starts a proxy on an ephemeral loopback port for {@code yaml}. */
    static ProxyServer start(String yaml, Path dataDir) {
        return start(yaml, dataDir, java.time.Clock.systemUTC());
    }

    /** Like {@link #start(String, Path)}; the proxy's time (cool-downs, rpm minutes) comes from {@code clock}. */
    static ProxyServer start(String yaml, Path dataDir, java.time.Clock clock) {
        return ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, Map.of(), "test.yaml"))
                .listen("127.0.0.1", 0).withDataDir(dataDir).withPrivateImageUrls(true), clock);
    }

    /** A clock for {@link #start(String, Path, java.time.Clock)}: stands at 30 s into the current minute. */
    static dev.easel.testkit.ManualClock midMinuteClock() {
        return new dev.easel.testkit.ManualClock(java.time.Instant.now()
                .truncatedTo(java.time.temporal.ChronoUnit.MINUTES).plusSeconds(30));
    }

    /** A fake OpenAI that only accepts {@code apiKey} (so a request reaching the wrong fake fails). */
    static FakeOpenAi fake(String apiKey) {
        return FakeOpenAi.builder().apiKey(apiKey).start();
    }

    /**
     * One {@code model_list} entry: group {@code group}, deployment id {@code id}, upstream model
     * {@code model} ({@code openai/} unless it names a provider) at {@code fake} with its key; {@code extra} is appended to {@code litellm_params}
     * (e.g. {@code "weight: 3"}).
     */
    static String deployment(String group, String id, String model, FakeOpenAi fake, String apiKey,
                             String... extra) {
        return deployment(group, id, model, fake.baseUrl(), apiKey, extra);
    }

    /** As {@link #deployment(String, String, String, FakeOpenAi, String, String...)} with any base URL. */
    static String deployment(String group, String id, String model, String apiBase, String apiKey,
                             String... extra) {
        StringBuilder b = new StringBuilder();
        b.append("  - model_name: ").append(group).append('\n')
                .append("    litellm_params:\n")
                .append("      model: ").append(model.contains("/") ? model : "openai/" + model).append('\n')
                .append("      api_key: ").append(apiKey).append('\n')
                .append("      api_base: ").append(apiBase).append('\n');
        for (String e : extra) {
            b.append("      ").append(e).append('\n');
        }
        b.append("    model_info:\n      id: ").append(id).append('\n');
        return b.toString();
    }

    /** Adds {@code model_info} lines (e.g. {@code "base_model: gpt-image-1.5"}) to a {@link #deployment} entry. */
    static String withInfo(String deployment, String... infoLines) {
        StringBuilder b = new StringBuilder(deployment);
        for (String line : infoLines) {
            b.append("      ").append(line).append('\n');
        }
        return b.toString();
    }

    /** A config: {@code model_list} of {@code deployments}, then {@code routerSettings} lines (indented). */
    static String config(List<String> deployments, String... routerSettings) {
        StringBuilder b = new StringBuilder("model_list:\n");
        deployments.forEach(b::append);
        if (routerSettings.length > 0) {
            b.append("router_settings:\n");
            for (String s : routerSettings) {
                b.append("  ").append(s).append('\n');
            }
        }
        return b.toString();
    }

    /** A loopback port nobody listens on (connections are refused). */
    static int closedPort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits (bounded) until {@code dir} is empty; returns what is left in it. */
    static List<Path> awaitEmpty(Path dir, Duration max) {
        java.util.function.Supplier<List<Path>> files = () -> {
            try (var in = java.nio.file.Files.list(dir)) {
                return in.toList();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
        try {
            return dev.easel.testkit.Await.value(dir + " empty", max, files, List::isEmpty);
        } catch (AssertionError timedOut) {
            return files.get(); // the caller asserts on what is left, naming the files
        }
    }

    /** The edit requests a fake received (image-file GETs excluded). */
    static List<RecordedRequest> edits(FakeOpenAi fake) {
        List<RecordedRequest> out = new ArrayList<>();
        for (RecordedRequest r : fake.requests()) {
            if (r.method().equals("POST")) {
                out.add(r);
            }
        }
        return out;
    }
}
