package dev.easel.config;

import dev.easel.config.YamlTree.Kind;
import dev.easel.config.YamlTree.MapNode;
import dev.easel.config.YamlTree.Node;
import dev.easel.config.YamlTree.Scalar;
import dev.easel.config.YamlTree.SeqNode;
import dev.easel.provider.ProviderRegistry;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Turns a {@link YamlTree} into an {@link EaselConfig}: one instance per load. Reads each known key once,
 * replaces {@code os.environ/NAME} where a string is read, refuses near misses of known keys and collects one
 * warning for every other key that is not acted on. The keys of each section are declared in {@link ConfigKeys}.
 */
final class ConfigReader {

    private static final String ENV_PREFIX = "os.environ/";

    private final String source;
    /** The installed providers: their settings are known keys of their deployments. */
    private final ProviderRegistry providers = ProviderRegistry.installed();
    private final Map<String, String> env = new HashMap<>();
    private final List<String> warnings = new ArrayList<>();
    /** Names used in fallbacks, checked against model names at the end: path → name. */
    private final List<Map.Entry<String, String>> fallbackRefs = new ArrayList<>();

    ConfigReader(String source, Map<String, String> processEnv) {
        this.source = source;
        this.env.putAll(processEnv);
    }

    EaselConfig read(Node root) {
        if (!(root instanceof MapNode rootMap)) {
            throw new ConfigException(source + ": expected a mapping at the top level (was "
                    + YamlTree.describe(root) + ")");
        }
        Section top = new Section(rootMap, "", ConfigKeys.TOP);
        top.refuseNearMisses(Set.of());
        Map<String, String> environmentVariables = environmentVariables(top.get("environment_variables"));
        List<ModelEntry> models = modelList(top);
        RouterSettings router = routerSettings(section(top.get("router_settings"), "router_settings",
                ConfigKeys.ROUTER_SETTINGS));
        LitellmSettings litellm = litellmSettings(section(top.get("litellm_settings"), "litellm_settings",
                ConfigKeys.LITELLM_SETTINGS));
        GeneralSettings general = generalSettings(section(top.get("general_settings"), "general_settings",
                ConfigKeys.GENERAL_SETTINGS));
        top.warnUnknown();
        Set<String> names = new HashSet<>();
        models.forEach(m -> names.add(m.modelName()));
        for (Map.Entry<String, String> ref : fallbackRefs) {
            if (!names.contains(ref.getValue())) {
                warnings.add(ref.getKey() + ": unknown model '" + ref.getValue() + "'");
            }
        }
        return new EaselConfig(models, router, litellm, general, environmentVariables, warnings);
    }

    // ---------------------------------------------------------------- sections

    private Map<String, String> environmentVariables(Node node) {
        Section s = section(node, "environment_variables", null);
        Map<String, String> out = new LinkedHashMap<>();
        for (String name : s.map.entries().keySet()) {
            String path = s.path(name);
            Node value = s.map.entries().get(name);
            if (YamlTree.isNull(value)) {
                throw error(path, "expected a string (was null)");
            }
            // lookups inside this section see the process env and the names defined above them
            String resolved = text(value, path).text;
            out.put(name, resolved);
            env.put(name, resolved);
        }
        return out;
    }

    private List<ModelEntry> modelList(Section top) {
        Node node = top.get("model_list");
        if (node == null) {
            warnings.add("model_list is missing: no models are configured");
            return List.of();
        }
        if (!(node instanceof SeqNode seq)) {
            throw error("model_list", "expected a list (was " + YamlTree.describe(node) + ")");
        }
        if (seq.items().isEmpty()) {
            warnings.add("model_list is empty: no models are configured");
        }
        List<ModelEntry> out = new ArrayList<>();
        Map<String, String> idPaths = new HashMap<>();
        for (int i = 0; i < seq.items().size(); i++) {
            String path = "model_list[" + i + "]";
            Node item = seq.items().get(i);
            if (!(item instanceof MapNode map)) {
                throw error(path, "expected a mapping with model_name and litellm_params (was "
                        + YamlTree.describe(item) + ")");
            }
            Section entry = new Section(map, path, ConfigKeys.MODEL_ENTRY);
            entry.refuseNearMisses(Set.of());
            String modelName = requiredString(entry, "model_name");
            Node paramsNode = entry.get("litellm_params");
            if (paramsNode == null) {
                throw error(path, "missing litellm_params");
            }
            LitellmParams params = litellmParams(section(paramsNode, entry.path("litellm_params"),
                    ConfigKeys.LITELLM_PARAMS));
            ModelInfo info = modelInfo(section(entry.get("model_info"), entry.path("model_info"),
                    ConfigKeys.MODEL_INFO));
            entry.warnUnknown();
            if (info.id().isPresent()) {
                String previous = idPaths.putIfAbsent(info.id().get(), path);
                if (previous != null) {
                    throw error(path + ".model_info.id", "duplicate id '" + info.id().get() + "' (also used by "
                            + previous + ")");
                }
            }
            out.add(new ModelEntry(modelName, params, info));
        }
        return out;
    }

