package dev.easel.proxy.keys;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.config.ConfigLoader;
import dev.easel.config.RouterSettings;
import dev.easel.redis.RedisLink;
import dev.easel.testkit.Await;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.embedded.RedisServer;

/** The proxy's {@link AuthChanges} from {@code router_settings}: Redis pub/sub across three replicas, or local. */
class RedisAuthChangesTest {

    private RedisServer redis;
    private int port;
    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        redis = RedisServer.newRedisServer().bind("127.0.0.1").port(port).setting("save \"\"").build();
        redis.start();
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
        redis.stop();
    }

    private static RouterSettings settings(String routerSettings) {
        return ConfigLoader.parse("model_list: []\nrouter_settings:\n" + routerSettings, Map.of(), "test.yaml")
                .routerSettings();
    }

    private <T extends AutoCloseable> T keep(T c) {
        open.add(c);
        return c;
    }

    @Test
    void threeReplicas_onTheConfiguredRedis_eachHearEveryChange_onThePrefixedChannel() {
        RouterSettings rs = settings("  redis_host: 127.0.0.1\n  redis_port: " + port + "\n  redis_key_prefix: \"t15:\"\n");
        List<List<String>> seen = new ArrayList<>();
        List<AuthChanges> replicas = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            RedisLink link = keep(RedisLink.open(RedisLink.uri(rs).orElseThrow(), Clock.systemUTC()));
            AuthChanges changes = keep(RedisAuthChanges.forSettings(rs, Optional.of(link)));
            List<String> got = new CopyOnWriteArrayList<>();
            changes.subscribe(got::add);
            seen.add(got);
            replicas.add(changes);
        }

        replicas.get(1).publish("key:0123abcd");
        for (int i = 0; i < 3; i++) {
            List<String> got = seen.get(i);
            Await.until("replica " + i + " hears key:0123abcd", Duration.ofSeconds(1),
                    () -> got.contains("key:0123abcd"));
        }

        // the channel is <redis_key_prefix>auth:changes: what another tool publishing there reaches
        try (RedisLink raw = RedisLink.open(RedisLink.uri(rs).orElseThrow(), Clock.systemUTC())) {
            raw.commands().publish("t15:auth:changes", "team:design");
        }
        for (int i = 0; i < 3; i++) {
            List<String> got = seen.get(i);
            Await.until("replica " + i + " hears team:design", Duration.ofSeconds(1), () -> got.contains("team:design"));
        }
        assertThat(seen).allSatisfy(got -> assertThat(got).containsExactly("key:0123abcd", "team:design"));
    }

    @Test
    void withoutRedis_changesStayInThisProcess() {
        RouterSettings rs = settings("  routing_strategy: simple-shuffle\n");
        AuthChanges changes = keep(RedisAuthChanges.forSettings(rs, Optional.empty()));
        List<String> got = new CopyOnWriteArrayList<>();
        changes.subscribe(got::add);
        changes.publish("user:u1");
        assertThat(got).containsExactly("user:u1");
        assertThat(changes).isNotInstanceOf(RedisAuthChanges.class);
    }
}
