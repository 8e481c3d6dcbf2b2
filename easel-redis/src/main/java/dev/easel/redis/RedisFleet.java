package dev.easel.redis;

import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The replicas sharing one Redis (under one key prefix): each heartbeats its id into a sorted set at every probe of
 * its {@link RedisLink}, and a replica seen within the last three heartbeats counts as live. The count is what the
 * fallback divides rate limits by while Redis is down; the last count seen is kept then (it cannot be asked).
 */
public final class RedisFleet implements AutoCloseable {

    /** Heartbeats a replica may miss before it no longer counts. */
    static final int LIVE_HEARTBEATS = 3;

    private static final RedisScript HEARTBEAT = RedisScript.resource(RedisFleet.class, "heartbeat.lua");

    private final RedisLink link;
    private final String key;
    private final String replicaId;
    private final Clock clock;
    private volatile int replicas = 1;
    private volatile boolean closed;

    private RedisFleet(RedisLink link, String keyPrefix, Clock clock) {
        this.link = link;
        this.key = keyPrefix + "fleet";
        this.replicaId = newId();
        this.clock = clock;
    }

    /**
     * Joins the fleet of {@code keyPrefix} on {@code link}: heartbeats at each probe from now on (the first one at
     * once, when Redis answers). Until a heartbeat has been answered the count is 1.
     */
    public static RedisFleet join(RedisLink link, String keyPrefix, Clock clock) {
        RedisFleet fleet = new RedisFleet(Objects.requireNonNull(link, "link"),
                Objects.requireNonNull(keyPrefix, "keyPrefix"), Objects.requireNonNull(clock, "clock"));
        link.onProbe(fleet::beat);
        if (link.up()) {
            try {
                fleet.beat(link.commands());
            } catch (RedisException e) {
                link.markDown(e);
            }
        }
        return fleet;
    }

    /** A random id: unique across replicas (64 random bits). */
    static String newId() {
        byte[] b = new byte[8];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private void beat(RedisCommands<String, String> redis) {
        if (closed) {
            return;
        }
        long now = clock.millis();
        long horizon = now - LIVE_HEARTBEATS * link.probeInterval().toMillis();
        Long live = HEARTBEAT.run(redis, ScriptOutputType.INTEGER, new String[] {key}, Long.toString(now),
                replicaId, Long.toString(horizon), Long.toString(ttl().toMillis()));
        replicas = (int) Math.max(1, live);
    }

    private Duration ttl() {
        return link.probeInterval().multipliedBy(LIVE_HEARTBEATS * 2L);
    }

    /** This replica's id in the fleet. */
    public String replicaId() {
        return replicaId;
    }

    /** Replicas seen live at the last heartbeat this one made (this one included; at least 1). */
    public int replicas() {
        return replicas;
    }

    /** Leaves the fleet: the others stop counting this replica at their next heartbeat, not three later. */
    @Override
    public void close() {
        closed = true;
        if (link.up()) {
            try {
                link.commands().zrem(key, replicaId);
            } catch (RedisException e) {
                // the entry ages out by itself
            }
        }
    }
}
