package dev.easel.cli.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.testkit.Await;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One proxy of a {@link Fleet}: the real CLI ({@code dev.easel.cli.Main proxy}) in its own JVM, with its own data
 * directory, on a port it keeps across restarts (a load balancer's upstream address does not change when a pod
 * restarts). Everything it prints is kept, so a failing assertion can show it ({@link #describe()}).
 */
public final class Replica {

    private static final Pattern LISTENING = Pattern.compile("Easel proxy listening on http://[^:]+:(\\d+)\\s");
    private static final ObjectMapper JSON = new ObjectMapper();
    /** How long one start may take: three JVMs starting at once on a busy 2-core machine are slow. */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final int TAIL_LINES = 60;

    private final int index;
    private final Path dataDir;
    private final List<String> command;
    private final Map<String, String> env;
    private final HttpClient http;
    /** Lines the processes printed, tagged with the run and stream ({@code [run 2 err] …}); the newest are kept. */
    private final java.util.ArrayDeque<String> output = new java.util.ArrayDeque<>(); // guarded by itself
    private static final int KEPT_LINES = 20_000;
    private final List<Thread> pumps = new ArrayList<>();
    private volatile Process process;
    private volatile int port;
    private volatile int runs;

    Replica(int index, Path dataDir, List<String> command, Map<String, String> env, HttpClient http) {
        this.index = index;
        this.dataDir = dataDir;
        this.command = List.copyOf(command);
        this.env = Map.copyOf(env);
        this.http = http;
    }

    /** Its position in the fleet, from 0. */
    public int index() {
        return index;
    }

    /** Its data directory (journal, spool, image store), the same across restarts. */
    public Path dataDir() {
        return dataDir;
    }

    /**
     * Starts the process (again) and returns once {@code /health/readiness} answers 200. The first start takes any
     * free port; later starts ask for the same one.
     *
     * @throws AssertionError with the process's output when it exits or does not become ready in time
     */
    public synchronized void start() {
        if (running()) {
            throw new IllegalStateException("replica " + index + " is already running (pid " + process.pid() + ")");
        }
        int run = ++runs;
        List<String> cmd = new ArrayList<>(command);
        cmd.addAll(List.of("--port", Integer.toString(port), "--data-dir", dataDir.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        CompletableFuture<Integer> listening = new CompletableFuture<>();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start replica " + index + ": " + cmd, e);
        }
        process = p;
        pumps.removeIf(t -> !t.isAlive());
        pumps.add(pump(p.inputReader(StandardCharsets.UTF_8), line -> {
            keep("[run " + run + " out] " + line);
            Matcher m = LISTENING.matcher(line + " ");
            if (m.find()) {
                listening.complete(Integer.parseInt(m.group(1)));
            }
        }, () -> listening.completeExceptionally(new IllegalStateException("stdout closed"))));
        pumps.add(pump(p.errorReader(StandardCharsets.UTF_8), line -> keep("[run " + run + " err] " + line),
                () -> { }));
        int bound;
        try {
            bound = listening.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new AssertionError("replica " + index + " did not print its listening line within "
                    + START_TIMEOUT.toSeconds() + " s (" + (p.isAlive() ? "still running" : "exited "
                    + p.exitValue()) + ")\n" + describe(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted starting replica " + index, e);
        }
        if (port != 0 && bound != port) {
            throw new AssertionError("replica " + index + " listens on " + bound + ", not its port " + port);
        }
        port = bound;
        Await.until("replica " + index + " ready (/health/readiness 200)", START_TIMEOUT,
                () -> !p.isAlive() || readinessOrEmpty().map(r -> r.status() == 200).orElse(false));
        if (!p.isAlive()) {
            throw new AssertionError("replica " + index + " exited " + p.exitValue() + " after listening\n"
                    + describe());
        }
    }

    /** Whether its process runs. */
    public boolean running() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /** Its process id (the current run). */
    public long pid() {
        return process.pid();
    }

    /** Its port (0 before the first start). */
    public int port() {
        return port;
    }

    /** {@code http://127.0.0.1:PORT}. */
    public URI baseUri() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** How many times it was started. */
    public int runs() {
        return runs;
    }

    /**
     * Sends SIGTERM, as Kubernetes or systemd do on a stop: the proxy drains and exits. The handle's destroy, unlike
     * {@link Process#destroy()}, leaves our ends of its stdout and stderr open, so its last lines are still read.
     */
    public void sigterm() {
        Process p = process;
        if (p == null || !p.toHandle().destroy()) {
            throw new IllegalStateException("replica " + index + " cannot be sent SIGTERM (not running)");
        }
    }

    /**
     * Waits for the process to exit and its output to be read to the end; returns its exit code.
     *
     * @throws AssertionError with its output when it is still running after {@code within}
     */
    public int awaitExit(Duration within) {
        Process p = process;
        try {
            if (!p.waitFor(within.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("replica " + index + " still running " + within.toSeconds()
                        + " s after it was told to stop\n" + describe());
            }
            for (Thread t : pumps) {
                t.join(Duration.ofSeconds(5));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted waiting for replica " + index, e);
        }
        return p.exitValue();
    }

    /** Kills the process at once (SIGKILL) and waits for it: a crash, or the teardown of a test. */
    public void kill() {
        Process p = process;
        if (p == null) {
            return;
        }
        p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code GET /health/readiness} now: its status and JSON body. */
    public Readiness readiness() {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(baseUri().resolve("/health/readiness"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            return new Readiness(r.statusCode(), JSON.readTree(r.body()));
        } catch (IOException e) {
            throw new UncheckedIOException("replica " + index + ": /health/readiness failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private java.util.Optional<Readiness> readinessOrEmpty() {
        try {
            return java.util.Optional.of(readiness());
        } catch (UncheckedIOException e) {
            return java.util.Optional.empty();
        }
    }

    private void keep(String line) {
        synchronized (output) {
            output.addLast(line);
            if (output.size() > KEPT_LINES) {
                output.removeFirst();
            }
        }
    }

    /** Every line it printed on stderr in its current run (of the newest lines kept). */
    public List<String> stderr() {
        String tag = "[run " + runs + " err] ";
        synchronized (output) {
            return output.stream().filter(l -> l.startsWith(tag)).map(l -> l.substring(tag.length())).toList();
        }
    }

    /** Every kept line of any run (tagged with its run) that contains {@code text}: what it said of one request. */
    public List<String> linesWith(String text) {
        synchronized (output) {
            return output.stream().filter(l -> l.contains(text)).toList();
        }
    }

    /** Its state and its last lines of output, for assertion messages. */
    public String describe() {
        List<String> tail;
        synchronized (output) {
            tail = output.stream().skip(Math.max(0, output.size() - TAIL_LINES)).toList();
        }
        Process p = process;
        String state = p == null ? "never started" : p.isAlive() ? "running, pid " + p.pid()
                : "exited " + p.exitValue();
        return "replica " + index + " (port " + port + ", run " + runs + ", " + state + ", data " + dataDir
                + "), last output:\n  " + String.join("\n  ", tail);
    }

    @Override
    public String toString() {
        return "replica " + index + " (port " + port + ")";
    }

    private static Thread pump(BufferedReader reader, Consumer<String> sink, Runnable atEnd) {
        return Thread.ofVirtual().start(() -> {
            try (reader) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    sink.accept(line);
                }
            } catch (IOException ignored) {
                // the process ended
            } finally {
                atEnd.run();
            }
        });
    }

    /**
     * What {@code /health/readiness} answered.
     *
     * @param status the HTTP status (200 ready, 503 starting or draining)
     * @param body   its JSON: {@code status}, {@code state}, {@code inflight_requests}, {@code db} ({@code status}
     *               {@code connected}/{@code unreachable}, {@code backlog}, {@code journal_bytes}, {@code last_error})
     */
    public record Readiness(int status, JsonNode body) {

        /** {@code db.status}: {@code connected} or {@code unreachable}. */
        public String db() {
            return body.path("db").path("status").asText();
        }

        /** {@code db.backlog}: spend rows recorded and not yet in the database. */
        public long backlog() {
            return body.path("db").path("backlog").asLong(-1);
        }

        /** {@code db.journal_bytes}: bytes waiting in the replica's local journal. */
        public long journalBytes() {
            return body.path("db").path("journal_bytes").asLong(-1);
        }

        /** {@code inflight_requests}. */
        public int inflight() {
            return body.path("inflight_requests").asInt(-1);
        }
    }
}
