package dev.easel.redis;

import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.net.SocketAddress;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Redis pub/sub channel every replica of a fleet publishes to and listens on, through the Redis of a
 * {@link RedisLink}: the invalidations of caches that each replica keeps (keys, teams, users).
 *
 * <p>Pub/sub delivers a message only to subscribers connected at that moment. A subscriber that was disconnected
 * (Redis restarted, the network dropped) may have missed messages, so when its subscription is confirmed again it
 * receives {@link #RESUBSCRIBED} ({@code *}): drop everything cached. The same happens when the first subscription
 * could not be made at {@link #subscribe} (Redis down at start) and succeeds later, at a probe of the link.
 *
 * <p>{@link #publish} never throws and never waits longer than the link's command time-out
 * ({@link RedisLink#DEFAULT_COMMAND_TIMEOUT}, 500 ms; at once when the connection is known lost). When it cannot
 * reach Redis it logs one line per outage and hands the message to this process's listener directly, so this
 * replica is never behind its own changes; the others rely on their own periodic check (for keys, the store's
 * version poll).
 *
 * <pre>{@code
 * RedisChannel changes = RedisChannel.open(link, "easel:auth:changes");
 * changes.subscribe(message -> cache.invalidate(message));   // on Lettuce's I/O thread: keep it short
 * changes.publish("key:" + tokenHash);                       // every replica's listener, this one's included
 * }</pre>
 */
public final class RedisChannel implements AutoCloseable {

    /** What a subscriber receives after a gap in its subscription: it may have missed messages. */
    public static final String RESUBSCRIBED = "*";

    private static final Logger LOG = LoggerFactory.getLogger(RedisChannel.class);

    private final RedisLink link;
    private final String name;
    /** Set after a publish failed and logged; cleared by the next publish that succeeds (one line per outage). */
    private final AtomicBoolean publishWarned = new AtomicBoolean();
    private final Object connecting = new Object();
    private volatile Consumer<String> listener;
    private volatile StatefulRedisPubSubConnection<String, String> connection;
    /** The subscription has had a gap (lost connection, or not made at subscribe): the next confirmation says *. */
    private volatile boolean gap;
    private volatile boolean closed;

    private final RedisPubSubAdapter<String, String> messages = new RedisPubSubAdapter<>() {
        @Override
        public void message(String channel, String message) {
            if (name.equals(channel)) {
                deliver(message);
            }
        }

        @Override
        public void subscribed(String channel, long count) {
            // Lettuce subscribes again by itself after a reconnect; this confirmation ends the gap
            if (name.equals(channel) && gap) {
                gap = false;
                LOG.info("subscribed again to {} on {}: every cached entry is dropped (messages may have been "
                        + "missed)", name, link.description());
                deliver(RESUBSCRIBED);
            }
        }
    };

    private final RedisConnectionStateListener states = new RedisConnectionStateListener() {
        @Override
        public void onRedisDisconnected(RedisChannelHandler<?, ?> c) {
            if (!closed) {
                gap = true;
            }
        }

        @Override
        public void onRedisConnected(RedisChannelHandler<?, ?> c, SocketAddress address) {
            // nothing: the subscription is confirmed by the SUBSCRIBE answer Lettuce sends after it
        }
    };

    private RedisChannel(RedisLink link, String name) {
        this.link = link;
        this.name = name;
    }

    /**
     * The channel {@code name} on {@code link}'s Redis. Nothing is connected until {@link #subscribe}; a subscription
     * that cannot be made then is tried again at each probe of the link.
     */
    public static RedisChannel open(RedisLink link, String name) {
        Objects.requireNonNull(link, "link");
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("channel name must not be blank");
        }
        RedisChannel channel = new RedisChannel(link, name);
        link.onProbe(redis -> channel.connectIfNeeded());
        return channel;
    }

    /** The channel's name in Redis. */
    public String name() {
        return name;
    }

    /**
     * Sends {@code message} to every subscriber of the channel, on every replica. Never throws: when Redis cannot be
     * reached the message goes to this process's listener only, and one warning per outage is logged.
     */
    public void publish(String message) {
        Objects.requireNonNull(message, "message");
        if (closed) {
            return;
        }
        try {
            link.commands().publish(name, message);
            if (publishWarned.compareAndSet(true, false)) {
                LOG.info("publishing to {} on {} works again", name, link.description());
            }
        } catch (RuntimeException e) {
            if (publishWarned.compareAndSet(false, true)) {
                LOG.warn("cannot publish to {} on {} ({}): other replicas see changes at their next poll until "
                        + "Redis answers", name, link.description(), e.getMessage());
            }
            if (link.up()) {
                link.markDown(e);
            }
            deliver(message); // our own subscription cannot bring it back through Redis either
        }
    }

    /**
     * Calls {@code listener} with every message published on the channel (one listener: a second call replaces the
     * first), and with {@link #RESUBSCRIBED} after a gap in the subscription. It runs on Lettuce's I/O thread (or the
     * publisher's, when Redis is down): keep it short; what it throws is logged and dropped.
     */
    public void subscribe(Consumer<String> listener) {
        this.listener = Objects.requireNonNull(listener, "listener");
        connectIfNeeded();
    }

    /** Whether the subscription is connected now (for health and tests). */
    public boolean subscribed() {
        StatefulRedisPubSubConnection<String, String> c = connection;
        return c != null && c.isOpen() && !gap;
    }

    private void deliver(String message) {
        Consumer<String> l = listener;
        if (l == null) {
            return;
        }
        try {
            l.accept(message);
        } catch (RuntimeException e) {
            LOG.warn("listener of {} failed on '{}': {}", name, message, e.toString());
        }
    }

    /** Makes the subscription if there is a listener and no connection yet; a failure leaves a gap to report. */
    private void connectIfNeeded() {
        if (closed || listener == null || connection != null) {
            return;
        }
        synchronized (connecting) {
            if (closed || connection != null) {
                return;
            }
            StatefulRedisPubSubConnection<String, String> c = null;
            try {
                c = link.connectPubSub();
                c.addListener(messages);
                c.addListener(states);
                c.sync().subscribe(name);
                connection = c;
            } catch (RuntimeException e) {
                gap = true; // whatever was published meanwhile is missed
                if (c != null) {
                    c.closeAsync();
                }
                LOG.debug("cannot subscribe to {} on {} yet: {}", name, link.description(), e.toString());
            }
        }
    }

    /** Unsubscribes and closes the pub/sub connection; the link stays open (it is the caller's). */
    @Override
    public void close() {
        synchronized (connecting) {
            if (closed) {
                return;
            }
            closed = true;
        }
        StatefulRedisPubSubConnection<String, String> c = connection;
        if (c != null) {
            c.removeListener(messages);
            c.removeListener(states);
            try {
                c.closeAsync().get(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                LOG.debug("closing the subscription to {}: {}", name, e.toString());
            }
        }
    }

    @Override
    public String toString() {
        return "RedisChannel[" + name + " on " + link.description() + (subscribed() ? ", subscribed" : "") + "]";
    }
}
