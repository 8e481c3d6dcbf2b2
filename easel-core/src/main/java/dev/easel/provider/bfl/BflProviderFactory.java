package dev.easel.provider.bfl;

import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.ProviderContext;
import dev.easel.provider.ProviderFactory;
import java.util.Optional;

/**
 * {@code black_forest_labs/<model>}: Black Forest Labs' FLUX editing API (Kontext, FLUX.2, FLUX.1 Fill and Expand),
 * LiteLLM's prefix. Jobs are submitted once and polled through the client's job runner; the models are in this
 * package's {@code models.json}. See docs/providers/bfl.md.
 */
public final class BflProviderFactory implements ProviderFactory {

    /** For {@link java.util.ServiceLoader}. */
    public BflProviderFactory() {
    }

    @Override
    public String prefix() {
        return BflProtocol.PROVIDER;
    }

    @Override
    public Optional<String> catalogResource() {
        return Optional.of("models.json");
    }

    @Override
    public ImageEditProvider create(ProviderContext context) {
        return new BflProvider(context);
    }
}
