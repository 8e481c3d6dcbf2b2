package dev.easel.routing;

import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ContentPolicyViolationException;
import dev.easel.EaselException;
import dev.easel.NotFoundException;
import dev.easel.PermissionDeniedException;
import dev.easel.RateLimitException;
import dev.easel.TimeoutException;
import dev.easel.config.RoutingStrategy;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Picks deployments, takes their limits, retries, falls back and rests failing deployments. Knows nothing of
 * HTTP or providers: each attempt is a {@link Call} the caller supplies, and the router decides from the
 * exception type alone. Time, randomness and waiting are injected, so tests are exact.
 *
 * <p>Per model group: up to {@code 1 + numRetries} attempts, each on a deployment chosen by the strategy among
 * those not resting, within the lowest {@code order} that has a free slot; then the group's fallbacks
 * (breadth-first, never the same group twice). Before each call the router takes a {@link Lease} from the
 * {@link RouterState} ({@code rpm}, {@code tpm}, {@code max_parallel_requests}, atomically) and ends it on every
 * way out of the call. When every deployment of a group that is not resting holds all its parallel slots, the
 * request waits in the group's bounded {@link WaitQueue} for the first slot to free.
 */
public final class Router {

    /**
     * A deployment as the router sees it.
     *
     * @param id          stable deployment id
     * @param group       model group ({@code model_name})
     * @param order       priority (lower first)
     * @param weight      simple-shuffle weight ({@code weight}, else {@code rpm}, else {@code tpm}, else 1)
     * @param rpm         requests-per-minute limit
     * @param tpm         tokens-per-minute limit (enforced by the usage-based strategies)
     * @param unitPrice   price of a typical image (for cost-based routing), or null when unknown
     * @param maxParallel calls in flight at once ({@code max_parallel_requests})
     * @param maxRetries  {@code max_retries}: extra calls to this same deployment after a retryable failure,
     *                    before the router counts one failed attempt and moves on
     */
    public record Candidate(String id, String group, int order, double weight, OptionalInt rpm, OptionalLong tpm,
                            BigDecimal unitPrice, OptionalInt maxParallel, int maxRetries) {
        /** Checks that nothing required is null and that {@code maxRetries} is not negative. */
        public Candidate {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(group, "group");
            Objects.requireNonNull(rpm, "rpm");
            Objects.requireNonNull(tpm, "tpm");
            Objects.requireNonNull(maxParallel, "maxParallel");
            if (maxRetries < 0) {
                throw new IllegalArgumentException("maxRetries must not be negative (was " + maxRetries + ")");
            }
        }

        /** A candidate without a parallel limit or retries of its own. */
        public Candidate(String id, String group, int order, double weight, OptionalInt rpm, OptionalLong tpm,
                         BigDecimal unitPrice) {
            this(id, group, order, weight, rpm, tpm, unitPrice, OptionalInt.empty(), 0);
        }
    }

