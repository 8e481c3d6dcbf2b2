package dev.easel.proxy.keys;

import java.util.Objects;
import java.util.Optional;

/**
 * A user's membership of a team ({@code members_with_roles}).
 *
 * @param userId    the user
 * @param userEmail the user's e-mail, when known
 * @param role      {@code admin} or {@code user}
 */
public record TeamMember(String userId, Optional<String> userEmail, String role) {

    /** Checks for nulls and the role. */
    public TeamMember {
        Objects.requireNonNull(userId, "userId");
        Objects.requireNonNull(userEmail, "userEmail");
        if (!"admin".equals(role) && !"user".equals(role)) {
            throw new IllegalArgumentException("role must be 'admin' or 'user' (was '" + role + "')");
        }
    }
}
