package dev.easel.config;

import dev.easel.provider.Deployment;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * A deployment's {@code litellm_params}: which provider model to call, with which credentials and limits.
 * {@link #toString()} never shows the key.
 *
 * @param model      {@code provider/model}, or a bare model id meaning provider {@code openai}
 * @param apiKey     {@code api_key}
 * @param apiBase    {@code api_base}
 * @param apiVersion {@code api_version} (Azure)
 * @param timeout    {@code timeout} for one call
 * @param maxRetries {@code max_retries}: retries inside one call to this deployment
 * @param rpm        {@code rpm}: requests per minute (also a shuffle weight)
 * @param tpm        {@code tpm}: tokens per minute
 * @param weight     {@code weight}: simple-shuffle weight
 * @param order      {@code order}: priority, lower tried first
 * @param maxParallelRequests {@code max_parallel_requests}: calls in flight at once to this deployment
 * @param streamTimeout       {@code stream_timeout}: time for one streamed call (until the response starts and
 *                            between two events), instead of {@code timeout}
 * @param dropParams {@code drop_params}: this deployment drops parameters (and a mask) its model does not take,
 *                   instead of refusing the request; unset: {@code litellm_settings.drop_params} decides
 * @param extra      every other key, unchanged (e.g. the mock provider's {@code latency_ms}); providers read them
 */
public record LitellmParams(String model, Optional<String> apiKey, Optional<URI> apiBase, Optional<String> apiVersion,
                            Optional<Duration> timeout, OptionalInt maxRetries, OptionalInt rpm, OptionalLong tpm,
                            OptionalDouble weight, OptionalInt order, OptionalInt maxParallelRequests,
                            Optional<Duration> streamTimeout, Optional<Boolean> dropParams, Map<String, Object> extra) {

    /**
     * Checks that nothing is null and that {@code model} is usable (else IllegalArgumentException), and copies
     * {@code extra}. Any provider name is accepted: whether a client serves it is decided when it is built (a
     * deployment of a provider it does not serve is unavailable).
     */
    public LitellmParams {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(apiKey, "apiKey");
        Objects.requireNonNull(apiBase, "apiBase");
        Objects.requireNonNull(apiVersion, "apiVersion");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(maxRetries, "maxRetries");
        Objects.requireNonNull(rpm, "rpm");
        Objects.requireNonNull(tpm, "tpm");
        Objects.requireNonNull(weight, "weight");
        Objects.requireNonNull(order, "order");
        Objects.requireNonNull(maxParallelRequests, "maxParallelRequests");
        Objects.requireNonNull(streamTimeout, "streamTimeout");
        Objects.requireNonNull(dropParams, "dropParams");
        String problem = modelProblem(model);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        extra = Copies.orderedMap(extra);
    }

    /** A params record with only {@code model} set. */
    public static LitellmParams of(String model) {
        return new LitellmParams(model, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                OptionalInt.empty(), OptionalInt.empty(), OptionalLong.empty(), OptionalDouble.empty(),
                OptionalInt.empty(), OptionalInt.empty(), Optional.empty(), Optional.empty(), Map.of());
    }

    /** The provider: the part of {@link #model()} before the first {@code /}, or {@code openai} if there is none. */
    public String provider() {
        int slash = model.indexOf('/');
        return slash < 0 ? "openai" : model.substring(0, slash);
    }

    /** The model as the provider knows it: the part after the first {@code /} (for Azure: the deployment name). */
    public String providerModel() {
        int slash = model.indexOf('/');
        return slash < 0 ? model : model.substring(slash + 1);
    }

    /** These params as the provider SPI's {@link Deployment}; {@link #extra()} becomes its settings. */
    public Deployment toDeployment() {
        return new Deployment(provider(), providerModel(), apiKey.orElse(null), apiBase.orElse(null),
                apiVersion.orElse(null), timeout.orElse(null), extra);
    }

    /**
     * {@link #extra()} without the entries that may hold secrets (a name with {@code key}, {@code secret},
     * {@code passw} or {@code credential} in it, or ending in {@code token}), at any depth: what a gateway may show
     * an operator of a deployment's settings.
     */
    public Map<String, Object> extraWithoutSecrets() {
        return Copies.withoutSecrets(extra);
    }

    /**
     * {@link #apiBase()} as it may be shown to an operator: scheme, host, port and path, without the user info, query
     * or fragment where a credential may hide.
     */
    public Optional<String> apiBaseForDisplay() {
        return apiBase.map(u -> {
            try {
                return new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), null, null).toString();
            } catch (java.net.URISyntaxException e) {
                return u.getScheme() + "://" + u.getHost();
            }
        });
    }

    /** Why {@code model} is unusable, or null when it is fine. */
    static String modelProblem(String model) {
        if (model.isBlank()) {
            return "must not be empty";
        }
        int slash = model.indexOf('/');
        if (slash < 0) {
            return null;
        }
        String provider = model.substring(0, slash);
        if (provider.isBlank()) {
            return "missing provider name before '/' in '" + model + "'";
        }
        if (slash == model.length() - 1) {
            return "missing model name after '" + provider + "/'";
        }
        return null;
    }

    @Override
    public String toString() {
        return "LitellmParams[model=" + model + ", apiKey=" + Copies.mask(apiKey) + ", apiBase=" + apiBase
                + ", apiVersion=" + apiVersion + ", timeout=" + timeout + ", maxRetries=" + maxRetries
                + ", rpm=" + rpm + ", tpm=" + tpm + ", weight=" + weight + ", order=" + order
                + ", maxParallelRequests=" + maxParallelRequests + ", streamTimeout=" + streamTimeout
                + ", dropParams=" + dropParams
                + ", extra=" + Copies.maskedMap(extra) + "]";
    }
}
