package dev.easel.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ContentPolicyViolationException;
import dev.easel.EaselException;
import dev.easel.InternalServerException;
import dev.easel.RateLimitException;
import dev.easel.TimeoutException;
import dev.easel.config.RoutingStrategy;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The router without sockets: exact, with an injected clock, random source and sleeper. */
class RouterTest {

    /** A clock the test moves; sleeping moves it too. */
    static final class TestClock extends Clock {
        volatile Instant now = Instant.parse("2026-11-24T12:00:00Z"); // waiting threads read it

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }
    }

    static Router.Candidate dep(String id, String group) {
        return new Router.Candidate(id, group, Integer.MAX_VALUE, 1, OptionalInt.empty(), OptionalLong.empty(), null);
    }

    static Router.Policy policy(RoutingStrategy s, int retries, Map<String, List<String>> fallbacks) {
        return new Router.Policy(s, retries, Duration.ZERO, 3, Duration.ofSeconds(30), fallbacks,
                Map.of(), List.of(), false, Duration.ofSeconds(10), true);
    }

    record Call(String group, String id, Instant at) {
    }

    final TestClock clock = new TestClock();
    final List<Duration> waits = new ArrayList<>();
    final InMemoryRouterState state = new InMemoryRouterState();

    Router router(Map<String, List<Router.Candidate>> groups, Router.Policy policy, long seed) {
        return new Router(groups, policy, state, clock, new Random(seed), d -> {
            waits.add(d);
            clock.advance(d);
        });
    }

    // ---- invariants over strategy × failure pattern × fallback chain ------------------------------

    /** How a deployment answers: given (deployment id, call number) → null for success, else the failure. */
    record Pattern(String name, BiFunction<String, Integer, EaselException> failure) {
        @Override
        public String toString() {
            return name;
        }
    }

    static EaselException server() {
        return new InternalServerException("boom", 500, "api_error", null, null, "openai", null, null);
    }

    static List<Pattern> patterns() {
        return List.of(
                new Pattern("all ok", (id, n) -> null),
                new Pattern("a1 always 500", (id, n) -> id.equals("a1") ? server() : null),
                new Pattern("group a always 500", (id, n) -> id.startsWith("a") ? server() : null),
                new Pattern("everything 500", (id, n) -> server()),
                new Pattern("a1 429 retry-after 20s", (id, n) -> id.equals("a1") ? new RateLimitException("slow down",
                        null, "rate_limit_exceeded", null, "openai", null, Duration.ofSeconds(20), null) : null),
                new Pattern("group a 401", (id, n) -> id.startsWith("a") ? new AuthenticationException("bad key",
                        "invalid_api_key", null) : null),
                new Pattern("a1 400", (id, n) -> id.equals("a1") ? new BadRequestException("bad size",
                        "invalid_value", "size") : null),
                new Pattern("a1 timeout after send", (id, n) -> id.equals("a1") ? new TimeoutException("slow",
                        "openai", true, null) : null),
                new Pattern("content policy in a", (id, n) -> id.startsWith("a")
                        ? new ContentPolicyViolationException("blocked", "moderation_blocked", null) : null),
                new Pattern("random 50%", (id, n) -> Math.floorMod((id + n).hashCode() * 31 + n, 2) == 0
                        ? server() : null));
    }

    static List<Map<String, List<String>>> chains() {
        return List.of(Map.of(), Map.of("a", List.of("b")), Map.of("a", List.of("b"), "b", List.of("a")),
                Map.of("a", List.of("b", "c"), "b", List.of("c")));
    }

    static Stream<Arguments> matrix() {
        List<Arguments> out = new ArrayList<>();
        for (RoutingStrategy s : RoutingStrategy.values()) {
            for (Pattern p : patterns()) {
                for (Map<String, List<String>> chain : chains()) {
                    for (int retries : new int[] {0, 2}) {
                        out.add(Arguments.of(s, p, chain, retries));
                    }
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} / {1} / {2} / retries={3}")
    @MethodSource("matrix")
    void invariants_holdForEveryStrategyFailureAndChain(RoutingStrategy strategy, Pattern pattern,
                                                      Map<String, List<String>> chain, int retries) {
        Map<String, List<Router.Candidate>> groups = new LinkedHashMap<>();
        groups.put("a", List.of(dep("a1", "a"), dep("a2", "a")));
        groups.put("b", List.of(dep("b1", "b")));
        groups.put("c", List.of(dep("c1", "c"), dep("c2", "c")));
        Router router = router(groups, policy(strategy, retries, chain), 7);

        for (int request = 0; request < 20; request++) {
            List<Call> calls = new ArrayList<>();
            int[] n = {0};
            EaselException failure = null;
            try {
                router.route("a", List.of(), (c, fallback) -> {
                    // never calls a rested deployment
                    assertThat(state.cooldownUntil(c.id(), clock.instant())).as("%s rested", c.id()).isEmpty();
                    calls.add(new Call(c.group(), c.id(), clock.instant()));
                    EaselException e = pattern.failure().apply(c.id(), n[0]++);
                    if (e != null) {
                        throw e;
                    }
                    return new Router.Attempted<>("ok", 100, 1);
                });
            } catch (EaselException e) {
                failure = e;
            }
            // never loops: each group appears in one contiguous run and at most once
            List<String> runs = new ArrayList<>();
            for (Call c : calls) {
                if (runs.isEmpty() || !runs.get(runs.size() - 1).equals(c.group())) {
                    runs.add(c.group());
                }
            }
            assertThat(runs).doesNotHaveDuplicates();
            // attempts ≤ 1 + num_retries per group, besides moving past deployments whose key was refused (401/403:
            // not a retry of the request, each deployment at most once)
            for (String g : runs) {
                List<Integer> inGroup = new ArrayList<>();
                for (int i = 0; i < calls.size(); i++) {
                    if (calls.get(i).group().equals(g)) {
                        inGroup.add(i);
                    }
                }
                long refusedKeys = inGroup.stream().map(i -> pattern.failure().apply(calls.get(i).id(), i))
                        .filter(e -> e instanceof AuthenticationException
                                || e instanceof dev.easel.PermissionDeniedException).count();
                assertThat(inGroup.size() - refusedKeys).isLessThanOrEqualTo(1 + retries);
                assertThat(refusedKeys).isLessThanOrEqualTo(groups.get(g).size());
            }
            // a 4xx that is not 429 is never retried on the same deployment; only 401/403 may move on to another
            // deployment of the same group
            for (int i = 0; i < calls.size() - 1; i++) {
                EaselException e = pattern.failure().apply(calls.get(i).id(), i);
                if (e != null && !(e instanceof RateLimitException) && e.status().orElse(0) / 100 == 4) {
                    assertThat(calls.get(i + 1).id()).isNotEqualTo(calls.get(i).id());
                    if (!(e instanceof AuthenticationException || e instanceof dev.easel.PermissionDeniedException)) {
                        assertThat(calls.get(i + 1).group()).isNotEqualTo(calls.get(i).group());
                    }
                }
            }
            // every lease ended: nothing in flight once the request is over
            for (String id : List.of("a1", "a2", "b1", "c1", "c2")) {
                assertThat(state.inflight(id)).as("%s in flight", id).isZero();
            }
            // a bad request or a sent-then-timed-out edit goes nowhere else
            if (failure instanceof BadRequestException && !(failure instanceof ContentPolicyViolationException)
                    || failure instanceof TimeoutException) {
                assertThat(calls).isNotEmpty();
            }
            clock.advance(Duration.ofSeconds(1));
        }
    }

    // ---- strategies ---------------------------------------------------------------------------------

    @Test
    void simpleShuffle_distributionMatchesWeights_within2PercentOver10000Picks() {
        List<Router.Candidate> group = List.of(
                new Router.Candidate("w1", "g", 0, 1, OptionalInt.empty(), OptionalLong.empty(), null),
                new Router.Candidate("w2", "g", 0, 2, OptionalInt.empty(), OptionalLong.empty(), null),
                new Router.Candidate("w7", "g", 0, 7, OptionalInt.empty(), OptionalLong.empty(), null));
        Router router = router(Map.of("g", group), policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Map.of()), 42);
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (int i = 0; i < 10_000; i++) {
            String id = router.route("g", List.of(), (c, f) -> new Router.Attempted<>(c.id(), 0, 1)).value();
            counts.merge(id, 1, Integer::sum);
        }
        // expected shares 0.1 / 0.2 / 0.7; binomial sd at n=10,000 is ≤ 0.005, so ±0.02 is a 4-sigma bound
        assertThat(counts.get("w1") / 10_000.0).isBetween(0.08, 0.12);
        assertThat(counts.get("w2") / 10_000.0).isBetween(0.18, 0.22);
        assertThat(counts.get("w7") / 10_000.0).isBetween(0.68, 0.72);
    }

    @Test
    void leastBusy_picksFewestInFlight() {
        Router router = router(Map.of("g", List.of(dep("x", "g"), dep("y", "g"))),
                policy(RoutingStrategy.LEAST_BUSY, 0, Map.of()), 1);
        Instant far = clock.instant().plusSeconds(3600);
        state.reserve("x", Limits.none(), clock.instant(), far);
        state.reserve("x", Limits.none(), clock.instant(), far);
        state.reserve("y", Limits.none(), clock.instant(), far);
        for (int i = 0; i < 20; i++) {
            assertThat(router.route("g", List.of(), (c, f) -> new Router.Attempted<>(c.id(), 0, 1)).value())
                    .isEqualTo("y");
        }
    }

    @Test
    void latencyBased_prefersFastest_andSharesWithinTenPercentBuffer() {
        Router router = router(Map.of("g", List.of(dep("fast", "g"), dep("near", "g"), dep("slow", "g"))),
                policy(RoutingStrategy.LATENCY_BASED_ROUTING, 0, Map.of()), 3);
        state.recordLatency("fast", Duration.ofMillis(1000));
        state.recordLatency("near", Duration.ofMillis(1050));
        state.recordLatency("slow", Duration.ofMillis(3000));
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (int i = 0; i < 200; i++) {
            // the call itself takes no time here, so recorded latencies would drop: route without recording
            String id = router.choose(List.of(dep("fast", "g"), dep("near", "g"), dep("slow", "g")), clock.instant()).id();
            counts.merge(id, 1, Integer::sum);
        }
        assertThat(counts).doesNotContainKey("slow");
        assertThat(counts.get("fast")).isGreaterThan(50);
        assertThat(counts.get("near")).isGreaterThan(50);
    }

    @Test
    void usageBased_skipsDeploymentsAtTheirRpm_everyStrategyDoes() {
        for (RoutingStrategy s : RoutingStrategy.values()) {
            InMemoryRouterState fresh = new InMemoryRouterState();
            Router router = new Router(Map.of("g", List.of(
                    new Router.Candidate("limited", "g", 0, 100, OptionalInt.of(2), OptionalLong.empty(), BigDecimal.ONE),
                    new Router.Candidate("open", "g", 0, 1, OptionalInt.empty(), OptionalLong.empty(), BigDecimal.TEN))),
                    policy(s, 0, Map.of()), fresh, clock, new Random(5), d -> { });
            Map<String, Integer> counts = new LinkedHashMap<>();
            for (int i = 0; i < 30; i++) {
                counts.merge(router.route("g", List.of(), (c, f) -> new Router.Attempted<>(c.id(), 0, 1)).value(), 1,
                        Integer::sum);
            }
            assertThat(counts.getOrDefault("limited", 0)).as(s.name()).isLessThanOrEqualTo(2);
        }
    }

    @Test
    void costBased_picksCheapest() {
        Router router = router(Map.of("g", List.of(
                new Router.Candidate("dear", "g", 0, 1, OptionalInt.empty(), OptionalLong.empty(), new BigDecimal("0.042")),
                new Router.Candidate("cheap", "g", 0, 1, OptionalInt.empty(), OptionalLong.empty(), new BigDecimal("0.011")))),
                policy(RoutingStrategy.COST_BASED_ROUTING, 0, Map.of()), 1);
        assertThat(router.route("g", List.of(), (c, f) -> new Router.Attempted<>(c.id(), 0, 1)).value())
                .isEqualTo("cheap");
    }

    @Test
    void order_lowerTriedFirst_higherOnlyWhenLowerUnavailable() {
        Router router = router(Map.of("g", List.of(
                new Router.Candidate("backup", "g", 2, 1, OptionalInt.empty(), OptionalLong.empty(), null),
                new Router.Candidate("primary", "g", 1, 1, OptionalInt.empty(), OptionalLong.empty(), null))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 1, Map.of()), 1);
        List<String> called = new ArrayList<>();
        String served = router.route("g", List.of(), (c, f) -> {
            called.add(c.id());
            if (c.id().equals("primary")) {
                throw server();
            }
            return new Router.Attempted<>(c.id(), 0, 1);
        }).value();
        assertThat(called).containsExactly("primary", "backup");
        assertThat(served).isEqualTo("backup");
    }

    // ---- cooldowns, retries, fallbacks ----------------------------------------------------------------

    @Test
    void allowedFails_restsDeploymentForCooldownTime() {
        Router router = router(Map.of("g", List.of(dep("x", "g"), dep("y", "g"))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Map.of()), 1);
        int failures = 0;
        while (state.cooldownUntil("x", clock.instant()).isEmpty()) {
            try {
                router.route("g", List.of(), (c, f) -> {
                    if (c.id().equals("x")) {
                        throw server();
                    }
                    return new Router.Attempted<>(c.id(), 0, 1);
                });
            } catch (EaselException e) {
                failures++;
            }
        }
        assertThat(failures).isEqualTo(3); // allowed_fails
        assertThat(state.cooldownUntil("x", clock.instant())).contains(clock.instant().plusSeconds(30));
        clock.advance(Duration.ofSeconds(31));
        assertThat(state.cooldownUntil("x", clock.instant())).isEmpty();
    }

    // ---- health, read without calling ----------------------------------------------------------------

    @Test
    void health_failuresUntilTheRest_showTheLastErrorTheRestAndOneCooldownStarted() {
        Router router = router(Map.of("g", List.of(dep("x", "g"), dep("y", "g"))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Map.of()), 1);
        assertThat(router.health("x").orElseThrow().state()).isEqualTo(DeploymentHealth.State.HEALTHY);
        while (state.cooldownUntil("x", clock.instant()).isEmpty()) {
            try {
                router.route("g", List.of(), (c, f) -> {
                    if (c.id().equals("x")) {
                        throw new InternalServerException("upstream broke", 500, "api_error", "server_error", null,
                                "openai", null, null);
                    }
                    return new Router.Attempted<>(c.id(), 0, 1);
                });
            } catch (EaselException e) {
                clock.advance(Duration.ofSeconds(1));
            }
        }

        DeploymentHealth x = router.health("x").orElseThrow();
        assertThat(x.state()).isEqualTo(DeploymentHealth.State.OUTAGE);
        assertThat(x.group()).isEqualTo("g");
        assertThat(x.cooldownUntil()).contains(clock.instant().plusSeconds(29));
        DeploymentHealth.Failure last = x.lastFailure().orElseThrow();
        assertThat(last.status()).hasValue(500);
        assertThat(last.type()).isEqualTo("api_error");
        assertThat(last.code()).contains("server_error");
        assertThat(last.exception()).isEqualTo("InternalServerException");
        assertThat(last.message()).isEqualTo("upstream broke");
        assertThat(last.at()).isEqualTo(clock.instant().minusSeconds(1)); // the clock moved 1 s after each failure
        assertThat(x.cooldowns()).containsExactly(Map.entry("500", 1L));
        assertThat(x.lastSuccess()).isEmpty();
        assertThat(router.health("y").orElseThrow().state()).isEqualTo(DeploymentHealth.State.HEALTHY);

        clock.advance(Duration.ofSeconds(30)); // the rest is over, the last call still failed
        assertThat(router.health("x").orElseThrow().state()).isEqualTo(DeploymentHealth.State.PARTIAL_OUTAGE);
    }

    @Test
    void health_aSuccessAfterAFailure_isHealthyAgain_andKeepsTheFailureForTheRecord() {
        Router router = router(Map.of("g", List.of(dep("only", "g"))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Map.of()), 1);
        assertThatThrownBy(() -> router.route("g", List.of(), (c, f) -> {
            throw server();
        })).isInstanceOf(InternalServerException.class);
        Instant failedAt = clock.instant();
        assertThat(router.health("only").orElseThrow().state()).isEqualTo(DeploymentHealth.State.PARTIAL_OUTAGE);

        router.route("g", List.of(), (c, f) -> new Router.Attempted<>("ok", 0, 1)); // same instant: order decides

        DeploymentHealth h = router.health("only").orElseThrow();
        assertThat(h.state()).isEqualTo(DeploymentHealth.State.HEALTHY);
        assertThat(h.lastSuccess()).contains(clock.instant());
        assertThat(h.lastFailure().orElseThrow().at()).isEqualTo(failedAt);
        assertThat(h.latencyMillis()).isPresent();
        assertThat(h.cooldowns()).isEmpty(); // one failure of three allowed
    }

    @Test
    void health_aRequestsOwnBadRequest_saysNothingOfTheDeployment() {
        Router router = router(Map.of("g", List.of(dep("only", "g"))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Map.of()), 1);
        assertThatThrownBy(() -> router.route("g", List.of(), (c, f) -> {
            throw new BadRequestException("bad size", "invalid_value", "size");
        })).isInstanceOf(BadRequestException.class);

        DeploymentHealth h = router.health("only").orElseThrow();
        assertThat(h.state()).isEqualTo(DeploymentHealth.State.HEALTHY);
        assertThat(h.lastFailure()).isEmpty();
    }

    @Test
    void health_aRateLimitRestIsCountedOnce_andTheMinutesUseIsAgainstTheRpm() {
        Router.Candidate limited = new Router.Candidate("r", "g", Integer.MAX_VALUE, 1, OptionalInt.of(10),
                OptionalLong.of(5000), null);
        Router router = router(Map.of("g", List.of(limited)), policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Map.of()), 1);
        router.route("g", List.of(), (c, f) -> new Router.Attempted<>("ok", 1200, 1));
        router.route("g", List.of(), (c, f) -> new Router.Attempted<>("ok", 300, 1));
        assertThatThrownBy(() -> router.route("g", List.of(), (c, f) -> {
            throw new RateLimitException("slow down", null, "rate_limit_exceeded", null, "openai", null,
                    Duration.ofSeconds(20), null);
        })).isInstanceOf(RateLimitException.class);

        DeploymentHealth h = router.health("r").orElseThrow();
        assertThat(h.requestsThisMinute()).isEqualTo(3);
        assertThat(h.tokensThisMinute()).isEqualTo(1500);
        assertThat(h.rpm()).hasValue(10);
        assertThat(h.remainingRequests()).hasValue(7);
        assertThat(h.remainingTokens()).hasValue(3500);
        assertThat(h.cooldowns()).containsExactly(Map.entry("429", 1L));
        assertThat(h.cooldownUntil()).contains(clock.instant().plusSeconds(20));
        assertThat(h.inflight()).isZero();
        assertThat(router.health("nope")).isEmpty();
    }

    @Test
    void rateLimited_restsForRetryAfter_thenGroupWithNothingLeftAnswers429WithRetryAfter() {
        Router router = router(Map.of("g", List.of(dep("only", "g"))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 2, Map.of()), 1);
        assertThatThrownBy(() -> router.route("g", List.of(), (c, f) -> {
            throw new RateLimitException("slow down", null, "rate_limit_exceeded", null, "openai", null,
                    Duration.ofSeconds(20), null);
        })).isInstanceOf(RateLimitException.class);
        clock.advance(Duration.ofSeconds(5));
        List<String> called = new ArrayList<>();
        assertThatThrownBy(() -> router.route("g", List.of(), (c, f) -> {
            called.add(c.id());
            return new Router.Attempted<>(c.id(), 0, 1);
        })).isInstanceOfSatisfying(RateLimitException.class, e -> {
            assertThat(e.retryAfter()).contains(Duration.ofSeconds(15));
            assertThat(e.code()).contains("no_deployment_available");
        });
        assertThat(called).isEmpty(); // LiteLLM #40405: a lone deployment is rested too
    }

    @Test
    void allRested_goesStraightToFallbacks() {
        Router router = router(Map.of("a", List.of(dep("a1", "a")), "b", List.of(dep("b1", "b"))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 2, Map.of("a", List.of("b"))), 1);
        state.cooldown("a1", clock.instant().plusSeconds(60), clock.instant());
        Router.Result<String> r = router.route("a", List.of(), (c, f) -> new Router.Attempted<>(c.id(), 0, 1));
        assertThat(r.value()).isEqualTo("b1");
        assertThat(r.fallbacks()).isEqualTo(1);
        assertThat(r.attempts()).extracting(Router.Attempt::outcome).first().asString().startsWith("skipped");
    }

    @Test
    void contentPolicy_usesContentPolicyFallbacks_notRegularOnes() {
        Router.Policy p = new Router.Policy(RoutingStrategy.SIMPLE_SHUFFLE, 2, Duration.ZERO, 3, Duration.ofSeconds(30),
                Map.of("a", List.of("regular")), Map.of("a", List.of("lenient")), List.of(), false,
                Duration.ofSeconds(10), true);
        Router router = router(Map.of("a", List.of(dep("a1", "a")), "regular", List.of(dep("r1", "regular")),
                "lenient", List.of(dep("l1", "lenient"))), p, 1);
        List<String> called = new ArrayList<>();
        Router.Result<String> r = router.route("a", List.of(), (c, f) -> {
            called.add(c.id());
            if (c.id().equals("a1")) {
                throw new ContentPolicyViolationException("blocked", "moderation_blocked", null);
            }
            return new Router.Attempted<>(c.id(), 0, 1);
        });
        assertThat(called).containsExactly("a1", "l1"); // never retried, no regular fallback
        assertThat(r.value()).isEqualTo("l1");
    }

    @Test
    void timeoutAfterSend_notRetriedByDefault_retriedWhenAllowed() {
        Router noRetry = router(Map.of("g", List.of(dep("x", "g"))), policy(RoutingStrategy.SIMPLE_SHUFFLE, 2, Map.of()), 1);
        int[] calls = {0};
        assertThatThrownBy(() -> noRetry.route("g", List.of(), (c, f) -> {
            calls[0]++;
            throw new TimeoutException("slow", "openai", true, null);
        })).isInstanceOf(TimeoutException.class);
        assertThat(calls[0]).isEqualTo(1);

        Router.Policy allow = new Router.Policy(RoutingStrategy.SIMPLE_SHUFFLE, 2, Duration.ZERO, 10,
                Duration.ofSeconds(30), Map.of(), Map.of(), List.of(), true, Duration.ofSeconds(10), true);
        Router retry = router(Map.of("g", List.of(dep("z", "g"))), allow, 1);
        calls[0] = 0;
        assertThatThrownBy(() -> retry.route("g", List.of(), (c, f) -> {
            calls[0]++;
            throw new TimeoutException("slow", "openai", true, null);
        })).isInstanceOf(TimeoutException.class);
        assertThat(calls[0]).isEqualTo(3);
    }

    @Test
    void retryOnSameDeployment_waitsExponentialBackoffWithJitter_cappedRetryAfter() {
        Router.Policy p = new Router.Policy(RoutingStrategy.SIMPLE_SHUFFLE, 3, Duration.ZERO, 100,
                Duration.ofSeconds(30), Map.of(), Map.of(), List.of(), false, Duration.ofSeconds(10), false);
        Router router = router(Map.of("g", List.of(dep("x", "g"))), p, 9);
        int[] n = {0};
        String v = router.route("g", List.of(), (c, f) -> {
            n[0]++;
            if (n[0] == 1 || n[0] == 2) {
                throw server();
            }
            if (n[0] == 3) {
                throw new RateLimitException("slow", null, null, null, "openai", null, Duration.ofSeconds(99), null);
            }
            return new Router.Attempted<>("ok", 0, 1);
        }).value();
        assertThat(v).isEqualTo("ok");
        assertThat(waits).hasSize(3);
        assertThat(waits.get(0)).isBetween(Duration.ofMillis(375), Duration.ofMillis(625));
        assertThat(waits.get(1)).isBetween(Duration.ofMillis(750), Duration.ofMillis(1250));
        assertThat(waits.get(2)).isEqualTo(Duration.ofSeconds(10)); // Retry-After 99 s capped
    }

    @Test
    void requestFallbacks_replaceConfigured_andUnknownGroupsAreSkippedWithReason() {
        Router router = router(Map.of("a", List.of(dep("a1", "a")), "b", List.of(dep("b1", "b")),
                "c", List.of(dep("c1", "c"))), policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Map.of("a", List.of("b"))), 1);
        Router.Result<String> r = router.route("a", List.of("nope", "c"), (c, f) -> {
            if (c.id().equals("a1")) {
                throw server();
            }
            return new Router.Attempted<>(c.id(), 0, 1);
        });
        assertThat(r.value()).isEqualTo("c1");
        assertThat(r.attempts()).extracting(Router.Attempt::toString)
                .containsExactly("a1: 500 InternalServer (boom)", "nope: skipped: no such model group", "c1: ok");
    }

    @Test
    void unsuitableFallback_skippedWithReason_butUnsuitableRequestedGroupIs400() {
        Router router = router(Map.of("a", List.of(dep("a1", "a")), "b", List.of(dep("b1", "b")),
                "c", List.of(dep("c1", "c"))), policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Map.of("a", List.of("b", "c"))), 1);
        Router.Result<String> r = router.route("a", List.of(), (c, f) -> {
            if (c.id().equals("a1")) {
                throw server();
            }
            if (c.id().equals("b1")) {
                throw new UnsuitableException(new BadRequestException("too many images", "array_above_max_length",
                        "image"));
            }
            return new Router.Attempted<>(c.id(), 0, 1);
        });
        assertThat(r.value()).isEqualTo("c1");
        assertThat(r.attempts().get(1).outcome()).isEqualTo("skipped: too many images");

        assertThatThrownBy(() -> router.route("b", List.of(), (c, f) -> {
            throw new UnsuitableException(new BadRequestException("too many images", "array_above_max_length", "image"));
        })).isInstanceOf(BadRequestException.class).hasMessage("too many images");
    }

    @Test
    void failure_messageListsWhatWasTried_withoutSecrets() {
        Router router = router(Map.of("a", List.of(dep("a1", "a"), dep("a2", "a"))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 1, Map.of()), 1);
        assertThatThrownBy(() -> router.route("a", List.of(), (c, f) -> {
            throw server();
        })).isInstanceOfSatisfying(InternalServerException.class, e -> {
            assertThat(e.attempts()).hasSize(2);
            assertThat(e.getMessage()).startsWith("boom [tried: ").contains("a1: 500").contains("a2: 500");
        });
    }

    // ---- limits taken before the call (issue 12, point 4) ------------------------------------------------

    /**
     * Runs {@code n} routed requests at once; each call that reaches the provider blocks until every request has
     * either reached it or been refused, so the calls overlap as they do against a slow provider.
     */
    private List<Object> concurrently(Router router, String group, int n, java.util.concurrent.atomic.AtomicInteger calls) {
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch settled = new java.util.concurrent.CountDownLatch(n);
        List<java.util.concurrent.Future<Object>> futures = new ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                futures.add(pool.submit(() -> {
                    go.await();
                    try {
                        return router.route(group, List.of(), (c, f) -> {
                            calls.incrementAndGet();
                            settled.countDown();
                            try {
                                settled.await(5, java.util.concurrent.TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                            return new Router.Attempted<>(c.id(), 0, 1);
                        }).value();
                    } catch (EaselException e) {
                        settled.countDown();
                        return e;
                    }
                }));
            }
            go.countDown();
            List<Object> out = new ArrayList<>();
            for (var f : futures) {
                try {
                    out.add(f.get(20, java.util.concurrent.TimeUnit.SECONDS));
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }
            return out;
        }
    }

    @Test
    void rpm3_twentyConcurrentRequests_exactlyThreeReachTheProvider_theRestAre429UntilTheNextWindow() {
        clock.now = Instant.parse("2026-11-24T12:00:20Z");
        Router router = router(Map.of("g", List.of(new Router.Candidate("x", "g", 0, 1, OptionalInt.of(3),
                OptionalLong.empty(), null))), policy(RoutingStrategy.SIMPLE_SHUFFLE, 2, Map.of()), 1);
        var calls = new java.util.concurrent.atomic.AtomicInteger();

        List<Object> answers = concurrently(router, "g", 20, calls);

        assertThat(calls.get()).isEqualTo(3);
        assertThat(answers).filteredOn("x"::equals).hasSize(3);
        assertThat(answers).filteredOn(a -> a instanceof RateLimitException).hasSize(17)
                .allSatisfy(a -> {
                    RateLimitException e = (RateLimitException) a;
                    assertThat(e.code()).contains("no_deployment_available");
                    assertThat(e.retryAfter()).contains(Duration.ofSeconds(40));
                });
        assertThat(state.requestsThisMinute("x", clock.instant())).isEqualTo(3);
    }

    // ---- 401/403 from one deployment (issue 12, point 9) ---------------------------------------------------

    @Test
    void unauthorized_onOneDeployment_anotherOfTheGroupServes_andTheFailingOneRests() {
        Router router = router(Map.of("g", List.of(
                new Router.Candidate("bad", "g", 1, 1, OptionalInt.empty(), OptionalLong.empty(), null),
                new Router.Candidate("good", "g", 2, 1, OptionalInt.empty(), OptionalLong.empty(), null))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 1, Map.of()), 1);
        List<String> called = new ArrayList<>();
        Router.Result<String> r = router.route("g", List.of(), (c, f) -> {
            called.add(c.id());
            if (c.id().equals("bad")) {
                throw new AuthenticationException("Incorrect API key provided", "invalid_api_key", null);
            }
            return new Router.Attempted<>(c.id(), 0, 1);
        });

        assertThat(r.value()).isEqualTo("good");
        assertThat(called).containsExactly("bad", "good");
        assertThat(r.retries()).isEqualTo(1);
        assertThat(state.cooldownUntil("bad", clock.instant())).contains(clock.instant().plusSeconds(30));
    }

    @Test
    void unauthorized_withNoRetries_stillMovesToTheHealthyDeploymentOfTheGroup() {
        // moving past a deployment whose key is refused is not a retry: num_retries: 0 must not strand the request
        Router router = router(Map.of("g", List.of(
                new Router.Candidate("bad", "g", 1, 1, OptionalInt.empty(), OptionalLong.empty(), null),
                new Router.Candidate("good", "g", 2, 1, OptionalInt.empty(), OptionalLong.empty(), null))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Map.of()), 1);
        List<String> called = new ArrayList<>();
        Router.Result<String> r = router.route("g", List.of(), (c, f) -> {
            called.add(c.id());
            if (c.id().equals("bad")) {
                throw new AuthenticationException("Incorrect API key provided", "invalid_api_key", null);
            }
            return new Router.Attempted<>(c.id(), 0, 1);
        });

        assertThat(r.value()).isEqualTo("good");
        assertThat(called).containsExactly("bad", "good");
    }

    @Test
    void forbidden_onEveryDeployment_theProvidersErrorComesBack_andNoDeploymentIsAskedTwice() {
        Router router = router(Map.of("g", List.of(dep("a", "g"), dep("b", "g"))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 3, Map.of()), 1);
        List<String> called = new ArrayList<>();
        assertThatThrownBy(() -> router.route("g", List.of(), (c, f) -> {
            called.add(c.id());
            throw new dev.easel.PermissionDeniedException("organization must be verified", "org_not_verified", null);
        })).isInstanceOfSatisfying(dev.easel.PermissionDeniedException.class, e -> {
            assertThat(e.code()).contains("org_not_verified");
            assertThat(e.httpStatus()).isEqualTo(403);
        });
        assertThat(called).containsExactlyInAnyOrder("a", "b");
    }

    // ---- Retry-After cap (issue 12, point 12) ------------------------------------------------------------

    @Test
    void retryAfterOfADay_restsTheDeploymentOnlyForTheDefaultMaxCooldownTime() {
        Router router = router(Map.of("g", List.of(dep("x", "g"))), policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Map.of()), 1);
        assertThatThrownBy(() -> router.route("g", List.of(), (c, f) -> {
            throw new RateLimitException("slow down", null, "rate_limit_exceeded", null, "openai", null,
                    Duration.ofSeconds(86_400), null);
        })).isInstanceOf(RateLimitException.class);

        assertThat(state.cooldownUntil("x", clock.instant())).contains(clock.instant().plusSeconds(60));
    }

    // ---- max_parallel_requests: leases and the wait queue ------------------------------------------------

    static Router.Candidate parallel(String id, String group, int order, int max) {
        return new Router.Candidate(id, group, order, 1, OptionalInt.empty(), OptionalLong.empty(), null,
                OptionalInt.of(max), 0);
    }

    static Router.Policy queuePolicy(int waiters, Duration wait) {
        return new Router.Policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Duration.ZERO, 3, Duration.ofSeconds(30), Map.of(),
                Map.of(), List.of(), false, Duration.ofSeconds(10), true, Duration.ofSeconds(60), waiters, wait,
                Duration.ofMinutes(30));
    }

    @Test
    void maxParallel2_fortyThreads_neverMoreThanTwoCallsAtOnce_everyOneServed_nothingLeaks() throws Exception {
        Router router = new Router(Map.of("g", List.of(parallel("x", "g", 0, 2))), queuePolicy(100,
                Duration.ofSeconds(20)), state, clock, new Random(1), d -> { });
        var now = new java.util.concurrent.atomic.AtomicInteger();
        var max = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        List<java.util.concurrent.Future<String>> futures = new ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 40; i++) {
                futures.add(pool.submit(() -> {
                    go.await();
                    return router.route("g", List.of(), (c, f) -> {
                        max.accumulateAndGet(now.incrementAndGet(), Math::max);
                        try {
                            java.util.concurrent.locks.LockSupport.parkNanos(5_000_000); // the provider's latency
                            return new Router.Attempted<>(c.id(), 0, 1);
                        } finally {
                            now.decrementAndGet();
                        }
                    }).value();
                }));
            }
            go.countDown();
            for (var f : futures) {
                assertThat(f.get(30, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("x");
            }
        }
        assertThat(max.get()).isEqualTo(2);
        assertThat(state.inflight("x")).isZero();
        assertThat(router.waiting("g")).isZero();
        assertThat(state.requestsThisMinute("x", clock.instant())).isEqualTo(40);
    }

    static Router.Candidate limited(String id, String group, int order, int rpm, int maxParallel, int maxRetries) {
        return new Router.Candidate(id, group, order, 1, OptionalInt.of(rpm), OptionalLong.empty(), null,
                OptionalInt.of(maxParallel), maxRetries);
    }

    static Router.Attempted<String> ok(Router.Candidate c) {
        return new Router.Attempted<>(c.id(), 0, 1);
    }

    @Test
    void lease_everyWayOutOfACall_endsIt_andOnlyCallsThatReachedTheProviderKeepTheirRequest() {
        Router router = router(Map.of("a", List.of(limited("x", "a", 0, 100, 1, 0)),
                "b", List.of(limited("y", "b", 0, 100, 1, 0))), policy(RoutingStrategy.SIMPLE_SHUFFLE, 0,
                Map.of("a", List.of("b"))), 1);
        // success
        router.route("a", List.of(), (c, f) -> ok(c));
        assertThat(state.inflight("x")).isZero();
        assertThat(state.requestsThisMinute("x", clock.instant())).isEqualTo(1);
        // the provider failed: it was asked, so the request stays counted against its rpm
        assertThatThrownBy(() -> router.route("a", List.of(), (c, f) -> {
            if (c.id().equals("x")) {
                throw server();
            }
            throw new UnsuitableException(new BadRequestException("too many images", "array_above_max_length",
                    "image"));
        })).isInstanceOf(InternalServerException.class);
        assertThat(state.inflight("x")).isZero();
        assertThat(state.requestsThisMinute("x", clock.instant())).isEqualTo(2);
        // ... and the unsuitable fallback never reached one: its slot and its request are given back
        assertThat(state.inflight("y")).isZero();
        assertThat(state.requestsThisMinute("y", clock.instant())).isZero();
        // validation refused it before any provider: not counted
        assertThatThrownBy(() -> router.route("a", List.of(), (c, f) -> {
            throw new BadRequestException("size must be one of 1024x1024 (was 7x7)", "invalid_value", "size");
        })).isInstanceOf(BadRequestException.class);
        assertThat(state.inflight("x")).isZero();
        assertThat(state.requestsThisMinute("x", clock.instant())).isEqualTo(2);
        // a bug in the call
        assertThatThrownBy(() -> router.route("a", List.of(), (c, f) -> {
            throw new IllegalStateException("bug");
        })).isInstanceOf(IllegalStateException.class);
        assertThat(state.inflight("x")).isZero();
        assertThat(state.requestsThisMinute("x", clock.instant())).isEqualTo(2);
    }

    @Test
    void heldSlot_staysTakenUntilSettled_settlingTwiceIsHarmless_renewFailsOnceEnded() {
        Router router = router(Map.of("g", List.of(limited("x", "g", 0, 100, 1, 0))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Map.of()), 1);
        Router.Result<String> r = router.route("g", List.of(), Router.Options.none().holding(), (c, f, left) -> ok(c));
        assertThat(state.inflight("x")).isEqualTo(1);
        assertThat(r.slot().ended()).isFalse();
        assertThat(r.slot().renew()).isTrue();

        r.slot().settle(1234);
        r.slot().settle(99);
        assertThat(state.inflight("x")).isZero();
        assertThat(state.tokensThisMinute("x", clock.instant())).isEqualTo(1234);
        assertThat(r.slot().renew()).isFalse();
    }

    @Test
    void lease_notEndedByItsHolder_expiresAfterItsLifetime() {
        Router router = new Router(Map.of("g", List.of(limited("x", "g", 0, 100, 1, 0))),
                queuePolicy(0, Duration.ZERO), state, clock, new Random(1), d -> { });
        router.route("g", List.of(), Router.Options.none().holding(), (c, f, left) -> ok(c)); // never settled
        assertThatThrownBy(() -> router.route("g", List.of(), (c, f) -> ok(c)))
                .isInstanceOf(RateLimitException.class)
                .hasMessage("every deployment of 'g' is at its max_parallel_requests and "
                        + "router_settings.max_parallel_waiters is 0 (no request waits); retry in 1 s");

        clock.advance(Duration.ofMinutes(30));
        assertThat(router.route("g", List.of(), (c, f) -> ok(c)).value()).isEqualTo("x");
    }

    @Test
    void queueFull_refusedAtOnce_429ParallelLimitReachedWithRetryAfter() throws Exception {
        Router router = new Router(Map.of("g", List.of(limited("x", "g", 0, 100, 1, 0))),
                queuePolicy(1, Duration.ofSeconds(20)), state, clock, new Random(1), d -> { });
        Router.Slot held = router.route("g", List.of(), Router.Options.none().holding(), (c, f, left) -> ok(c)).slot();
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            var waiter = pool.submit(() -> router.route("g", List.of(), (c, f) -> ok(c)).value());
            awaitCondition(() -> router.waiting("g") == 1);

            assertThatThrownBy(() -> router.route("g", List.of(), (c, f) -> ok(c)))
                    .isInstanceOfSatisfying(RateLimitException.class, e -> {
                        assertThat(e.code()).contains("parallel_limit_reached");
                        assertThat(e.retryAfter()).contains(Duration.ofSeconds(1));
                        assertThat(e.getMessage()).isEqualTo("every deployment of 'g' is at its max_parallel_requests "
                                + "and 1 request is already waiting (router_settings.max_parallel_waiters); retry in 1 s");
                    });
            held.settle(0);
            assertThat(waiter.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("x");
        }
        assertThat(state.inflight("x")).isZero();
        assertThat(router.waiting("g")).isZero();
    }

    @Test
    void waitLongerThanMaxParallelWait_429NamingTheWait() {
        Router router = new Router(Map.of("g", List.of(limited("x", "g", 0, 100, 1, 0))),
                queuePolicy(5, Duration.ofMillis(50)), state, clock, new Random(1), d -> { });
        router.route("g", List.of(), Router.Options.none().holding(), (c, f, left) -> ok(c));

        assertThatThrownBy(() -> router.route("g", List.of(), (c, f) -> ok(c)))
                .isInstanceOfSatisfying(RateLimitException.class, e -> {
                    assertThat(e.code()).contains("parallel_limit_reached");
                    assertThat(e.getMessage()).isEqualTo("every deployment of 'g' is at its max_parallel_requests and "
                            + "no slot freed within 0.05 s (router_settings.max_parallel_wait); retry in 1 s");
                });
        assertThat(router.waiting("g")).isZero();
    }

    @Test
    void waiter_isServedByTheFirstDeploymentToFreeASlot_neverByOneThatRests_lowerOrderFirst() throws Exception {
        Router router = new Router(Map.of("g", List.of(limited("low", "g", 1, 100, 1, 0),
                limited("high", "g", 2, 100, 1, 0))), queuePolicy(10, Duration.ofSeconds(20)), state, clock,
                new Random(1), d -> { });
        Router.Options hold = Router.Options.none().holding();
        Router.Slot low = router.route("g", List.of(), hold, (c, f, left) -> ok(c)).slot();
        Router.Slot high = router.route("g", List.of(), hold, (c, f, left) -> ok(c)).slot();
        assertThat(state.inflight("low")).isEqualTo(1);
        assertThat(state.inflight("high")).isEqualTo(1);
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            // the higher order frees first: it serves the waiter
            var first = pool.submit(() -> router.route("g", List.of(), hold, (c, f, left) -> ok(c)));
            awaitCondition(() -> router.waiting("g") == 1);
            high.settle(0);
            Router.Result<String> r1 = first.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(r1.value()).isEqualTo("high");

            // a deployment that frees while resting is not used: the waiter keeps waiting for the other one
            var second = pool.submit(() -> router.route("g", List.of(), hold, (c, f, left) -> ok(c)));
            awaitCondition(() -> router.waiting("g") == 1);
            state.cooldown("low", clock.instant().plusSeconds(60), clock.instant());
            low.settle(0);
            assertThat(router.waiting("g")).isEqualTo(1);
            assertThat(second.isDone()).isFalse();
            r1.slot().settle(0);
            Router.Result<String> r2 = second.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(r2.value()).isEqualTo("high");
            r2.slot().settle(0);
        }
        assertThat(state.inflight("low")).isZero();
        assertThat(state.inflight("high")).isZero();
    }

    @Test
    void waiter_looksAgainWhenARestEnds_withoutAnySlotBeingFreed() throws Exception {
        Router router = new Router(Map.of("g", List.of(limited("busy", "g", 1, 100, 1, 0),
                limited("resting", "g", 2, 100, 1, 0))), queuePolicy(10, Duration.ofSeconds(20)), state, clock,
                new Random(1), d -> { });
        state.cooldown("resting", clock.instant().plusMillis(50), clock.instant());
        Router.Slot held = router.route("g", List.of(), Router.Options.none().holding(), (c, f, left) -> ok(c)).slot();
        assertThat(state.inflight("busy")).isEqualTo(1);
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            var waiter = pool.submit(() -> router.route("g", List.of(), (c, f) -> ok(c)).value());
            awaitCondition(() -> router.waiting("g") == 1);
            clock.advance(Duration.ofSeconds(1)); // the rest is over; nobody frees a slot

            assertThat(waiter.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("resting");
        }
        held.settle(0);
    }

    @Test
    void interruptedWhileWaiting_connectionError_leavesTheLine_holdsNothing() throws Exception {
        Router router = new Router(Map.of("g", List.of(limited("x", "g", 0, 100, 1, 0))),
                queuePolicy(5, Duration.ofSeconds(20)), state, clock, new Random(1), d -> { });
        Router.Slot held = router.route("g", List.of(), Router.Options.none().holding(), (c, f, left) -> ok(c)).slot();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                router.route("g", List.of(), (c, f) -> ok(c));
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        awaitCondition(() -> router.waiting("g") == 1);
        t.interrupt();
        t.join(10_000);

        assertThat(failure.get()).isInstanceOf(dev.easel.ConnectionException.class)
                .hasMessage("interrupted while waiting for a free deployment of 'g'");
        assertThat(router.waiting("g")).isZero();
        assertThat(state.inflight("x")).isEqualTo(1);
        held.settle(0);
        assertThat(state.inflight("x")).isZero();
    }

    @Test
    void retryAfter_restsForAtMostTheConfiguredMaxCooldownTime() {
        Router.Policy p = new Router.Policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Duration.ZERO, 3, Duration.ofSeconds(5),
                Map.of(), Map.of(), List.of(), false, Duration.ofSeconds(10), true, Duration.ofSeconds(120), 10,
                Duration.ofSeconds(1), Duration.ofMinutes(30));
        Router router = new Router(Map.of("g", List.of(dep("x", "g")), "h", List.of(dep("y", "h"))), p, state, clock,
                new Random(1), d -> { });
        for (String g : List.of("g", "h")) {
            long seconds = g.equals("g") ? 600 : 30;
            assertThatThrownBy(() -> router.route(g, List.of(), (c, f) -> {
                throw new RateLimitException("slow down", null, "rate_limit_exceeded", null, "openai", null,
                        Duration.ofSeconds(seconds), null);
            })).isInstanceOf(RateLimitException.class);
        }
        assertThat(state.cooldownUntil("x", clock.instant())).contains(clock.instant().plusSeconds(120));
        assertThat(state.cooldownUntil("y", clock.instant())).contains(clock.instant().plusSeconds(30));
    }

    // ---- the whole request's deadline (router_settings.timeout) --------------------------------------------

    @Test
    void deadline_eachAttemptGetsWhatIsLeft_andWhenItPassesTheRequestEndsWithATimeout() {
        Router router = router(Map.of("g", List.of(dep("a", "g"), dep("b", "g"), dep("c", "g"))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 5, Map.of()), 1);
        List<Duration> left = new ArrayList<>();
        Router.Options o = Router.Options.deadline(clock.instant(), Duration.ofSeconds(10), "router_settings.timeout");

        assertThatThrownBy(() -> router.route("g", List.of(), o, (c, f, remaining) -> {
            left.add(remaining.orElseThrow());
            clock.advance(Duration.ofSeconds(4)); // each provider call takes 4 s and fails
            throw server();
        })).isInstanceOfSatisfying(TimeoutException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(504);
            assertThat(e.type()).isEqualTo("timeout_error");
            assertThat(e.getMessage()).startsWith("the request took longer than its time limit of 10 s "
                    + "(router_settings.timeout: waits, retries and fallbacks included) [tried: ");
        });
        assertThat(left).containsExactly(Duration.ofSeconds(10), Duration.ofSeconds(6), Duration.ofSeconds(2));
    }

    @Test
    void deadline_aRetryWaitThatWouldPassIt_endsTheRequestWithoutWaiting() {
        Router router = router(Map.of("g", List.of(dep("x", "g"))), policy(RoutingStrategy.SIMPLE_SHUFFLE, 3, Map.of()),
                1);
        Router.Options o = Router.Options.deadline(clock.instant(), Duration.ofMillis(300), "router_settings.timeout");

        assertThatThrownBy(() -> router.route("g", List.of(), o, (c, f, remaining) -> {
            throw server(); // the same deployment again would wait 0.5 s ± 25 %
        })).isInstanceOf(TimeoutException.class).hasMessageContaining("time limit of 0.3 s");
        assertThat(waits).isEmpty();
    }

    @Test
    void deadline_alsoBoundsTheWaitForAParallelSlot() {
        Router router = new Router(Map.of("g", List.of(limited("x", "g", 0, 100, 1, 0))),
                queuePolicy(5, Duration.ofSeconds(30)), state, clock, new Random(1), d -> { });
        router.route("g", List.of(), Router.Options.none().holding(), (c, f, left) -> ok(c));
        Router.Options o = Router.Options.deadline(clock.instant(), Duration.ofMillis(100), "router_settings.timeout");

        assertThatThrownBy(() -> router.route("g", List.of(), o, (c, f, left) -> ok(c)))
                .isInstanceOfSatisfying(TimeoutException.class, e -> assertThat(e.getMessage())
                        .isEqualTo("the request took longer than its time limit of 0.1 s (router_settings.timeout: "
                                + "waits, retries and fallbacks included)"));
        assertThat(router.waiting("g")).isZero();
    }

    @Test
    void deadline_providerTimeoutWhenTimeIsUp_becomesTheRequestTimeout_keepingBodySent() {
        Router router = router(Map.of("g", List.of(dep("x", "g"), dep("y", "g"))), new Router.Policy(
                RoutingStrategy.SIMPLE_SHUFFLE, 3, Duration.ZERO, 3, Duration.ofSeconds(30), Map.of(), Map.of(),
                List.of(), true, Duration.ofSeconds(10), true), 1);
        Router.Options o = Router.Options.deadline(clock.instant(), Duration.ofSeconds(2), "router_settings.timeout");
        int[] calls = {0};
        assertThatThrownBy(() -> router.route("g", List.of(), o, (c, f, remaining) -> {
            calls[0]++;
            clock.advance(remaining.orElseThrow()); // the call's timeout was cut to what was left
            throw new TimeoutException("timed out waiting for openai (the request had been sent)", "openai", true,
                    null);
        })).isInstanceOfSatisfying(TimeoutException.class, e -> {
            assertThat(e.getMessage()).startsWith("the request took longer than its time limit of 2 s");
            assertThat(e.bodySent()).isTrue();
            assertThat(e.provider()).contains("openai");
        });
        assertThat(calls[0]).isEqualTo(1); // retry_on_timeout, but no time left for another attempt
    }

    // ---- litellm_params.max_retries -------------------------------------------------------------------------

    @Test
    void maxRetries2_sameDeploymentThreeTimesWithBackoff_thenTheRouterMovesOn_countingOneFailure() {
        Router.Policy p = new Router.Policy(RoutingStrategy.SIMPLE_SHUFFLE, 1, Duration.ZERO, 2,
                Duration.ofSeconds(30), Map.of(), Map.of(), List.of(), false, Duration.ofSeconds(10), true);
        Router router = router(Map.of("g", List.of(limited("x", "g", 1, 100, 5, 2), limited("y", "g", 2, 100, 5, 0))),
                p, 3);
        List<String> called = new ArrayList<>();
        Router.Result<String> r = router.route("g", List.of(), (c, f) -> {
            called.add(c.id());
            if (c.id().equals("x")) {
                throw server();
            }
            return ok(c);
        });

        assertThat(called).containsExactly("x", "x", "x", "y");
        assertThat(r.value()).isEqualTo("y");
        assertThat(r.retries()).isEqualTo(3);
        assertThat(waits).hasSize(2);
        assertThat(waits.get(0)).isBetween(Duration.ofMillis(375), Duration.ofMillis(625));
        assertThat(waits.get(1)).isBetween(Duration.ofMillis(750), Duration.ofMillis(1250));
        // three calls, one failure for allowed_fails (2): not rested yet; a second such request rests it
        assertThat(state.cooldownUntil("x", clock.instant())).isEmpty();
        router.route("g", List.of(), (c, f) -> {
            if (c.id().equals("x")) {
                throw server();
            }
            return ok(c);
        });
        assertThat(state.cooldownUntil("x", clock.instant())).isPresent();
        assertThat(state.inflight("x")).isZero();
        assertThat(state.requestsThisMinute("x", clock.instant())).isEqualTo(6);
    }

    @Test
    void maxRetries_notForErrorsThatARetryCannotFix() {
        Router router = router(Map.of("g", List.of(limited("x", "g", 0, 100, 5, 3))),
                policy(RoutingStrategy.SIMPLE_SHUFFLE, 0, Map.of()), 1);
        int[] calls = {0};
        assertThatThrownBy(() -> router.route("g", List.of(), (c, f) -> {
            calls[0]++;
            throw new BadRequestException("bad size", 400, "invalid_request_error", "invalid_value", "size", "openai",
                    null, null);
        })).isInstanceOf(BadRequestException.class);
        assertThat(calls[0]).isEqualTo(1);
    }

    @Test
    void mixedFailuresUnderLoad_neverMoreThanMaxParallelPerDeployment_andEveryCounterBackToZero() throws Exception {
        Router.Policy p = new Router.Policy(RoutingStrategy.LEAST_BUSY, 2, Duration.ZERO, 1000, Duration.ofSeconds(30),
                Map.of("a", List.of("b")), Map.of(), List.of(), false, Duration.ofSeconds(10), false,
                Duration.ofSeconds(60), 200, Duration.ofSeconds(20), Duration.ofMinutes(30));
        Map<String, Integer> limits = Map.of("a1", 2, "a2", 1, "b1", 2);
        Router router = new Router(Map.of(
                "a", List.of(limited("a1", "a", 0, 10_000, 2, 1), limited("a2", "a", 1, 10_000, 1, 0)),
                "b", List.of(limited("b1", "b", 0, 10_000, 2, 0))), p, state, clock, new Random(3), d -> { });
        Map<String, java.util.concurrent.atomic.AtomicInteger> now = new java.util.concurrent.ConcurrentHashMap<>();
        Map<String, java.util.concurrent.atomic.AtomicInteger> max = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.concurrent.atomic.AtomicInteger seq = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 80; i++) {
                futures.add(pool.submit(() -> {
                    go.await();
                    try {
                        router.route("a", List.of(), (c, f) -> {
                            int in = now.computeIfAbsent(c.id(), k -> new java.util.concurrent.atomic.AtomicInteger())
                                    .incrementAndGet();
                            max.computeIfAbsent(c.id(), k -> new java.util.concurrent.atomic.AtomicInteger())
                                    .accumulateAndGet(in, Math::max);
                            try {
                                java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
                                switch (seq.incrementAndGet() % 6) {
                                    case 0 -> throw server();
                                    case 1 -> throw new AuthenticationException("bad key", "invalid_api_key", null);
                                    case 2 -> throw new IllegalStateException("bug");
                                    case 3 -> throw new RateLimitException("slow", null, null, null, "openai", null,
                                            null, null);
                                    default -> {
                                        return ok(c);
                                    }
                                }
                            } finally {
                                now.get(c.id()).decrementAndGet();
                            }
                        });
                    } catch (EaselException | IllegalStateException expected) {
                        // every kind of ending is fine here; what is left behind is what this test checks
                    }
                    return null;
                }));
            }
            go.countDown();
            for (var f : futures) {
                f.get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
        }
        max.forEach((id, m) -> assertThat(m.get()).as("%s at once", id).isLessThanOrEqualTo(limits.get(id)));
        for (String id : limits.keySet()) {
            assertThat(state.inflight(id)).as("%s in flight", id).isZero();
        }
        assertThat(router.waiting("a")).isZero();
        assertThat(router.waiting("b")).isZero();
    }

    /** Waits (at most 10 s) until {@code condition} holds. */
    static void awaitCondition(java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 10 s");
            }
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
    }
}
