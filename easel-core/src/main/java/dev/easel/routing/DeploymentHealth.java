package dev.easel.routing;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * What a {@link Router} knows of one deployment at one instant, without calling it: whether it rests and until when,
 * the last failure and the last success the router saw, its recent latency, its calls in flight and its use of the
 * current minute against its limits. Read with {@link Router#health}; a gateway's {@code /health} and metrics are
 * built from it, so a health check costs no provider call.
 *
 * @param deploymentId       the deployment
 * @param group              its model group
 * @param at                 when this was read
 * @param cooldownUntil      when its rest ends, if it rests now (shared state: also rests another replica started)
 * @param lastFailure        the last failure a call to it ended with, as this router saw it (a request's own fault,
 *                           a 400, is not the deployment's and is not kept)
 * @param lastSuccess        when a call to it last succeeded, as this router saw it
 * @param lastCallFailed     whether the last call this router saw end (of those kept) failed
 * @param latencyMillis      recent latency per returned image (moving average), once a call has succeeded
 * @param inflight           its calls in flight now
 * @param requestsThisMinute requests counted in the current minute window
 * @param tokensThisMinute   tokens settled in the current minute window
 * @param rpm                its {@code rpm} limit
 * @param tpm                its {@code tpm} limit
 * @param maxParallel        its {@code max_parallel_requests}
 * @param cooldowns          rests this router started, by what caused them (the HTTP status, else the error type)
 */
public record DeploymentHealth(String deploymentId, String group, Instant at, Optional<Instant> cooldownUntil,
                               Optional<Failure> lastFailure, Optional<Instant> lastSuccess,
                               boolean lastCallFailed, OptionalDouble latencyMillis, int inflight, long requestsThisMinute,
                               long tokensThisMinute, OptionalInt rpm, OptionalLong tpm, OptionalInt maxParallel,
                               Map<String, Long> cooldowns) {

    /** Checks that nothing is null and copies {@code cooldowns}. */
    public DeploymentHealth {
        Objects.requireNonNull(deploymentId, "deploymentId");
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(at, "at");
        Objects.requireNonNull(cooldownUntil, "cooldownUntil");
        Objects.requireNonNull(lastFailure, "lastFailure");
        Objects.requireNonNull(lastSuccess, "lastSuccess");
        Objects.requireNonNull(latencyMillis, "latencyMillis");
        Objects.requireNonNull(rpm, "rpm");
        Objects.requireNonNull(tpm, "tpm");
        Objects.requireNonNull(maxParallel, "maxParallel");
        cooldowns = Map.copyOf(cooldowns);
        if (lastCallFailed && lastFailure.isEmpty()) {
            throw new IllegalArgumentException("lastCallFailed needs a lastFailure");
        }
    }

    /** How a deployment stands, in LiteLLM's terms ({@code litellm_deployment_state}). */
    public enum State {
        /** Not resting, and its last call (if any) succeeded: 0. */
        HEALTHY(0),
        /** Not resting, but its last call failed: 1 (LiteLLM's "partial outage"). */
        PARTIAL_OUTAGE(1),
        /** Resting: the router sends it nothing until the rest ends: 2 (LiteLLM's "complete outage"). */
        OUTAGE(2);

        private final int value;

        State(int value) {
            this.value = value;
        }

        /** LiteLLM's number: 0, 1 or 2. */
        public int value() {
            return value;
        }
    }

    /** {@link State#OUTAGE} while resting, else {@link State#PARTIAL_OUTAGE} when the last call failed, else healthy. */
    public State state() {
        if (cooldownUntil.isPresent()) {
            return State.OUTAGE;
        }
        if (lastCallFailed) {
            return State.PARTIAL_OUTAGE;
        }
        return State.HEALTHY;
    }

    /** {@code rpm} minus the requests of the current minute (never below 0), when an {@code rpm} is set. */
    public OptionalLong remainingRequests() {
        return rpm.isPresent() ? OptionalLong.of(Math.max(0, rpm.getAsInt() - requestsThisMinute))
                : OptionalLong.empty();
    }

    /** {@code tpm} minus the tokens of the current minute (never below 0), when a {@code tpm} is set. */
    public OptionalLong remainingTokens() {
        return tpm.isPresent() ? OptionalLong.of(Math.max(0, tpm.getAsLong() - tokensThisMinute))
                : OptionalLong.empty();
    }

    /**
     * A failed call, as the router saw it.
     *
     * @param at        when it ended
     * @param status    the HTTP status it carried, if any
     * @param type      the OpenAI error type ({@code rate_limit_error}, {@code api_error}, …)
     * @param code      the error code, if any
     * @param exception the exception's simple class name ({@code RateLimitException}, …)
     * @param message   the error message (Easel's messages never carry secrets), at most 500 characters
     */
    public record Failure(Instant at, OptionalInt status, String type, Optional<String> code, String exception,
                          String message) {

        /** Checks that nothing is null. */
        public Failure {
            Objects.requireNonNull(at, "at");
            Objects.requireNonNull(status, "status");
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(exception, "exception");
            Objects.requireNonNull(message, "message");
        }

        /** The status as text, else the error type: the key of {@link DeploymentHealth#cooldowns()}. */
        public String statusOrType() {
            return status.isPresent() ? Integer.toString(status.getAsInt()) : type;
        }
    }
}
