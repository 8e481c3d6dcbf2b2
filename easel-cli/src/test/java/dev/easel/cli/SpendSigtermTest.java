package dev.easel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real CLI in its own JVM under load: SIGTERM while edits are in flight, the proxy drains and exits 0, and
 * the SQLite spend store then holds exactly one row per response the clients received (successes and failures),
 * no duplicates, nothing left behind in the journal.
 */
class SpendSigtermTest {

    private static final Pattern LISTENING = Pattern.compile("Easel proxy listening on http://[^:]+:(\\d+)\\s");
    private static final String BOUNDARY = "spendSigtermBoundary";
    private static final int TOTAL = 200;
    private static final int CLIENTS = 8;
    private static final int SIGNAL_AFTER = 150;

    @TempDir
    Path dir;

    private Process process;
    private final List<Thread> pumps = new ArrayList<>();
    private final BlockingQueue<String> stdout = new LinkedBlockingQueue<>();
    private final List<String> stderr = java.util.Collections.synchronizedList(new ArrayList<>());

    /** What one client request got. */
    private record Outcome(String requestId, String endUser, int status, boolean afterSignal, String failure) {
        boolean answered() {
            return failure == null;
        }
    }

    @AfterEach
    void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void proxy_sigtermUnderLoad_everyResponseIsExactlyOneSpendRow() throws Exception {
        Path config = Files.writeString(dir.resolve("config.yaml"), """
                model_list:
                  - model_name: edit
                    litellm_params: {model: mock/edit, latency_ms: 50}
                  - model_name: priced
                    litellm_params: {model: mock/gpt-image-1, latency_ms: 50}
                  - model_name: broken
                    litellm_params: {model: mock/edit, latency_ms: 20, failure_rate: 1.0, failure_status: 500}
                router_settings:
                  num_retries: 0
                  allowed_fails: 1000000
                general_settings:
                  grace_period: 20
                """);
        Path data = dir.resolve("data");
        URI base = start(config, data);

        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        byte[] png = png();
        AtomicInteger next = new AtomicInteger();
        AtomicInteger answered = new AtomicInteger();
        AtomicBoolean signalled = new AtomicBoolean();
        CountDownLatch enough = new CountDownLatch(1);
        Map<String, Outcome> outcomes = new ConcurrentHashMap<>();
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            clients.add(Thread.ofPlatform().name("spend-client-" + c).start(() -> {
                // once SIGTERM is on its way no new request starts: every request either was in flight or never sent
                while (!signalled.get()) {
                    int i = next.getAndIncrement();
                    if (i >= TOTAL) {
                        return;
                    }
                    Outcome o = send(http, base, i, png, signalled);
                    outcomes.put(o.requestId(), o);
                    if (o.answered() && answered.incrementAndGet() >= SIGNAL_AFTER) {
                        enough.countDown();
                    }
                }
            }));
        }
        assertThat(enough.await(60, TimeUnit.SECONDS)).as("%s responses; stderr: %s", answered.get(), stderr)
                .isTrue();
        signalled.set(true);
        // SIGTERM; the handle's destroy leaves our ends of stdout/stderr open
        assertThat(process.toHandle().destroy()).isTrue();
        for (Thread t : clients) {
            t.join(Duration.ofSeconds(30));
            assertThat(t.isAlive()).as("client %s finished", t.getName()).isFalse();
        }
        assertThat(exited(Duration.ofSeconds(30))).as("exited; stderr: %s", stderr).isTrue();
        assertThat(process.exitValue()).as("exit code; stderr: %s", stderr).isZero();
        assertThat(stderr).contains("easel: stopped");

        List<Outcome> responses = outcomes.values().stream().filter(Outcome::answered).toList();
        List<Outcome> cut = outcomes.values().stream().filter(o -> !o.answered()).toList();
        long inFlightAtSignal = responses.stream().filter(Outcome::afterSignal).count();
        System.out.println("spend sigterm: " + outcomes.size() + " sent, " + responses.size() + " answered ("
                + inFlightAtSignal + " after SIGTERM), " + cut.size() + " without an answer " + cut);
        assertThat(inFlightAtSignal).as("responses that arrived after SIGTERM (requests in flight)").isPositive();
        assertThat(responses.stream().filter(o -> o.status() == 200).count()).isPositive();
        assertThat(responses.stream().filter(o -> o.status() >= 400).count()).isPositive();

        // nothing waits in the journal: close() wrote every row to the database before the exit
        try (Stream<Path> files = Files.list(data)) {
            List<Path> sealed = files.filter(p -> p.getFileName().toString().startsWith("spend.journal.")).toList();
            assertThat(sealed).as("sealed journal segments left").isEmpty();
        }
        Path journal = data.resolve("spend.journal");
        assertThat(!Files.exists(journal) || Files.size(journal) == 0).as("journal emptied").isTrue();

