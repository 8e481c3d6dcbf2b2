package dev.easel.provider.gemini;

import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.ProviderContext;
import dev.easel.provider.ProviderFactory;
import java.util.Map;
import java.util.Optional;

/**
 * {@code gemini/<model>}: Google's Gemini API (AI Studio) image models, {@code gemini-3-pro-image} and
 * {@code gemini-3.1-flash-image}. Their rules and prices are in {@code models.json} next to this class.
 */
public final class GeminiProviderFactory implements ProviderFactory {

    /** For {@link java.util.ServiceLoader}. */
    public GeminiProviderFactory() {
    }

    @Override
    public String prefix() {
        return GeminiProvider.NAME;
    }

    @Override
    public Map<String, String> ignoredSettings() {
        return Map.of("organization", "the Gemini API takes no organization");
    }

    @Override
    public Optional<String> catalogResource() {
        return Optional.of("models.json");
    }

    @Override
    public ImageEditProvider create(ProviderContext context) {
        return new GeminiProvider(context);
    }
}
