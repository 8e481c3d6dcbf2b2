package dev.easel.proxy.keys;

import dev.easel.AuthenticationException;
import dev.easel.RateLimitException;
import dev.easel.proxy.spend.SpendService;
import dev.easel.proxy.spend.Subject;
import dev.easel.routing.Lease;
import dev.easel.routing.Limits;
import dev.easel.routing.Reservation;
import dev.easel.routing.RouterState;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * What a virtual key may do, checked on the request path: that it is known, not blocked and not expired
 * ({@link #authenticate}); its rpm/tpm/parallel limits and those of its team and user, each taken as a lease of
 * the router's {@link RouterState} before the body is read, so a shared state holds them for the whole fleet
 * ({@link #admit}); the model it asks for ({@link #checkModel}); the budgets it must fit in ({@link #allowances}).
 * A key inherits its team's and user's limits: each is enforced on its own, so the tighter one always wins.
 */
public final class KeyGate {

    /** How long a rate-limit slot lives if its request never ends it (only a crash would). */
    static final Duration LEASE_TTL = Duration.ofHours(1);
    /**
     * Model names that allow every model (LiteLLM's): of the proxy, or on a key "whatever its team allows" (the
     * team's own list is checked next).
     */
    static final Set<String> ALL_MODELS = Set.of("*", "all-proxy-models", "all-team-models");

    private final KeyCache cache;
    private final RouterState ledger;
    private final Clock clock;
    /** Access group → the model groups in it. */
    private final Map<String, Set<String>> accessGroups;

    /** A gate reading keys from {@code cache}, taking limits from {@code ledger}. */
    public KeyGate(KeyCache cache, RouterState ledger, Clock clock, Map<String, Set<String>> accessGroups) {
        this.cache = cache;
        this.ledger = ledger;
        this.clock = clock;
        this.accessGroups = Map.copyOf(accessGroups);
    }

    /** The cache behind the gate. */
    public KeyCache cache() {
        return cache;
    }

    /**
     * The key hashing to {@code token}, usable now.
     *
     * @throws AuthenticationException 401: {@code invalid_api_key} (unknown), {@code key_blocked},
     *                                 {@code team_blocked} or {@code key_expired}; the message names the key by its
     *                                 alias or hash prefix, never by the key
     */
    public KeyCache.Resolved authenticate(String token) {
        Optional<KeyCache.Resolved> found = cache.resolve(token);
        if (found.isEmpty()) {
            // as for a wrong master key: nothing of what was presented is repeated
            throw new AuthenticationException("Incorrect API key provided.", 401, "authentication_error",
                    "invalid_api_key", null, null, null, null);
        }
        KeyCache.Resolved r = found.get();
        VirtualKey k = r.key();
        if (k.blocked()) {
            throw new AuthenticationException("key '" + k.label() + "' is blocked", 401, "authentication_error",
                    "key_blocked", null, null, null, null);
        }
        if (r.team().isPresent() && r.team().get().blocked()) {
            throw new AuthenticationException("team '" + r.team().get().teamId() + "' of key '" + k.label()
                    + "' is blocked", 401, "authentication_error", "team_blocked", null, null, null, null);
        }
        Instant now = clock.instant();
        if (k.expiredAt(now)) {
            throw new AuthenticationException("key '" + k.label() + "' expired at " + k.expires().orElseThrow(), 401,
                    "authentication_error", "key_expired", null, null, null, null);
        }
        return r;
    }

    /**
     * The rate-limit slots of one request: its key's, its team's and its user's. {@link #end} settles them: every
     * admitted request stays counted in its minute (also one refused afterwards, as LiteLLM counts it), with the
     * tokens it was answered with.
     */
    public final class Permit {
        private final List<Lease> leases;
        private final Map<String, String> headers;
        private boolean ended;

        private Permit(List<Lease> leases, Map<String, String> headers) {
            this.leases = leases;
            this.headers = headers;
        }

        /** {@code x-ratelimit-*} headers of the key's own limits, as they stand with this request counted. */
        public Map<String, String> headers() {
            return headers;
        }

        /** Ends the slots, settled with {@code tokens}. Idempotent. */
        public synchronized void end(long tokens) {
            if (ended) {
                return;
            }
            ended = true;
            Instant now = clock.instant();
            for (Lease l : leases) {
                try {
                    ledger.settle(l, tokens, now);
                } catch (RuntimeException e) { // an exit path: the lease frees itself at its expiry
                    org.slf4j.LoggerFactory.getLogger(KeyGate.class).warn("rate-limit lease {} not ended ({})",
                            l.key(), e.toString());
                }
            }
        }
    }

    private record Bucket(String ledgerKey, String who, Limits limits) {
    }

    /**
     * Takes a slot of every limit that applies to {@code r} (key, team, user), in that order, each atomically in
     * the router's state; when one refuses, the slots already taken are released.
     *
     * @throws RateLimitException 429 {@code rate_limit_exceeded} with {@code Retry-After}: naming whose limit
     *                            (key alias, team, user) and which ({@code rpm_limit}, {@code tpm_limit},
     *                            {@code max_parallel_requests})
     */
    public Permit admit(KeyCache.Resolved r) {
        List<Bucket> buckets = new ArrayList<>(3);
        VirtualKey k = r.key();
        bucket("key/" + k.keyId(), "key '" + k.label() + "'", k.limits()).ifPresent(buckets::add);
        r.team().flatMap(t -> bucket("team/" + t.teamId(), "team '" + t.teamId() + "'", t.limits()))
                .ifPresent(buckets::add);
        r.user().flatMap(u -> bucket("user/" + u.userId(), "user '" + u.userId() + "'", u.limits()))
                .ifPresent(buckets::add);
        List<Lease> taken = new ArrayList<>(buckets.size());
        Instant now = clock.instant();
        try {
            for (Bucket b : buckets) {
                Reservation res = ledger.reserve(b.ledgerKey(), b.limits(), now, now.plus(LEASE_TTL));
                if (res instanceof Reservation.Refused f) {
                    taken.forEach(l -> ledger.release(l, now));
                    throw refusal(b, f, now);
                }
                taken.add(((Reservation.Granted) res).lease());
            }
        } catch (RuntimeException e) {
            if (!(e instanceof RateLimitException)) {
                taken.forEach(l -> ledger.release(l, now));
            }
            throw e;
        }
        return new Permit(List.copyOf(taken), headers(k, now));
    }

    private static Optional<Bucket> bucket(String key, String who, KeyLimits l) {
        if (l.rpmLimit().isEmpty() && l.tpmLimit().isEmpty() && l.maxParallelRequests().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Bucket(key, who, new Limits(l.rpmLimit(), l.tpmLimit(), l.maxParallelRequests())));
    }

    private static RateLimitException refusal(Bucket b, Reservation.Refused f, Instant now) {
        String what = switch (f.limit()) {
            case RPM -> "rpm_limit of " + b.limits().rpm().getAsInt() + " requests per minute";
            case TPM -> "tpm_limit of " + b.limits().tpm().getAsLong() + " tokens per minute";
            case PARALLEL -> "max_parallel_requests of " + b.limits().maxParallel().getAsInt() + " in flight";
        };
        Duration wait = f.retryAt().map(t -> Duration.between(now, t)).filter(d -> !d.isNegative())
                .orElse(Duration.ofSeconds(1));
        long seconds = Math.max(1, (wait.toMillis() + 999) / 1000);
        return new RateLimitException(b.who() + " is at its " + what + "; retry in " + seconds + " s",
                "rate_limit_error", "rate_limit_exceeded", null, null, null, Duration.ofSeconds(seconds), null);
    }

    /** The key's own rpm/tpm standing, LiteLLM's header names. */
    private Map<String, String> headers(VirtualKey k, Instant now) {
        Map<String, String> h = new LinkedHashMap<>();
        String key = "key/" + k.keyId();
        OptionalInt rpm = k.limits().rpmLimit();
        OptionalLong tpm = k.limits().tpmLimit();
        try {
            if (rpm.isPresent()) {
                long used = ledger.requestsThisMinute(key, now);
                h.put("x-ratelimit-limit-requests", Integer.toString(rpm.getAsInt()));
                h.put("x-ratelimit-remaining-requests", Long.toString(Math.max(0, rpm.getAsInt() - used)));
            }
            if (tpm.isPresent()) {
                long used = ledger.tokensThisMinute(key, now);
                h.put("x-ratelimit-limit-tokens", Long.toString(tpm.getAsLong()));
                h.put("x-ratelimit-remaining-tokens", Long.toString(Math.max(0, tpm.getAsLong() - used)));
            }
        } catch (RuntimeException e) { // information only: a shared state that cannot answer leaves them out
            h.clear();
        }
        return h;
    }

    /**
     * Refuses a model the key (or its team, or its user) may not use.
     *
     * @throws AuthenticationException 401 {@code key_model_access_denied} naming the model and the key's alias
     */
    public void checkModel(KeyCache.Resolved r, String model) {
        if (model == null) {
            return; // the request is refused for its missing model further on
        }
        String denied = null;
        if (!allows(r.key().models(), model)) {
            denied = "key '" + r.key().label() + "'";
        } else if (r.team().isPresent() && !allows(r.team().get().models(), model)) {
            denied = "team '" + r.team().get().teamId() + "' of key '" + r.key().label() + "'";
        } else if (r.user().isPresent() && !allows(r.user().get().models(), model)) {
            denied = "user '" + r.user().get().userId() + "' of key '" + r.key().label() + "'";
        }
        if (denied != null) {
            throw new AuthenticationException(denied + " is not allowed to use model '" + model + "'", 401,
                    "authentication_error", "key_model_access_denied", "model", null, null, null);
        }
    }

    /** Whether a {@code models} list allows {@code model}: empty or a wildcard allows all; else by name or group. */
    boolean allows(Collection<String> models, String model) {
        if (models.isEmpty()) {
            return true;
        }
        for (String m : models) {
            if (ALL_MODELS.contains(m) || m.equals(model)
                    || accessGroups.getOrDefault(m, Set.of()).contains(model)) {
                return true;
            }
        }
        return false;
    }

    /** The model groups of {@code names} that {@code r} may use, in order (for {@code /v1/models}). */
    public List<String> visible(KeyCache.Resolved r, List<String> names) {
        return names.stream().filter(n -> allows(r.key().models(), n)
                && r.team().map(t -> allows(t.models(), n)).orElse(true)
                && r.user().map(u -> allows(u.models(), n)).orElse(true)).toList();
    }

    /** The budgets a request of {@code r} must fit in: its key's, its team's and its user's, those that have one. */
    public List<SpendService.Allowance> allowances(KeyCache.Resolved r) {
        Instant now = clock.instant();
        List<SpendService.Allowance> out = new ArrayList<>(3);
        VirtualKey k = r.key();
        allowance(Subject.key(k.keyId()), "key '" + k.label() + "'", k.limits(), now).ifPresent(out::add);
        r.team().flatMap(t -> allowance(Subject.team(t.teamId()), "team '" + t.teamId() + "'", t.limits(), now))
                .ifPresent(out::add);
        r.user().flatMap(u -> allowance(Subject.user(u.userId()), "user '" + u.userId() + "'", u.limits(), now))
                .ifPresent(out::add);
        return out;
    }

    private static Optional<SpendService.Allowance> allowance(Subject s, String who, KeyLimits l, Instant now) {
        return l.maxBudget().map(max -> new SpendService.Allowance(s, who, max, l.windowStart(now), l.resetAt(now)));
    }

    /**
     * The {@code soft_budget} thresholds a request that cost {@code cost} has just crossed (its key's, team's,
     * user's): spend in the window before it below the threshold, with it at or above. Read after its row is
     * recorded, from memory.
     */
    public List<dev.easel.callback.BudgetAlertEvent> crossedSoftBudgets(KeyCache.Resolved r, SpendService spend,
                                                                       BigDecimal cost) {
        if (cost == null || cost.signum() <= 0) {
            return List.of();
        }
        Instant now = clock.instant();
        List<dev.easel.callback.BudgetAlertEvent> out = new ArrayList<>();
        VirtualKey k = r.key();
        crossed("key", Subject.key(k.keyId()), k.label(), k.limits(), spend, cost, now).ifPresent(out::add);
        r.team().flatMap(t -> crossed("team", Subject.team(t.teamId()), t.teamId(), t.limits(), spend, cost, now))
                .ifPresent(out::add);
        r.user().flatMap(u -> crossed("user", Subject.user(u.userId()), u.userId(), u.limits(), spend, cost, now))
                .ifPresent(out::add);
        return out;
    }

    private static Optional<dev.easel.callback.BudgetAlertEvent> crossed(String group, Subject s, String label,
                                                                         KeyLimits l, SpendService spend,
                                                                         BigDecimal cost, Instant now) {
        if (l.softBudget().isEmpty()) {
            return Optional.empty();
        }
        BigDecimal soft = l.softBudget().get();
        BigDecimal after = spend.spend(s, l.windowStart(now), l.resetAt(now));
        BigDecimal before = after.subtract(cost);
        if (before.compareTo(soft) >= 0 || after.compareTo(soft) < 0) {
            return Optional.empty();
        }
        return Optional.of(new dev.easel.callback.BudgetAlertEvent(group, s.id(), label, after, soft, l.maxBudget(),
                l.resetAt(now), now));
    }

    /** The key's own spend in its current budget window (all time without a duration). */
    public BigDecimal keySpend(SpendService spend, VirtualKey k) {
        Instant now = clock.instant();
        return spend.spend(Subject.key(k.keyId()), k.limits().windowStart(now), k.limits().resetAt(now));
    }
}