    /**
     * Routing settings.
     *
     * @param strategy               how to choose among available deployments
     * @param numRetries             retries within a group (attempts = 1 + this)
     * @param minRetryWait           {@code retry_after}: least wait before a retry on the same deployment
     * @param allowedFails           failures within a minute before a deployment rests
     * @param cooldownTime           how long a deployment rests
     * @param fallbacks              group → groups to try after it fails
     * @param contentPolicyFallbacks group → groups to try after a content-policy refusal
     * @param defaultFallbacks       groups to try after a group without own fallbacks fails
     * @param retryOnTimeout         retry (and fall back) after a time-out once the request was sent
     * @param maxRetryWait           cap on any wait between attempts ({@code Retry-After} included)
     * @param cooldowns              whether failing deployments are rested (off for a lone SDK client, which
     *                               should behave like the official SDKs: wait and retry)
     * @param maxCooldownTime        {@code max_cooldown_time}: cap on the rest a provider's {@code Retry-After}
     *                               asks for
     * @param maxParallelWaiters     {@code max_parallel_waiters}: requests that may wait per group when each of
     *                               its deployments holds all its parallel slots
     * @param maxParallelWait        {@code max_parallel_wait}: longest such wait
     * @param leaseTtl               how long a lease lives unless renewed (frees the slots of a holder that never
     *                               ends its lease; longer than any call should take)
     */
    public record Policy(RoutingStrategy strategy, int numRetries, Duration minRetryWait, int allowedFails,
                         Duration cooldownTime, Map<String, List<String>> fallbacks,
                         Map<String, List<String>> contentPolicyFallbacks, List<String> defaultFallbacks,
                         boolean retryOnTimeout, Duration maxRetryWait, boolean cooldowns, Duration maxCooldownTime,
                         int maxParallelWaiters, Duration maxParallelWait, Duration leaseTtl) {

        /**
         * Default {@code max_cooldown_time}: 60 s, one rate-limit window. Providers reset rate limits per minute; a
         * longer {@code Retry-After} (a quota, or a bogus header) then costs one probing request per minute
         * instead of a deployment lost for a day.
         */
        public static final Duration DEFAULT_MAX_COOLDOWN_TIME = Duration.ofSeconds(60);
        /** Default {@code max_parallel_waiters}: 100 requests per group. */
        public static final int DEFAULT_MAX_PARALLEL_WAITERS = 100;
        /** Default {@code max_parallel_wait}: 30 s, about one image edit. */
        public static final Duration DEFAULT_MAX_PARALLEL_WAIT = Duration.ofSeconds(30);
        /** Default lease lifetime: 30 min, more than two default 600 s call timeouts. */
        public static final Duration DEFAULT_LEASE_TTL = Duration.ofMinutes(30);

        /** Checks the values and copies the collections. */
        public Policy {
            fallbacks = Map.copyOf(fallbacks);
            contentPolicyFallbacks = Map.copyOf(contentPolicyFallbacks);
            defaultFallbacks = List.copyOf(defaultFallbacks);
            Objects.requireNonNull(maxCooldownTime, "maxCooldownTime");
            Objects.requireNonNull(maxParallelWait, "maxParallelWait");
            Objects.requireNonNull(leaseTtl, "leaseTtl");
            if (maxParallelWaiters < 0) {
                throw new IllegalArgumentException("maxParallelWaiters must not be negative (was "
                        + maxParallelWaiters + ")");
            }
            if (leaseTtl.isZero() || leaseTtl.isNegative()) {
                throw new IllegalArgumentException("leaseTtl must be positive (was " + leaseTtl + ")");
            }
        }

        /** Settings with the default {@code max_cooldown_time}, wait queue and lease lifetime. */
        public Policy(RoutingStrategy strategy, int numRetries, Duration minRetryWait, int allowedFails,
                      Duration cooldownTime, Map<String, List<String>> fallbacks,
                      Map<String, List<String>> contentPolicyFallbacks, List<String> defaultFallbacks,
                      boolean retryOnTimeout, Duration maxRetryWait, boolean cooldowns) {
            this(strategy, numRetries, minRetryWait, allowedFails, cooldownTime, fallbacks, contentPolicyFallbacks,
                    defaultFallbacks, retryOnTimeout, maxRetryWait, cooldowns, DEFAULT_MAX_COOLDOWN_TIME,
                    DEFAULT_MAX_PARALLEL_WAITERS, DEFAULT_MAX_PARALLEL_WAIT, DEFAULT_LEASE_TTL);
        }

        /** Defaults: simple-shuffle, 2 retries, 3 allowed fails, 5 s cooldown, no fallbacks, waits capped at 10 s. */
        public static Policy defaults() {
            return new Policy(RoutingStrategy.SIMPLE_SHUFFLE, 2, Duration.ZERO, 3, Duration.ofSeconds(5), Map.of(),
                    Map.of(), List.of(), false, Duration.ofSeconds(10), true);
        }
    }

    /** One attempt of a request. */
    @FunctionalInterface
    public interface Call<T> {
        /**
         * Runs the request on {@code candidate}. {@code fallback} is true for groups other than the one
         * asked for. Throw {@link UnsuitableException} when the group cannot take the request at all.
         */
        Attempted<T> attempt(Candidate candidate, boolean fallback);
    }

    /** One attempt of a request that has a deadline. */
    @FunctionalInterface
    public interface TimedCall<T> {
        /**
         * As {@link Call#attempt}; {@code remaining} is the time left before the request's deadline (empty when it
         * has none): an attempt should not take longer.
         */
        Attempted<T> attempt(Candidate candidate, boolean fallback, Optional<Duration> remaining);
    }

    /** A successful attempt's value and what it used (for usage-based and latency-based routing). */
    public record Attempted<T>(T value, long tokens, int images) {
    }

    /** What happened to one attempt (or one skipped group). */
    public record Attempt(String group, String deploymentId, String outcome) {
        @Override
        public String toString() {
            return (deploymentId == null ? group : deploymentId) + ": " + outcome;
        }
    }

    /**
     * The routed result.
     *
     * @param value      what the successful attempt returned
     * @param served     the deployment that answered
     * @param retries    attempts beyond the first within groups
     * @param fallbacks  groups tried after the one asked for
     * @param attempts   every attempt and skipped group, in order
     * @param slot       the successful call's slot: already ended, unless the request was routed with
     *                   {@link Options#holding()}, in which case the caller ends it
     */
    public record Result<T>(T value, Candidate served, int retries, int fallbacks, List<Attempt> attempts, Slot slot) {
    }

    /**
     * How one request is routed: its deadline (the time for the whole request: waits, retries and fallbacks) and
     * whether the successful call keeps its slot after {@link #route} returns (a stream keeps it until it ends).
     */
    public static final class Options {
        private static final Options NONE = new Options(null, null, null, false);

        private final Instant deadline;
        private final Duration limit;
        private final String setting;
        private final boolean hold;

        private Options(Instant deadline, Duration limit, String setting, boolean hold) {
            this.deadline = deadline;
            this.limit = limit;
            this.setting = setting;
            this.hold = hold;
        }

        /** No deadline; the slot ends with the call. */
        public static Options none() {
            return NONE;
        }

        /**
         * The request must be done {@code limit} after {@code start}; {@code setting} names the limit in the
         * error (e.g. {@code router_settings.timeout}).
         */
        public static Options deadline(Instant start, Duration limit, String setting) {
            Objects.requireNonNull(start, "start");
            Objects.requireNonNull(limit, "limit");
            Objects.requireNonNull(setting, "setting");
            return new Options(start.plus(limit), limit, setting, false);
        }

