package dev.easel.provider;

import dev.easel.catalog.ModelSpec;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One validated and adapted edit, ready for a provider: everything has been checked against {@link #spec()},
 * the images are inspected, the mask is in the model's convention, and {@link #params()} holds what is to be sent
 * (the size mapped to what the model takes, {@code n} no more than the model's images per call, parameters the
 * model does not take dropped or refused, parameters Easel honours itself left out).
 *
 * @param deployment  where to send it
 * @param spec        the model's rules (a permissive stand-in for unknown models)
 * @param prompt      the prompt
 * @param images      images in order (1 or more)
 * @param maskOrNull  the mask, or null
 * @param params      the parameters to send
 * @param stream      whether the caller wants a stream
 * @param headers     extra headers for the upstream request
 * @param timeout     time allowed for the call: until the whole answer has arrived, or until a stream has started
 *                    (never more than what the request's own deadline leaves); for a job, until it is done
 * @param idleTimeout longest silence while the answer arrives, between a stream's events included: the
 *                    deployment's own timeout, which a request deadline does not shorten once events flow
 * @param events      where the adapter reports what happens during the call (job polls)
 */
public record EditCall(Deployment deployment, ModelSpec spec, String prompt, List<ImagePart> images,
                       ImagePart maskOrNull, EditParams params, boolean stream, Map<String, String> headers,
                       Duration timeout, Duration idleTimeout, CallEvents events) {

    /** A call that reports nothing and whose silences may last as long as the call itself. */
    public EditCall(Deployment deployment, ModelSpec spec, String prompt, List<ImagePart> images,
                    ImagePart maskOrNull, EditParams params, boolean stream, Map<String, String> headers,
                    Duration timeout) {
        this(deployment, spec, prompt, images, maskOrNull, params, stream, headers, timeout, timeout,
                CallEvents.NONE);
    }

    public EditCall {
        Objects.requireNonNull(deployment, "deployment");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(prompt, "prompt");
        images = List.copyOf(images);
        Objects.requireNonNull(params, "params");
        headers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(headers));
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(events, "events");
    }

    /** The mask, if any. */
    public Optional<ImagePart> mask() {
        return Optional.ofNullable(maskOrNull);
    }

    /** A copy with other parameters. */
    public EditCall withParams(EditParams newParams) {
        return new EditCall(deployment, spec, prompt, images, maskOrNull, newParams, stream, headers, timeout,
                idleTimeout, events);
    }

    /** A copy with another mask (or none). */
    public EditCall withMask(ImagePart mask) {
        return new EditCall(deployment, spec, prompt, images, mask, params, stream, headers, timeout, idleTimeout,
                events);
    }
}
