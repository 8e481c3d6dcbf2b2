package dev.easel.provider;

import java.time.Instant;

/**
 * What an adapter reports about a call while it runs, for tracing: each poll of a job becomes a span under the
 * attempt's span ({@link dev.easel.callback.JobPollEvent}). Implementations never throw and never block.
 */
public interface CallEvents {

    /** Reports nothing (a call made outside a pipeline, e.g. in an adapter's unit test). */
    CallEvents NONE = (jobId, number, start, end, outcome) -> { };

    /**
     * One poll of job {@code jobId} ended.
     *
     * @param number  1 for the first poll
     * @param outcome {@code pending}, {@code ready}, {@code failed}, or {@code error: <status> <code>} for a poll
     *                that itself failed (and is tried again)
     */
    void jobPoll(String jobId, int number, Instant start, Instant end, String outcome);
}