        /** A copy whose successful call keeps its slot: the caller ends {@link Result#slot()}. */
        public Options holding() {
            return new Options(deadline, limit, setting, true);
        }

        /** When the request must be done, if it has a deadline. */
        public Optional<Instant> deadline() {
            return Optional.ofNullable(deadline);
        }

        /** Whether the successful call keeps its slot. */
        public boolean holds() {
            return hold;
        }
    }

    /**
     * The slot of a successful call. Routed with {@link Options#holding()}, the caller ends it when the work is
     * done (a stream: when it ends, fails or is closed); ending it twice is harmless.
     */
    public final class Slot {
        private final Candidate candidate;
        private final Lease lease;
        private final java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();

        private Slot(Candidate candidate, Lease lease) {
            this.candidate = candidate;
            this.lease = lease;
        }

        /** Ends the slot: the call reached the provider and used {@code tokens}. */
        public void settle(long tokens) {
            if (ended.compareAndSet(false, true)) {
                state.settle(lease, tokens, clock.instant());
                queues.get(candidate.group()).wake();
            }
        }

        /** Keeps the slot for another lease lifetime from now; false once it has ended or expired. */
        public boolean renew() {
            if (ended.get()) {
                return false;
            }
            Instant now = clock.instant();
            return state.renew(lease, now.plus(policy.leaseTtl()), now);
        }

        /** Whether the slot has been ended. */
        public boolean ended() {
            return ended.get();
        }
    }

    private final Map<String, List<Candidate>> groups;
    /** Every candidate by id (the first, should two groups share an id). */
    private final Map<String, Candidate> byId;
    /** What this router saw of each deployment's calls; read by {@link #health}. */
    private final Map<String, Seen> seen = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, WaitQueue> queues;
    private final Policy policy;
    private final RouterState state;
    private final Clock clock;
    private final RandomGenerator random;
    private final Sleeper sleeper;

    /** A router over {@code groups} (model group → deployments). */
    public Router(Map<String, List<Candidate>> groups, Policy policy, RouterState state, Clock clock,
                  RandomGenerator random, Sleeper sleeper) {
        Map<String, List<Candidate>> g = new LinkedHashMap<>();
        Map<String, WaitQueue> q = new LinkedHashMap<>();
        groups.forEach((k, v) -> {
            g.put(k, List.copyOf(v));
            q.put(k, new WaitQueue(policy.maxParallelWaiters()));
        });
        this.groups = Map.copyOf(g);
        Map<String, Candidate> ids = new LinkedHashMap<>();
        g.values().forEach(list -> list.forEach(c -> ids.putIfAbsent(c.id(), c)));
        this.byId = Map.copyOf(ids);
        this.queues = Map.copyOf(q);
        this.policy = policy;
        this.state = state;
        this.clock = clock;
        this.random = random;
        this.sleeper = sleeper;
    }

    /** The same groups and policy over another state (a request that must not touch the shared one). */
    public Router withState(RouterState other) {
        return new Router(groups, policy, other, clock, random, sleeper);
    }

    /** The group names. */
    public Set<String> groups() {
        return groups.keySet();
    }

    /** The state (for observability). */
    public RouterState state() {
        return state;
    }

    /**
     * What this router knows of a deployment now, read without calling it: its rest, the last failure and success it
     * saw, latency, calls in flight and this minute's use against its limits. Empty for an id it does not route to.
     */
    public Optional<DeploymentHealth> health(String deploymentId) {
        Candidate c = deploymentId == null ? null : byId.get(deploymentId);
        if (c == null) {
            return Optional.empty();
        }
        Instant now = clock.instant();
        Seen s = seen.get(c.id());
        DeploymentHealth.Failure failure;
        Instant success;
        boolean failed;
        Map<String, Long> rests = new LinkedHashMap<>();
        if (s == null) {
            failure = null;
            success = null;
            failed = false;
        } else {
            synchronized (s) {
                failure = s.lastFailure;
                success = s.lastSuccess;
                failed = s.lastFailed;
            }
            s.cooldowns.forEach((k, v) -> rests.put(k, v.sum()));
        }
        return Optional.of(new DeploymentHealth(c.id(), c.group(), now, state.cooldownUntil(c.id(), now),
                Optional.ofNullable(failure), Optional.ofNullable(success), failed, state.latencyMillis(c.id()),
                state.inflight(c.id()), state.requestsThisMinute(c.id(), now), state.tokensThisMinute(c.id(), now),
                c.rpm(), c.tpm(), c.maxParallel(), rests));
    }

    /** The last failure and success of a deployment's calls, and the rests this router started for it. */
    private static final class Seen {
        /** Guarded by this. */
        DeploymentHealth.Failure lastFailure;
        /** Guarded by this. */
        Instant lastSuccess;
        /** Guarded by this. */
        boolean lastFailed;
        final Map<String, java.util.concurrent.atomic.LongAdder> cooldowns =
                new java.util.concurrent.ConcurrentHashMap<>();

