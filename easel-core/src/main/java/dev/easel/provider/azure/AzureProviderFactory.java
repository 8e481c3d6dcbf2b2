package dev.easel.provider.azure;

import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.ProviderContext;
import dev.easel.provider.ProviderFactory;
import java.util.Map;

/**
 * {@code azure/<deployment>}: Azure OpenAI. A deployment is priced and validated as its {@code base_model} (or as
 * the catalogue model its deployment name matches).
 */
public final class AzureProviderFactory implements ProviderFactory {

    /** For {@link java.util.ServiceLoader}. */
    public AzureProviderFactory() {
    }

    @Override
    public String prefix() {
        return "azure";
    }

    @Override
    public Map<String, String> ignoredSettings() {
        return Map.of("organization", "Azure OpenAI takes no organization");
    }

    @Override
    public ImageEditProvider create(ProviderContext context) {
        return new AzureProvider(context.transport());
    }
}
