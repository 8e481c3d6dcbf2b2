package dev.easel.proxy.keys;

import dev.easel.EaselException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The request path's view of keys, teams and users: read from the {@link KeyStore} once, then served from memory,
 * so no request waits on the database for a key it has seen. An entry is dropped when {@link AuthChanges} says it
 * changed (Redis pub/sub reaches every replica at once), and everything is dropped when the store's
 * {@link KeyStore#version()} moves (polled every {@code poll}: a replica that missed a message, or a fleet without
 * Redis, catches up within that). Unknown tokens are remembered too (bounded), so a client retrying a wrong key
 * does not make a query per request.
 */
public final class KeyCache implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KeyCache.class);
    /** Unknown tokens remembered at most; past it the remembered ones are forgotten (a flood of random keys). */
    static final int MAX_UNKNOWN = 10_000;

    /**
     * A key with what it inherits.
     *
     * @param key  the key
     * @param team its team, when it has one (and it exists)
     * @param user its user, when it has one (and it exists)
     */
    public record Resolved(VirtualKey key, Optional<Team> team, Optional<User> user) {
    }

    private final KeyStore store;
    private final AuthChanges changes;
    private final Map<String, Optional<VirtualKey>> keys = new ConcurrentHashMap<>();
    private final Map<String, Optional<Team>> teams = new ConcurrentHashMap<>();
    private final Map<String, Optional<User>> users = new ConcurrentHashMap<>();
    private final AtomicLong unknown = new AtomicLong();
    /** Bumped by every invalidation: a read that began before one does not put what it read back. */
    private final AtomicLong generation = new AtomicLong();
    private final ScheduledExecutorService poller;
    private volatile long version = Long.MIN_VALUE;

    /**
     * A cache over {@code store} that listens to {@code changes} and polls the store's version every {@code poll}
     * (zero: no polling, for a single process whose writes all go through {@code changes}).
     */
    public KeyCache(KeyStore store, AuthChanges changes, Duration poll) {
        this.store = store;
        this.changes = changes;
        changes.subscribe(this::invalidate);
        if (poll.isZero()) {
            this.poller = null;
        } else {
            this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "easel-key-cache-poll");
                t.setDaemon(true);
                return t;
            });
            // the version entries cached from now on are compared with (read now, not at the first poll)
            poll();
            poller.scheduleWithFixedDelay(this::poll, poll.toMillis(), poll.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** The store it reads (the management endpoints write it). */
    public KeyStore store() {
        return store;
    }

    /**
     * The channel the management endpoints publish on: each message drops this replica's entry at once (the answer
     * to a block has not gone out before this replica refuses the key), then goes to every other replica.
     */
    public AuthChanges changes() {
        return new AuthChanges() {
            @Override
            public void publish(String message) {
                invalidate(message);
                changes.publish(message);
            }

            @Override
            public void subscribe(java.util.function.Consumer<String> listener) {
                throw new UnsupportedOperationException("the key cache is this channel's subscriber");
            }
        };
    }

    /** Reads the store's version; when it moved, drops everything. */
    void poll() {
        try {
            long v = store.version();
            if (v != version) { // the first version read too: what was cached before it may be stale
                invalidate("*");
            }
            version = v;
        } catch (SQLException | RuntimeException e) {
            LOG.debug("key store version not read: {}", e.toString()); // the next poll tries again
        }
    }

    /** Drops what a message of {@link AuthChanges} names. */
    public void invalidate(String message) {
        generation.incrementAndGet();
        if (message == null || message.equals("*")) {
            keys.clear();
            teams.clear();
            users.clear();
            unknown.set(0);
        } else if (message.startsWith("key:")) {
            keys.remove(message.substring(4));
        } else if (message.startsWith("team:")) {
            teams.remove(message.substring(5));
        } else if (message.startsWith("user:")) {
            users.remove(message.substring(5));
        } else {
            LOG.warn("unknown key-cache invalidation '{}'; dropping everything", message);
            invalidate("*");
        }
    }

    /**
     * The key whose SHA-256 is {@code token}, with its team and user; empty when there is no such key.
     *
     * @throws EaselException 503 {@code key_store_unavailable} when it is not cached and the store cannot be read
     */
    public Optional<Resolved> resolve(String token) {
        Optional<VirtualKey> key = cached(keys, token, () -> store.key(token));
        if (key.isEmpty()) {
            if (unknown.incrementAndGet() > MAX_UNKNOWN) {
                keys.values().removeIf(Optional::isEmpty);
                unknown.set(0);
            }
            return Optional.empty();
        }
        VirtualKey k = key.get();
        Optional<Team> team = k.teamId().flatMap(id -> cached(teams, id, () -> store.team(id)));
        Optional<User> user = k.userId().flatMap(id -> cached(users, id, () -> store.user(id)));
        return Optional.of(new Resolved(k, team, user));
    }

    private interface Read<T> {
        Optional<T> run() throws SQLException;
    }

    private <T> Optional<T> cached(Map<String, Optional<T>> map, String id, Read<T> read) {
        Optional<T> hit = map.get(id);
        if (hit != null) {
            return hit;
        }
        long gen = generation.get();
        Optional<T> fresh;
        try {
            fresh = read.run();
        } catch (SQLException | RuntimeException e) {
            throw new EaselException("the key store cannot be read (" + e.getMessage() + "); retry shortly", 503,
                    "api_error", "key_store_unavailable", null, null, null, e);
        }
        if (generation.get() == gen) {
            map.putIfAbsent(id, fresh);
            if (generation.get() != gen) { // invalidated while it was put: it may be stale
                map.remove(id, fresh);
            }
        }
        return fresh;
    }

    @Override
    public void close() {
        if (poller != null) {
            poller.shutdownNow();
        }
        changes.close();
    }
}
