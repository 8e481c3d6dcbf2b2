package dev.easel.examples.plugin;

import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.ProviderContext;
import dev.easel.provider.ProviderFactory;
import java.util.Optional;

/**
 * The factory Easel finds with {@link java.util.ServiceLoader}: listed in
 * {@code META-INF/services/dev.easel.provider.ProviderFactory}, with its models in {@code models.json} next to this
 * class. Put the jar on the classpath (or in the launcher's {@code plugins/} folder) and a config can name
 * {@code uppercase/shout-1}.
 */
public final class UppercaseProviderFactory implements ProviderFactory {

    /** The LiteLLM-style prefix: {@code uppercase/<model>}. */
    public static final String PREFIX = "uppercase";

    /** For {@link java.util.ServiceLoader}. */
    public UppercaseProviderFactory() {
    }

    @Override
    public String prefix() {
        return PREFIX;
    }

    @Override
    public Optional<String> catalogResource() {
        return Optional.of("models.json");
    }

    @Override
    public ImageEditProvider create(ProviderContext context) {
        return new UppercaseProvider(context);
    }
}