        synchronized void failed(DeploymentHealth.Failure f) {
            lastFailure = f;
            lastFailed = true;
        }

        synchronized void succeeded(Instant at) {
            lastSuccess = at;
            lastFailed = false;
        }
    }

    private Seen seen(String id) {
        return seen.computeIfAbsent(id, k -> new Seen());
    }

    /** Keeps a failed call for {@link #health}, unless it was the request's fault (a 400 says nothing of the deployment). */
    private void observe(Candidate c, EaselException e) {
        if (e instanceof BadRequestException) {
            return;
        }
        String message = e.getMessage() == null ? "" : e.getMessage();
        if (message.length() > 500) {
            message = message.substring(0, 497) + "...";
        }
        seen(c.id()).failed(new DeploymentHealth.Failure(clock.instant(), e.status(), e.type(), e.code(),
                e.getClass().getSimpleName(), message));
    }

    /** Rests {@code c} until {@code until}; a rest that starts now (it was not resting) is counted by its cause. */
    private void coolDown(Candidate c, Instant now, Instant until, EaselException cause) {
        boolean resting = state.cooldownUntil(c.id(), now).isPresent();
        state.cooldown(c.id(), until, now);
        if (!resting) {
            String why = cause.status().isPresent() ? Integer.toString(cause.status().getAsInt()) : cause.type();
            seen(c.id()).cooldowns.computeIfAbsent(why, k -> new java.util.concurrent.atomic.LongAdder()).increment();
        }
    }

    /** Requests waiting now for a parallel slot in {@code group} (0 for an unknown group). */
    public int waiting(String group) {
        WaitQueue q = queues.get(group);
        return q == null ? 0 : q.waiting();
    }

    /**
     * Routes a request for {@code group}, without a deadline. {@code requestFallbacks}, when not empty, replace
     * the configured fallbacks of the requested group.
     *
     * @throws EaselException the last failure (its message lists what was tried), or a
     *                        {@link RateLimitException} with {@code Retry-After} when no deployment could take it
     */
    public <T> Result<T> route(String group, List<String> requestFallbacks, Call<T> call) {
        return route(group, requestFallbacks, Options.none(), (c, f, left) -> call.attempt(c, f));
    }

