package dev.easel.provider.stability;

import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.ModelAlias;
import dev.easel.provider.ProviderContext;
import dev.easel.provider.ProviderFactory;
import java.util.Optional;

/**
 * {@code stability/<operation>}: Stability AI's v2beta {@code stable-image/edit} operations ({@code inpaint},
 * {@code erase}, {@code outpaint}, {@code search-and-replace}, {@code search-and-recolor},
 * {@code remove-background}), one model each, described in this package's {@code models.json}. Another Stability
 * service (control, upscale, relight) is refused; any other name is served as inpaint, as LiteLLM does, with a
 * warning (docs/providers/stability.md).
 */
public final class StabilityProviderFactory implements ProviderFactory {

    /** For {@link java.util.ServiceLoader}. */
    public StabilityProviderFactory() {
    }

    @Override
    public String prefix() {
        return StabilityProvider.NAME;
    }

    @Override
    public Optional<String> modelProblem(String model) {
        return Operation.problem(model);
    }

    @Override
    public Optional<ModelAlias> servedAs(String model) {
        return Operation.servedAs(model);
    }

    @Override
    public Optional<String> catalogResource() {
        return Optional.of("models.json");
    }

    @Override
    public ImageEditProvider create(ProviderContext context) {
        return new StabilityProvider(context);
    }
}