    private LitellmParams litellmParams(Section s) {
        // the provider's own settings are known keys here: find it before anything is refused or read
        Node modelNode = s.map.entries().get("model");
        String provider = null;
        if (modelNode instanceof Scalar m && m.kind() == Kind.STRING) {
            String text = text(modelNode, s.path("model")).text;
            int slash = text.indexOf('/');
            provider = slash < 0 ? "openai" : text.substring(0, slash);
        }
        Set<String> providerKeys = provider == null ? Set.of() : providers.settingKeys(provider);
        s.refuseNearMisses(providerKeys);
        String model = requiredString(s, "model");
        String problem = LitellmParams.modelProblem(model);
        if (problem != null) {
            throw error(s.path("model"), problem);
        }
        String providerModel = model.indexOf('/') < 0 ? model : model.substring(model.indexOf('/') + 1);
        Optional<String> refused = providers.find(provider).flatMap(f -> f.modelProblem(providerModel));
        if (refused.isPresent()) {
            throw error(s.path("model"), refused.get());
        }
        Optional<dev.easel.provider.ModelAlias> alias = providers.find(provider).flatMap(f -> f.servedAs(providerModel));
        if (alias.isPresent()) {
            warnings.add(s.path("model") + ": " + alias.get().reason());
            model = provider + "/" + alias.get().model();
        }
        Optional<URI> apiBase = optional(s, "api_base", this::httpUrl);
        LitellmParams params = new LitellmParams(model,
                optional(s, "api_key", (n, p) -> text(n, p).text),
                apiBase,
                optional(s, "api_version", (n, p) -> text(n, p).text),
                optional(s, "timeout", (n, p) -> duration(n, p, true)),
                optionalInt(s, "max_retries", 0),
                optionalInt(s, "rpm", 0),
                optional(s, "tpm", (n, p) -> longValue(n, p, 0)).map(OptionalLong::of).orElse(OptionalLong.empty()),
                optional(s, "weight", (n, p) -> nonNegativeDecimal(n, p, "a number").doubleValue())
                        .map(OptionalDouble::of).orElse(OptionalDouble.empty()),
                optionalInt(s, "order", 0),
                optionalInt(s, "max_parallel_requests", 1),
                optional(s, "stream_timeout", (n, p) -> duration(n, p, true)),
                optional(s, "drop_params", this::bool),
                s.rest());
        reportExtras(s, params.provider());
        if (params.provider().equals("azure") && apiBase.isEmpty()) {
            throw error(s.path("api_base"), "required for provider 'azure'");
        }
        return params;
    }

    private ModelInfo modelInfo(Section s) {
        s.refuseNearMisses(Set.of());
        ModelInfo info = new ModelInfo(
                optional(s, "id", (n, p) -> text(n, p).text),
                optional(s, "base_model", (n, p) -> text(n, p).text),
                price(s, "input_cost_per_token"),
                price(s, "input_cost_per_image_token"),
                price(s, "output_cost_per_image_token"),
                price(s, "output_cost_per_token"),
                price(s, "output_cost_per_image"),
                price(s, "input_cost_per_image"),
                price(s, "input_cost_per_pixel"),
                price(s, "output_cost_per_pixel"),
                s.rest());
        if (info.outputCostPerImage().isPresent()) {
            // LiteLLM prices an image by output_cost_per_image when it has one, and by pixels only otherwise
            Map<String, Optional<BigDecimal>> pixelPrices = new LinkedHashMap<>();
            pixelPrices.put("input_cost_per_pixel", info.inputCostPerPixel());
            pixelPrices.put("output_cost_per_pixel", info.outputCostPerPixel());
            pixelPrices.forEach((key, price) -> price.ifPresent(p -> warnings.add(s.path(key)
                    + ": not used: output_cost_per_image is set and wins (as in LiteLLM)")));
        }
        Object groups = info.extra().get("access_groups");
        if (groups != null && !(groups instanceof List<?> l && l.stream().allMatch(g -> g instanceof String t
                && !t.isBlank()))) {
            throw error(s.path("access_groups"), "expected a list of access group names (was " + groups + ")");
        }
        s.warnUnknown();
        return info;
    }

    /**
     * Reports the {@code litellm_params} keys kept as provider settings: nothing for the settings the provider
     * reads, "not used" for another installed provider's setting (or one it says it ignores), "unknown" for the rest
     * on an installed provider, and "passed as is" on a provider none of whose factories is installed (a client may
     * add it with {@code Easel.builder().provider(...)}).
     */
    private void reportExtras(Section s, String provider) {
        for (String key : s.unread()) {
            if (ConfigKeys.known(ConfigKeys.LITELLM_PARAMS).contains(key)
                    || providers.settingKeys(provider).contains(key)) {
                continue;
            }
            if (providers.find(provider).isEmpty()) {
                warnings.add(s.path(key) + ": passed to provider '" + provider + "' as is");
                continue;
            }
            Optional<String> because = providers.ignoredBecause(provider, key);
            if (because.isPresent()) {
                warnings.add(s.path(key) + ": not used by provider '" + provider + "' (ignored; " + because.get()
                        + ")");
            } else {
                warnings.add("unknown key '" + s.path(key) + "' (ignored: provider '" + provider
                        + "' reads no such setting)");
            }
        }
    }

