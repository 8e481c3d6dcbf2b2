package dev.easel.redis;

import io.lettuce.core.RedisURI;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import redis.embedded.RedisServer;

/** A real Redis for a test class, started from the Maven artifact on a free port; can be stopped and restarted. */
final class TestRedis implements AutoCloseable {

    private final int port;
    private RedisServer server;

    private TestRedis(int port) {
        this.port = port;
    }

    static TestRedis start() {
        TestRedis r = new TestRedis(freePort());
        r.up();
        return r;
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts (again) on the same port. */
    void up() {
        try {
            server = new RedisServer(port);
            server.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops the server: every connection to it drops. */
    void down() {
        try {
            server.stop();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    RedisURI uri() {
        return RedisURI.create("redis://127.0.0.1:" + port);
    }

    @Override
    public void close() {
        down();
    }
}
