package dev.easel.provider;

import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;

/**
 * A provider adapter: turns an {@link EditCall} into the provider's own wire format and its answer into
 * an {@link ImageResponse}. Each adapter has exactly one place that maps HTTP status + error body to an
 * {@link dev.easel.EaselException}. What each model takes (sizes, masks, images per call, …) is in the catalogue;
 * the call an adapter receives has already been validated and adapted to it. Adapters are made by a
 * {@link ProviderFactory}, or registered with {@code Easel.builder().provider(...)}. Implementations are
 * thread-safe.
 */
public interface ImageEditProvider {

    /**
     * Provider name as used in model strings ({@code openai}, {@code azure}, {@code mock}): its factory's
     * {@link ProviderFactory#prefix()}.
     */
    String name();

    /** Runs the edit. Throws a subtype of {@link dev.easel.EaselException} on failure. */
    ImageResponse edit(EditCall call);

    /** Runs the edit as a stream of events. */
    ImageEditStream editStream(EditCall call);
}
