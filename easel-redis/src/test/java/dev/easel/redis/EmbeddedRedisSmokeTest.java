package dev.easel.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;
import redis.embedded.RedisServer;

/** The build can start a real Redis from a Maven artifact and Lettuce talks to it. */
class EmbeddedRedisSmokeTest {

    @Test
    void aRedisStartedFromMavenAnswersLettuce() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        RedisServer server = new RedisServer(port);
        server.start();
        RedisClient client = RedisClient.create("redis://127.0.0.1:" + port);
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            assertThat(c.sync().ping()).isEqualTo("PONG");
        } finally {
            client.shutdown();
            server.stop();
        }
    }
}
