package dev.easel.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.net.ServerSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.embedded.RedisServer;

class RedisScriptTest {

    private static RedisServer server;
    private static RedisClient client;
    private static StatefulRedisConnection<String, String> connection;

    @BeforeAll
    static void start() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        server = new RedisServer(port);
        server.start();
        client = RedisClient.create("redis://127.0.0.1:" + port);
        connection = client.connect();
    }

    @AfterAll
    static void stop() throws Exception {
        connection.close();
        client.shutdown();
        server.stop();
    }

    @Test
    void aScriptTheServerHasNotSeenIsSentInFullOnceThenBySha() {
        RedisCommands<String, String> redis = connection.sync();
        redis.scriptFlush();
        RedisScript incr = RedisScript.of("incr.lua", "return redis.call('INCRBY', KEYS[1], ARGV[1])");
        assertThat(redis.scriptExists(incr.sha())).containsExactly(false);

        Long first = incr.run(redis, ScriptOutputType.INTEGER, new String[] {"easel:{t}:n"}, "2");

        assertThat(first).isEqualTo(2L);
        assertThat(redis.scriptExists(incr.sha())).containsExactly(true);
        Long second = incr.run(redis, ScriptOutputType.INTEGER, new String[] {"easel:{t}:n"}, "3");
        assertThat(second).isEqualTo(5L);
    }

    @Test
    void aScriptErrorIsThrownNamingRedisMessage() {
        RedisScript bad = RedisScript.of("bad.lua", "return redis.call('NOSUCHCOMMAND')");
        assertThatThrownBy(() -> bad.run(connection.sync(), ScriptOutputType.STATUS, new String[0]))
                .isInstanceOf(RedisException.class);
    }

    @Test
    void aMissingResourceIsNamed() {
        assertThatThrownBy(() -> RedisScript.resource(RedisScriptTest.class, "nope.lua"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("nope.lua");
    }
}