    /**
     * Routes a request for {@code group} with {@code options}.
     *
     * @throws TimeoutException when the deadline passes (504 {@code timeout_error})
     * @throws EaselException   the last failure (its message lists what was tried), or a
     *                          {@link RateLimitException} with {@code Retry-After} when no deployment could take it
     */
    public <T> Result<T> route(String group, List<String> requestFallbacks, Options options, TimedCall<T> call) {
        if (!groups.containsKey(group)) {
            throw new NotFoundException("model '" + group + "' is not served here", "model_not_found", "model");
        }
        List<Attempt> attempts = new ArrayList<>();
        Deque<String> queue = new ArrayDeque<>();
        Set<String> visited = new HashSet<>();
        queue.add(group);
        EaselException last = null;
        RateLimitException refusal = null;
        Instant earliestBack = null;
        int retries = 0;
        int fallbacks = -1;
        while (!queue.isEmpty()) {
            String g = queue.poll();
            if (!visited.add(g)) {
                continue;
            }
            if (!groups.containsKey(g)) {
                attempts.add(new Attempt(g, null, "skipped: no such model group"));
                continue;
            }
            fallbacks++;
            boolean fallback = !g.equals(group);
            EaselException groupError = null;
            Set<String> triedHere = new LinkedHashSet<>();
            Set<String> excluded = new HashSet<>(); // 401/403: never the same deployment again
            int maxAttempts = 1 + Math.max(0, policy.numRetries());
            int used = 0;
            int calls = 0;
            Candidate sticky = null; // max_retries: the next call goes to this same deployment
            int stickyRetries = 0;
            boolean backedOff = false;
            while (used < maxAttempts) {
                checkDeadline(options, attempts, last);
                Taken taken;
                if (sticky != null) {
                    pause(backoff(groupError, true, calls), options, attempts, last);
                    taken = reserveOn(sticky);
                    if (taken == null) { // not free now: its failure counts, and the router moves on
                        rest(sticky, groupError);
                        sticky = null;
                        stickyRetries = 0;
                        used++;
                        if (!retryable(groupError)) {
                            break;
                        }
                        continue;
                    }
                } else {
                    Acquired a = acquire(g, triedHere, excluded, options, attempts, last);
                    if (a instanceof NoneLeft) {
                        if (groups.get(g).isEmpty()) {
                            attempts.add(new Attempt(g, null, "skipped: the group has no deployment to call"));
                        }
                        break;
                    }
                    if (a instanceof Skip skip) {
                        attempts.add(new Attempt(g, null, skip.outcome()));
                        if (refusal == null && skip.parallel() != null) {
                            refusal = skip.parallel();
                        }
                        if (skip.back() != null && (earliestBack == null || skip.back().isBefore(earliestBack))) {
                            earliestBack = skip.back();
                        }
                        break;
                    }
                    taken = (Taken) a;
                    if (calls > 0 && !backedOff) {
                        Duration wait = backoff(groupError, triedHere.contains(taken.candidate().id()), calls);
                        if (!wait.isZero()) {
                            end(taken, false); // nobody else's slot is held while this request waits
                            pause(wait, options, attempts, last);
                            backedOff = true;
                            continue;
                        }
                    }
                }
                backedOff = false;
                Candidate c = taken.candidate();
                if (calls > 0) {
                    retries++;
                }
                calls++;
                triedHere.add(c.id());
                Instant start = clock.instant();
                Attempted<T> done;
                try {
                    done = call.attempt(c, fallback, remaining(options));
                } catch (UnsuitableException e) {
                    end(taken, false);
                    attempts.add(new Attempt(g, c.id(), "skipped: " + e.getMessage()));
                    if (!fallback) {
                        throw e; // the request itself is invalid for the model asked for
                    }
                    groupError = null;
                    sticky = null;
                    break;
                } catch (EaselException e) {
                    // a validation failure reached no provider: its request is not counted against the rpm
                    end(taken, !(e instanceof BadRequestException) || e.provider().isPresent());
                    observe(c, e);
                    groupError = e;
                    last = e;
                    attempts.add(new Attempt(g, c.id(), describe(e)));
                    if (e instanceof TimeoutException t && options.deadline().isPresent()
                            && !clock.instant().isBefore(options.deadline().get())) {
                        rest(c, e);
                        throw deadlineError(options, attempts, t);
                    }
                    if (terminal(e)) {
                        rest(c, e);
                        throw annotate(e, attempts);
                    }
                    if (retryable(e) && (sticky == c || sticky == null) && stickyRetries < c.maxRetries()) {
                        sticky = c; // the deployment's own retries: no rest, no attempt of the group used yet
                        stickyRetries++;
                        continue;
                    }
                    sticky = null;
                    stickyRetries = 0;
                    rest(c, e);
                    if (e instanceof AuthenticationException || e instanceof PermissionDeniedException) {
                        // another deployment of the group may hold a good key: moving on is not a retry of the
                        // request (num_retries: 0 still tries it), and the group's size bounds it
                        excluded.add(c.id());
                        continue;
                    }
                    used++;
                    if (!retryable(e)) {
                        break;
                    }
                    continue;
                } catch (RuntimeException | Error e) {
                    end(taken, false);
                    throw e;
                }
                Instant finished = clock.instant();
                state.recordLatency(c.id(), Duration.between(start, finished).dividedBy(Math.max(1, done.images())));
                seen(c.id()).succeeded(finished);
                attempts.add(new Attempt(g, c.id(), "ok"));
                Slot slot = new Slot(c, taken.lease());
                if (!options.holds()) {
                    slot.settle(done.tokens());
                }
                return new Result<>(done.value(), c, retries, Math.max(0, fallbacks), List.copyOf(attempts), slot);
            }
            List<String> next = nextGroups(g, g.equals(group) ? requestFallbacks : List.of(), groupError);
            queue.addAll(next);
        }
        if (last != null) {
            throw annotate(last, attempts);
        }
        if (refusal != null) {
            throw annotate(refusal, attempts);
        }
        Duration wait = earliestBack == null ? policy.cooldownTime()
                : Duration.between(clock.instant(), earliestBack);
        throw annotate(new RateLimitException("no deployment of '" + group + "' is available right now (all are "
                + "resting after failures or at their rate limits); retry in " + Math.max(1, ceilSeconds(wait)) + " s",
                "rate_limit_error", "no_deployment_available", null, null, null, wait, null), attempts);
    }

    // ---- leases -----------------------------------------------------------------------------------

    private sealed interface Acquired permits Taken, Skip, NoneLeft {
    }

    /** A deployment and the lease taken on it. */
    private record Taken(Candidate candidate, Lease lease) implements Acquired {
    }

    /**
     * The group cannot take the request now.
     *
     * @param outcome  what the attempt list says
     * @param back     when a deployment frees by itself (rest over, next rpm window), or null
     * @param parallel the 429 to answer when the reason was the parallel limit, else null
     */
    private record Skip(String outcome, Instant back, RateLimitException parallel) implements Acquired {
    }

    /** Every deployment of the group failed this request with 401/403. */
    private record NoneLeft() implements Acquired {
    }

    private Limits limits(Candidate c) {
        boolean usage = policy.strategy() == RoutingStrategy.USAGE_BASED_ROUTING
                || policy.strategy() == RoutingStrategy.USAGE_BASED_ROUTING_V2;
        return new Limits(c.rpm(), usage ? c.tpm() : OptionalLong.empty(), c.maxParallel());
    }

    /** One look at a group's deployments: takes the first free slot the order and the strategy allow. */
    private final class Probe {
        private final String group;
        private final Set<String> tried;
        private final Set<String> excluded;
        Instant back;
        boolean noneLeft;

        Probe(String group, Set<String> tried, Set<String> excluded) {
            this.group = group;
            this.tried = tried;
            this.excluded = excluded;
        }

