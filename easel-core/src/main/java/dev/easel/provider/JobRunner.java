package dev.easel.provider;

import dev.easel.EaselException;
import dev.easel.InternalServerException;
import dev.easel.TimeoutException;
import dev.easel.routing.Sleeper;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Runs a submit-then-poll job for an adapter (Black Forest Labs, Stability's async endpoints, …): submits it
 * exactly once, polls with backoff until it is ready, failed, or the call's {@link EditCall#timeout()} has passed,
 * and downloads result URLs at once (they expire) through the {@link ResultDownloader}.
 *
 * <ul>
 *   <li>A poll that fails with a retryable error (5xx, 429, connection, time-out) is retried as a poll after the
 *       next interval; the job is never submitted again: it has been paid for.</li>
 *   <li>Every failure after the submit is marked with the job id ({@link EaselException#forJob}), so the router
 *       neither retries it nor sends it to another deployment.</li>
 *   <li>A job still pending at the deadline is a {@link TimeoutException} with {@code bodySent} naming the job.</li>
 *   <li>An interrupted caller (its client went away) stops the polling: the runner asks the adapter to cancel the
 *       job and ends with {@code client_closed}.</li>
 *   <li>Each poll is reported to {@link EditCall#events()}, so tracing shows a span per poll.</li>
 * </ul>
 *
 * Thread-safe; one per Easel client, shared by its adapters ({@link ProviderContext#jobs()}).
 */
public final class JobRunner {

    /** Largest result image downloaded (64 MiB: a 4K PNG is far below it). */
    public static final long MAX_RESULT_BYTES = 64L * 1024 * 1024;

    /** Time a download gets at least, even when the deadline is nearer: the job is done and paid for. */
    static final Duration MIN_DOWNLOAD_TIME = Duration.ofSeconds(5);

    private final Clock clock;
    private final Sleeper sleeper;
    private final ResultDownloader downloader;

    /** A runner on the given clock and sleeper, downloading through {@code downloader}. */
    public JobRunner(Clock clock, Sleeper sleeper, ResultDownloader downloader) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
        this.downloader = Objects.requireNonNull(downloader, "downloader");
    }

    /**
     * One provider job, as the adapter speaks it.
     *
     * @param <S> what the submit returned (the job id, its polling URL, …)
     */
    public interface Job<S> {

        /** Submits the job; called exactly once. A failure here is the call's failure (nothing was accepted). */
        S submit();

        /** The job's id, for errors and traces. */
        String id(S submitted);

        /** Polls once; a thrown retryable {@link EaselException} is a failed poll, tried again. */
        Poll poll(S submitted);

        /** Asks the provider to stop the job (best effort; the default does nothing). */
        default void cancel(S submitted) {
        }

        /** How often to poll. */
        default Backoff backoff() {
            return Backoff.DEFAULT;
        }

        /**
         * The hosts the provider documents for result URLs (exact names, or {@code .example.com} for subdomains);
         * the deployment's {@code api_base} host is allowed as well.
         */
        default Set<String> resultHosts() {
            return Set.of();
        }
    }

    /**
     * Poll intervals: {@code initial} before the first poll, then multiplied by {@code factor} up to {@code max}; a
     * provider's own hint ({@link Poll.Pending#after()}) replaces the next interval, capped at {@code max}.
     */
    public record Backoff(Duration initial, Duration max, double factor) {
        /** 1 s, growing by 1.5 up to 10 s. */
        public static final Backoff DEFAULT = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(10), 1.5);

        public Backoff {
            Objects.requireNonNull(initial, "initial");
            Objects.requireNonNull(max, "max");
            if (initial.isNegative() || max.compareTo(initial) < 0 || factor < 1) {
                throw new IllegalArgumentException("backoff needs 0 <= initial <= max and factor >= 1 (was "
                        + initial + ", " + max + ", " + factor + ")");
            }
        }

        Duration next(Duration current) {
            long ms = (long) Math.ceil(current.toMillis() * factor);
            return ms >= max.toMillis() ? max : Duration.ofMillis(Math.max(ms, 1));
        }
    }

    /** What one poll found. */
    public sealed interface Poll permits Poll.Pending, Poll.Ready, Poll.Failed {

        /** Not done yet; {@code after} is the provider's hint for the next poll. */
        record Pending(Optional<Duration> after) implements Poll {
        }

        /** Done: the result images as URLs to download, or as bytes already in the answer. */
        record Ready(List<URI> urls, List<byte[]> images) implements Poll {
            public Ready {
                urls = List.copyOf(urls);
                images = List.copyOf(images);
                if (urls.isEmpty() && images.isEmpty()) {
                    throw new IllegalArgumentException("a ready job has at least one image or result URL");
                }
            }
        }

        /** The job ended without a result ({@code error} says why: moderation, a provider error, …). */
        record Failed(EaselException error) implements Poll {
            public Failed {
                Objects.requireNonNull(error, "error");
            }
        }

        /** Still pending. */
        static Poll pending() {
            return new Pending(Optional.empty());
        }

        /** Ready with result URLs. */
        static Poll ready(List<URI> urls) {
            return new Ready(urls, List.of());
        }

        /** Failed. */
        static Poll failed(EaselException error) {
            return new Failed(error);
        }
    }

    /**
     * A finished job.
     *
     * @param jobId  the job's id
     * @param images the result images' bytes, in the provider's order
     * @param polls  how many polls it took
     */
    public record Result(String jobId, List<byte[]> images, int polls) {
        public Result {
            images = List.copyOf(images);
        }
    }

    /** Submits {@code job} once, polls it to the end and downloads its results. */
    public <S> Result run(EditCall call, Job<S> job) {
        String provider = call.deployment().provider();
        Instant deadline = clock.instant().plus(call.timeout());
        S submitted = job.submit();
        String id = job.id(submitted);
        Backoff backoff = job.backoff();
        Duration wait = backoff.initial();
        int polls = 0;
        while (true) {
            Duration left = Duration.between(clock.instant(), deadline);
            if (!left.isPositive()) {
                throw pendingAtDeadline(call, provider, id, polls);
            }
            pause(wait.compareTo(left) > 0 ? left : wait, job, submitted, provider, id);
            polls++;
            Instant start = clock.instant();
            Poll poll;
            try {
                poll = job.poll(submitted);
            } catch (EaselException e) {
                if (Thread.currentThread().isInterrupted()) {
                    call.events().jobPoll(id, polls, start, clock.instant(), "abandoned");
                    throw abandoned(job, submitted, provider, id, e);
                }
                call.events().jobPoll(id, polls, start, clock.instant(), "error: " + e.httpStatus() + " "
                        + e.code().orElse(e.type()));
                if (!e.retryable()) {
                    throw e.forJob(id);
                }
                wait = backoff.next(wait);
                continue;
            }
            switch (poll) {
                case Poll.Pending p -> {
                    call.events().jobPoll(id, polls, start, clock.instant(), "pending");
                    Duration next = backoff.next(wait);
                    wait = p.after().filter(d -> !d.isNegative())
                            .map(d -> d.compareTo(backoff.max()) > 0 ? backoff.max() : d).orElse(next);
                }
                case Poll.Failed f -> {
                    call.events().jobPoll(id, polls, start, clock.instant(), "failed");
                    throw f.error().forJob(id);
                }
                case Poll.Ready r -> {
                    call.events().jobPoll(id, polls, start, clock.instant(), "ready");
                    return new Result(id, download(call, job, r, provider, id, deadline), polls);
                }
            }
        }
    }

    private <S> void pause(Duration d, Job<S> job, S submitted, String provider, String id) {
        if (d.isZero() || d.isNegative()) {
            return;
        }
        try {
            sleeper.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw abandoned(job, submitted, provider, id, e);
        }
    }

    private <S> List<byte[]> download(EditCall call, Job<S> job, Poll.Ready ready, String provider, String id,
                                      Instant deadline) {
        List<byte[]> out = new ArrayList<>(ready.images());
        if (ready.urls().isEmpty()) {
            return out;
        }
        Set<String> trusted = call.deployment().base().map(URI::getHost).filter(Objects::nonNull)
                .map(Set::of).orElse(Set.of());
        for (URI url : ready.urls()) {
            Duration left = Duration.between(clock.instant(), deadline);
            ResultDownloader.Rules rules = new ResultDownloader.Rules(job.resultHosts(), trusted, MAX_RESULT_BYTES,
                    left.compareTo(MIN_DOWNLOAD_TIME) < 0 ? MIN_DOWNLOAD_TIME : left, provider);
            try {
                out.add(downloader.download(url, rules));
            } catch (EaselException e) {
                if (e.code().filter("bad_upstream_response"::equals).isPresent()) {
                    // the job is paid for and its result unusable: say which job, so it can be looked up
                    throw new InternalServerException(e.getMessage() + " for job " + id, 502, "api_error",
                            "bad_upstream_response", null, provider, e.requestId().orElse(null), e).forJob(id);
                }
                throw e.forJob(id);
            }
        }
        return out;
    }

    private static TimeoutException pendingAtDeadline(EditCall call, String provider, String id, int polls) {
        TimeoutException e = new TimeoutException(provider + " job " + id + " was still pending after "
                + call.timeout().toMillis() + " ms (" + polls + (polls == 1 ? " poll" : " polls") + ")", provider,
                true, null);
        e.forJob(id);
        return e;
    }

    private static <S> EaselException abandoned(Job<S> job, S submitted, String provider, String id, Throwable cause) {
        boolean interrupted = Thread.interrupted(); // the cancel request must not fail for the caller's interrupt
        try {
            job.cancel(submitted);
        } catch (RuntimeException ignored) {
            // best effort: the caller is gone either way
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        return new EaselException(provider + " job " + id + " was abandoned: the caller went away", 499, "api_error",
                "client_closed", null, provider, null, cause).forJob(id);
    }
}
