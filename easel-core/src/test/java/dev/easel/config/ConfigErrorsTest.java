package dev.easel.config;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every refusal names the file and the YAML path, with the exact message asserted. */
class ConfigErrorsTest {

    private static final Map<String, String> ENV = Map.of("NOT_A_NUMBER", "sk-secret-do-not-print");

    private static final String MODEL = """
            model_list:
              - model_name: m
                litellm_params:
                  model: mock/m
            """;

    static Stream<Arguments> invalidConfigs() {
        return Stream.of(
                // YAML itself
                Arguments.of("yaml_unclosedFlowSequence", "a: [1, 2\nb: 3\n",
                        "invalid YAML at line 2, column 2: expected ',' or ']', but got : (while parsing a flow sequence)"),
                Arguments.of("yaml_badIndentation", "a: 1\n  b: 2\n",
                        "invalid YAML at line 2, column 4: mapping values are not allowed here"),
                Arguments.of("yaml_tabIndentation", "a:\n\tb: 1\n",
                        "invalid YAML at line 2, column 1: found character '\\t(TAB)' that cannot start any token."
                                + " (Do not use \\t(TAB) for indentation) (while scanning for the next token)"),
                Arguments.of("yaml_duplicateKey", "model_list: []\nmodel_list: []\n",
                        "invalid YAML at line 2, column 1: duplicate key 'model_list'"),
                Arguments.of("yaml_unknownAlias", "model_list: *nope\n",
                        "invalid YAML at line 1, column 13: unknown alias '*nope'"),
                Arguments.of("top_isAList", "- a\n- b\n", "expected a mapping at the top level (was a list)"),
                // model_list
                Arguments.of("modelList_notAList", "model_list: {model_name: m}\n",
                        "model_list: expected a list (was a mapping)"),
                Arguments.of("modelList_entryNotAMapping", "model_list: [gpt-image-1]\n",
                        "model_list[0]: expected a mapping with model_name and litellm_params (was 'gpt-image-1')"),
                Arguments.of("modelName_missing", "model_list:\n  - litellm_params: {model: mock/m}\n",
                        "model_list[0]: missing model_name"),
                Arguments.of("modelName_empty", "model_list:\n  - {model_name: '', litellm_params: {model: mock/m}}\n",
                        "model_list[0].model_name: must not be empty"),
                Arguments.of("modelName_list", "model_list:\n  - {model_name: [a], litellm_params: {model: mock/m}}\n",
                        "model_list[0].model_name: expected a string (was a list)"),
                Arguments.of("litellmParams_missing", "model_list:\n  - model_name: m\n",
                        "model_list[0]: missing litellm_params"),
                Arguments.of("litellmParams_notAMapping", "model_list:\n  - {model_name: m, litellm_params: mock/m}\n",
                        "model_list[0].litellm_params: expected a mapping (was 'mock/m')"),
                Arguments.of("model_missing", MODEL + "  - {model_name: n, litellm_params: {api_key: k}}\n",
                        "model_list[1].litellm_params: missing model"),
                // any provider name is accepted (one a client does not serve makes its deployment unavailable)
                Arguments.of("model_missingProvider", MODEL
                                + "  - {model_name: n, litellm_params: {model: openai/x}}\n"
                                + "  - {model_name: o, litellm_params: {model: /bar}}\n",
                        "model_list[2].litellm_params.model: missing provider name before '/' in '/bar'"),
                Arguments.of("model_emptyAfterProvider", "model_list:\n  - {model_name: n, litellm_params: {model: openai/}}\n",
                        "model_list[0].litellm_params.model: missing model name after 'openai/'"),
                // a provider whose model names choose what it does refuses a name that is another of its services
                Arguments.of("stability_controlEndpoint", MODEL + "  - {model_name: n, litellm_params: {model: "
                                + "stability/sketch}}\n",
                        "model_list[1].litellm_params.model: 'sketch' is Stability's control/sketch endpoint, not an "
                                + "edit; Easel serves the edit operations inpaint, erase, outpaint, search-and-replace, "
                                + "search-and-recolor, remove-background"),
                Arguments.of("azure_withoutApiBase", "model_list:\n  - {model_name: n, litellm_params: {model: azure/dep}}\n",
                        "model_list[0].litellm_params.api_base: required for provider 'azure'"),
                Arguments.of("apiBase_notHttp", "model_list:\n  - {model_name: n, litellm_params: {model: m, api_base: 'file:///etc'}}\n",
                        "model_list[0].litellm_params.api_base: expected an http or https URL (was 'file:///etc')"),
                Arguments.of("timeout_zero", "model_list:\n  - {model_name: n, litellm_params: {model: m, timeout: 0}}\n",
                        "model_list[0].litellm_params.timeout: must be positive (was 0)"),
                Arguments.of("rpm_negative", "model_list:\n  - {model_name: n, litellm_params: {model: m, rpm: -1}}\n",
                        "model_list[0].litellm_params.rpm: must not be negative (was -1)"),
                Arguments.of("maxRetries_fraction", "model_list:\n  - {model_name: n, litellm_params: {model: m, max_retries: 2.5}}\n",
                        "model_list[0].litellm_params.max_retries: expected an integer (was 2.5)"),
                Arguments.of("weight_notANumber", "model_list:\n  - {model_name: n, litellm_params: {model: m, weight: heavy}}\n",
                        "model_list[0].litellm_params.weight: expected a number (was 'heavy')"),
                Arguments.of("price_negative", MODEL + "    model_info: {output_cost_per_image: -0.04}\n",
                        "model_list[0].model_info.output_cost_per_image: must not be negative (was -0.04)"),
                Arguments.of("price_notANumber", MODEL + "    model_info: {input_cost_per_token: cheap}\n",
                        "model_list[0].model_info.input_cost_per_token: expected a price in USD (was 'cheap')"),
                Arguments.of("modelInfoId_duplicate", MODEL + "    model_info: {id: d1}\n"
                                + "  - {model_name: n, litellm_params: {model: mock/n}, model_info: {id: d1}}\n",
                        "model_list[1].model_info.id: duplicate id 'd1' (also used by model_list[0])"),
                Arguments.of("extra_nullInList", "model_list:\n  - {model_name: n, litellm_params: {model: m, tags: [a, null]}}\n",
                        "model_list[0].litellm_params.tags[1]: null is not allowed in a list"),
                // os.environ
                Arguments.of("env_missingInExtra", "model_list:\n  - {model_name: n, litellm_params: {model: m, h: {x: [os.environ/NOPE]}}}\n",
                        "model_list[0].litellm_params.h.x[0]: environment variable 'NOPE' is not set"),
                Arguments.of("env_emptyName", "general_settings: {master_key: os.environ/}\n",
                        "general_settings.master_key: missing environment variable name after 'os.environ/'"),
                Arguments.of("env_valueNotShown", MODEL + "router_settings: {num_retries: os.environ/NOT_A_NUMBER}\n",
                        "router_settings.num_retries: expected an integer (was the value of environment variable 'NOT_A_NUMBER')"),
                Arguments.of("environmentVariables_null", "environment_variables: {A: null}\n",
                        "environment_variables.A: expected a string (was null)"),
                Arguments.of("environmentVariables_missingLookup", "environment_variables: {A: os.environ/B}\n",
                        "environment_variables.A: environment variable 'B' is not set"),
                // router_settings
                Arguments.of("router_notAMapping", MODEL + "router_settings: [a]\n",
                        "router_settings: expected a mapping (was a list)"),
                Arguments.of("numRetries_notAnInteger", MODEL + "router_settings: {num_retries: abc}\n",
                        "router_settings.num_retries: expected an integer (was 'abc')"),
                Arguments.of("numRetries_negative", MODEL + "router_settings: {num_retries: -2}\n",
                        "router_settings.num_retries: must not be negative (was -2)"),
                Arguments.of("numRetries_boolean", MODEL + "router_settings: {num_retries: true}\n",
                        "router_settings.num_retries: expected an integer (was true)"),
                Arguments.of("numRetries_tooLarge", MODEL + "router_settings: {num_retries: 99999999999}\n",
                        "router_settings.num_retries: is too large (was 99999999999)"),
                Arguments.of("routingStrategy_unknown", MODEL + "router_settings: {routing_strategy: round-robin}\n",
                        "router_settings.routing_strategy: unknown routing strategy 'round-robin' (known: simple-shuffle,"
                                + " least-busy, latency-based-routing, usage-based-routing, usage-based-routing-v2,"
                                + " cost-based-routing)"),
                Arguments.of("cooldown_notADuration", MODEL + "router_settings: {cooldown_time: soon}\n",
                        "router_settings.cooldown_time: expected a duration in seconds, like 600, 1.5 or '500ms' (was 'soon')"),
                Arguments.of("cooldown_negative", MODEL + "router_settings: {cooldown_time: -5}\n",
                        "router_settings.cooldown_time: must not be negative (was -5)"),
                Arguments.of("cooldown_negativeString", MODEL + "router_settings: {cooldown_time: '-1.5'}\n",
                        "router_settings.cooldown_time: must not be negative (was '-1.5')"),
                Arguments.of("allowedFails_negative", MODEL + "router_settings: {allowed_fails: -1}\n",
                        "router_settings.allowed_fails: must not be negative (was -1)"),
                Arguments.of("redisPort_zero", MODEL + "router_settings: {redis_port: 0}\n",
                        "router_settings.redis_port: must be at least 1 (was 0)"),
                Arguments.of("redisPort_tooLarge", MODEL + "router_settings: {redis_port: 70000}\n",
                        "router_settings.redis_port: must be a port number up to 65535 (was 70000)"),
                Arguments.of("redisUrl_wrongScheme", MODEL + "router_settings: {redis_url: 'http://u:secret@r:6379'}\n",
                        "router_settings.redis_url: expected a redis:// or rediss:// URL (was a URL with scheme 'http')"),
                Arguments.of("redisUrl_noHost", MODEL + "router_settings: {redis_url: 'redis:///0'}\n",
                        "router_settings.redis_url: expected a redis:// or rediss:// URL with a host"),
                Arguments.of("redisUrl_badDatabase", MODEL + "router_settings: {redis_url: 'redis://r:6379/cache'}\n",
                        "router_settings.redis_url: the path must be a database number such as /0 (was '/cache')"),
                Arguments.of("redisUrl_notAUrl", MODEL + "router_settings: {redis_url: 'redis://:se cret@r'}\n",
                        "router_settings.redis_url: expected a redis:// or rediss:// URL (the value is not a URL; not "
                                + "shown: it may hold a password)"),
                Arguments.of("redisKeyPrefix_empty", MODEL + "router_settings: {redis_key_prefix: ''}\n",
                        "router_settings.redis_key_prefix: must not be empty"),
                Arguments.of("redisKeyPrefix_brace", MODEL + "router_settings: {redis_key_prefix: 'a{b}:'}\n",
                        "router_settings.redis_key_prefix: must not contain '{' or '}' (was 'a{b}:'): Easel puts the "
                                + "hash tag that keeps a key's entries in one cluster slot after it"),
                Arguments.of("redisUnavailableRateLimits_unknown",
                        MODEL + "router_settings: {redis_unavailable_rate_limits: local}\n",
                        "router_settings.redis_unavailable_rate_limits: unknown policy 'local' (known: divide, refuse)"),
                Arguments.of("redisUnavailableBudgets_unknown",
                        MODEL + "router_settings: {redis_unavailable_budgets: divide}\n",
                        "router_settings.redis_unavailable_budgets: unknown policy 'divide' (known: refuse, local)"),
                Arguments.of("retryOnTimeout_notBoolean", MODEL + "router_settings: {retry_on_timeout: maybe}\n",
                        "router_settings.retry_on_timeout: expected true or false (was 'maybe')"),
                Arguments.of("fallbacks_string", MODEL + "router_settings: {fallbacks: m}\n",
                        "router_settings.fallbacks: expected a list of mappings like [{model: [fallback, ...]}] (was 'm')"),
                Arguments.of("fallbacks_itemNotAMapping", MODEL + "router_settings: {fallbacks: [m]}\n",
                        "router_settings.fallbacks[0]: expected a mapping like {model: [fallback, ...]} (was 'm')"),
                Arguments.of("fallbacks_targetsMapping", MODEL + "router_settings: {fallbacks: [{m: {a: b}}]}\n",
                        "router_settings.fallbacks[0].m: expected a list of strings (was a mapping)"),
                Arguments.of("defaultFallbacks_mapping", MODEL + "router_settings: {default_fallbacks: {a: b}}\n",
                        "router_settings.default_fallbacks: expected a list of strings (was a mapping)"),
                // litellm_settings
                Arguments.of("dropParams_notBoolean", MODEL + "litellm_settings: {drop_params: 1}\n",
                        "litellm_settings.drop_params: expected true or false (was 1)"),
                Arguments.of("requireAuthForMetrics_notBoolean",
                        MODEL + "litellm_settings: {require_auth_for_metrics_endpoint: 'yes please'}\n",
                        "litellm_settings.require_auth_for_metrics_endpoint: expected true or false (was 'yes please')"),
                Arguments.of("callbacks_mapping", MODEL + "litellm_settings: {callbacks: {otel: true}}\n",
                        "litellm_settings.callbacks: expected a list of strings (was a mapping)"),
                Arguments.of("callbacks_nestedList", MODEL + "litellm_settings: {callbacks: [[otel]]}\n",
                        "litellm_settings.callbacks[0]: expected a string (was a list)"),
                Arguments.of("requestTimeout_zero", MODEL + "litellm_settings: {request_timeout: '0s'}\n",
                        "litellm_settings.request_timeout: must be positive (was '0s')"),
                // general_settings
                Arguments.of("maxRequestBytes_unknownUnit", MODEL + "general_settings: {max_request_bytes: 50XB}\n",
                        "general_settings.max_request_bytes: expected a size in bytes, like 1048576, '50MB' or '1GiB' (was '50XB')"),
                Arguments.of("maxImageBytes_fractionalBytes", MODEL + "general_settings: {max_image_bytes: 1.5}\n",
                        "general_settings.max_image_bytes: expected a size in bytes, like 1048576, '50MB' or '1GiB' (was 1.5)"),
                Arguments.of("maxImageBytes_zero", MODEL + "general_settings: {max_image_bytes: 0}\n",
                        "general_settings.max_image_bytes: must be positive (was 0)"),
                Arguments.of("uploadMemory_zero", MODEL + "general_settings: {upload_memory_bytes: 0}\n",
                        "general_settings.upload_memory_bytes: must be positive (was 0)"),
                Arguments.of("maxInflight_tooLarge", MODEL + "general_settings: {max_inflight_upload_bytes: 9000PB}\n",
                        "general_settings.max_inflight_upload_bytes: expected a size in bytes, like 1048576, '50MB' or '1GiB' (was '9000PB')"),
                Arguments.of("maxInflight_overflow", MODEL + "general_settings: {max_inflight_upload_bytes: 9300000TB}\n",
                        "general_settings.max_inflight_upload_bytes: is too large (was '9300000TB')"),
                Arguments.of("publicBaseUrl_noScheme", MODEL + "general_settings: {public_base_url: easel.example.com}\n",
                        "general_settings.public_base_url: expected an http or https URL (was 'easel.example.com')"),
                Arguments.of("masterKey_mapping", MODEL + "general_settings: {master_key: {value: x}}\n",
                        "general_settings.master_key: expected a string (was a mapping)"),
                Arguments.of("endUserBudgets_list", MODEL + "general_settings: {end_user_budgets: [a]}\n",
                        "general_settings.end_user_budgets: expected a mapping (was a list)"),
                Arguments.of("imageUrlTtl_zero", MODEL + "general_settings: {image_url_ttl: 0}\n",
                        "general_settings.image_url_ttl: must be positive (was 0)"),
                // general_settings: request limits
                Arguments.of("maxParts_zero", MODEL + "general_settings: {max_parts: 0}\n",
                        "general_settings.max_parts: must be at least 1 (was 0)"),
                Arguments.of("maxImages_fraction", MODEL + "general_settings: {max_images: 2.5}\n",
                        "general_settings.max_images: expected an integer (was 2.5)"),
                Arguments.of("maxTextFields_negative", MODEL + "general_settings: {max_text_fields: -1}\n",
                        "general_settings.max_text_fields: must be at least 1 (was -1)"),
                Arguments.of("maxTextFieldBytes_zero", MODEL + "general_settings: {max_text_field_bytes: 0}\n",
                        "general_settings.max_text_field_bytes: must be positive (was 0)"),
                Arguments.of("maxFieldNameBytes_tooLarge", MODEL + "general_settings: {max_field_name_bytes: 3GiB}\n",
                        "general_settings.max_field_name_bytes: is too large (was 3221225472, at most 2147483647)"),
                Arguments.of("maxJsonDepth_zero", MODEL + "general_settings: {max_json_depth: 0}\n",
                        "general_settings.max_json_depth: must be at least 1 (was 0)"),
                Arguments.of("maxJsonBodyBytes_unit", MODEL + "general_settings: {max_json_body_bytes: 1XB}\n",
                        "general_settings.max_json_body_bytes: expected a size in bytes, like 1048576, '50MB' or '1GiB' (was '1XB')"),
                Arguments.of("idleTimeout_zero", MODEL + "general_settings: {idle_timeout: 0}\n",
                        "general_settings.idle_timeout: must be positive (was 0)"),
                Arguments.of("minRequestBodyRate_negative", MODEL + "general_settings: {min_request_body_rate: -5}\n",
                        "general_settings.min_request_body_rate: must not be negative (was -5)"),
                Arguments.of("requestBodyRateWindow_zero", MODEL + "general_settings: {request_body_rate_window: 0s}\n",
                        "general_settings.request_body_rate_window: must be positive (was '0s')"),
                Arguments.of("requestBodyTimeout_text", MODEL + "general_settings: {request_body_timeout: soon}\n",
                        "general_settings.request_body_timeout: expected a duration in seconds, like 600, 1.5 or '500ms' (was 'soon')"),
                // limits taken before the call
                Arguments.of("maxParallelRequests_zero",
                        "model_list:\n  - {model_name: m, litellm_params: {model: mock/m, max_parallel_requests: 0}}\n",
                        "model_list[0].litellm_params.max_parallel_requests: must be at least 1 (was 0)"),
                Arguments.of("streamTimeout_zero",
                        "model_list:\n  - {model_name: m, litellm_params: {model: mock/m, stream_timeout: 0}}\n",
                        "model_list[0].litellm_params.stream_timeout: must be positive (was 0)"),
                Arguments.of("defaultMaxParallelRequests_zero", MODEL + "router_settings: {default_max_parallel_requests: 0}\n",
                        "router_settings.default_max_parallel_requests: must be at least 1 (was 0)"),
                Arguments.of("maxParallelWaiters_negative", MODEL + "router_settings: {max_parallel_waiters: -1}\n",
                        "router_settings.max_parallel_waiters: must not be negative (was -1)"),
                Arguments.of("maxParallelWait_text", MODEL + "router_settings: {max_parallel_wait: forever}\n",
                        "router_settings.max_parallel_wait: expected a duration in seconds, like 600, 1.5 or '500ms' (was 'forever')"),
                Arguments.of("maxCooldownTime_zero", MODEL + "router_settings: {max_cooldown_time: 0}\n",
                        "router_settings.max_cooldown_time: must be positive (was 0)"),
                Arguments.of("routerTimeout_zero", MODEL + "router_settings: {timeout: 0}\n",
                        "router_settings.timeout: must be positive (was 0)"),
                Arguments.of("routerStreamTimeout_negative", MODEL + "router_settings: {stream_timeout: -1}\n",
                        "router_settings.stream_timeout: must not be negative (was -1)"),
                Arguments.of("globalMaxParallel_zero", MODEL + "general_settings: {global_max_parallel_requests: 0}\n",
                        "general_settings.global_max_parallel_requests: must be at least 1 (was 0)"),
                Arguments.of("keyMaxParallel_text", MODEL + "general_settings: {max_parallel_requests: many}\n",
                        "general_settings.max_parallel_requests: expected an integer (was 'many')"),
                Arguments.of("generalMaxParallelWait_negative", MODEL + "general_settings: {max_parallel_wait: -3}\n",
                        "general_settings.max_parallel_wait: must not be negative (was -3)"),
                // LiteLLM's paid health calls: refused, never accepted and ignored
                Arguments.of("backgroundHealthChecks_true", MODEL + "general_settings: {background_health_checks: true}\n",
                        "general_settings.background_health_checks: Easel does not call deployments to check their "
                                + "health (each check would be a paid image edit); GET /health reports what the router "
                                + "has seen of each deployment, at no cost (docs/proxy.md#get-health). Remove the key or "
                                + "set it to false"),
                Arguments.of("backgroundHealthChecks_text", MODEL + "general_settings: {background_health_checks: yes please}\n",
                        "general_settings.background_health_checks: expected true or false (was 'yes please')"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidConfigs")
    void parse_invalidConfig_failsNamingFileAndPath(String name, String yaml, String message) {
        assertThatThrownBy(() -> ConfigLoader.parse(yaml, ENV, "config.yaml"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("config.yaml: " + message);
    }
}
