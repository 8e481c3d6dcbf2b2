package dev.easel.provider;

import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;

/**
 * A provider adapter: turns an {@link EditCall} into the provider's own wire format and its answer into
 * an {@link ImageResponse}. Each adapter has exactly one place that maps HTTP status + error body to an
 * {@link dev.easel.EaselException}. Implementations are thread-safe.
 */
public interface ImageEditProvider {

    /** Provider name as used in model strings ({@code openai}, {@code azure}, {@code mock}). */
    String name();

    /** What this provider can do. */
    ProviderCapabilities capabilities();

    /**
     * The deployment settings this provider reads from {@link Deployment#settings()} (in a config: the
     * {@code litellm_params} keys beyond the common ones, such as the mock's {@code latency_ms}). The config
     * checker treats them as known keys of this provider and reports every other one. Default: none.
     */
    default java.util.Set<String> settingKeys() {
        return java.util.Set.of();
    }

    /** Runs the edit. Throws a subtype of {@link dev.easel.EaselException} on failure. */
    ImageResponse edit(EditCall call);

    /** Runs the edit as a stream of events. */
    ImageEditStream editStream(EditCall call);
}
