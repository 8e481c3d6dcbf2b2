package dev.easel.provider;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Where and how to call one provider model: the provider, the model (or Azure deployment) name it is
 * called with, and its credentials. {@link #toString()} never shows the key.
 *
 * @param provider   provider name ({@code openai}, {@code azure}, {@code mock})
 * @param model      model id as the provider knows it (for Azure: the deployment name)
 * @param apiKey     key, or null when the provider needs none
 * @param apiBase    base URL, or null for the provider's default
 * @param apiVersion API version (Azure), or null
 * @param timeout    time allowed for a call, or null for the client default
 * @param settings   provider-specific settings (e.g. the mock's {@code latency_ms})
 */
public record Deployment(String provider, String model, String apiKey, URI apiBase, String apiVersion,
                         Duration timeout, Map<String, Object> settings) {

    public Deployment {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(model, "model");
        settings = Map.copyOf(settings);
    }

    /** The key, if any. */
    public Optional<String> key() {
        return Optional.ofNullable(apiKey);
    }

    /** The base URL, if set. */
    public Optional<URI> base() {
        return Optional.ofNullable(apiBase);
    }

    /** {@code provider/model}. */
    public String displayName() {
        return provider + "/" + model;
    }

    @Override
    public String toString() {
        return "Deployment[" + displayName() + (apiBase == null ? "" : " at " + apiBase)
                + (apiKey == null ? "" : ", key=****") + "]";
    }
}
