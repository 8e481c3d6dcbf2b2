package dev.easel.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real S3-compatible server for tests: <a href="https://github.com/gaul/s3proxy">s3proxy</a> with its in-memory
 * backend, checking AWS signatures (V2 and V4, presigned URLs and their expiry included) against one access key. It
 * runs in a JVM of its own, started from the classpath the build wrote to {@code s3proxy.classpath}, because its
 * Jetty 11 cannot share a classpath with the proxy's Jetty 12.
 *
 * <pre>{@code
 * try (S3ProxyServer s3 = S3ProxyServer.start()) {
 *     URI endpoint = s3.endpoint();   // path-style, region us-east-1, keys ACCESS_KEY / SECRET_KEY
 * }
 * }</pre>
 *
 * Buckets are made through the S3 API ({@code CreateBucket}); nothing survives {@link #close()}. {@link #stop()} and
 * {@link #restart()} stand for an endpoint that goes down and comes back (empty: the backend is in memory).
 */
public final class S3ProxyServer implements AutoCloseable {

    /** The access key id the server accepts. */
    public static final String ACCESS_KEY = "easel-test-access";
    /** Its secret key. */
    public static final String SECRET_KEY = "easel-test-secret-key";

    private static final String CLASSPATH_RESOURCE = "s3proxy.classpath";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final Path dir;
    private final int port;
    private Process process;

    private S3ProxyServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    /** Starts a server on a free loopback port and returns once it answers. */
    public static S3ProxyServer start() {
        Path dir;
        try {
            dir = Files.createTempDirectory("easel-s3proxy-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        IllegalStateException failure = null;
        // the port is picked before the process binds it: another process may take it in between, so try again
        for (int i = 0; i < 3; i++) {
            S3ProxyServer s = new S3ProxyServer(dir, freePort());
            try {
                s.launch();
                return s;
            } catch (IllegalStateException e) {
                s.kill();
                failure = e;
            }
        }
        deleteTree(dir);
        throw failure;
    }

    /** The endpoint to give the S3 client (path-style addressing). */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** The port it listens on. */
    public int port() {
        return port;
    }

    /** Stops the server process: the endpoint refuses connections until {@link #restart()}. */
    public void stop() {
        kill();
    }

    /** Starts the server again on the same port, with no buckets (the backend was in memory). */
    public void restart() {
        kill();
        launch();
    }

    @Override
    public void close() {
        kill();
        deleteTree(dir);
    }

    private void launch() {
        Path conf = dir.resolve("s3proxy-" + port + ".conf");
        Path logback = dir.resolve("logback.xml");
        Path log = dir.resolve("s3proxy-" + port + ".log");
        try {
            Files.writeString(conf, String.join("\n",
                    "s3proxy.endpoint=http://127.0.0.1:" + port,
                    "s3proxy.authorization=aws-v2-or-v4",
                    "s3proxy.identity=" + ACCESS_KEY,
                    "s3proxy.credential=" + SECRET_KEY,
                    "jclouds.provider=transient",
                    "jclouds.identity=unused",
                    "jclouds.credential=unused", ""));
            // s3proxy logs every request at DEBUG without a configuration of its own
            Files.writeString(logback, """
                    <configuration>
                      <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
                        <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n</pattern></encoder>
                      </appender>
                      <root level="WARN"><appender-ref ref="OUT"/></root>
                    </configuration>
                    """);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> command = new ArrayList<>(List.of(java(), "-Xmx256m", "-XX:TieredStopAtLevel=1",
                "-Dlogback.configurationFile=" + logback, "-cp", classpath(), "org.gaul.s3proxy.Main",
                "--properties", conf.toString()));
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("could not start s3proxy", e);
        }
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!answers()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("s3proxy did not start on port " + port + " (exit "
                        + (process.isAlive() ? "none" : process.exitValue()) + "); its output:\n" + tail(log));
            }
            try {
                // nothing to wait on but the port: the child process tells nothing else when it is up
                process.waitFor(50, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while s3proxy started", e);
            }
        }
    }

    /** Whether the server accepts a connection and answers HTTP. */
    private boolean answers() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            s.setSoTimeout(2000);
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            byte[] head = s.getInputStream().readNBytes(8);
            return new String(head, StandardCharsets.US_ASCII).startsWith("HTTP/1.1");
        } catch (IOException e) {
            return false;
        }
    }

    private void kill() {
        Process p = process;
        process = null;
        if (p == null) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** The java launcher of the JVM running the tests (the build picked a JDK >= 21 for it). */
    private static String java() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    private static String classpath() {
        try (InputStream in = S3ProxyServer.class.getResourceAsStream(CLASSPATH_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(CLASSPATH_RESOURCE + " is missing from the testkit: the build writes "
                        + "it (maven-dependency-plugin build-classpath in easel-testkit/pom.xml)");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // a temp directory left behind is harmless
        }
    }
}
