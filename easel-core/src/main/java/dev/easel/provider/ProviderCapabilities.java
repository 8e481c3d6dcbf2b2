package dev.easel.provider;

/**
 * What a provider can do, independent of the model.
 *
 * @param streaming      supports {@code stream=true}
 * @param masks          accepts a mask
 * @param returnsUrls    answers with URLs (else base64)
 * @param needsApiKey    refuses to run without a key
 */
public record ProviderCapabilities(boolean streaming, boolean masks, boolean returnsUrls, boolean needsApiKey) {
}
