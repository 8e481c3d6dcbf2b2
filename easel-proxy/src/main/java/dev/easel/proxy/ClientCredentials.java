package dev.easel.proxy;

import dev.easel.engine.GatewayRequest;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Request fields that would change where or with which credentials the proxy calls a provider (LiteLLM's
 * "client-side credentials"). Before, they were forwarded upstream as ordinary form fields — a caller's
 * {@code api_key} went to the provider as a text field. Now they are refused with a 400 unless
 * {@code general_settings.allow_client_side_credentials} is on; then {@code api_key}, {@code api_base} /
 * {@code base_url} and {@code api_version} replace the deployment's for that request only.
 */
final class ClientCredentials {

    /** Fields honoured when the operator allows client-side credentials. */
    static final List<String> HONOURED = List.of("api_key", "api_base", "base_url", "api_version");

    /**
     * Fields that select or authenticate an upstream and that Easel never takes from a request: other providers'
     * credentials, and LiteLLM's whole per-request router config.
     */
    static final List<String> NEVER = List.of("user_config", "organization", "azure_ad_token", "azure_ad_token_provider",
            "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_region_name",
            "aws_role_name", "aws_profile_name", "vertex_credentials", "vertex_project", "vertex_location");

    private ClientCredentials() {
    }

    /** The request's parameters without credential fields, and the credentials to use (when allowed). */
    record Taken(Map<String, Object> params, Optional<GatewayRequest.Credentials> credentials) {
    }

    /**
     * Takes the credential fields out of {@code params}.
     *
     * @throws ProxyException 400 {@code client_side_credentials_not_allowed} naming the field when one is present and
     *                        not allowed, 400 {@code invalid_value} when an allowed one is malformed
     */
    static Taken take(Map<String, Object> params, boolean allowed) {
        Map<String, String> spelled = new LinkedHashMap<>(); // canonical name -> the key as the request spelled it
        for (String key : params.keySet()) {
            String k = key.toLowerCase(Locale.ROOT);
            if (NEVER.contains(k)) {
                throw ProxyException.badRequest("client_side_credentials_not_allowed", key, "'" + key
                        + "' is not accepted in a request: the proxy calls providers only with the credentials of its"
                        + " config");
            }
            if (HONOURED.contains(k)) {
                if (!allowed) {
                    throw ProxyException.badRequest("client_side_credentials_not_allowed", key, "'" + key
                            + "' is not allowed in the request body: it would change where or how the proxy calls the"
                            + " provider (an operator can allow it with general_settings.allow_client_side_credentials)");
                }
                String before = spelled.putIfAbsent(k, key);
                if (before != null) {
                    throw ProxyException.badRequest("duplicate_parameter", key, "'" + before + "' and '" + key
                            + "' are the same parameter; send it once");
                }
            }
        }
        if (spelled.isEmpty()) {
            return new Taken(params, Optional.empty());
        }
        Map<String, Object> rest = new LinkedHashMap<>(params);
        spelled.values().forEach(rest::remove); // never forwarded, whatever their spelling
        String key = text(params.get(spelled.get("api_key")), "api_key");
        String base = text(params.get(spelled.get("api_base")), "api_base");
        String baseUrl = text(params.get(spelled.get("base_url")), "base_url");
        String version = text(params.get(spelled.get("api_version")), "api_version");
        if (base != null && baseUrl != null && !base.equals(baseUrl)) {
            throw ProxyException.badRequest("invalid_value", "base_url", "'api_base' and 'base_url' disagree; send one");
        }
        String url = base != null ? base : baseUrl;
        String urlParam = base != null ? "api_base" : "base_url";
        if (url != null && key == null) {
            // the deployment's own key must never go to a host the request names
            throw ProxyException.badRequest("missing_required_parameter", "api_key", "'" + urlParam + "' needs the "
                    + "caller's own 'api_key': the proxy does not send its configured key to a URL a request names");
        }
        return new Taken(rest, Optional.of(new GatewayRequest.Credentials(key,
                url == null ? null : httpUrl(url, urlParam), version)));
    }

    private static String text(Object v, String param) {
        if (v == null) {
            return null;
        }
        String s = v.toString().strip();
        if (!(v instanceof String) || s.isEmpty()) {
            throw ProxyException.badRequest("invalid_value", param, "'" + param + "' must be a non-empty string");
        }
        return s;
    }

    private static URI httpUrl(String s, String param) {
        try {
            URI u = new URI(s);
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            if ((scheme.equals("http") || scheme.equals("https")) && u.getHost() != null && u.getUserInfo() == null) {
                return u;
            }
        } catch (URISyntaxException e) {
            // reported below
        }
        throw ProxyException.badRequest("invalid_value", param, "'" + param + "' must be an http(s) URL without "
                + "user info");
    }
}
