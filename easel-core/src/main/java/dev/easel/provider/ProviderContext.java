package dev.easel.provider;

import dev.easel.http.HttpTransport;
import dev.easel.routing.Sleeper;
import java.time.Clock;
import java.util.Objects;

/**
 * The services an adapter shares with the rest of its Easel client instead of building its own: one HTTP
 * transport (connection pool, virtual-thread executor), the client's clock and sleeper (injected, as the
 * router's, so tests are exact), the job runner for submit-then-poll providers, the guarded downloader for
 * result URLs, and the memory budget for parsing answers.
 *
 * @param transport the upstream HTTP transport
 * @param clock     the client's clock
 * @param sleeper   how to wait (polling intervals)
 * @param jobs      runs submit-then-poll jobs (poll with backoff, download the results)
 * @param downloader downloads result URLs with the SSRF guard and a size cap
 * @param memory    the memory budget for reading upstream answers
 */
public record ProviderContext(HttpTransport transport, Clock clock, Sleeper sleeper, JobRunner jobs,
                              ResultDownloader downloader, ResponseMemory memory) {

    public ProviderContext {
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(sleeper, "sleeper");
        Objects.requireNonNull(jobs, "jobs");
        Objects.requireNonNull(downloader, "downloader");
        Objects.requireNonNull(memory, "memory");
    }
}
