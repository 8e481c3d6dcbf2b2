package dev.easel.cli.fleet;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import redis.embedded.RedisServer;

/**
 * The fleet's one Redis: a real server from the {@code com.github.codemonstur:embedded-redis} artifact on a fixed
 * port, without persistence, so {@link #stop()} then {@link #start()} is a Redis outage (it comes back empty, as a
 * restarted cache does).
 */
public final class FleetRedis implements AutoCloseable {

    private final Path dir;
    private final int port;
    private RedisServer server; // guarded by this

    private FleetRedis(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    /** Starts a new server on a free port; {@code dir} is its working directory. */
    static FleetRedis start(Path dir) {
        FleetRedis redis = new FleetRedis(dir, Ports.free());
        redis.start();
        return redis;
    }

    /** Starts the server again on the same port (no-op when it runs). */
    public synchronized void start() {
        if (server != null) {
            return;
        }
        try {
            Files.createDirectories(dir);
            RedisServer s = RedisServer.newRedisServer().bind("127.0.0.1").port(port)
                    .setting("save \"\"").setting("appendonly no").setting("dir " + dir.toAbsolutePath())
                    .build();
            s.start();
            server = s;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start Redis on port " + port, e);
        }
    }

    /** Stops the server; clients see their connections closed. No-op when stopped. */
    public synchronized void stop() {
        if (server == null) {
            return;
        }
        try {
            server.stop();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stop Redis on port " + port, e);
        } finally {
            server = null;
        }
    }

    /** Whether the server runs. */
    public synchronized boolean running() {
        return server != null && server.isActive();
    }

    /** The host the replicas get as {@code REDIS_HOST}. */
    public String host() {
        return "127.0.0.1";
    }

    /** The port, the same across restarts. */
    public int port() {
        return port;
    }

    /**
     * Sends one inline command and returns Redis's first reply line ({@code PING} gives {@code +PONG}), for a test
     * that checks the server itself without a Redis client library.
     */
    public String command(String inline) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write((inline + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder line = new StringBuilder();
            for (int b = in.read(); b != -1 && b != '\n'; b = in.read()) {
                if (b != '\r') {
                    line.append((char) b);
                }
            }
            return line.toString();
        } catch (IOException e) {
            throw new UncheckedIOException("Redis on port " + port + " did not answer '" + inline + "'", e);
        }
    }

    @Override
    public void close() {
        stop();
    }
}
