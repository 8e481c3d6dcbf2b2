package dev.easel.proxy;

import dev.easel.config.EaselConfig;
import dev.easel.config.GeneralSettings;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How to run the proxy: where to listen, where to keep data, and the limits. Built from a config file's
 * {@code general_settings} plus command-line flags.
 *
 * @param config                 the loaded config
 * @param host                   interface to bind ({@code 0.0.0.0} by default)
 * @param port                   port (4000 by default; 0 picks a free one)
 * @param dataDir                directory for spooled uploads and served images ({@code ./easel-data})
 * @param allowPrivateImageUrls  let image URL fetches reach private / loopback addresses (tests only)
 */
public record ProxyOptions(EaselConfig config, String host, int port, Path dataDir, boolean allowPrivateImageUrls) {

    /** Default port, as LiteLLM's. */
    public static final int DEFAULT_PORT = 4000;

    public ProxyOptions {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(dataDir, "dataDir");
    }

    /** Options with the defaults: {@code 0.0.0.0:4000}, {@code ./easel-data}. */
    public static ProxyOptions of(EaselConfig config) {
        return new ProxyOptions(config, "0.0.0.0", DEFAULT_PORT, Path.of("easel-data"), false);
    }

    /** A copy listening elsewhere. */
    public ProxyOptions listen(String newHost, int newPort) {
        return new ProxyOptions(config, newHost, newPort, dataDir, allowPrivateImageUrls);
    }

    /** A copy with another data directory. */
    public ProxyOptions withDataDir(Path dir) {
        return new ProxyOptions(config, host, port, dir, allowPrivateImageUrls);
    }

    /** A copy that lets image URL fetches reach private addresses (for tests against local fakes). */
    public ProxyOptions withPrivateImageUrls(boolean allow) {
        return new ProxyOptions(config, host, port, dataDir, allow);
    }

    GeneralSettings general() {
        return config.generalSettings();
    }

    Optional<String> masterKey() {
        return general().masterKey();
    }

    Optional<URI> publicBaseUrl() {
        return general().publicBaseUrl();
    }

    Duration gracePeriod() {
        return general().gracePeriod();
    }

    /** The environment integrations read ({@code OTEL_*}, {@code EASEL_WEBHOOK_URL}); the config's own
     * {@code environment_variables} win. */
    java.util.Map<String, String> env() {
        java.util.Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.putAll(config.environmentVariables());
        return env;
    }
}
