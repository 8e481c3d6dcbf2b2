package dev.easel.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.easel.testkit.Await;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Three replicas, each with its own link and subscription, on one real Redis that is stopped and started again. */
class RedisChannelTest {

    private static final String CHANNEL = "t:auth:changes";
    /** What the brief asks of an invalidation: every replica has it within a second. */
    private static final Duration WITHIN = Duration.ofSeconds(1);
    /**
     * What a publish may cost while Redis is down: the link's command time-out (500 ms) is the most; a stopped Redis
     * (connection refused, the link knows it is lost) fails at once. A margin on top for a loaded machine.
     */
    private static final Duration PUBLISH_BOUND = RedisLink.DEFAULT_COMMAND_TIMEOUT.plusMillis(250);

    private TestRedis redis;
    private final List<Replica> replicas = new ArrayList<>();

    private static final class Replica implements AutoCloseable {
        final RedisLink link;
        final RedisChannel channel;
        final List<String> seen = new CopyOnWriteArrayList<>();

        Replica(TestRedis redis) {
            link = RedisLink.open(redis.uri(), Clock.systemUTC());
            channel = RedisChannel.open(link, CHANNEL);
            channel.subscribe(seen::add);
        }

        @Override
        public void close() {
            channel.close();
            link.close();
        }
    }

    @BeforeEach
    void start() {
        redis = TestRedis.start();
        for (int i = 0; i < 3; i++) {
            replicas.add(new Replica(redis));
        }
    }

    @AfterEach
    void stop() {
        replicas.forEach(Replica::close);
        redis.close();
    }

    private void awaitAll(String what, String message, Duration timeout) {
        for (int i = 0; i < replicas.size(); i++) {
            Replica r = replicas.get(i);
            Await.until("replica " + i + " " + what + " '" + message + "' (seen " + r.seen + ")", timeout,
                    () -> r.seen.contains(message));
        }
    }

    @Test
    void publish_fromAnyReplica_reachesEverySubscriber_withinASecond() {
        assertThat(replicas).allSatisfy(r -> assertThat(r.channel.subscribed()).isTrue());

        replicas.get(0).channel.publish("key:abc");
        awaitAll("receives", "key:abc", WITHIN);
        replicas.get(2).channel.publish("team:design");
        awaitAll("receives", "team:design", WITHIN);

        // no gap at start: nobody was told to drop everything, and each message came once
        assertThat(replicas).allSatisfy(r -> assertThat(r.seen).containsExactly("key:abc", "team:design"));
    }

    @Test
    void redisRestart_everySubscriberReceivesStar_thenMessagesFlowAgain() {
        redis.down();
        for (int i = 0; i < replicas.size(); i++) {
            Replica r = replicas.get(i);
            Await.until("replica " + i + " sees its subscription lost", () -> !r.channel.subscribed());
        }
        redis.up(); // empty: a Redis without persistence, every subscription gone with it

        awaitAll("is told to drop everything:", RedisChannel.RESUBSCRIBED, Await.DEFAULT_TIMEOUT);
        assertThat(replicas).allSatisfy(r -> assertThat(r.channel.subscribed()).isTrue());
        replicas.get(1).channel.publish("user:u1");
        awaitAll("receives after the restart", "user:u1", WITHIN);
    }

    @Test
    void publish_whileRedisIsDown_neitherThrowsNorBlocks_andThisReplicaStillHearsIt() {
        Replica publisher = replicas.get(0);
        redis.down();
        Await.until("the link sees Redis down", () -> !publisher.link.up());

        for (int i = 0; i < 20; i++) {
            String m = "key:down-" + i;
            long t0 = System.nanoTime();
            assertThatCode(() -> publisher.channel.publish(m)).doesNotThrowAnyException();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("publish %d while Redis is down", i)
                    .isLessThan(PUBLISH_BOUND);
            assertThat(publisher.seen).as("the publisher's own listener").contains(m);
        }
        assertThat(replicas.get(1).seen).as("another replica cannot hear it").noneMatch(m -> m.startsWith("key:down"));
    }

    @Test
    void subscribe_whileRedisIsDown_isMadeWhenItComesUp_andSaysStar() {
        redis.down();
        Await.until("every link sees Redis down", () -> replicas.stream().noneMatch(r -> r.link.up()));
        try (Replica late = new Replica(redis)) {
            assertThat(late.channel.subscribed()).isFalse();
            redis.up();
            Await.until("the late subscriber is told to drop everything (seen " + late.seen + ")",
                    () -> late.seen.contains(RedisChannel.RESUBSCRIBED));
            Await.until("the late subscription is up", late.channel::subscribed);
            replicas.get(0).channel.publish("key:late");
            Await.until("the late subscriber receives a message", WITHIN, () -> late.seen.contains("key:late"));
        }
    }

    @Test
    void aThrowingListener_doesNotStopDelivery() {
        Replica r = replicas.get(1);
        List<String> after = new CopyOnWriteArrayList<>();
        r.channel.subscribe(m -> {
            after.add(m);
            throw new IllegalStateException("listener bug");
        });
        replicas.get(0).channel.publish("key:1");
        replicas.get(0).channel.publish("key:2");
        Await.until("both messages reach the throwing listener", WITHIN, () -> after.size() == 2);
        assertThat(after).containsExactly("key:1", "key:2");
    }
}
