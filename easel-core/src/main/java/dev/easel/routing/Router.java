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
 * Picks deployments, retries, falls back and rests failing deployments. Knows nothing of HTTP or
 * providers: each attempt is a {@link Call} the caller supplies, and the router decides from the
 * exception type alone. Time, randomness and waiting are injected, so tests are exact.
 *
 * <p>Per model group: up to {@code 1 + numRetries} attempts, each on a deployment chosen by the strategy
 * among those not resting and not at their {@code rpm}/{@code tpm}, within the lowest {@code order}
 * available; then the group's fallbacks (breadth-first, never the same group twice).
 */
public final class Router {

    /**
     * A deployment as the router sees it.
     *
     * @param id        stable deployment id
     * @param group     model group ({@code model_name})
     * @param order     priority (lower first)
     * @param weight    simple-shuffle weight ({@code weight}, else {@code rpm}, else {@code tpm}, else 1)
     * @param rpm       requests-per-minute limit
     * @param tpm       tokens-per-minute limit
     * @param unitPrice price of a typical image (for cost-based routing), or null when unknown
     */
    public record Candidate(String id, String group, int order, double weight, OptionalInt rpm, OptionalLong tpm,
                            BigDecimal unitPrice) {
        public Candidate {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(group, "group");
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
     */
    public record Policy(RoutingStrategy strategy, int numRetries, Duration minRetryWait, int allowedFails,
                         Duration cooldownTime, Map<String, List<String>> fallbacks,
                         Map<String, List<String>> contentPolicyFallbacks, List<String> defaultFallbacks,
                         boolean retryOnTimeout, Duration maxRetryWait, boolean cooldowns) {
        public Policy {
            fallbacks = Map.copyOf(fallbacks);
            contentPolicyFallbacks = Map.copyOf(contentPolicyFallbacks);
            defaultFallbacks = List.copyOf(defaultFallbacks);
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
     */
    public record Result<T>(T value, Candidate served, int retries, int fallbacks, List<Attempt> attempts) {
    }

    private final Map<String, List<Candidate>> groups;
    private final Policy policy;
    private final RouterState state;
    private final Clock clock;
    private final RandomGenerator random;
    private final Sleeper sleeper;

    /** A router over {@code groups} (model group → deployments). */
    public Router(Map<String, List<Candidate>> groups, Policy policy, RouterState state, Clock clock,
                  RandomGenerator random, Sleeper sleeper) {
        Map<String, List<Candidate>> g = new LinkedHashMap<>();
        groups.forEach((k, v) -> g.put(k, List.copyOf(v)));
        this.groups = Map.copyOf(g);
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
     * Routes a request for {@code group}. {@code requestFallbacks}, when not empty, replace the configured
     * fallbacks of the requested group.
     *
     * @throws EaselException the last failure (its message lists what was tried), or a
     *                        {@link RateLimitException} with {@code Retry-After} when every deployment rests
     */
    public <T> Result<T> route(String group, List<String> requestFallbacks, Call<T> call) {
        if (!groups.containsKey(group)) {
            throw new NotFoundException("model '" + group + "' is not served here", "model_not_found", "model");
        }
        List<Attempt> attempts = new ArrayList<>();
        Deque<String> queue = new ArrayDeque<>();
        Set<String> visited = new HashSet<>();
        queue.add(group);
        EaselException last = null;
        Instant earliestBack = null;
        int retries = 0;
        int fallbacks = -1;
        boolean everCalled = false;
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
            int maxAttempts = 1 + Math.max(0, policy.numRetries());
            for (int n = 0; n < maxAttempts; n++) {
                Instant now = clock.instant();
                Optional<Candidate> pick = pick(g, triedHere, now);
                if (pick.isEmpty()) {
                    Optional<Instant> back = earliestReturn(g, now);
                    if (back.isPresent() && (earliestBack == null || back.get().isBefore(earliestBack))) {
                        earliestBack = back.get();
                    }
                    attempts.add(new Attempt(g, null, "skipped: every deployment is resting or at its rate limit"));
                    break;
                }
                Candidate c = pick.get();
                if (n > 0) {
                    retries++;
                    waitBeforeRetry(groupError, c, triedHere, n);
                }
                triedHere.add(c.id());
                state.begin(c.id());
                Instant start = clock.instant();
                try {
                    Attempted<T> a = call.attempt(c, fallback);
                    Instant end = clock.instant();
                    state.recordUsage(c.id(), a.tokens(), end);
                    state.recordLatency(c.id(), Duration.between(start, end).dividedBy(Math.max(1, a.images())));
                    attempts.add(new Attempt(g, c.id(), "ok"));
                    return new Result<>(a.value(), c, retries, Math.max(0, fallbacks), List.copyOf(attempts));
                } catch (UnsuitableException e) {
                    attempts.add(new Attempt(g, c.id(), "skipped: " + e.getMessage()));
                    if (!fallback) {
                        throw e; // the request itself is invalid for the model asked for
                    }
                    groupError = null;
                    break;
                } catch (EaselException e) {
                    everCalled = true;
                    state.recordUsage(c.id(), 0, clock.instant());
                    groupError = e;
                    last = e;
                    attempts.add(new Attempt(g, c.id(), describe(e)));
                    rest(c, e);
                    if (terminal(e)) {
                        throw annotate(e, attempts);
                    }
                    if (!retryable(e)) {
                        break;
                    }
                } finally {
                    state.end(c.id());
                }
            }
            List<String> next = nextGroups(g, g.equals(group) ? requestFallbacks : List.of(), groupError);
            queue.addAll(next);
        }
        if (last != null && everCalled) {
            throw annotate(last, attempts);
        }
        Duration wait = earliestBack == null ? policy.cooldownTime()
                : Duration.between(clock.instant(), earliestBack);
        throw annotate(new RateLimitException("no deployment of '" + group + "' is available right now (all are "
                + "resting after failures or at their rate limits); retry in " + Math.max(1, ceilSeconds(wait)) + " s",
                "rate_limit_error", "no_deployment_available", null, null, null, wait, null), attempts);
    }

    // ---- choosing ---------------------------------------------------------------------------------

    private Optional<Candidate> pick(String group, Set<String> triedHere, Instant now) {
        List<Candidate> available = new ArrayList<>();
        for (Candidate c : groups.get(group)) {
            if (state.cooldownUntil(c.id(), now).isPresent() || atLimit(c, now)) {
                continue;
            }
            available.add(c);
        }
        if (available.isEmpty()) {
            return Optional.empty();
        }
        // retries prefer deployments this request has not tried yet
        List<Candidate> fresh = available.stream().filter(c -> !triedHere.contains(c.id())).toList();
        List<Candidate> pool = fresh.isEmpty() ? available : fresh;
        int best = pool.stream().mapToInt(Candidate::order).min().orElseThrow();
        List<Candidate> tier = pool.stream().filter(c -> c.order() == best).toList();
        return Optional.of(choose(tier, now));
    }

    private boolean atLimit(Candidate c, Instant now) {
        if (c.rpm().isPresent() && state.requestsThisMinute(c.id(), now) >= c.rpm().getAsInt()) {
            return true;
        }
        return policy.strategy() == RoutingStrategy.USAGE_BASED_ROUTING
                || policy.strategy() == RoutingStrategy.USAGE_BASED_ROUTING_V2
                ? c.tpm().isPresent() && state.tokensThisMinute(c.id(), now) >= c.tpm().getAsLong()
                : false;
    }

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

    private Optional<Instant> earliestReturn(String group, Instant now) {
        Instant best = null;
        for (Candidate c : groups.get(group)) {
            Optional<Instant> until = state.cooldownUntil(c.id(), now);
            Instant back = until.orElse(c.rpm().isPresent() && state.requestsThisMinute(c.id(), now)
                    >= c.rpm().getAsInt() ? Instant.ofEpochSecond((now.getEpochSecond() / 60 + 1) * 60) : null);
            if (back != null && (best == null || back.isBefore(best))) {
                best = back;
            }
        }
        return Optional.ofNullable(best);
    }

    // ---- failures ---------------------------------------------------------------------------------

    /** Rests a deployment after a failure, by what the failure says about it. */
    private void rest(Candidate c, EaselException e) {
        if (!policy.cooldowns()) {
            return;
        }
        Instant now = clock.instant();
        if (e instanceof RateLimitException r) {
            Duration d = r.retryAfter().filter(x -> !x.isNegative() && !x.isZero()).orElse(policy.cooldownTime());
            state.cooldown(c.id(), now.plus(d));
            return;
        }
        if (e instanceof AuthenticationException || e instanceof PermissionDeniedException
                || e instanceof NotFoundException) {
            state.cooldown(c.id(), now.plus(policy.cooldownTime()));
            return;
        }
        if (e instanceof BadRequestException) {
            return; // the request's fault, not the deployment's (content policy included)
        }
        int fails = state.recordFailure(c.id(), now);
        if (fails >= Math.max(1, policy.allowedFails())) {
            state.cooldown(c.id(), now.plus(policy.cooldownTime()));
            state.clearFailures(c.id());
        }
    }

    /** Whether to try the same group again after {@code e}. */
    private boolean retryable(EaselException e) {
        if (e instanceof TimeoutException t && t.bodySent() && !policy.retryOnTimeout()) {
            return false;
        }
        return e.retryable();
    }

    /** Whether {@code e} ends the request: no retry and no fallback. */
    private boolean terminal(EaselException e) {
        if (e instanceof ContentPolicyViolationException) {
            return false;
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

    private void waitBeforeRetry(EaselException previous, Candidate next, Set<String> triedHere, int attempt) {
        Duration wait = policy.minRetryWait();
        boolean sameDeployment = triedHere.contains(next.id());
        if (sameDeployment) {
            // exponential backoff with jitter: 0.5 s, 1 s, 2 s … ±25 %
            double base = 500 * Math.pow(2, attempt - 1);
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
        if (wait.isZero() || wait.isNegative()) {
            return;
        }
        try {
            sleeper.sleep(wait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new dev.easel.ConnectionException("interrupted while waiting to retry", null, e);
        }
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
