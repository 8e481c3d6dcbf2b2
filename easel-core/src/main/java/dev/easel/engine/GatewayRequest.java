package dev.easel.engine;

import dev.easel.ImageEditRequest;
import dev.easel.validate.EditInput;
import java.net.URI;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * An edit whose inputs are already parsed (by the proxy's intake): the lower-level entry point into
 * {@link Engine#execute(GatewayRequest)}. SDK users build an {@link ImageEditRequest} instead.
 *
 * @param model        model name as the client sent it (a {@code model_name} of the config, or
 *                     {@code provider/model})
 * @param input        prompt, images, mask and every other parameter by wire name
 * @param headers      headers to add to the upstream request
 * @param timeoutOrNull time allowed, or null for the deployment's / client's default
 * @param meta         who asked and when
 * @param credentialsOrNull the caller's own provider credentials, replacing the deployment's for this request only
 *                     (the proxy passes them only when {@code allow_client_side_credentials} is on), or null
 */
public record GatewayRequest(String model, EditInput input, Map<String, String> headers, Duration timeoutOrNull,
                             RequestMeta meta, Credentials credentialsOrNull) {

    public GatewayRequest {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(meta, "meta");
        headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
    }

    /** A request that uses the deployments' own credentials. */
    public GatewayRequest(String model, EditInput input, Map<String, String> headers, Duration timeoutOrNull,
                          RequestMeta meta) {
        this(model, input, headers, timeoutOrNull, meta, null);
    }

    /** The time allowed, if set. */
    public Optional<Duration> timeout() {
        return Optional.ofNullable(timeoutOrNull);
    }

    /** The caller's own credentials, if it sent any. */
    public Optional<Credentials> credentials() {
        return Optional.ofNullable(credentialsOrNull);
    }

    /**
     * Provider credentials a caller sent with its request (LiteLLM's client-side credentials). Each part replaces
     * the deployment's for this request. A request with its own key is routed on state of its own: it never rests,
     * nor uses up the limits of, the shared deployment. A base URL comes only with the caller's own key (the proxy
     * checks this), so a deployment's key never goes to a URL a caller named.
     * {@link #toString()} never shows the key.
     *
     * @param apiKeyOrNull     {@code api_key}
     * @param apiBaseOrNull    {@code api_base} (or {@code base_url})
     * @param apiVersionOrNull {@code api_version}
     */
    public record Credentials(String apiKeyOrNull, URI apiBaseOrNull, String apiVersionOrNull) {
        @Override
        public String toString() {
            return "Credentials[apiKey=" + (apiKeyOrNull == null ? "none" : "****") + ", apiBase=" + apiBaseOrNull
                    + ", apiVersion=" + apiVersionOrNull + "]";
        }
    }
}