        WaitQueue.Try<Taken> look() {
            Instant now = clock.instant();
            back = null;
            List<Candidate> open = new ArrayList<>();
            for (Candidate c : groups.get(group)) {
                if (excluded.contains(c.id())) {
                    continue;
                }
                Optional<Instant> until = state.cooldownUntil(c.id(), now);
                if (until.isPresent()) {
                    earlier(until.get());
                    continue;
                }
                open.add(c);
            }
            noneLeft = true;
            for (Candidate c : groups.get(group)) {
                noneLeft &= excluded.contains(c.id());
            }
            boolean busy = false;
            Instant expires = now.plus(policy.leaseTtl());
            // retries prefer deployments this request has not tried yet (plain loops: this runs on every request)
            List<Candidate> fresh = new ArrayList<>();
            List<Candidate> again = new ArrayList<>();
            for (Candidate c : open) {
                (tried.contains(c.id()) ? again : fresh).add(c);
            }
            for (List<Candidate> left : List.of(fresh, again)) {
                while (!left.isEmpty()) {
                    int best = Integer.MAX_VALUE;
                    for (Candidate c : left) {
                        best = Math.min(best, c.order());
                    }
                    List<Candidate> tier = new ArrayList<>();
                    for (Candidate c : left) {
                        if (c.order() == best) {
                            tier.add(c);
                        }
                    }
                    Candidate c = choose(tier, now);
                    Reservation r = state.reserve(c.id(), limits(c), now, expires);
                    if (r instanceof Reservation.Granted granted) {
                        return new WaitQueue.Try.Got<>(new Taken(c, granted.lease()));
                    }
                    Reservation.Refused refused = (Reservation.Refused) r;
                    if (refused.limit() == Reservation.Limit.PARALLEL) {
                        busy = true;
                    }
                    refused.retryAt().ifPresent(this::earlier);
                    left.remove(c);
                }
            }
            if (busy) {
                Optional<Duration> recheck = Optional.ofNullable(back).map(b -> Duration.between(now, b));
                // a slot freed by another replica sharing the state wakes nobody here: look again by then too
                Optional<Duration> shared = state.recheckInterval();
                if (shared.isPresent() && (recheck.isEmpty() || shared.get().compareTo(recheck.get()) < 0)) {
                    recheck = shared;
                }
                return new WaitQueue.Try.Busy<>(recheck);
            }
            return new WaitQueue.Try.NotWaiting<>();
        }

        private void earlier(Instant t) {
            if (back == null || t.isBefore(back)) {
                back = t;
            }
        }
    }

    /**
     * A slot in {@code group}: at once, or after waiting in the group's line while every open deployment holds
     * all its parallel slots (at most {@code max_parallel_wait}, and never past the deadline).
     */
    private Acquired acquire(String group, Set<String> tried, Set<String> excluded, Options options,
                             List<Attempt> attempts, EaselException last) {
        Probe probe = new Probe(group, tried, excluded);
        Duration budget = policy.maxParallelWait();
        boolean byDeadline = false;
        if (options.deadline().isPresent()) {
            Duration left = Duration.between(clock.instant(), options.deadline().get());
            if (left.compareTo(budget) < 0) {
                budget = left;
                byDeadline = true;
            }
        }
        WaitQueue.Outcome<Taken> out;
        try {
            out = queues.get(group).acquire(probe::look, budget);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new dev.easel.ConnectionException("interrupted while waiting for a free deployment of '" + group
                    + "'", null, e);
        }
        // instanceof rather than a pattern switch: its bootstrap costs a first request ~100 ms
        if (out instanceof WaitQueue.Outcome.Got<Taken> got) {
            return got.value();
        }
        if (out instanceof WaitQueue.Outcome.NotWaiting<Taken>) {
            return probe.noneLeft ? new NoneLeft()
                    : new Skip("skipped: every deployment is resting or at its rate limit", probe.back, null);
        }
        if (out instanceof WaitQueue.Outcome.Full<Taken> full) {
            return new Skip("skipped: every deployment is at its max_parallel_requests and the wait queue is full",
                    null, parallelRefusal(group, waitingClause(full.waiting(), "router_settings.max_parallel_waiters")));
        }
        if (byDeadline) {
            throw deadlineError(options, attempts, last instanceof TimeoutException t ? t : null);
        }
        return new Skip("skipped: every deployment is at its max_parallel_requests (no slot freed within "
                + seconds(policy.maxParallelWait()) + ")", null, parallelRefusal(group, "and no slot freed within "
                + seconds(policy.maxParallelWait()) + " (router_settings.max_parallel_wait)"));
    }

    /** {@code and 2 requests are already waiting (key)}, or for a line of none {@code and key is 0}. */
    static String waitingClause(int waiting, String key) {
        if (waiting == 0) {
            return "and " + key + " is 0 (no request waits)";
        }
        return "and " + waiting + (waiting == 1 ? " request is" : " requests are") + " already waiting (" + key + ")";
    }

    private static RateLimitException parallelRefusal(String group, String why) {
        return new RateLimitException("every deployment of '" + group + "' is at its max_parallel_requests " + why
                + "; retry in 1 s", "rate_limit_error", "parallel_limit_reached", null, null, null,
                Duration.ofSeconds(1), null);
    }

