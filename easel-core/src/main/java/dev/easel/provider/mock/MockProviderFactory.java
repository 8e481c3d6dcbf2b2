package dev.easel.provider.mock;

import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.ProviderContext;
import dev.easel.provider.ProviderFactory;
import java.util.Set;

/**
 * {@code mock/<name>}: offline edits for quick starts and rehearsals. It serves any model name (no catalogue
 * entries) and its {@code latency_ms} is real time: it stands for a provider's latency, which an injected test
 * sleeper must not shorten.
 */
public final class MockProviderFactory implements ProviderFactory {

    /** For {@link java.util.ServiceLoader}. */
    public MockProviderFactory() {
    }

    @Override
    public String prefix() {
        return "mock";
    }

    @Override
    public Set<String> settingKeys() {
        return MockProvider.SETTINGS;
    }

    @Override
    public ImageEditProvider create(ProviderContext context) {
        return new MockProvider();
    }
}
