package dev.easel.provider.openai;

import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.ProviderContext;
import dev.easel.provider.ProviderFactory;
import java.util.Set;

/** {@code openai/…} and bare model names: OpenAI's Images API. Its models are in the bundled catalogue. */
public final class OpenAiProviderFactory implements ProviderFactory {

    /** For {@link java.util.ServiceLoader}. */
    public OpenAiProviderFactory() {
    }

    @Override
    public String prefix() {
        return "openai";
    }

    @Override
    public Set<String> settingKeys() {
        return OpenAiProvider.SETTINGS;
    }

    @Override
    public ImageEditProvider create(ProviderContext context) {
        return new OpenAiProvider(context.transport());
    }
}