    private Optional<BigDecimal> price(Section s, String key) {
        return optional(s, key, (n, p) -> nonNegativeDecimal(n, p, "a price in USD"));
    }

    private RouterSettings routerSettings(Section s) {
        s.refuseNearMisses(Set.of());
        RouterSettings d = RouterSettings.defaults();
        RoutingStrategy strategy = optional(s, "routing_strategy", (n, p) -> {
            Value v = text(n, p);
            return RoutingStrategy.fromWireName(v.text).orElseThrow(() -> error(p,
                    "unknown routing strategy " + v.describe() + " (known: " + RoutingStrategy.wireNames() + ")"));
        }).orElse(d.routingStrategy());
        RouterSettings settings = new RouterSettings(strategy,
                optionalInt(s, "num_retries", 0),
                optional(s, "retry_after", (n, p) -> duration(n, p, false)).orElse(d.retryAfter()),
                optionalInt(s, "allowed_fails", 0).orElse(d.allowedFails()),
                optional(s, "cooldown_time", (n, p) -> duration(n, p, false)).orElse(d.cooldownTime()),
                optional(s, "timeout", (n, p) -> duration(n, p, true)),
                fallbacks(s, "fallbacks"),
                fallbacks(s, "content_policy_fallbacks"),
                defaultFallbacks(s),
                optional(s, "retry_on_timeout", this::bool).orElse(d.retryOnTimeout()),
                optional(s, "disable_cooldowns", this::bool).orElse(false),
                optional(s, "redis_host", (n, p) -> text(n, p).text),
                optionalInt(s, "redis_port", 1),
                optional(s, "redis_password", (n, p) -> text(n, p).text),
                optional(s, "stream_timeout", (n, p) -> duration(n, p, true)),
                optional(s, "max_cooldown_time", (n, p) -> duration(n, p, true)).orElse(d.maxCooldownTime()),
                optionalInt(s, "default_max_parallel_requests", 1),
                optionalInt(s, "max_parallel_waiters", 0).orElse(d.maxParallelWaiters()),
                optional(s, "max_parallel_wait", (n, p) -> duration(n, p, false)).orElse(d.maxParallelWait()),
                optional(s, "redis_url", this::redisUrl),
                optional(s, "redis_key_prefix", this::redisKeyPrefix).orElse(d.redisKeyPrefix()),
                optional(s, "redis_unavailable_rate_limits", (n, p) -> {
                    Value v = text(n, p);
                    return RedisRateLimitPolicy.fromWireName(v.text).orElseThrow(() -> error(p, "unknown policy "
                            + v.describe() + " (known: " + RedisRateLimitPolicy.wireNames() + ")"));
                }).orElse(d.redisUnavailableRateLimits()),
                optional(s, "redis_unavailable_budgets", (n, p) -> {
                    Value v = text(n, p);
                    return RedisBudgetPolicy.fromWireName(v.text).orElseThrow(() -> error(p, "unknown policy "
                            + v.describe() + " (known: " + RedisBudgetPolicy.wireNames() + ")"));
                }).orElse(d.redisUnavailableBudgets()));
        if (settings.redisPort().isPresent() && settings.redisPort().getAsInt() > 65535) {
            throw error(s.path("redis_port"), "must be a port number up to 65535 (was "
                    + settings.redisPort().getAsInt() + ")");
        }
        if (settings.redisUrl().isPresent()) {
            // as in LiteLLM, the URL wins over the separate keys
            for (String key : List.of("redis_host", "redis_port", "redis_password")) {
                if (s.get(key) != null) {
                    warnings.add(s.path(key) + ": not used: redis_url is set and wins (as in LiteLLM)");
                }
            }
        } else if (settings.redisHost().isEmpty()) {
            for (String key : List.of("redis_port", "redis_password")) {
                if (s.get(key) != null) {
                    warnings.add(s.path(key) + ": not used (ignored): neither redis_host nor redis_url is set, so "
                            + "router state is kept in this process");
                }
            }
        }
        s.warnUnknown();
        return settings;
    }

    private LitellmSettings litellmSettings(Section s) {
        s.refuseNearMisses(Set.of());
        LitellmSettings settings = new LitellmSettings(
                optional(s, "drop_params", this::bool).orElse(false),
                optionalInt(s, "num_retries", 0),
                optional(s, "request_timeout", (n, p) -> duration(n, p, true)),
                stringList(s, "callbacks"),
                stringList(s, "success_callback"),
                stringList(s, "failure_callback"),
                optional(s, "json_logs", this::bool).orElse(false),
                optional(s, "redact_prompts", this::bool).orElse(false),
                optional(s, "enable_end_user_cost_tracking_prometheus_only", this::bool).orElse(false),
                optional(s, "require_auth_for_metrics_endpoint", this::bool).orElse(false));
        s.warnUnknown();
        return settings;
    }

