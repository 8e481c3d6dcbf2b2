package dev.easel.proxy;

import dev.easel.config.GeneralSettings;
import dev.easel.routing.Lease;
import dev.easel.routing.Limits;
import dev.easel.routing.Reservation;
import dev.easel.routing.RouterState;
import dev.easel.routing.WaitQueue;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The proxy-wide parallel limits of {@code general_settings}: {@code global_max_parallel_requests} (edits in flight
 * across the whole proxy) and {@code max_parallel_requests} (edits in flight per presented API key: LiteLLM applies
 * it per key; with only the master key today, per hash of the key presented, and for every request together when
 * no master key is set, since keys are then not checked). A request takes its key's slot, then the global one,
 * before its body is read, waiting in a bounded line for each when they are full, and holds them until its answer
 * (or stream) has ended. Slots are leases in the router's {@link RouterState}, so a shared state shares these
 * limits across replicas too.
 */
final class ParallelLimits {

    /** The ledger key of the proxy-wide limit. */
    static final String GLOBAL = "proxy/global";
    /** How long a proxy slot lives if its request never ends it (only a crash or a bug would). */
    static final Duration LEASE_TTL = Duration.ofHours(1);

    /** A held slot; {@link #close()} ends it (twice is harmless). */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }

    private static final Held NONE = () -> { };

    private final RouterState ledger;
    private final Clock clock;
    private final OptionalInt global;
    private final OptionalInt perKey;
    private final boolean keysChecked;
    private final int maxWaiters;
    private final Duration maxWait;
    private final WaitQueue globalLine;
    private final ConcurrentHashMap<String, WaitQueue> keyLines = new ConcurrentHashMap<>();
    private final AtomicLong refusedGlobal = new AtomicLong();
    private final AtomicLong refusedKey = new AtomicLong();

    /**
     * Limits from {@code general}; {@code keysChecked} says whether a master key is set (else every request shares
     * one per-key slot pool); waits never exceed {@code deadline} when set ({@code router_settings.timeout}).
     */
    ParallelLimits(GeneralSettings general, boolean keysChecked, Optional<Duration> deadline, RouterState ledger,
                   Clock clock) {
        this.ledger = ledger;
        this.clock = clock;
        this.global = general.globalMaxParallelRequests();
        this.perKey = general.maxParallelRequests();
        this.keysChecked = keysChecked;
        this.maxWaiters = general.maxParallelWaiters();
        Duration wait = general.maxParallelWait();
        this.maxWait = deadline.isPresent() && deadline.get().compareTo(wait) < 0 ? deadline.get() : wait;
        this.globalLine = new WaitQueue(maxWaiters);
    }

    /**
     * Takes the slots of a request that presented the key hashing to {@code keyHash} (null: none), waiting for
     * them when they are all held. {@code keyHasOwnLimit}: the key is a virtual key with its own
     * {@code max_parallel_requests} (held by the key gate), so the proxy-wide default per key does not apply to it.
     *
     * @throws ProxyException 429 {@code rate_limit_error} / {@code parallel_limit_reached} with {@code Retry-After}
     *                        when a line is full or no slot freed in time
     */
    Held acquire(String keyHash, boolean keyHasOwnLimit) {
        if (global.isEmpty() && perKey.isEmpty()) {
            return NONE;
        }
        Held key = NONE;
        if (perKey.isPresent() && !keyHasOwnLimit) {
            // with keys unchecked (no master key) a client could mint one per request: they share one pool
            String bucket = keysChecked && keyHash != null ? keyHash : "unchecked";
            WaitQueue line = keyLines.computeIfAbsent(bucket, k -> new WaitQueue(maxWaiters));
            key = take("proxy/key/" + bucket, perKey.getAsInt(), line, "this API key is at its "
                    + "general_settings.max_parallel_requests (" + edits(perKey.getAsInt()) + " in flight)",
                    refusedKey);
        }
        if (global.isEmpty()) {
            return key;
        }
        try {
            Held all = take(GLOBAL, global.getAsInt(), globalLine, "the proxy is at its "
                    + "general_settings.global_max_parallel_requests (" + edits(global.getAsInt()) + " in flight)",
                    refusedGlobal);
            Held k = key;
            return () -> {
                try {
                    all.close();
                } finally {
                    k.close();
                }
            };
        } catch (RuntimeException e) {
            key.close();
            throw e;
        }
    }

    private Held take(String ledgerKey, int max, WaitQueue line, String atLimit, AtomicLong refused) {
        Limits limits = Limits.parallel(max);
        WaitQueue.Outcome<Lease> out;
        try {
            out = line.acquire(() -> {
                Instant now = clock.instant();
                Reservation r = ledger.reserve(ledgerKey, limits, now, now.plus(LEASE_TTL));
                return r instanceof Reservation.Granted g ? new WaitQueue.Try.Got<>(g.lease())
                        : new WaitQueue.Try.Busy<>(ledger.recheckInterval()); // freed by another replica: no wake here
            }, maxWait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProxyException(503, "api_error", "server_draining", null,
                    "the proxy stopped while this request waited for a free slot; retry on another instance",
                    Duration.ofSeconds(1));
        }
        if (out instanceof WaitQueue.Outcome.Got<Lease> got) {
            AtomicBoolean open = new AtomicBoolean(true);
            return () -> {
                if (open.compareAndSet(true, false)) {
                    ledger.release(got.value(), clock.instant());
                    line.wake();
                }
            };
        }
        refused.incrementAndGet();
        if (out instanceof WaitQueue.Outcome.Full<Lease> full) {
            throw refusal(atLimit + " " + waitingClause(full.waiting()));
        }
        // a try here never says waiting would not help: the only other outcome is a wait that ran out
        throw refusal(atLimit + " and no slot freed within " + seconds(maxWait) + " (general_settings.max_parallel_wait)");
    }

    private static ProxyException refusal(String why) {
        return new ProxyException(429, "rate_limit_error", "parallel_limit_reached", null, why + "; retry in 1 s",
                Duration.ofSeconds(1));
    }

    /** Slots held now: the proxy-wide ones, or (without a global limit) those of every key. */
    int inflight() {
        if (global.isPresent()) {
            return ledger.inflight(GLOBAL);
        }
        int n = 0;
        for (String bucket : keyLines.keySet()) {
            n += ledger.inflight("proxy/key/" + bucket);
        }
        return n;
    }

    /**
     * Registers {@code easel_parallel_refused_total{limit}}: requests refused by {@code global_max_parallel_requests}
     * or by the per-key {@code max_parallel_requests} (a deployment's own limit shows as
     * {@code easel_requests_total{http_status="429"}}).
     */
    void bindMetrics(io.micrometer.core.instrument.MeterRegistry registry) {
        io.micrometer.core.instrument.FunctionCounter.builder("easel.parallel.refused", this,
                        ParallelLimits::refusedGlobal)
                .description("Requests refused because the proxy-wide parallel limit was full")
                .tag("limit", "global_max_parallel_requests").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("easel.parallel.refused", this,
                        ParallelLimits::refusedKey)
                .description("Requests refused because the proxy-wide parallel limit was full")
                .tag("limit", "max_parallel_requests").register(registry);
    }

    /** Requests refused by {@code global_max_parallel_requests}. */
    long refusedGlobal() {
        return refusedGlobal.get();
    }

    /** Requests refused by the per-key {@code max_parallel_requests}. */
    long refusedKey() {
        return refusedKey.get();
    }

    private static String edits(int n) {
        return n + (n == 1 ? " edit" : " edits");
    }

    private static String waitingClause(int waiting) {
        if (waiting == 0) {
            return "and general_settings.max_parallel_waiters is 0 (no request waits)";
        }
        return "and " + waiting + (waiting == 1 ? " request is" : " requests are")
                + " already waiting (general_settings.max_parallel_waiters)";
    }

    private static String seconds(Duration d) {
        return java.math.BigDecimal.valueOf(d.toMillis()).movePointLeft(3).stripTrailingZeros().toPlainString()
                + " s";
    }
}
