package dev.easel.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Every key Easel knows, per section of {@code config.yaml}, in one place: the reader may only read keys declared
 * here (see {@link ConfigReader}), {@code docs/config.md} has a row for each (checked by a test), and a key that
 * is not known but is a near miss of a known one is refused ({@link #nearMiss}).
 */
final class ConfigKeys {

    static final String TOP = "top-level";
    static final String MODEL_ENTRY = "model_list[]";
    static final String LITELLM_PARAMS = "litellm_params";
    static final String MODEL_INFO = "model_info";
    static final String ROUTER_SETTINGS = "router_settings";
    static final String LITELLM_SETTINGS = "litellm_settings";
    static final String GENERAL_SETTINGS = "general_settings";
    static final String IMAGE_STORE = "general_settings.image_store";

    /** The keys the reader reads, per section, in the order they are documented. */
    private static final Map<String, List<String>> READ = Map.of(
            TOP, List.of("model_list", "router_settings", "litellm_settings", "general_settings",
                    "environment_variables"),
            MODEL_ENTRY, List.of("model_name", "litellm_params", "model_info"),
            LITELLM_PARAMS, List.of("model", "api_key", "api_base", "api_version", "timeout", "max_retries", "rpm",
                    "tpm", "weight", "order", "max_parallel_requests", "stream_timeout", "drop_params"),
            MODEL_INFO, List.of("id", "base_model", "input_cost_per_token", "input_cost_per_image_token",
                    "output_cost_per_image_token", "output_cost_per_token", "output_cost_per_image",
                    "input_cost_per_image", "input_cost_per_pixel", "output_cost_per_pixel", "access_groups"),
            ROUTER_SETTINGS, List.of("routing_strategy", "num_retries", "retry_after", "allowed_fails",
                    "cooldown_time", "timeout", "fallbacks", "content_policy_fallbacks", "default_fallbacks",
                    "retry_on_timeout", "disable_cooldowns", "redis_host", "redis_port", "redis_password",
                    "stream_timeout", "max_cooldown_time", "default_max_parallel_requests", "max_parallel_waiters",
                    "max_parallel_wait", "redis_url", "redis_key_prefix", "redis_unavailable_rate_limits",
                    "redis_unavailable_budgets"),
            LITELLM_SETTINGS, List.of("drop_params", "num_retries", "request_timeout", "callbacks",
                    "success_callback", "failure_callback", "json_logs", "redact_prompts",
                    "enable_end_user_cost_tracking_prometheus_only", "require_auth_for_metrics_endpoint"),
            GENERAL_SETTINGS, List.of("master_key", "database_url", "public_base_url", "allow_image_urls",
                    "allow_client_side_credentials", "webhook_url", "otel_exporter_endpoint", "end_user_budgets", "max_request_bytes",
                    "max_image_bytes", "max_inflight_upload_bytes", "upload_memory_bytes", "image_url_ttl",
                    "grace_period", "global_max_parallel_requests", "max_parallel_requests", "max_parallel_waiters",
                    "max_parallel_wait", "max_parts", "max_images", "max_text_fields", "max_text_field_bytes",
                    "max_text_bytes", "max_field_name_bytes", "max_part_header_bytes", "max_json_depth",
                    "max_json_tokens", "max_json_body_bytes", "idle_timeout", "min_request_body_rate",
                    "request_body_rate_window", "request_body_timeout", "image_store", "background_health_checks"),
            // LiteLLM has no image store; the bucket keys are the names of its s3_callback_params
            IMAGE_STORE, List.of("type", "url_mode", "s3_bucket_name", "s3_region_name", "s3_endpoint_url",
                    "s3_aws_access_key_id", "s3_aws_secret_access_key", "s3_aws_session_token", "s3_path",
                    "s3_use_virtual_hosted_style"));

    private ConfigKeys() {
    }

    /** The keys the reader reads in {@code section}. */
    static Set<String> read(String section) {
        List<String> keys = READ.get(section);
        if (keys == null) {
            throw new IllegalArgumentException("no such section: " + section);
        }
        return Collections.unmodifiableSet(new LinkedHashSet<>(keys));
    }

    /** The keys known in {@code section}: every key the reader reads there. */
    static Set<String> known(String section) {
        return read(section);
    }

    /**
     * The known key that {@code key} is a near miss of, if any: the same letters in another case or with
     * {@code -}/{@code _} changed or dropped ({@code API_BASE}, {@code api-base}, {@code apiBase}), or, for keys
     * of four characters or more, an edit distance (with transpositions) of 1, or of 2 against a known key of
     * six characters or more ({@code api_bse}, {@code num_retires}). Candidates that are themselves set in the
     * same mapping are skipped: {@code mode} next to {@code model} is not a misspelling of it.
     */
    static Optional<String> nearMiss(String key, Collection<String> known, Collection<String> present) {
        List<String> candidates = new ArrayList<>();
        for (String k : known) {
            if (!k.equals(key) && !present.contains(k)) {
                candidates.add(k);
            }
        }
        String folded = fold(key);
        for (String k : candidates) {
            if (fold(k).equals(folded)) {
                return Optional.of(k);
            }
        }
        if (key.length() < 4) {
            return Optional.empty(); // 'rpn' is as close to 'rpm' as 'tpm' is: no guess for short keys
        }
        String lower = key.toLowerCase(Locale.ROOT);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : candidates) {
            int d = distance(lower, k);
            if (d <= (k.length() >= 6 ? 2 : 1) && d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        return Optional.ofNullable(best);
    }

    private static String fold(String key) {
        return key.toLowerCase(Locale.ROOT).replace("_", "").replace("-", "");
    }

    /** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
