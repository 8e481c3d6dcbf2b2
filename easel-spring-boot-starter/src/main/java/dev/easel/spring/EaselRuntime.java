package dev.easel.spring;

import dev.easel.config.EaselConfig;
import dev.easel.routing.RouterState;
import java.time.Clock;
import java.util.Optional;

/**
 * What the starter gave the auto-configured client and reads back for health: its config, the router state it
 * keeps cooldowns in, the activity listener and the clock. Present only when the starter built the client.
 */
record EaselRuntime(Optional<EaselConfig> config, RouterState routerState, DeploymentActivity activity,
                    Clock clock) {
}
