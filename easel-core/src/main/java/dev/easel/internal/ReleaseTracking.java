package dev.easel.internal;

/**
 * A request-body subscriber that knows when it, and the HTTP client it feeds, are done with every buffer it was
 * handed: written, or dropped after a failure, with none still queued or being written. A publisher over pooled
 * memory ({@link ChunkLease}) lends its arrays only to such a subscriber; any other poisons the lease.
 *
 * <p>Internal API: public only so that other Easel modules can use it.
 */
public interface ReleaseTracking {

    /**
     * Runs {@code action} once, when the subscription has ended (completed, failed or cancelled) and every buffer it
     * delivered has been released. Called by the publisher in {@code subscribe}, before {@code onSubscribe}.
     */
    void whenReleased(Runnable action);
}
