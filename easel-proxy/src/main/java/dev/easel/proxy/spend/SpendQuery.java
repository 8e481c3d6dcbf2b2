package dev.easel.proxy.spend;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Filters and paging for {@link SpendService#logs}. Times bound {@code startTime}: from inclusive, to exclusive.
 *
 * @param from      earliest start time
 * @param to        start times before this
 * @param endUser   end-user id
 * @param model     model group
 * @param status    {@code success} or {@code failure}
 * @param requestId one request (Easel's id)
 * @param clientRequestId the requests a caller sent with this id of its own
 * @param offset    rows to skip
 * @param limit     rows to return (1 to {@link #MAX_LIMIT})
 */
public record SpendQuery(Optional<Instant> from, Optional<Instant> to, Optional<String> endUser,
                         Optional<String> model, Optional<String> status, Optional<String> requestId,
                         Optional<String> clientRequestId, long offset, int limit) {

    /** Default page size. */
    public static final int DEFAULT_LIMIT = 50;
    /** Largest page size. */
    public static final int MAX_LIMIT = 1000;

    /** Checks nulls and ranges. */
    public SpendQuery {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(endUser, "endUser");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(clientRequestId, "clientRequestId");
        if (offset < 0) {
            throw new IllegalArgumentException("offset must not be negative (was " + offset + ")");
        }
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be between 1 and " + MAX_LIMIT + " (was " + limit + ")");
        }
    }

    /** Everything, newest first, first page. */
    public static SpendQuery all() {
        return new SpendQuery(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), 0, DEFAULT_LIMIT);
    }

    /** A copy for one end user. */
    public SpendQuery withEndUser(String v) {
        return new SpendQuery(from, to, Optional.of(v), model, status, requestId, clientRequestId, offset, limit);
    }

    /** A copy for one model group. */
    public SpendQuery withModel(String v) {
        return new SpendQuery(from, to, endUser, Optional.of(v), status, requestId, clientRequestId, offset, limit);
    }

    /** A copy for one status. */
    public SpendQuery withStatus(String v) {
        return new SpendQuery(from, to, endUser, model, Optional.of(v), requestId, clientRequestId, offset, limit);
    }

    /** A copy for one request id. */
    public SpendQuery withRequestId(String v) {
        return new SpendQuery(from, to, endUser, model, status, Optional.of(v), clientRequestId, offset, limit);
    }

    /** A copy for the requests a caller sent with its own id {@code v}. */
    public SpendQuery withClientRequestId(String v) {
        return new SpendQuery(from, to, endUser, model, status, requestId, Optional.of(v), offset, limit);
    }

    /** A copy with a time range (either end may be empty). */
    public SpendQuery withRange(Optional<Instant> newFrom, Optional<Instant> newTo) {
        return new SpendQuery(newFrom, newTo, endUser, model, status, requestId, clientRequestId, offset, limit);
    }

    /** A copy with other paging. */
    public SpendQuery withPaging(long newOffset, int newLimit) {
        return new SpendQuery(from, to, endUser, model, status, requestId, clientRequestId, newOffset, newLimit);
    }
}
