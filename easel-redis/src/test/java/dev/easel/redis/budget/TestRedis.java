package dev.easel.redis.budget;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import redis.embedded.RedisServer;

/**
 * A real Redis (from the embedded-redis artifact) on a free port, and Lettuce connections to it configured as a
 * proxy should: a short command time-out and commands rejected while disconnected, so an outage fails fast.
 */
final class TestRedis implements AutoCloseable {

    final int port;
    private RedisServer server;
    private final RedisClient client;
    private final List<StatefulRedisConnection<String, String>> connections = new ArrayList<>();

    TestRedis() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        start();
        client = RedisClient.create(RedisURI.builder().withHost("127.0.0.1").withPort(port)
                .withTimeout(Duration.ofSeconds(2)).build());
        client.setOptions(ClientOptions.builder()
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(2))).build());
    }

    /** Starts (or restarts, on the same port) the server. */
    void start() {
        try {
            // no snapshot on shutdown: a restart comes back empty, as a Redis without persistence does
            server = RedisServer.newRedisServer().bind("127.0.0.1").port(port).setting("save \"\"")
                    .setting("appendonly no").build();
            server.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops the server; connections stay and reconnect once it is started again. */
    void stop() {
        try {
            server.stop();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A new connection: one per "replica". */
    StatefulRedisConnection<String, String> connect() {
        StatefulRedisConnection<String, String> c = client.connect();
        connections.add(c);
        return c;
    }

    @Override
    public void close() throws IOException {
        connections.forEach(StatefulRedisConnection::close);
        client.shutdown();
        if (server != null && server.isActive()) {
            server.stop();
        }
    }
}