    private GeneralSettings generalSettings(Section s) {
        s.refuseNearMisses(Set.of());
        GeneralSettings d = GeneralSettings.defaults();
        GeneralSettings settings = new GeneralSettings(
                optional(s, "master_key", (n, p) -> text(n, p).text),
                optional(s, "database_url", (n, p) -> text(n, p).text),
                optional(s, "public_base_url", this::httpUrl),
                optional(s, "allow_image_urls", this::bool).orElse(d.allowImageUrls()),
                optional(s, "allow_client_side_credentials", this::bool).orElse(false),
                optional(s, "webhook_url", this::httpUrl),
                optional(s, "otel_exporter_endpoint", this::httpUrl),
                optional(s, "end_user_budgets", (n, p) -> section(n, p, null).all()).orElse(Map.of()),
                optional(s, "max_request_bytes", this::size).orElse(d.maxRequestBytes()),
                optional(s, "max_image_bytes", this::size).orElse(d.maxImageBytes()),
                optional(s, "max_inflight_upload_bytes", this::size).orElse(d.maxInflightUploadBytes()),
                optional(s, "upload_memory_bytes", this::size).orElse(d.uploadMemoryBytes()),
                optional(s, "image_url_ttl", (n, p) -> duration(n, p, true)).orElse(d.imageUrlTtl()),
                optional(s, "grace_period", (n, p) -> duration(n, p, false)).orElse(d.gracePeriod()),
                requestLimits(s),
                optionalInt(s, "global_max_parallel_requests", 1),
                optionalInt(s, "max_parallel_requests", 1),
                optionalInt(s, "max_parallel_waiters", 0).orElse(d.maxParallelWaiters()),
                optional(s, "max_parallel_wait", (n, p) -> duration(n, p, false)).orElse(d.maxParallelWait()),
                optional(s, "image_store", (n, p) -> imageStore(section(n, p, ConfigKeys.IMAGE_STORE)))
                        .orElse(d.imageStore()));
        if (settings.imageStore().urlMode() == ImageStoreSettings.UrlMode.PRESIGNED
                && settings.imageUrlTtl().compareTo(MAX_PRESIGNED_TTL) > 0) {
            throw error(s.path("image_store.url_mode"), "presigned URLs last at most 7 days (604800 s), but "
                    + "general_settings.image_url_ttl is " + settings.imageUrlTtl().toSeconds() + " s; use url_mode "
                    + "proxy or a shorter image_url_ttl");
        }
        // LiteLLM's opt-in for health checks that call every deployment: for an image model each call is a paid edit
        // (cents per deployment per interval), so Easel refuses it rather than accept it and do nothing
        if (optional(s, "background_health_checks", this::bool).orElse(false)) {
            throw error(s.path("background_health_checks"), "Easel does not call deployments to check their "
                    + "health (each check would be a paid image edit); GET /health reports what the router has seen "
                    + "of each deployment, at no cost (docs/proxy.md#get-health). Remove the key or set it to false");
        }
        s.warnUnknown();
        return settings;
    }

    /** The longest a SigV4 presigned URL may be valid. */
    private static final Duration MAX_PRESIGNED_TTL = Duration.ofDays(7);

    /** {@code general_settings.image_store} (docs/config.md, "{@code general_settings.image_store}"). */
    private ImageStoreSettings imageStore(Section s) {
        s.refuseNearMisses(Set.of());
        ImageStoreSettings.Type type = optional(s, "type", (n, p) -> {
            Value v = text(n, p);
            for (ImageStoreSettings.Type t : ImageStoreSettings.Type.values()) {
                if (t.wireName().equals(v.text)) {
                    return t;
                }
            }
            throw error(p, "unknown image store type " + v.describe() + " (known: local, s3)");
        }).orElse(ImageStoreSettings.Type.LOCAL);
        ImageStoreSettings.UrlMode mode = optional(s, "url_mode", (n, p) -> {
            Value v = text(n, p);
            for (ImageStoreSettings.UrlMode m : ImageStoreSettings.UrlMode.values()) {
                if (m.wireName().equals(v.text)) {
                    return m;
                }
            }
            throw error(p, "unknown url mode " + v.describe() + " (known: proxy, presigned)");
        }).orElse(ImageStoreSettings.UrlMode.PROXY);
        if (type == ImageStoreSettings.Type.LOCAL) {
            // a bucket setting beside the local store is a config that does not do what it says: refuse it
            for (String key : ConfigKeys.read(ConfigKeys.IMAGE_STORE)) {
                if (key.startsWith("s3_") && s.get(key) != null) {
                    throw error(s.path(key), "only used with type: s3 (the image store is local)");
                }
            }
            if (mode == ImageStoreSettings.UrlMode.PRESIGNED) {
                throw error(s.path("url_mode"), "presigned needs type: s3 (the image store is local)");
            }
            s.warnUnknown();
            return ImageStoreSettings.local();
        }
        String bucket = requiredString(s, "s3_bucket_name");
        if (!BUCKET.matcher(bucket).matches()) {
            throw error(s.path("s3_bucket_name"), "expected a bucket name (letters, digits, '.', '-', '_'; no '/', "
                    + "no URL) (was '" + bucket + "')");
        }
        Optional<String> region = optional(s, "s3_region_name", (n, p) -> nonBlank(n, p));
        Optional<URI> endpoint = optional(s, "s3_endpoint_url", this::httpUrl);
        Optional<String> keyId = optional(s, "s3_aws_access_key_id", (n, p) -> nonBlank(n, p));
        Optional<String> secret = optional(s, "s3_aws_secret_access_key", (n, p) -> nonBlank(n, p));
        Optional<String> token = optional(s, "s3_aws_session_token", (n, p) -> nonBlank(n, p));
        if (keyId.isPresent() && secret.isEmpty()) {
            throw error(s.path("s3_aws_secret_access_key"), "required when s3_aws_access_key_id is set");
        }
        if (secret.isPresent() && keyId.isEmpty()) {
            throw error(s.path("s3_aws_access_key_id"), "required when s3_aws_secret_access_key is set");
        }
        if (token.isPresent() && keyId.isEmpty()) {
            throw error(s.path("s3_aws_session_token"), "needs s3_aws_access_key_id and s3_aws_secret_access_key");
        }
        String prefix = optional(s, "s3_path", (n, p) -> {
            String v = text(n, p).text.strip();
            while (v.startsWith("/")) {
                v = v.substring(1);
            }
            while (v.endsWith("/")) {
                v = v.substring(0, v.length() - 1);
            }
            if (v.contains("//") || v.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                throw error(p, "expected a key prefix like 'easel/images' (no empty segments, no control "
                        + "characters)");
            }
            return v;
        }).orElse(ImageStoreSettings.DEFAULT_S3_PATH);
        // LiteLLM's default: path-style against an endpoint override (MinIO and most S3-compatible services), the
        // SDK's virtual-hosted style against AWS itself
        boolean virtualHosted = optional(s, "s3_use_virtual_hosted_style", this::bool).orElse(endpoint.isEmpty());
        s.warnUnknown();
        return ImageStoreSettings.s3(new ImageStoreSettings.S3(bucket, region, endpoint, keyId, secret, token, prefix,
                virtualHosted), mode);
    }

