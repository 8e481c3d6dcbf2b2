package dev.easel.proxy.keys;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A team: its keys share its budget and limits (each key may be tighter, never looser) and may use only its models.
 *
 * @param teamId    the id ({@code team_id})
 * @param teamAlias a human name ({@code team_alias})
 * @param models    model names and access groups its keys may use; empty: every model of the proxy
 * @param limits    the team's budget and rate limits, shared by all its keys
 * @param members   users in the team with their role
 * @param metadata  free-form JSON object
 * @param blocked   every key of a blocked team is refused (401)
 * @param createdAt when it was created
 * @param updatedAt when it last changed
 */
public record Team(String teamId, Optional<String> teamAlias, List<String> models, KeyLimits limits,
                   List<TeamMember> members, Map<String, Object> metadata, boolean blocked, Instant createdAt,
                   Instant updatedAt) {

    /** Checks for nulls; copies the collections. */
    public Team {
        Objects.requireNonNull(teamId, "teamId");
        Objects.requireNonNull(teamAlias, "teamAlias");
        models = List.copyOf(models);
        Objects.requireNonNull(limits, "limits");
        members = List.copyOf(members);
        metadata = Map.copyOf(metadata);
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(updatedAt, "updatedAt");
    }
}
