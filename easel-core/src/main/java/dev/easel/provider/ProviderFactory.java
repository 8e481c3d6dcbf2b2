package dev.easel.provider;

import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Makes the adapter for one LiteLLM provider prefix ({@code openai}, {@code azure}, {@code gemini}, …). Easel finds
 * factories with {@link java.util.ServiceLoader}: a jar that lists its factory in
 * {@code META-INF/services/dev.easel.provider.ProviderFactory} adds a provider without rebuilding Easel (see
 * docs/providers.md, "How to add a provider"). Implementations need a public no-argument constructor.
 */
public interface ProviderFactory {

    /**
     * The prefix of the model strings this provider serves: {@code gemini} for {@code gemini/gemini-3-pro-image}.
     * Lowercase letters, digits, {@code _} and {@code -}; unique among the installed factories.
     */
    String prefix();

    /**
     * The {@code litellm_params} keys this provider reads beyond the common ones ({@code model}, {@code api_key},
     * {@code api_base}, …), e.g. the mock's {@code latency_ms}. The config checker treats them as known keys of a
     * deployment of this provider and reports every other one. Default: none.
     */
    default Set<String> settingKeys() {
        return Set.of();
    }

    /**
     * Common or other providers' settings this provider does not use, each with why (shown in the config
     * checker's warning): {@code organization} → "Azure OpenAI takes no organization". Default: none.
     */
    default Map<String, String> ignoredSettings() {
        return Map.of();
    }

    /**
     * Why this provider serves no model called {@code model} (the model string after the prefix: {@code sd3} for
     * {@code stability/sd3}), for a provider whose model names select what it does; empty when it may serve it.
     * A config naming such a model does not start (the message names the YAML path), and a request naming it is a
     * 400 {@code invalid_model}. Default: every name may be served.
     */
    default Optional<String> modelProblem(String model) {
        return Optional.empty();
    }

    /**
     * The model a name this provider does not know is served as, when the provider has such a default (LiteLLM's
     * behaviour, so configs written for it keep working); the config load and each request naming it say so in a
     * warning. Asked only for names {@link #modelProblem} accepts. Default: none (the name is served as it is).
     */
    default Optional<ModelAlias> servedAs(String model) {
        return Optional.empty();
    }

    /**
     * Where this provider's models are described: a classpath resource in the format of the bundled
     * {@code models.json}, resolved against this factory's class (so {@code "models.json"} is the file in the
     * factory's own package, inside the plugin's jar). Every model in it must name this provider. Default: none
     * (the provider serves models the catalogue does not know, with permissive rules).
     */
    default Optional<String> catalogResource() {
        return Optional.empty();
    }

    /**
     * A new adapter using the shared services of {@code context}; its {@link ImageEditProvider#name()} must be
     * {@link #prefix()}. Called once per Easel client.
     */
    ImageEditProvider create(ProviderContext context);
}