    /** Bucket names as AWS, GCS (underscores), R2 and MinIO accept them, loosely: no path, no URL. */
    private static final java.util.regex.Pattern BUCKET =
            java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,254}");

    private String nonBlank(Node node, String path) {
        String v = text(node, path).text;
        if (v.isBlank()) {
            throw error(path, "must not be empty");
        }
        return v;
    }

    /** The request limits, flat keys of {@code general_settings} (docs/config.md, "Request limits"). */
    private RequestLimits requestLimits(Section s) {
        RequestLimits d = RequestLimits.defaults();
        return new RequestLimits(
                optionalInt(s, "max_parts", 1).orElse(d.maxParts()),
                optionalInt(s, "max_images", 1).orElse(d.maxImages()),
                optionalInt(s, "max_text_fields", 1).orElse(d.maxTextFields()),
                optional(s, "max_text_field_bytes", this::size).orElse(d.maxTextFieldBytes()),
                optional(s, "max_text_bytes", this::size).orElse(d.maxTextBytes()),
                optional(s, "max_field_name_bytes", this::intSize).orElse(d.maxFieldNameBytes()),
                optional(s, "max_part_header_bytes", this::intSize).orElse(d.maxPartHeaderBytes()),
                optionalInt(s, "max_json_depth", 1).orElse(d.maxJsonDepth()),
                optionalInt(s, "max_json_tokens", 1).orElse(d.maxJsonTokens()),
                optional(s, "max_json_body_bytes", this::size).orElse(d.maxJsonBodyBytes()),
                optional(s, "idle_timeout", (n, p) -> duration(n, p, true)).orElse(d.idleTimeout()),
                optional(s, "min_request_body_rate", this::rate).orElse(d.minRequestBodyRate()),
                optional(s, "request_body_rate_window", (n, p) -> duration(n, p, true))
                        .orElse(d.requestBodyRateWindow()),
                optional(s, "request_body_timeout", (n, p) -> duration(n, p, true)).orElse(d.requestBodyTimeout()));
    }

    /** A size that fits an int (buffers and names). */
    private int intSize(Node node, String path) {
        long bytes = size(node, path);
        if (bytes > Integer.MAX_VALUE) {
            throw error(path, "is too large (was " + bytes + ", at most " + Integer.MAX_VALUE + ")");
        }
        return (int) bytes;
    }

    /** Bytes per second, written as a size ({@code 16KiB}); 0 (or {@code 0B}) turns the check off. */
    private long rate(Node node, String path) {
        BigDecimal bytes = null;
        String was = null;
        if (node instanceof Scalar sc && (sc.kind() == Kind.INT || sc.kind() == Kind.FLOAT)) {
            bytes = (BigDecimal) sc.value();
            was = sc.text();
        } else if (node instanceof Scalar sc && sc.kind() == Kind.STRING) {
            Value v = text(node, path);
            bytes = Values.sizeBytes(v.text);
            was = v.describe();
        }
        if (bytes != null && bytes.signum() == 0) {
            return 0;
        }
        if (bytes != null && bytes.signum() < 0) {
            throw error(path, "must not be negative (was " + was + ")");
        }
        return size(node, path);
    }

    // ---------------------------------------------------------------- fallbacks

    private Map<String, List<String>> fallbacks(Section s, String key) {
        Node node = s.get(key);
        String path = s.path(key);
        Map<String, List<String>> out = new LinkedHashMap<>();
        if (node == null) {
            return out;
        }
        switch (node) {
            case SeqNode seq -> {
                for (int i = 0; i < seq.items().size(); i++) {
                    String itemPath = path + "[" + i + "]";
                    Node item = seq.items().get(i);
                    if (!(item instanceof MapNode map)) {
                        throw error(itemPath, "expected a mapping like {model: [fallback, ...]} (was "
                                + YamlTree.describe(item) + ")");
                    }
                    fallbackEntries(map, itemPath, out);
                }
            }
            case MapNode map -> fallbackEntries(map, path, out);
            default -> throw error(path, "expected a list of mappings like [{model: [fallback, ...]}] (was "
                    + YamlTree.describe(node) + ")");
        }
        return out;
    }

    private void fallbackEntries(MapNode map, String path, Map<String, List<String>> out) {
        for (Map.Entry<String, Node> e : map.entries().entrySet()) {
            String from = e.getKey();
            List<String> to = strings(e.getValue(), path + "." + from);
            if (out.containsKey(from)) {
                warnings.add(path + ": duplicate fallbacks for '" + from + "' (ignored; the first ones win)");
                continue;
            }
            out.put(from, to);
            fallbackRefs.add(Map.entry(path, from));
            to.forEach(name -> fallbackRefs.add(Map.entry(path, name)));
        }
    }

    private List<String> defaultFallbacks(Section s) {
        Node node = s.get("default_fallbacks");
        String path = s.path("default_fallbacks");
        if (node == null) {
            return List.of();
        }
        List<String> names = strings(node, path);
        for (int i = 0; i < names.size(); i++) {
            fallbackRefs.add(Map.entry(node instanceof SeqNode ? path + "[" + i + "]" : path, names.get(i)));
        }
        return names;
    }

    // ---------------------------------------------------------------- values

    /** A string as read: its text after env replacement, and the variable it came from (or null). */
    private record Value(String text, String envVar, Scalar scalar) {
        String describe() {
            return envVar != null ? "the value of environment variable '" + envVar + "'" : YamlTree.describe(scalar);
        }
    }

    private Value text(Node node, String path) {
        if (!(node instanceof Scalar scalar) || scalar.kind() == Kind.NULL) {
            throw error(path, "expected a string (was " + YamlTree.describe(node) + ")");
        }
        if (scalar.kind() == Kind.STRING && scalar.text().startsWith(ENV_PREFIX)) {
            String name = scalar.text().substring(ENV_PREFIX.length());
            if (name.isEmpty()) {
                throw error(path, "missing environment variable name after '" + ENV_PREFIX + "'");
            }
            String value = env.get(name);
            if (value == null) {
                throw error(path, "environment variable '" + name + "' is not set");
            }
            return new Value(value, name, scalar);
        }
        return new Value(scalar.text(), null, scalar);
    }

    /** A number from a YAML number or from text; {@code expected} names the wanted kind in errors. */
    private BigDecimal number(Node node, String path, String expected) {
        if (node instanceof Scalar s && (s.kind() == Kind.INT || s.kind() == Kind.FLOAT)) {
            return (BigDecimal) s.value();
        }
        if (!(node instanceof Scalar s) || s.kind() != Kind.STRING) {
            throw error(path, "expected " + expected + " (was " + YamlTree.describe(node) + ")");
        }
        Value v = text(node, path);
        BigDecimal d = Values.decimal(v.text);
        if (d == null) {
            throw error(path, "expected " + expected + " (was " + v.describe() + ")");
        }
        return d;
    }

    private int intValue(Node node, String path, int min) {
        BigDecimal d = integral(node, path);
        checkMin(d, path, min);
        if (d.compareTo(BigDecimal.valueOf(Integer.MAX_VALUE)) > 0) {
            throw error(path, "is too large (was " + d.toPlainString() + ")");
        }
        return d.intValueExact();
    }

    private long longValue(Node node, String path, int min) {
        BigDecimal d = integral(node, path);
        checkMin(d, path, min);
        if (d.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw error(path, "is too large (was " + d.toPlainString() + ")");
        }
        return d.longValueExact();
    }

    private BigDecimal integral(Node node, String path) {
        BigDecimal d = number(node, path, "an integer");
        if (d.signum() != 0 && d.stripTrailingZeros().scale() > 0) {
            throw error(path, "expected an integer (was " + d.toPlainString() + ")");
        }
        return d.setScale(0);
    }

    private void checkMin(BigDecimal d, String path, int min) {
        if (d.compareTo(BigDecimal.valueOf(min)) < 0) {
            throw error(path, (min == 0 ? "must not be negative" : "must be at least " + min)
                    + " (was " + d.toPlainString() + ")");
        }
    }

    private BigDecimal nonNegativeDecimal(Node node, String path, String expected) {
        BigDecimal d = number(node, path, expected);
        checkMin(d, path, 0);
        return d;
    }

    private Duration duration(Node node, String path, boolean positive) {
        BigDecimal seconds;
        String was;
        if (node instanceof Scalar s && (s.kind() == Kind.INT || s.kind() == Kind.FLOAT)) {
            seconds = (BigDecimal) s.value();
            was = s.text();
        } else if (node instanceof Scalar s && s.kind() == Kind.STRING) {
            Value v = text(node, path);
            seconds = Values.durationSeconds(v.text);
            was = v.describe();
        } else {
            seconds = null;
            was = YamlTree.describe(node);
        }
        if (seconds == null) {
            throw error(path, "expected a duration in seconds, like 600, 1.5 or '500ms' (was " + was + ")");
        }
        if (seconds.signum() < 0) {
            throw error(path, "must not be negative (was " + was + ")");
        }
        if (positive && seconds.signum() == 0) {
            throw error(path, "must be positive (was " + was + ")");
        }
        Duration d = Values.toDuration(seconds);
        if (d == null) {
            throw error(path, "is too large (was " + was + ")");
        }
        return d;
    }

    private long size(Node node, String path) {
        BigDecimal bytes;
        String was;
        if (node instanceof Scalar s && (s.kind() == Kind.INT || s.kind() == Kind.FLOAT)) {
            bytes = (BigDecimal) s.value();
            was = s.text();
        } else if (node instanceof Scalar s && s.kind() == Kind.STRING) {
            Value v = text(node, path);
            bytes = Values.sizeBytes(v.text);
            was = v.describe();
        } else {
            bytes = null;
            was = YamlTree.describe(node);
        }
        if (bytes == null || bytes.signum() != 0 && bytes.stripTrailingZeros().scale() > 0) {
            throw error(path, "expected a size in bytes, like 1048576, '50MB' or '1GiB' (was " + was + ")");
        }
        if (bytes.signum() <= 0) {
            throw error(path, "must be positive (was " + was + ")");
        }
        if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw error(path, "is too large (was " + was + ")");
        }
        return bytes.longValueExact();
    }

    private boolean bool(Node node, String path) {
        if (node instanceof Scalar s && s.kind() == Kind.BOOL) {
            return (Boolean) s.value();
        }
        if (node instanceof Scalar s && s.kind() == Kind.STRING) {
            Value v = text(node, path);
            if (v.text.equalsIgnoreCase("true")) {
                return true;
            }
            if (v.text.equalsIgnoreCase("false")) {
                return false;
            }
            throw error(path, "expected true or false (was " + v.describe() + ")");
        }
        throw error(path, "expected true or false (was " + YamlTree.describe(node) + ")");
    }

    /**
     * {@code redis://[user:password@]host[:port][/db]} or {@code rediss://…}. The value is never quoted in an
     * error: it may hold a password.
     */
    private String redisUrl(Node node, String path) {
        String text = text(node, path).text.strip();
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw error(path, "expected a redis:// or rediss:// URL (the value is not a URL; not shown: it may hold "
                    + "a password)");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
        if (!scheme.equals("redis") && !scheme.equals("rediss")) {
            throw error(path, "expected a redis:// or rediss:// URL (was a URL with "
                    + (scheme.isEmpty() ? "no scheme" : "scheme '" + scheme + "'") + ")");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw error(path, "expected a redis:// or rediss:// URL with a host");
        }
        if (uri.getPort() > 65535) {
            throw error(path, "port must be up to 65535 (was " + uri.getPort() + ")");
        }
        String db = uri.getPath() == null ? "" : uri.getPath();
        if (!db.isEmpty() && !db.equals("/") && !db.substring(1).matches("[0-9]{1,5}")) {
            throw error(path, "the path must be a database number such as /0 (was '" + db + "')");
        }
        return text;
    }

    /** A non-empty prefix without braces (they would change the hash tag that keeps a key's entries together). */
    private String redisKeyPrefix(Node node, String path) {
        Value v = text(node, path);
        if (v.text.isEmpty()) {
            throw error(path, "must not be empty");
        }
        if (v.text.indexOf('{') >= 0 || v.text.indexOf('}') >= 0) {
            throw error(path, "must not contain '{' or '}' (was " + v.describe() + "): Easel puts the hash tag "
                    + "that keeps a key's entries in one cluster slot after it");
        }
        return v.text;
    }

    private URI httpUrl(Node node, String path) {
        Value v = text(node, path);
        try {
            URI uri = new URI(v.text.strip());
            if (uri.getScheme() != null && (uri.getScheme().equalsIgnoreCase("http")
                    || uri.getScheme().equalsIgnoreCase("https")) && uri.getHost() != null) {
                return uri;
            }
        } catch (URISyntaxException e) {
            // reported below
        }
        throw error(path, "expected an http or https URL (was " + v.describe() + ")");
    }

    /** A list of strings, or one string meaning a list of one. */
    private List<String> strings(Node node, String path) {
        if (node instanceof SeqNode seq) {
            List<String> out = new ArrayList<>();
            for (int i = 0; i < seq.items().size(); i++) {
                out.add(text(seq.items().get(i), path + "[" + i + "]").text);
            }
            return List.copyOf(out);
        }
        if (node instanceof Scalar s && s.kind() != Kind.NULL) {
            return List.of(text(node, path).text);
        }
        throw error(path, "expected a list of strings (was " + YamlTree.describe(node) + ")");
    }

    private List<String> stringList(Section s, String key) {
        return optional(s, key, this::strings).orElse(List.of());
    }

    /** A free-form value: maps and lists keep their order, strings get env replacement, numbers stay exact. */
    private Object plain(Node node, String path) {
        return switch (node) {
            case MapNode map -> section(map, path, null).all();
            case SeqNode seq -> {
                List<Object> out = new ArrayList<>();
                for (int i = 0; i < seq.items().size(); i++) {
                    Node item = seq.items().get(i);
                    if (YamlTree.isNull(item)) {
                        throw error(path + "[" + i + "]", "null is not allowed in a list");
                    }
                    out.add(plain(item, path + "[" + i + "]"));
                }
                yield Collections.unmodifiableList(out);
            }
            case Scalar s -> switch (s.kind()) {
                case STRING -> text(s, path).text;
                case BOOL -> s.value();
                case FLOAT -> s.value();
                case INT -> smallest(((BigDecimal) s.value()).toBigIntegerExact());
                case NULL -> throw new IllegalStateException("nulls are skipped before");
            };
        };
    }

    private static Number smallest(BigInteger i) {
        if (i.bitLength() < 32) {
            return i.intValue();
        }
        return i.bitLength() < 64 ? (Number) i.longValue() : i;
    }

    // ---------------------------------------------------------------- plumbing

    private interface Conversion<T> {
        T convert(Node node, String path);
    }

    private <T> Optional<T> optional(Section s, String key, Conversion<T> conversion) {
        Node node = s.get(key);
        return node == null ? Optional.empty() : Optional.of(conversion.convert(node, s.path(key)));
    }

    private OptionalInt optionalInt(Section s, String key, int min) {
        Node node = s.get(key);
        return node == null ? OptionalInt.empty() : OptionalInt.of(intValue(node, s.path(key), min));
    }

    private String requiredString(Section s, String key) {
        Node node = s.get(key);
        if (node == null) {
            throw error(s.path, "missing " + key);
        }
        String value = text(node, s.path(key)).text;
        if (value.isBlank()) {
            throw error(s.path(key), "must not be empty");
        }
        return value;
    }

    /** {@code kind}: the {@link ConfigKeys} section whose keys it holds, or null for a free-form mapping. */
    private Section section(Node node, String path, String kind) {
        if (YamlTree.isNull(node)) {
            return new Section(new MapNode(Map.of()), path, kind);
        }
        if (!(node instanceof MapNode map)) {
            throw error(path, "expected a mapping (was " + YamlTree.describe(node) + ")");
        }
        return new Section(map, path, kind);
    }

    private ConfigException error(String path, String detail) {
        return new ConfigException(source + ": " + path + ": " + detail);
    }

    /** A mapping being read: remembers which keys were read, so the rest can be warned about or kept. */
    private final class Section {
        final MapNode map;
        final String path;
        /** The {@link ConfigKeys} section, or null for a free-form mapping (names are the user's own). */
        final String kind;
        final Set<String> read = new HashSet<>();

        Section(MapNode map, String path, String kind) {
            this.map = map;
            this.path = path;
            this.kind = kind;
        }

        /** The value of {@code key}, or null when absent or YAML null. */
        Node get(String key) {
            if (kind != null && !ConfigKeys.known(kind).contains(key)) {
                // a programming error: every key read must be declared (and so documented)
                throw new IllegalStateException("the reader reads '" + key + "' in " + kind
                        + ", which ConfigKeys does not declare");
            }
            read.add(key);
            Node node = map.entries().get(key);
            return YamlTree.isNull(node) ? null : node;
        }

        String path(String key) {
            return path.isEmpty() ? key : path + "." + key;
        }

        /**
         * Refuses a key that is not known here (nor one of {@code extra}) but is a near miss of one that is:
         * {@code api_bse} would otherwise be ignored and the request sent to the default URL.
         */
        void refuseNearMisses(Set<String> extra) {
            Set<String> known = new java.util.LinkedHashSet<>(ConfigKeys.known(kind));
            known.addAll(extra);
            for (String key : map.entries().keySet()) {
                if (!known.contains(key)) {
                    Optional<String> meant = ConfigKeys.nearMiss(key, known, map.entries().keySet());
                    if (meant.isPresent()) {
                        throw error(path(key), "unknown key; did you mean '" + meant.get() + "'?");
                    }
                }
            }
        }

        /** Keys not read, in document order. */
        List<String> unread() {
            return map.entries().keySet().stream().filter(k -> !read.contains(k)).toList();
        }

        /** One warning per key that is not read and not known (keys of work in progress are known). */
        void warnUnknown() {
            Set<String> known = kind == null ? Set.of() : ConfigKeys.known(kind);
            for (String key : unread()) {
                if (!known.contains(key)) {
                    warnings.add("unknown key '" + path(key) + "' (ignored)");
                }
            }
        }

        /** The keys not read yet, as plain values (YAML nulls dropped). */
        Map<String, Object> rest() {
            Map<String, Object> out = new LinkedHashMap<>();
            map.entries().forEach((key, node) -> {
                if (!read.contains(key) && !YamlTree.isNull(node)) {
                    out.put(key, plain(node, path(key)));
                }
            });
            return Collections.unmodifiableMap(out);
        }

        /** Every key, as plain values. */
        Map<String, Object> all() {
            return rest();
        }
    }
}
