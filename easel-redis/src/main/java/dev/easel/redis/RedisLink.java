package dev.easel.redis;

import dev.easel.config.RouterSettings;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to the Redis a fleet of proxies shares, and whether it answers. Lettuce reconnects by itself once
 * connected; a Redis that is down when the link opens is tried again at every probe, so a proxy starts without it
 * and uses it once it comes up. Every command has a short time-out ({@link #DEFAULT_COMMAND_TIMEOUT}): the router
 * asks Redis before each upstream call and must not stall a request on a Redis that does not answer.
 *
 * <p>The link probes Redis every {@link #probeInterval()} (the beats registered with {@link #onProbe}, or a
 * {@code PING}) and logs one line per change of state: {@code redis up (redis://host:6379/0)},
 * {@code redis unavailable: <reason>}, {@code redis back after <duration>}. Callers that see a command fail report
 * it with {@link #markDown}, so everyone stops asking until a probe succeeds again. The password never appears in a
 * log line or in {@link #toString()}.
 *
 * <pre>{@code
 * try (RedisLink link = RedisLink.open(RedisLink.uri(config.routerSettings()).orElseThrow(), Clock.systemUTC())) {
 *     if (link.up()) {
 *         link.commands().ping();
 *     }
 * }
 * }</pre>
 */
public final class RedisLink implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RedisLink.class);

    /**
     * A command's time-out. A healthy Redis answers in well under a millisecond, even across zones; 500 ms is far
     * beyond that and still short next to an image edit (seconds), so a dead Redis costs a request at most half a
     * second before the fallback answers, and only once: the failure marks the link down for every caller.
     * LiteLLM has no router key for it, so it is not configurable.
     */
    public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofMillis(500);
    /** How often the link probes Redis (and the fleet heartbeats). */
    public static final Duration DEFAULT_PROBE_INTERVAL = Duration.ofSeconds(1);

    /** Whether Redis answers, as the link last saw it. */
    public enum State {
        /** Not tried yet. */
        UNKNOWN,
        /** The last command or probe succeeded. */
        UP,
        /** The last command or probe failed; commands are not tried until a probe succeeds. */
        DOWN
    }

    private final RedisURI uri;
    private final String description;
    private final Clock clock;
    private final Duration probeInterval;
    private final ClientResources resources;
    private final RedisClient client;
    private final ScheduledExecutorService prober;
    private final List<Consumer<RedisCommands<String, String>>> beats = new CopyOnWriteArrayList<>();
    private final AtomicLong outages = new AtomicLong();
    /**
     * Held while connecting, never the monitor of this link: Lettuce's event-loop threads report state changes
     * ({@link #markDown}) while a connect waits for them.
     */
    private final Object connecting = new Object();
    private volatile StatefulRedisConnection<String, String> connection;
    private volatile State state = State.UNKNOWN;
    private volatile Instant downSince;
    private volatile String lastError;
    private volatile boolean closed;

    private RedisLink(RedisURI uri, Duration commandTimeout, Duration probeInterval, Clock clock) {
        this.uri = uri;
        this.clock = clock;
        this.probeInterval = probeInterval;
        this.description = describe(uri);
        uri.setTimeout(commandTimeout);
        // reconnect quickly (Lettuce's default backs off to 30 s): the fallback serves in the meantime
        this.resources = DefaultClientResources.builder()
                .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
                .build();
        this.client = RedisClient.create(resources, uri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                // a command while disconnected fails at once instead of waiting in a queue for its time-out
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(commandTimeout))
                .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(1)).keepAlive(true).build())
                .build());
        client.addListener(new RedisConnectionStateListener() {
            @Override
            public void onRedisConnected(RedisChannelHandler<?, ?> c, SocketAddress address) {
                try {
                    // the client's other connections (a RedisChannel's pub/sub) report here too: only ours counts
                    if (!closed && c == connection) {
                        prober.execute(RedisLink.this::probe); // reconnected: confirm with a probe, beats included
                    }
                } catch (java.util.concurrent.RejectedExecutionException closing) {
                    // closed meanwhile: nothing to confirm
                }
            }

            @Override
            public void onRedisDisconnected(RedisChannelHandler<?, ?> c) {
                if (!closed && c == connection) {
                    markDown("connection lost");
                }
            }
        });
        this.prober = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "easel-redis-probe");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Opens a link with the default time-out and probe interval. Returns at once whether Redis answers or not:
     * the first connection attempt runs before this returns, later ones at each probe.
     */
    public static RedisLink open(RedisURI uri, Clock clock) {
        return open(uri, DEFAULT_COMMAND_TIMEOUT, DEFAULT_PROBE_INTERVAL, clock);
    }

    /** Opens a link; {@code clock} times the outages it logs. */
    public static RedisLink open(RedisURI uri, Duration commandTimeout, Duration probeInterval, Clock clock) {
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(clock, "clock");
        if (commandTimeout.isNegative() || commandTimeout.isZero() || probeInterval.isNegative()
                || probeInterval.isZero()) {
            throw new IllegalArgumentException("commandTimeout and probeInterval must be positive (were "
                    + commandTimeout + ", " + probeInterval + ")");
        }
        RedisLink link = new RedisLink(RedisURI.builder(uri).build(), commandTimeout, probeInterval, clock);
        link.probe();
        link.prober.scheduleWithFixedDelay(link::probe, probeInterval.toMillis(), probeInterval.toMillis(),
                TimeUnit.MILLISECONDS);
        return link;
    }

    /**
     * The Redis of {@code router_settings}: {@code redis_url} when set (it wins, as in LiteLLM), else
     * {@code redis_host} with {@code redis_port} (default 6379) and {@code redis_password}; empty when neither is
     * set.
     */
    public static Optional<RedisURI> uri(RouterSettings settings) {
        if (settings.redisUrl().isPresent()) {
            return Optional.of(RedisURI.create(settings.redisUrl().get().strip()));
        }
        if (settings.redisHost().isEmpty()) {
            return Optional.empty();
        }
        RedisURI.Builder b = RedisURI.builder().withHost(settings.redisHost().get().strip())
                .withPort(settings.redisPort().orElse(RedisURI.DEFAULT_REDIS_PORT));
        settings.redisPassword().ifPresent(p -> b.withPassword(p.toCharArray()));
        return Optional.of(b.build());
    }

    /** {@code redis://host:port/db} ({@code rediss://} with TLS): where it points, without credentials. */
    static String describe(RedisURI uri) {
        return (uri.isSsl() ? "rediss" : "redis") + "://" + uri.getHost() + ":" + uri.getPort() + "/"
                + uri.getDatabase();
    }

    /**
     * The commands of the shared connection (thread-safe; Lettuce pipelines concurrent callers). Throws Lettuce's
     * {@link RedisConnectionException} when there is no connection yet; a command on a dead Redis throws a
     * {@code RedisException} within the time-out.
     */
    public RedisCommands<String, String> commands() {
        StatefulRedisConnection<String, String> c = connection;
        if (c == null) {
            throw new RedisConnectionException("not connected to " + description
                    + Optional.ofNullable(lastError).map(e -> " (" + e + ")").orElse(""));
        }
        return c.sync();
    }

    /** Whether Redis answered the last command or probe: callers use it only then. */
    public boolean up() {
        return state == State.UP;
    }

    /** Where the link points: {@code redis://host:port/db}, never with credentials. */
    public String description() {
        return description;
    }

    /** The state as last seen. */
    public State state() {
        return state;
    }

    /** Since when Redis has not answered, while it does not. */
    public Optional<Instant> downSince() {
        return state == State.DOWN ? Optional.ofNullable(downSince) : Optional.empty();
    }

    /** The reason of the last failure, while Redis does not answer. */
    public Optional<String> lastError() {
        return state == State.DOWN ? Optional.ofNullable(lastError) : Optional.empty();
    }

    /** Times Redis has become unavailable since the link opened (an unreachable start counts as one). */
    public long outages() {
        return outages.get();
    }

    /** How often the link probes Redis. */
    public Duration probeInterval() {
        return probeInterval;
    }

    /**
     * Runs {@code beat} at every probe while connected (a fleet heartbeat); its success marks the link up, a
     * {@code RuntimeException} from it down.
     */
    public void onProbe(Consumer<RedisCommands<String, String>> beat) {
        beats.add(Objects.requireNonNull(beat, "beat"));
    }

    /** Reports a failed command: the link is down until a probe succeeds. */
    public void markDown(Throwable failure) {
        markDown(reason(failure));
    }

    private static String reason(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
        String top = t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
        return root == t || top.contains(m) ? top : top + ": " + m;
    }

    private synchronized void markDown(String why) {
        lastError = why;
        if (state == State.DOWN || closed) {
            return;
        }
        state = State.DOWN;
        downSince = clock.instant();
        outages.incrementAndGet();
        LOG.warn("redis unavailable: {} ({})", why, description);
    }

    private synchronized void markUp() {
        if (state == State.UP || closed) {
            return;
        }
        State before = state;
        state = State.UP;
        if (before == State.DOWN && downSince != null) {
            LOG.warn("redis back after {} ({})", human(Duration.between(downSince, clock.instant())), description);
        } else {
            LOG.info("redis up ({})", description);
        }
        downSince = null;
        lastError = null;
    }

    /** {@code 1.2 s}, {@code 340 ms}, {@code 2 min 5 s}. */
    static String human(Duration d) {
        long ms = Math.max(0, d.toMillis());
        if (ms < 1000) {
            return ms + " ms";
        }
        if (ms < 60_000) {
            return String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
        }
        return (ms / 60_000) + " min " + (ms % 60_000) / 1000 + " s";
    }

    /** Connects if need be, then runs the beats (or a PING): one look at whether Redis answers. */
    private void probe() {
        if (closed) {
            return;
        }
        try {
            StatefulRedisConnection<String, String> c = connection;
            if (c == null) {
                synchronized (connecting) {
                    if (connection == null && !closed) {
                        connection = client.connect();
                        if (closed) { // closed while connecting: close() did not see this connection
                            connection.close();
                            return;
                        }
                    }
                    c = connection;
                }
                if (c == null) {
                    return;
                }
            }
            RedisCommands<String, String> sync = c.sync();
            if (beats.isEmpty()) {
                sync.ping();
            }
            for (Consumer<RedisCommands<String, String>> beat : beats) {
                beat.accept(sync);
            }
            markUp();
        } catch (RuntimeException e) {
            markDown(e);
        }
    }

    /** Stops probing and closes the connection. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        prober.shutdownNow();
        try {
            prober.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        StatefulRedisConnection<String, String> c = connection;
        if (c != null) {
            c.close();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }

    /**
     * A new pub/sub connection to the same Redis, with the link's time-outs and reconnect policy (a
     * {@link RedisChannel}'s). Throws Lettuce's {@link RedisConnectionException} when Redis cannot be reached.
     */
    io.lettuce.core.pubsub.StatefulRedisPubSubConnection<String, String> connectPubSub() {
        return client.connectPubSub();
    }

    /** Probes now, on the caller's thread, and says whether Redis answered (tests). */
    boolean probeNow() {
        probe();
        return up();
    }

    @Override
    public String toString() {
        return "RedisLink[" + description + ", " + state + "]";
    }
}
