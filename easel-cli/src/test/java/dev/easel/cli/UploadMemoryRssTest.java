package dev.easel.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 ("Done when"): the proxy's resident memory stays within the upload memory budget plus a fixed margin
 * while it is sent the bombs of the issue (100,000 tiny image parts, 100,000 data URLs, 100,000 text fields,
 * 300,000 {@code x[]} parts) together with large uploads that are held upstream. Measured on a real proxy in its
 * own JVM, whose heap is committed and touched at start ({@code -Xms = -Xmx}, {@code AlwaysPreTouch}), so resident
 * memory grows only with what lives outside the heap; the peak is the kernel's {@code VmHWM}. Before the fix the
 * first bomb alone drove the proxy out of memory (each tiny part took a forced 16 KiB chunk outside the budget).
 */
class UploadMemoryRssTest {

    private static final Pattern LISTENING = Pattern.compile("Easel proxy listening on http://[^:]+:(\\d+)\\s");
    private static final String KEY = "sk-rss-test";
    private static final String BOUNDARY = "rssBoundary";
    private static final long BUDGET = 16L << 20;
    /** What may grow besides the budget: compiled code, I/O buffers, thread stacks (measured here: 2–3 MiB). */
    private static final long MARGIN = 64L << 20;

    @TempDir
    Path dir;

    private Process process;
    private final BlockingQueue<String> stdout = new LinkedBlockingQueue<>();
    private final List<String> stderr = java.util.Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void bombsAndHeldUploads_residentMemoryStaysWithinTheUploadBudgetPlusAMargin() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/status")), "needs Linux /proc to read resident memory");
        URI base = start();
        byte[] big = noisePng(1400, 1400, 1); // ~5.9 MB: mostly held outside memory once the budget is used up
        byte[] small = noisePng(64, 64, 2);
        List<byte[]> bombs = List.of(partBomb(), dataUrlBomb(), fieldBomb(), arrayBomb());
        List<String> bombTypes = List.of(multipart(), "application/json", multipart(), multipart());

        // warm up every path once (classes loaded, code compiled), then take the baseline
        assertThat(post(base, multipart(), edit(small))).isEqualTo(200);
        for (int i = 0; i < bombs.size(); i++) {
            assertThat(post(base, bombTypes.get(i), bombs.get(i))).as("bomb %d", i).isBetween(400, 413);
        }
        assertThat(post(base, multipart(), edit(big))).isEqualTo(200);
        long baseline = peakRss();