        Map<String, Row> rows = rows(data.resolve("spend.db"));
        Map<String, Outcome> byId = new HashMap<>();
        responses.forEach(o -> byId.put(o.requestId(), o));
        // every response is a row ...
        assertThat(rows.keySet()).containsAll(byId.keySet());
        // ... and every row is a request the clients sent (one whose answer was cut off may or may not be)
        for (String id : rows.keySet()) {
            assertThat(outcomes).as("row %s was sent by a client", id).containsKey(id);
        }
        assertThat(rows.size()).isBetween(responses.size(), responses.size() + cut.size());
        for (Outcome o : responses) {
            Row row = rows.get(o.requestId());
            assertThat(row.status()).as(o.toString()).isEqualTo(o.status() == 200 ? "success" : "failure");
            assertThat(row.httpStatus()).as(o.toString()).isEqualTo(o.status());
            assertThat(row.endUser()).as(o.toString()).isEqualTo(o.endUser());
        }
    }

    private record Row(String status, int httpStatus, String endUser) {
    }

    /** Every spend row, by the client's request id (unique per request here); a duplicate fails the test. */
    private static Map<String, Row> rows(Path db) throws Exception {
        assertThat(db).exists();
        Map<String, Row> out = new HashMap<>();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT client_request_id, status, http_status, end_user FROM easel_spend_logs")) {
            while (rs.next()) {
                Row previous = out.put(rs.getString(1), new Row(rs.getString(2), rs.getInt(3), rs.getString(4)));
                assertThat(previous).as("duplicate row for %s", rs.getString(1)).isNull();
            }
        }
        return out;
    }

    /** One edit: 3 of 5 succeed (mock/edit and mock/gpt-image-1), 1 fails upstream (500), 1 has no prompt (400). */
    private static Outcome send(HttpClient http, URI base, int i, byte[] png, AtomicBoolean signalled) {
        String id = "sig-" + i;
        String endUser = "user-" + (i % 4);
        String model = switch (i % 5) {
            case 0, 1 -> "edit";
            case 2 -> "priced";
            case 3 -> "broken";
            default -> "edit";
        };
        boolean withPrompt = i % 5 != 4;
        HttpRequest request = HttpRequest.newBuilder(base.resolve("/v1/images/edits"))
                .header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY)
                .header("x-request-id", id).header("x-easel-end-user-id", endUser)
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(editBody(model, withPrompt, png))).build();
        try {
            HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (!id.equals(r.headers().firstValue("x-client-request-id").orElse(null))) {
                // rows are matched by the client's id: one not echoed would make the count meaningless
                return new Outcome(id, endUser, r.statusCode(), signalled.get(), "client request id not echoed: "
                        + r.headers().firstValue("x-client-request-id"));
            }
            return new Outcome(id, endUser, r.statusCode(), signalled.get(), null);
        } catch (ConnectException | HttpConnectTimeoutException e) {
            return new Outcome(id, endUser, 0, true, "refused: " + e);
        } catch (IOException e) {
            return new Outcome(id, endUser, 0, true, "cut: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(id, endUser, 0, true, "interrupted");
        }
    }

    private URI start(Path config, Path data) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "dev.easel.cli.Main", "proxy", "--config", config.toString(), "--host", "127.0.0.1", "--port", "0",
                "--data-dir", data.toString());
        process = pb.start();
        pumps.add(pump(process.inputReader(StandardCharsets.UTF_8), stdout::add));
        pumps.add(pump(process.errorReader(StandardCharsets.UTF_8), stderr::add));
        String line = stdout.poll(30, TimeUnit.SECONDS);
        assertThat(line).as("listening line; stderr: %s", stderr).isNotNull();
        Matcher m = LISTENING.matcher(line + " ");
        assertThat(m.find()).as(line).isTrue();
        return URI.create("http://127.0.0.1:" + m.group(1));
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
        BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static byte[] editBody(String model, boolean withPrompt, byte[] png) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        StringBuilder head = new StringBuilder("--" + BOUNDARY
                + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" + model + "\r\n");
        if (withPrompt) {
            head.append("--").append(BOUNDARY).append("\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n")
                    .append("add a hat\r\n");
        }
        head.append("--").append(BOUNDARY).append("\r\nContent-Disposition: form-data; name=\"image\"; ")
                .append("filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n");
        b.writeBytes(head.toString().getBytes(StandardCharsets.UTF_8));
        b.writeBytes(png);
        b.writeBytes(("\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return b.toByteArray();
    }
}
