package dev.easel.provider;

import dev.easel.catalog.ModelSpec;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One validated edit, ready for a provider: everything has been checked against {@link #spec()}, the
 * images are inspected, and {@link #params()} holds the accepted parameters by wire name, as strings,
 * in a stable order (unknown extra fields included, nested ones flattened to {@code a[b]} keys).
 *
 * @param deployment where to send it
 * @param spec       the model's rules (a permissive stand-in for unknown models)
 * @param prompt     the prompt
 * @param images     images in order (1 or more)
 * @param maskOrNull the mask, or null
 * @param params     accepted parameters by wire name ({@code n}, {@code size}, …; never model/prompt/stream)
 * @param stream     whether the caller wants a stream
 * @param headers    extra headers for the upstream request
 * @param timeout    time allowed for the call: until the whole answer has arrived, or until a stream has started
 *                   (never more than what the request's own deadline leaves)
 * @param idleTimeout longest silence while the answer arrives, between a stream's events included: the
 *                   deployment's own timeout, which a request deadline does not shorten once events flow
 */
public record EditCall(Deployment deployment, ModelSpec spec, String prompt, List<ImagePart> images,
                       ImagePart maskOrNull, Map<String, String> params, boolean stream,
                       Map<String, String> headers, Duration timeout, Duration idleTimeout) {

    /** A call whose silences may last as long as the call itself. */
    public EditCall(Deployment deployment, ModelSpec spec, String prompt, List<ImagePart> images,
                    ImagePart maskOrNull, Map<String, String> params, boolean stream, Map<String, String> headers,
                    Duration timeout) {
        this(deployment, spec, prompt, images, maskOrNull, params, stream, headers, timeout, timeout);
    }

    public EditCall {
        Objects.requireNonNull(deployment, "deployment");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(prompt, "prompt");
        images = List.copyOf(images);
        params = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(params));
        headers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(headers));
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
    }

    /** The mask, if any. */
    public Optional<ImagePart> mask() {
        return Optional.ofNullable(maskOrNull);
    }

    /**
     * The parameters to put on the wire: {@link #params()} minus those the model's rules mark as not
     * sent upstream (e.g. {@code response_format} to GPT image models). Unknown extra fields stay.
     */
    public Map<String, String> upstreamParams() {
        Map<String, String> out = new LinkedHashMap<>();
        params.forEach((k, v) -> {
            boolean send = spec.param(k).map(ModelSpec.ParamRule::upstream).orElse(true);
            if (send) {
                out.put(k, v);
            }
        });
        return out;
    }

    /** A copy with other parameters (used when adapting a call to another model). */
    public EditCall withParams(Map<String, String> newParams) {
        return new EditCall(deployment, spec, prompt, images, maskOrNull, newParams, stream, headers, timeout,
                idleTimeout);
    }
}
