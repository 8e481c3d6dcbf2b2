package dev.easel;

import dev.easel.validate.EditInput;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * An edit whose inputs are already parsed (by the proxy's intake): the lower-level entry point into
 * {@link Easel#execute(GatewayRequest)}. SDK users build an {@link ImageEditRequest} instead.
 *
 * @param model        model name as the client sent it (a {@code model_name} of the config, or
 *                     {@code provider/model})
 * @param input        prompt, images, mask and every other parameter by wire name
 * @param headers      headers to add to the upstream request
 * @param timeoutOrNull time allowed, or null for the deployment's / client's default
 * @param meta         who asked and when
 */
public record GatewayRequest(String model, EditInput input, Map<String, String> headers, Duration timeoutOrNull,
                             RequestMeta meta) {

    public GatewayRequest {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(meta, "meta");
        headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
    }

    /** The time allowed, if set. */
    public Optional<Duration> timeout() {
        return Optional.ofNullable(timeoutOrNull);
    }
}
