package dev.easel.proxy.spend;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Who a spend row is counted against, for budgets and totals: an end user (the request's {@code user}), a virtual
 * key (by its SHA-256), a team or a user.
 *
 * @param dimension {@code end_user}, {@code key}, {@code team} or {@code user}: the spend counters' dimension
 * @param id        the end-user id, key hash, team id or user id
 */
public record Subject(String dimension, String id) {

    /** The dimension of an end user. */
    public static final String END_USER = "end_user";
    /** The dimension of a virtual key (id: its SHA-256 hex). */
    public static final String KEY = "key";
    /** The dimension of a team. */
    public static final String TEAM = "team";
    /** The dimension of a user. */
    public static final String USER = "user";

    /** Checks the dimension and that the id is not blank. */
    public Subject {
        Objects.requireNonNull(dimension, "dimension");
        Objects.requireNonNull(id, "id");
        if (!List.of(END_USER, KEY, TEAM, USER).contains(dimension)) {
            throw new IllegalArgumentException("unknown subject dimension '" + dimension + "'");
        }
        if (id.isBlank()) {
            throw new IllegalArgumentException(dimension + " id must not be blank");
        }
    }

    /** An end user. */
    public static Subject endUser(String id) {
        return new Subject(END_USER, id);
    }

    /** A virtual key by its SHA-256 hex. */
    public static Subject key(String token) {
        return new Subject(KEY, token);
    }

    /** A team. */
    public static Subject team(String id) {
        return new Subject(TEAM, id);
    }

    /** A user. */
    public static Subject user(String id) {
        return new Subject(USER, id);
    }

    /** The spend-log column that holds this dimension's id. */
    String column() {
        return switch (dimension) {
            case END_USER -> "end_user";
            case KEY -> "key_hash";
            case TEAM -> "team_id";
            default -> "user_id";
        };
    }

    /** The subjects a row counts against (those it names). */
    static List<Subject> of(SpendRecord r) {
        List<Subject> out = new ArrayList<>(4);
        if (r.endUser() != null && !r.endUser().isBlank()) {
            out.add(endUser(r.endUser()));
        }
        if (r.keyHash() != null && !r.keyHash().isBlank()) {
            out.add(key(r.keyHash()));
        }
        if (r.teamId() != null && !r.teamId().isBlank()) {
            out.add(team(r.teamId()));
        }
        if (r.userId() != null && !r.userId().isBlank()) {
            out.add(user(r.userId()));
        }
        return out;
    }

    /** The ledger key of this subject's budget ({@code end_user:alice}, {@code key:<hash>}…). */
    public String ledgerKey() {
        return dimension + ":" + id;
    }

    /** How messages name it: {@code end user 'alice'}, {@code team 'design'}. */
    public String describe() {
        return switch (dimension) {
            case END_USER -> "end user '" + id + "'";
            case KEY -> "key " + id.substring(0, Math.min(12, id.length())) + "…";
            case TEAM -> "team '" + id + "'";
            default -> "user '" + id + "'";
        };
    }
}