        // 8 large uploads held upstream (mock latency) and every bomb 3 times, all at once
        List<Integer> statuses = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Integer>> held = new ArrayList<>();
            List<Future<Integer>> refused = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                held.add(pool.submit(() -> post(base, multipart(), edit(big))));
            }
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < bombs.size(); i++) {
                    int b = i;
                    refused.add(pool.submit(() -> post(base, bombTypes.get(b), bombs.get(b))));
                }
            }
            for (Future<Integer> f : held) {
                assertThat(f.get(120, TimeUnit.SECONDS)).isEqualTo(200);
            }
            for (Future<Integer> f : refused) {
                statuses.add(f.get(120, TimeUnit.SECONDS));
            }
        }
        long peak = peakRss();
        System.out.printf("upload memory rss: baseline VmHWM %d MiB, after %d MiB, growth %d MiB (budget %d + margin %d)%n",
                baseline >> 20, peak >> 20, (peak - baseline) >> 20, BUDGET >> 20, MARGIN >> 20);
        assertThat(statuses).allSatisfy(s -> assertThat(s).isBetween(400, 413));
        assertThat(process.isAlive()).as("the proxy survived; stderr: %s", stderr).isTrue();
        assertThat(peak - baseline).as("resident memory grown beyond the baseline").isLessThanOrEqualTo(BUDGET + MARGIN);
        // temp files go when each request ends, just after its answer was written: wait for that, bounded
        Path uploads = dir.resolve("data").resolve("uploads");
        dev.easel.testkit.Await.until("the spool directory to be empty", () -> {
            try (var files = Files.list(uploads)) {
                return files.findAny().isEmpty();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    // ---- the proxy -----------------------------------------------------------------------------------

    private URI start() throws Exception {
        Path config = dir.resolve("config.yaml");
        Files.writeString(config, """
                model_list:
                  - model_name: edit
                    litellm_params: {model: mock/edit, latency_ms: 1500}
                general_settings:
                  master_key: %s
                  upload_memory_bytes: %d
                """.formatted(KEY, BUDGET));
        String java = ProcessHandle.current().info().command().orElseThrow();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch",
                "-cp", System.getProperty("java.class.path"), "dev.easel.cli.Main", "proxy", "--config",
                config.toString(), "--host", "127.0.0.1", "--port", "0", "--data-dir", dir.resolve("data").toString());
        process = pb.start();
        pump(process.inputReader(StandardCharsets.UTF_8), stdout::add);
        pump(process.errorReader(StandardCharsets.UTF_8), stderr::add);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            String line = stdout.poll(1, TimeUnit.SECONDS);
            if (line != null) {
                Matcher m = LISTENING.matcher(line + " ");
                if (m.find()) {
                    return URI.create("http://127.0.0.1:" + m.group(1));
                }
            }
            assertThat(process.isAlive()).as("proxy exited; stderr: %s", stderr).isTrue();
        }
        throw new AssertionError("the proxy did not start; stderr: " + stderr);
    }

    /** The process's peak resident set ({@code VmHWM}), in bytes. */
    private long peakRss() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        }
        throw new AssertionError("no VmHWM in /proc/" + process.pid() + "/status");
    }

    private static void pump(BufferedReader in, java.util.function.Consumer<String> sink) {
        Thread.ofPlatform().daemon().start(() -> {
            try (in) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    sink.accept(line);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
    }

    /**
     * POSTs over a raw socket and returns the status: the body is written from another thread, so an answer the
     * proxy sends before it has read everything (a limit's 413, after which it closes) is read, not lost to a reset.
     */
    private static int post(URI base, String contentType, byte[] body) throws Exception {
        try (java.net.Socket socket = new java.net.Socket(base.getHost(), base.getPort())) {
            socket.setSoTimeout(60_000);
            var out = socket.getOutputStream();
            out.write(("POST /v1/images/edits HTTP/1.1\r\nHost: " + base.getHost() + "\r\nAuthorization: Bearer " + KEY
                    + "\r\nContent-Type: " + contentType + "\r\nContent-Length: " + body.length
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    for (int off = 0; off < body.length; off += 64 * 1024) {
                        out.write(body, off, Math.min(64 * 1024, body.length - off));
                    }
                    out.flush();
                } catch (IOException ignored) {
                    // the proxy answered early and closed: what a limit does
                }
            });
            BufferedReader in = new BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    StandardCharsets.ISO_8859_1));
            String status = in.readLine();
            writer.join(Duration.ofSeconds(60));
            if (status == null || !status.startsWith("HTTP/1.1 ")) {
                throw new AssertionError("no HTTP answer (was " + status + ")");
            }
            return Integer.parseInt(status.substring(9, 12));
        }
    }

    // ---- bodies --------------------------------------------------------------------------------------

    private static String multipart() {
        return "multipart/form-data; boundary=" + BOUNDARY;
    }

    private static byte[] head(String name, String fileName) {
        return ("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + name + "\""
                + (fileName == null ? "" : "; filename=\"" + fileName + "\"\r\nContent-Type: image/png")
                + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static void text(ByteArrayOutputStream out, String name, String value) {
        out.writeBytes(head(name, null));
        out.writeBytes((value + "\r\n").getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] edit(byte[] png) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(png.length + 1024);
        text(out, "model", "edit");
        text(out, "prompt", "add a red hat");
        out.writeBytes(head("image", "in.png"));
        out.writeBytes(png);
        out.writeBytes(("\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    /** 100,000 tiny {@code image[]} parts (~10 MB). */
    private static byte[] partBomb() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(11 << 20);
        text(out, "model", "edit");
        text(out, "prompt", "p");
        byte[] part = (new String(head("image[]", "a.png"), StandardCharsets.US_ASCII) + "x\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < 100_000; i++) {
            out.writeBytes(part);
        }
        out.writeBytes(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    /** 100,000 tiny data URLs in a JSON body. */
    private static byte[] dataUrlBomb() {
        StringBuilder sb = new StringBuilder(6 << 20).append("{\"model\":\"edit\",\"prompt\":\"p\",\"images\":[");
        String one = "{\"image_url\":\"data:image/png;base64," + Base64.getEncoder().encodeToString(new byte[] {1})
                + "\"}";
        for (int i = 0; i < 100_000; i++) {
            sb.append(i == 0 ? "" : ",").append(one);
        }
        return sb.append("]}").toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** 100,000 distinct unknown text fields. */
    private static byte[] fieldBomb() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(12 << 20);
        text(out, "model", "edit");
        text(out, "prompt", "p");
        for (int i = 0; i < 100_000; i++) {
            text(out, "f" + i, "v");
        }
        out.writeBytes(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    /** 300,000 {@code x[]} parts. */
    private static byte[] arrayBomb() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(32 << 20);
        text(out, "model", "edit");
        text(out, "prompt", "p");
        for (int i = 0; i < 300_000; i++) {
            text(out, "x[]", "v");
        }
        out.writeBytes(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    private static byte[] noisePng(int w, int h, long seed) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Random r = new Random(seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, r.nextInt() & 0xFFFFFF);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }
}
