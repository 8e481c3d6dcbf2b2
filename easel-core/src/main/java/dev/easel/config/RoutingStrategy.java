package dev.easel.config;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/** How the router picks a deployment within a model group ({@code router_settings.routing_strategy}). */
public enum RoutingStrategy {
    /** Random pick weighted by {@code weight}, else {@code rpm}, else {@code tpm}, else equal (the default). */
    SIMPLE_SHUFFLE("simple-shuffle"),
    /** Fewest requests in flight. */
    LEAST_BUSY("least-busy"),
    /** Lowest recent latency. */
    LATENCY_BASED_ROUTING("latency-based-routing"),
    /** Lowest usage against {@code rpm}/{@code tpm}. */
    USAGE_BASED_ROUTING("usage-based-routing"),
    /** LiteLLM's second usage-based implementation; same meaning. */
    USAGE_BASED_ROUTING_V2("usage-based-routing-v2"),
    /** Cheapest deployment first. */
    COST_BASED_ROUTING("cost-based-routing");

    private final String wireName;

    RoutingStrategy(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in the YAML file, e.g. {@code simple-shuffle}. */
    public String wireName() {
        return wireName;
    }

    /** The strategy with this YAML name, if any. */
    public static Optional<RoutingStrategy> fromWireName(String name) {
        return Arrays.stream(values()).filter(s -> s.wireName.equals(name)).findFirst();
    }

    /** All YAML names, comma separated, for error messages. */
    static String wireNames() {
        return Arrays.stream(values()).map(RoutingStrategy::wireName).collect(Collectors.joining(", "));
    }
}
