package dev.easel.proxy.keys;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A user of the proxy (a developer or an app owner, not an end user): owns keys, belongs to teams.
 *
 * @param userId    the id ({@code user_id})
 * @param userEmail e-mail ({@code user_email})
 * @param userRole  {@code proxy_admin} (may call the management endpoints with its keys),
 *                  {@code proxy_admin_viewer}, {@code internal_user} or {@code internal_user_viewer}
 * @param models    model names and access groups the user's keys may use; empty: no restriction of its own
 * @param limits    the user's budget and rate limits, shared by all its keys
 * @param metadata  free-form JSON object
 * @param createdAt when it was created
 * @param updatedAt when it last changed
 */
public record User(String userId, Optional<String> userEmail, String userRole, List<String> models,
                   KeyLimits limits, Map<String, Object> metadata, Instant createdAt, Instant updatedAt) {

    /** The roles LiteLLM defines for users. */
    public static final List<String> ROLES = List.of("proxy_admin", "proxy_admin_viewer", "internal_user",
            "internal_user_viewer");

    /** Checks for nulls and the role; copies the collections. */
    public User {
        Objects.requireNonNull(userId, "userId");
        Objects.requireNonNull(userEmail, "userEmail");
        if (!ROLES.contains(userRole)) {
            throw new IllegalArgumentException("user_role must be one of " + ROLES + " (was '" + userRole + "')");
        }
        models = List.copyOf(models);
        Objects.requireNonNull(limits, "limits");
        metadata = Map.copyOf(metadata);
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(updatedAt, "updatedAt");
    }

    /** Whether the user's keys may call the management endpoints (and write). */
    public boolean admin() {
        return "proxy_admin".equals(userRole);
    }
}
