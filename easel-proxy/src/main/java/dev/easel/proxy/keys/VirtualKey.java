package dev.easel.proxy.keys;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A virtual key as stored: never the key itself, only its SHA-256 ({@link #token()}, hex, as LiteLLM stores it,
 * so a migrated database still verifies) and an abbreviation for display ({@link #keyName()}, {@code sk-...a1b2}).
 *
 * @param token     SHA-256 hex of the key; the primary key
 * @param keyName   {@code sk-...} and the key's last 4 characters
 * @param keyAlias  a unique human name ({@code key_alias})
 * @param userId    the user the key belongs to
 * @param teamId    the team the key belongs to; the team's limits and models apply too
 * @param models    model names and access groups the key may use; empty: whatever its team (or the proxy) allows
 * @param limits    its own budget and rate limits
 * @param metadata  free-form JSON object ({@code metadata})
 * @param tags      {@code tags}, copied onto its spend rows' attribution
 * @param blocked   a blocked key is refused (401) until unblocked
 * @param expires   after this instant the key is refused (401); empty: never
 * @param createdAt when it was generated
 * @param updatedAt when it last changed
 * @param createdBy who generated it ({@code litellm_proxy_admin_name} for the master key, else a user id)
 * @param updatedBy who last changed it
 * @param keyId     the key's stable id: its first token, kept when the key is regenerated, so its spend, budget
 *                  window and rate-limit counts carry over (spend rows carry it as {@code api_key})
 */
public record VirtualKey(String token, String keyName, Optional<String> keyAlias, Optional<String> userId,
                         Optional<String> teamId, List<String> models, KeyLimits limits, Map<String, Object> metadata,
                         List<String> tags, boolean blocked, Optional<Instant> expires, Instant createdAt,
                         Instant updatedAt, Optional<String> createdBy, Optional<String> updatedBy,
                         String keyId) {

    /** Checks for nulls; copies the collections. */
    public VirtualKey {
        Objects.requireNonNull(keyId, "keyId");
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(keyName, "keyName");
        Objects.requireNonNull(keyAlias, "keyAlias");
        Objects.requireNonNull(userId, "userId");
        Objects.requireNonNull(teamId, "teamId");
        models = List.copyOf(models);
        Objects.requireNonNull(limits, "limits");
        metadata = Map.copyOf(metadata);
        tags = List.copyOf(tags);
        Objects.requireNonNull(expires, "expires");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(updatedAt, "updatedAt");
        Objects.requireNonNull(createdBy, "createdBy");
        Objects.requireNonNull(updatedBy, "updatedBy");
    }

    /** A key never regenerated: its id is its token. */
    public VirtualKey(String token, String keyName, Optional<String> keyAlias, Optional<String> userId,
                      Optional<String> teamId, List<String> models, KeyLimits limits, Map<String, Object> metadata,
                      List<String> tags, boolean blocked, Optional<Instant> expires, Instant createdAt,
                      Instant updatedAt, Optional<String> createdBy, Optional<String> updatedBy) {
        this(token, keyName, keyAlias, userId, teamId, models, limits, metadata, tags, blocked, expires, createdAt,
                updatedAt, createdBy, updatedBy, token);
    }

    /** Whether the key has expired at {@code now}. */
    public boolean expiredAt(Instant now) {
        return expires.isPresent() && !now.isBefore(expires.get());
    }

    /** What logs and errors may show of the key: its alias, else the first 12 characters of its hash. */
    public String label() {
        return keyAlias.orElseGet(() -> token.substring(0, Math.min(12, token.length())) + "…");
    }
}
