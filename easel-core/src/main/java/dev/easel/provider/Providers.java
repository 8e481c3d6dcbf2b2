package dev.easel.provider;

import dev.easel.provider.azure.AzureProvider;
import dev.easel.provider.mock.MockProvider;
import dev.easel.provider.openai.OpenAiProvider;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The providers built into Easel: the one place that lists them, and what the config checker knows of their
 * settings before any client is built. Which providers a client serves is these plus the ones added with
 * {@code Easel.builder().provider(...)}; a deployment naming any other provider is unavailable (it never stops
 * a proxy from starting). A later version finds provider factories with {@link java.util.ServiceLoader} here.
 */
public final class Providers {

    /** Names of the built-in providers. */
    public static final List<String> BUILT_IN = List.of("openai", "azure", "mock");

    /** Why a built-in provider ignores a setting that another one reads, when there is more to say. */
    private static final Map<String, Map<String, String>> IGNORED = Map.of(
            "azure", Map.of("organization", "Azure OpenAI takes no organization"));

    private Providers() {
    }

    /** New instances of the built-in providers, each with its own HTTP client. */
    public static List<ImageEditProvider> createBuiltIn() {
        return List.of(new OpenAiProvider(), new AzureProvider(), new MockProvider());
    }

    /** The settings a built-in provider reads ({@link ImageEditProvider#settingKeys()}); empty for others. */
    public static Set<String> settingKeys(String provider) {
        return switch (provider) {
            case "openai" -> OpenAiProvider.SETTINGS;
            case "azure" -> Set.of();
            case "mock" -> MockProvider.SETTINGS;
            default -> Set.of();
        };
    }

    /** Whether {@code provider} is built in. */
    public static boolean isBuiltIn(String provider) {
        return BUILT_IN.contains(provider);
    }

    /**
     * Why built-in {@code provider} does not use {@code key}, when another built-in provider reads it: e.g.
     * {@code "a setting of provider 'mock'"}; empty when no built-in provider reads {@code key}.
     */
    public static Optional<String> ignoredBecause(String provider, String key) {
        String special = IGNORED.getOrDefault(provider, Map.of()).get(key);
        if (special != null) {
            return Optional.of(special);
        }
        for (String other : BUILT_IN) {
            if (!other.equals(provider) && settingKeys(other).contains(key)) {
                return Optional.of("a setting of provider '" + other + "'");
            }
        }
        return Optional.empty();
    }
}
