package dev.easel.routing;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * What the router remembers about deployments, and the ledger it takes limits from before each call. Keyed by
 * deployment id (or a proxy-wide key such as {@code proxy/global}); every method takes the time from the caller,
 * so an implementation holds no clock of its own and can live in a shared store (Redis) as well as in memory.
 *
 * <h2>The lease contract</h2>
 * A call to a provider first {@link #reserve reserves}: in one atomic step the state checks the key's
 * {@link Limits} ({@code rpm} for the minute window of {@code now}, {@code tpm} against the tokens settled in
 * that window, {@code maxParallel} against the live leases) and, when all pass, counts one request in the
 * window and takes one parallel slot. Nothing is counted when a limit refuses. Every granted lease is then ended
 * exactly once by its holder, whatever happens to the call:
 * <ul>
 *   <li>{@link #settle} when the call reached the provider (it succeeded or failed there): the request stays
 *       counted in its window (an upstream that answered 500 still counted it against its own rpm), the tokens
 *       are added, the slot is freed;</li>
 *   <li>{@link #release} when it never did (validation refused it, the group was unsuitable, the holder gave up
 *       before sending): the request is taken back out of its window, if that window is still current, and the
 *       slot is freed.</li>
 * </ul>
 * Ending a lease that has already ended or expired does nothing. A lease that is never ended frees its slot at
 * {@link Lease#expiresAt()} (a shared implementation needs this for a replica that crashed); a holder that needs
 * it longer {@link #renew renews} it.
 *
 * <p>A state kept elsewhere (Redis) that cannot answer may refuse by throwing an {@link dev.easel.EaselException}
 * (a 503 the caller passes on); it never blocks for long.
 */
public interface RouterState {

    /**
     * Atomically checks {@code limits} for {@code key} at {@code now} and, if they allow it, counts one request in
     * the minute window of {@code now} and takes one parallel slot until {@code expiresAt}. Leases of {@code key}
     * that expired at or before {@code now} are freed first.
     */
    Reservation reserve(String key, Limits limits, Instant now, Instant expiresAt);

    /** Moves a live lease's expiry to {@code expiresAt}; false when it has already ended or expired at {@code now}. */
    boolean renew(Lease lease, Instant expiresAt, Instant now);

    /**
     * Ends a lease whose call reached the provider: its request stays counted, {@code tokens} are added to the
     * minute window of {@code now}, its slot is freed. Does nothing for a lease that has already ended.
     */
    void settle(Lease lease, long tokens, Instant now);

    /**
     * Ends a lease whose call never reached the provider: its request is taken back out of its window (when
     * {@code now} is still in it), its slot is freed. Does nothing for a lease that has already ended.
     */
    void release(Lease lease, Instant now);

    /** Leases of {@code key} held now (its calls in flight). */
    int inflight(String key);

    /** Records the latency of a successful call, per image returned. */
    void recordLatency(String id, Duration perImage);

    /** Recent latency per image (a moving average), if any call has been recorded. */
    OptionalDouble latencyMillis(String id);

    /** Requests counted in the minute of {@code now} (reserved, not released). */
    long requestsThisMinute(String id, Instant now);

    /** Tokens settled in the minute of {@code now}. */
    long tokensThisMinute(String id, Instant now);

    /** Records a failure; returns the failures within the minute before {@code now}, this one included. */
    int recordFailure(String id, Instant now);

    /** Forgets recorded failures (after a cooldown starts). */
    void clearFailures(String id);

    /**
     * Rests {@code id} until {@code until} (keeps a later existing cooldown); {@code now} is the caller's time, from
     * which a shared implementation knows how long to keep the entry.
     */
    void cooldown(String id, Instant until, Instant now);

    /** When {@code id}'s rest ends, if it is resting at {@code now}. */
    Optional<Instant> cooldownUntil(String id, Instant now);

    /**
     * How often a request waiting for a parallel slot looks again by itself. A slot freed in this process wakes its
     * waiters at once; one freed by another process sharing this state (a replica, or a lease of a crashed one
     * expiring) wakes nobody here, so a shared state says how often to look. Empty (the default): every slot is
     * freed in this process.
     */
    default Optional<Duration> recheckInterval() {
        return Optional.empty();
    }
}
