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
 * @param deploymentId the deployment that answered (LiteLLM's {@code model_id})
 * @param status    {@code success} or {@code failure}
 * @param requestId one request (Easel's id)
 * @param clientRequestId the requests a caller sent with this id of its own
 * @param after     keyset paging: the rows after this cursor (then {@code offset} must be 0)
 * @param offset    rows to skip (deep pages: prefer {@code after}, which does not read the skipped rows)
 * @param limit     rows to return (1 to {@link #MAX_LIMIT})
 * @param keyHash   the virtual key (SHA-256 hex) the rows were made with (LiteLLM's {@code api_key})
 * @param teamId    the team of the key
 * @param userId    the user of the key
 */
public record SpendQuery(Optional<Instant> from, Optional<Instant> to, Optional<String> endUser,
                         Optional<String> model, Optional<String> deploymentId, Optional<String> status,
                         Optional<String> requestId, Optional<String> clientRequestId, Optional<SpendCursor> after,
                         long offset, int limit, Optional<String> keyHash, Optional<String> teamId,
                         Optional<String> userId) {

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
        Objects.requireNonNull(deploymentId, "deploymentId");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(clientRequestId, "clientRequestId");
        Objects.requireNonNull(after, "after");
        Objects.requireNonNull(keyHash, "keyHash");
        Objects.requireNonNull(teamId, "teamId");
        Objects.requireNonNull(userId, "userId");
        if (offset < 0) {
            throw new IllegalArgumentException("offset must not be negative (was " + offset + ")");
        }
        if (after.isPresent() && offset > 0) {
            throw new IllegalArgumentException("use either a cursor or an offset, not both (offset was " + offset
                    + ")");
        }
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be between 1 and " + MAX_LIMIT + " (was " + limit + ")");
        }
    }

    /** Everything, newest first, first page. */
    public static SpendQuery all() {
        return new SpendQuery(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), 0,
                DEFAULT_LIMIT, Optional.empty(), Optional.empty(), Optional.empty());
    }

    /** A copy for one end user. */
    public SpendQuery withEndUser(String v) {
        return new SpendQuery(from, to, Optional.of(v), model, deploymentId, status, requestId, clientRequestId,
                after, offset, limit, keyHash, teamId, userId);
    }

    /** A copy for one model group. */
    public SpendQuery withModel(String v) {
        return new SpendQuery(from, to, endUser, Optional.of(v), deploymentId, status, requestId, clientRequestId,
                after, offset, limit, keyHash, teamId, userId);
    }

    /** A copy for one deployment. */
    public SpendQuery withDeploymentId(String v) {
        return new SpendQuery(from, to, endUser, model, Optional.of(v), status, requestId, clientRequestId, after,
                offset, limit, keyHash, teamId, userId);
    }

    /** A copy for one status. */
    public SpendQuery withStatus(String v) {
        return new SpendQuery(from, to, endUser, model, deploymentId, Optional.of(v), requestId, clientRequestId,
                after, offset, limit, keyHash, teamId, userId);
    }

    /** A copy for one request id. */
    public SpendQuery withRequestId(String v) {
        return new SpendQuery(from, to, endUser, model, deploymentId, status, Optional.of(v), clientRequestId,
                after, offset, limit, keyHash, teamId, userId);
    }

    /** A copy for the requests a caller sent with its own id {@code v}. */
    public SpendQuery withClientRequestId(String v) {
        return new SpendQuery(from, to, endUser, model, deploymentId, status, requestId, Optional.of(v), after,
                offset, limit, keyHash, teamId, userId);
    }

    /** A copy with a time range (either end may be empty). */
    public SpendQuery withRange(Optional<Instant> newFrom, Optional<Instant> newTo) {
        return new SpendQuery(newFrom, newTo, endUser, model, deploymentId, status, requestId, clientRequestId,
                after, offset, limit, keyHash, teamId, userId);
    }

    /** A copy with offset paging (and no cursor). */
    public SpendQuery withPaging(long newOffset, int newLimit) {
        return new SpendQuery(from, to, endUser, model, deploymentId, status, requestId, clientRequestId,
                Optional.empty(), newOffset, newLimit, keyHash, teamId, userId);
    }

    /** A copy reading the {@code newLimit} rows after {@code cursor} (keyset paging, no offset). */
    public SpendQuery withCursor(SpendCursor cursor, int newLimit) {
        return new SpendQuery(from, to, endUser, model, deploymentId, status, requestId, clientRequestId,
                Optional.of(cursor), 0, newLimit, keyHash, teamId, userId);
    }

    /** A copy for the rows of one virtual key (its SHA-256 hex). */
    public SpendQuery withKeyHash(String v) {
        return new SpendQuery(from, to, endUser, model, deploymentId, status, requestId, clientRequestId, after,
                offset, limit, Optional.of(v), teamId, userId);
    }

    /** A copy for the rows of one team. */
    public SpendQuery withTeamId(String v) {
        return new SpendQuery(from, to, endUser, model, deploymentId, status, requestId, clientRequestId, after,
                offset, limit, keyHash, Optional.of(v), userId);
    }

    /** A copy for the rows of one user. */
    public SpendQuery withUserId(String v) {
        return new SpendQuery(from, to, endUser, model, deploymentId, status, requestId, clientRequestId, after,
                offset, limit, keyHash, teamId, Optional.of(v));
    }
}