    /** A slot on this very deployment, without waiting; null when it has none free (or rests) now. */
    private Taken reserveOn(Candidate c) {
        Instant now = clock.instant();
        if (state.cooldownUntil(c.id(), now).isPresent()) {
            return null;
        }
        Reservation r = state.reserve(c.id(), limits(c), now, now.plus(policy.leaseTtl()));
        return r instanceof Reservation.Granted g ? new Taken(c, g.lease()) : null;
    }

    /** Ends a lease: settled when the call reached the provider, released when it did not; wakes the line. */
    private void end(Taken taken, boolean reachedProvider) {
        Instant now = clock.instant();
        if (reachedProvider) {
            state.settle(taken.lease(), 0, now);
        } else {
            state.release(taken.lease(), now);
        }
        queues.get(taken.candidate().group()).wake();
    }

    // ---- deadline ---------------------------------------------------------------------------------

    private Optional<Duration> remaining(Options options) {
        return options.deadline().map(d -> Duration.between(clock.instant(), d));
    }

    private void checkDeadline(Options options, List<Attempt> attempts, EaselException last) {
        if (options.deadline().isPresent() && !clock.instant().isBefore(options.deadline().get())) {
            throw deadlineError(options, attempts, last instanceof TimeoutException t ? t : null);
        }
    }

    private static TimeoutException deadlineError(Options options, List<Attempt> attempts, TimeoutException cause) {
        String job = cause == null ? "" : cause.jobId().map(id -> "; job " + id + " was still running").orElse("");
        TimeoutException e = new TimeoutException("the request took longer than its time limit of "
                + seconds(options.limit) + " (" + options.setting + ": waits, retries and fallbacks included)" + job,
                cause == null ? null : cause.provider().orElse(null), cause != null && cause.bodySent(), cause);
        if (cause != null && cause.jobId().isPresent()) {
            e.forJob(cause.jobId().get());
        }
        return annotate(e, attempts);
    }

    /** Waits {@code d} before a retry; a wait that would pass the deadline ends the request at once. */
    private void pause(Duration d, Options options, List<Attempt> attempts, EaselException last) {
        if (d.isZero() || d.isNegative()) {
            return;
        }
        if (options.deadline().isPresent() && !clock.instant().plus(d).isBefore(options.deadline().get())) {
            throw deadlineError(options, attempts, last instanceof TimeoutException t ? t : null);
        }
        try {
            sleeper.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new dev.easel.ConnectionException("interrupted while waiting to retry", null, e);
        }
    }

    /** {@code 1 s}, {@code 0.2 s}. */
    static String seconds(Duration d) {
        return BigDecimal.valueOf(d.toMillis()).movePointLeft(3).stripTrailingZeros().toPlainString() + " s";
    }

    // ---- choosing ---------------------------------------------------------------------------------

    /** Applies the strategy to one priority tier (never empty). */
    Candidate choose(List<Candidate> tier, Instant now) {
        if (tier.size() == 1) {
            return tier.get(0);
        }
        return switch (policy.strategy()) {
            case SIMPLE_SHUFFLE -> weighted(tier);
            case LEAST_BUSY -> lowest(tier, c -> (double) state.inflight(c.id()));
            case LATENCY_BASED_ROUTING -> latencyBased(tier);
            case USAGE_BASED_ROUTING, USAGE_BASED_ROUTING_V2 -> lowest(tier, c -> usageRatio(c, now));
            case COST_BASED_ROUTING -> lowest(tier, c -> c.unitPrice() == null ? Double.MAX_VALUE
                    : c.unitPrice().doubleValue());
        };
    }

    private Candidate weighted(List<Candidate> tier) {
        double total = 0;
        for (Candidate c : tier) {
            total += Math.max(0, c.weight());
        }
        if (total <= 0) {
            return tier.get(random.nextInt(tier.size()));
        }
        double r = random.nextDouble() * total;
        for (Candidate c : tier) {
            r -= Math.max(0, c.weight());
            if (r < 0) {
                return c;
            }
        }
        return tier.get(tier.size() - 1);
    }

    /** The lowest score; ties broken at random so equal deployments share the load. */
    private Candidate lowest(List<Candidate> tier, java.util.function.ToDoubleFunction<Candidate> score) {
        double min = Double.MAX_VALUE;
        List<Candidate> best = new ArrayList<>();
        for (Candidate c : tier) {
            double s = score.applyAsDouble(c);
            if (s < min) {
                min = s;
                best.clear();
                best.add(c);
            } else if (s == min) {
                best.add(c);
            }
        }
        return best.get(random.nextInt(best.size()));
    }

    /** Lowest recent latency per image, with a 10% buffer: deployments within it share the load. */
    private Candidate latencyBased(List<Candidate> tier) {
        List<Candidate> unknown = tier.stream().filter(c -> state.latencyMillis(c.id()).isEmpty()).toList();
        if (!unknown.isEmpty()) {
            return unknown.get(random.nextInt(unknown.size())); // measure every deployment first
        }
        double min = tier.stream().mapToDouble(c -> state.latencyMillis(c.id()).getAsDouble()).min().orElseThrow();
        List<Candidate> near = tier.stream()
                .filter(c -> state.latencyMillis(c.id()).getAsDouble() <= min * 1.10 + 1e-9).toList();
        return near.get(random.nextInt(near.size()));
    }

    private double usageRatio(Candidate c, Instant now) {
        double r = 0;
        if (c.rpm().isPresent() && c.rpm().getAsInt() > 0) {
            r = Math.max(r, state.requestsThisMinute(c.id(), now) / (double) c.rpm().getAsInt());
        }
        if (c.tpm().isPresent() && c.tpm().getAsLong() > 0) {
            r = Math.max(r, state.tokensThisMinute(c.id(), now) / (double) c.tpm().getAsLong());
        }
        if (c.rpm().isEmpty() && c.tpm().isEmpty()) {
            r = state.requestsThisMinute(c.id(), now) / 1e6; // unlimited: least used first
        }
        return r;
    }

    // ---- failures ---------------------------------------------------------------------------------

    /** Rests a deployment after a failure, by what the failure says about it. */
    private void rest(Candidate c, EaselException e) {
        if (!policy.cooldowns() || e == null) {
            return;
        }
        Instant now = clock.instant();
        if (e instanceof RateLimitException r) {
            // a provider's Retry-After is capped: a bogus or day-long one must not take the deployment out for a day
            Duration d = r.retryAfter().filter(x -> !x.isNegative() && !x.isZero())
                    .map(x -> x.compareTo(policy.maxCooldownTime()) > 0 ? policy.maxCooldownTime() : x)
                    .orElse(policy.cooldownTime());
            coolDown(c, now, now.plus(d), e);
            return;
        }
        if (e instanceof AuthenticationException || e instanceof PermissionDeniedException
                || e instanceof NotFoundException) {
            coolDown(c, now, now.plus(policy.cooldownTime()), e);
            return;
        }
        if (e instanceof BadRequestException) {
            return; // the request's fault, not the deployment's (content policy included)
        }
        int fails = state.recordFailure(c.id(), now);
        if (fails >= Math.max(1, policy.allowedFails())) {
            coolDown(c, now, now.plus(policy.cooldownTime()), e);
            state.clearFailures(c.id());
        }
    }

    /** Whether to try the same group again after {@code e}. */
    private boolean retryable(EaselException e) {
        if (e == null) {
            return false;
        }
        if (e instanceof TimeoutException t && t.bodySent() && !policy.retryOnTimeout()) {
            return false;
        }
        return e.retryable();
    }

    /** Whether {@code e} ends the request: no retry and no fallback. */
    private boolean terminal(EaselException e) {
        if (e instanceof ContentPolicyViolationException) {
            return false; // another group may take the prompt; the refused job is not submitted again
        }
        if (e.jobId().isPresent()) {
            return true; // the provider accepted the job: sending it again would pay for it twice
        }
        if (e instanceof TimeoutException t) {
            // an edit the provider may still be working on (and billing for) is not sent anywhere else
            return t.bodySent() && !policy.retryOnTimeout();
        }
        return e instanceof BadRequestException;
    }

    private List<String> nextGroups(String group, List<String> requestFallbacks, EaselException error) {
        if (error instanceof ContentPolicyViolationException) {
            List<String> cp = policy.contentPolicyFallbacks().get(group);
            if (cp != null && !cp.isEmpty()) {
                return cp;
            }
        }
        if (!requestFallbacks.isEmpty()) {
            return requestFallbacks;
        }
        List<String> own = policy.fallbacks().get(group);
        if (own != null && !own.isEmpty()) {
            return own;
        }
        return policy.defaultFallbacks();
    }

    /**
     * The wait before a retry: at least {@code retry_after}; on the same deployment an exponential backoff with
     * jitter (0.5 s, 1 s, 2 s … ±25 %) or the provider's {@code Retry-After}; never more than the cap.
     */
    private Duration backoff(EaselException previous, boolean sameDeployment, int attempt) {
        Duration wait = policy.minRetryWait();
        if (sameDeployment) {
            double base = 500 * Math.pow(2, Math.max(0, attempt - 1));
            double jittered = base * (0.75 + 0.5 * random.nextDouble());
            Duration backoff = Duration.ofMillis((long) jittered);
            if (previous instanceof RateLimitException r && r.retryAfter().isPresent()) {
                backoff = r.retryAfter().get();
            }
            if (backoff.compareTo(wait) > 0) {
                wait = backoff;
            }
        }
        if (wait.compareTo(policy.maxRetryWait()) > 0) {
            wait = policy.maxRetryWait();
        }
        return wait.isNegative() ? Duration.ZERO : wait;
    }

    private static String describe(EaselException e) {
        String status = e.status().isPresent() ? Integer.toString(e.status().getAsInt()) : e.type();
        String code = e.code().map(c -> " " + c).orElse("");
        String msg = e.getMessage() == null ? "" : e.getMessage();
        if (msg.length() > 120) {
            msg = msg.substring(0, 117) + "...";
        }
        return status + code + " " + e.getClass().getSimpleName().replace("Exception", "") + " (" + msg + ")";
    }

    private static <E extends EaselException> E annotate(E e, List<Attempt> attempts) {
        if (attempts.size() > 1) {
            e.recordAttempts(attempts.stream().map(Attempt::toString).toList());
        }
        return e;
    }

    private static long ceilSeconds(Duration d) {
        return (d.toMillis() + 999) / 1000;
    }
}
