package dev.easel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Nothing in a config is silently ignored: a near miss of a known key is a start-up error naming the key it
 * resembles; every other key that is not acted on is reported once, by its YAML path.
 */
class ConfigCheckTest {

    private static EaselConfig parse(String yaml) {
        return ConfigLoader.parse(yaml, Map.of(), "config.yaml");
    }

    static Stream<Arguments> nearMisses() {
        return Stream.of(
                // the request with api_bse went to api.openai.com with the real key
                Arguments.of("model_list:\n  - {model_name: m, litellm_params: {model: openai/gpt-image-1, "
                        + "api_bse: 'https://gw.example/v1'}}\n",
                        "config.yaml: model_list[0].litellm_params.api_bse: unknown key; did you mean 'api_base'?"),
                Arguments.of("model_list:\n  - {model_name: m, litellm_params: {model: gpt-image-1, API_KEY: k}}\n",
                        "config.yaml: model_list[0].litellm_params.API_KEY: unknown key; did you mean 'api_key'?"),
                Arguments.of("model_list:\n  - {model_name: m, litellm_params: {model: gpt-image-1, api-version: v}}\n",
                        "config.yaml: model_list[0].litellm_params.api-version: unknown key; did you mean "
                                + "'api_version'?"),
                Arguments.of("model_list:\n  - {model_name: m, litellm_params: {model: gpt-image-1, timout: 5}}\n",
                        "config.yaml: model_list[0].litellm_params.timout: unknown key; did you mean 'timeout'?"),
                Arguments.of("model_list:\n  - {model_name: m, litellm_params: {model: gpt-image-1, "
                        + "organisation: org-1}}\n",
                        "config.yaml: model_list[0].litellm_params.organisation: unknown key; did you mean "
                                + "'organization'?"),
                // a provider's own settings are known keys of that provider: their near misses are errors too
                Arguments.of("model_list:\n  - {model_name: m, litellm_params: {model: mock/m, latncy_ms: 5}}\n",
                        "config.yaml: model_list[0].litellm_params.latncy_ms: unknown key; did you mean "
                                + "'latency_ms'?"),
                Arguments.of("model_list:\n  - {model_name: m, litellm_params: {model: mock/m}, "
                        + "model_info: {base_modle: gpt-image-1}}\n",
                        "config.yaml: model_list[0].model_info.base_modle: unknown key; did you mean 'base_model'?"),
                Arguments.of("model_list:\n  - {model_name: m, litellm_params: {model: mock/m}, "
                        + "model_info: {output_cost_per_imag: 0.04}}\n",
                        "config.yaml: model_list[0].model_info.output_cost_per_imag: unknown key; did you mean "
                                + "'output_cost_per_image'?"),
                Arguments.of("model_list:\n  - {model_nme: m, litellm_params: {model: mock/m}}\n",
                        "config.yaml: model_list[0].model_nme: unknown key; did you mean 'model_name'?"),
                Arguments.of("router_settings: {num_retires: 3}\n",
                        "config.yaml: router_settings.num_retires: unknown key; did you mean 'num_retries'?"),
                Arguments.of("router_settings: {routingStrategy: least-busy}\n",
                        "config.yaml: router_settings.routingStrategy: unknown key; did you mean "
                                + "'routing_strategy'?"),
                Arguments.of("litellm_settings: {drop_param: true}\n",
                        "config.yaml: litellm_settings.drop_param: unknown key; did you mean 'drop_params'?"),
                Arguments.of("general_settings: {master_kye: sk-1}\n",
                        "config.yaml: general_settings.master_kye: unknown key; did you mean 'master_key'?"),
                Arguments.of("model_lst: []\n",
                        "config.yaml: model_lst: unknown key; did you mean 'model_list'?"),
                Arguments.of("router-settings: {num_retries: 1}\n",
                        "config.yaml: router-settings: unknown key; did you mean 'router_settings'?"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("nearMisses")
    void parse_nearMissOfKnownKey_isAStartUpErrorNamingTheKnownKey(String yaml, String message) {
        assertThatThrownBy(() -> parse(yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessage(message);
    }

    @Test
    void parse_shortUnknownKey_isReportedNotRefused() {
        // three letters: 'rpn' is as close to 'rpm' as 'tpm' is; no guess is made for keys this short
        EaselConfig config = parse("model_list:\n  - {model_name: m, litellm_params: {model: mock/m, rpn: 3}}\n");

        assertThat(config.warnings()).containsExactly(
                "unknown key 'model_list[0].litellm_params.rpn' (ignored: provider 'mock' reads no such setting)");
    }

    @Test
    void parse_stabilityNameThatIsNoOperation_isServedAsInpaintWithAWarning_asLiteLlmDoes() {
        EaselConfig config = parse("model_list:\n  - {model_name: m, litellm_params: {model: stability/sd3, api_key: k}}\n");

        assertThat(config.modelList().get(0).params().model()).isEqualTo("stability/inpaint");
        assertThat(config.warnings()).containsExactly("model_list[0].litellm_params.model: 'sd3' is not a Stability "
                + "edit operation (Easel serves inpaint, erase, outpaint, search-and-replace, search-and-recolor, "
                + "remove-background); served as inpaint, as LiteLLM does; write 'stability/inpaint' to say so");
    }

    @Test
    void parse_keyBesideTheKnownKeyItResembles_isReportedNotRefused() {
        // 'mode' is one letter from 'model', but 'model' is set right beside it: no misspelling of it
        EaselConfig config = parse("""
                model_list:
                  - {model_name: m, litellm_params: {model: openai/gpt-image-1, api_key: k, mode: image_edit}}
                """);

        assertThat(config.warnings()).containsExactly(
                "unknown key 'model_list[0].litellm_params.mode' (ignored: provider 'openai' reads no such setting)");
    }

    @Test
    void parse_litellmProxyConfigWithKeysEaselDoesNotUse_loadsAndReportsEach() {
        // keys a LiteLLM proxy config commonly carries: none is a near miss of a key Easel knows
        EaselConfig config = parse("""
                model_list:
                  - model_name: img
                    litellm_params:
                      model: azure/img-deploy
                      api_base: https://res.openai.azure.com
                      api_version: 2025-04-01-preview
                      tags: [paid]
                      max_budget: 10
                      budget_duration: 30d
                      use_in_pass_through: false
                    model_info: {mode: image_edit, base_model: gpt-image-1, access_groups: [a]}
                router_settings:
                  enable_pre_call_checks: true
                  model_group_alias: {x: img}
                  retry_policy: {RateLimitErrorRetries: 2}
                  allowed_fails_policy: {RateLimitErrorAllowedFails: 3}
                litellm_settings:
                  set_verbose: false
                  cache: true
                  modify_params: true
                  turn_off_message_logging: true
                general_settings:
                  store_model_in_db: true
                  alerting: [slack]
                  proxy_batch_write_at: 60
                  database_connection_pool_limit: 10
                  disable_spend_logs: false
                """);

        // model_info.access_groups is acted on (virtual keys may name a group): no warning for it
        assertThat(config.warnings()).hasSize(18).allSatisfy(w -> assertThat(w).contains("(ignored"))
                .noneMatch(w -> w.contains("access_groups"));
        assertThat(config.modelList().get(0).modelInfo().accessGroups()).containsExactly("a");
    }

    @Test
    void parse_unrelatedUnknownKeys_areReportedOnceEachByPath() {
        EaselConfig config = parse("""
                model_list:
                  - model_name: m
                    litellm_params: {model: openai/gpt-image-1, api_key: k, region_name: eu, custom_llm_provider: x}
                    model_info: {mode: image_edit, supports_vision: true}
                """);

        assertThat(config.warnings()).containsExactly(
                "unknown key 'model_list[0].litellm_params.region_name' (ignored: provider 'openai' reads no "
                        + "such setting)",
                "unknown key 'model_list[0].litellm_params.custom_llm_provider' (ignored: provider 'openai' reads "
                        + "no such setting)",
                "unknown key 'model_list[0].model_info.mode' (ignored)",
                "unknown key 'model_list[0].model_info.supports_vision' (ignored)");
    }

    @Test
    void parse_providerSettingsOfTheDeploymentsProvider_areKnownAndNotReported() {
        EaselConfig config = parse("""
                model_list:
                  - model_name: m
                    litellm_params: {model: mock/m, latency_ms: 5, failure_rate: 0.1, failure_status: 429, seed: 7}
                  - model_name: o
                    litellm_params: {model: openai/gpt-image-1, api_key: k, organization: org-123}
                """);

        assertThat(config.warnings()).isEmpty();
        assertThat(config.modelList().get(0).params().extra())
                .containsOnlyKeys("latency_ms", "failure_rate", "failure_status", "seed");
        assertThat(config.modelList().get(1).params().extra()).containsExactly(Map.entry("organization", "org-123"));
    }

    @Test
    void parse_settingOfAnotherProvider_isReportedAsNotUsedByThisOne() {
        EaselConfig config = parse("""
                model_list:
                  - model_name: a
                    litellm_params: {model: azure/dep, api_base: "https://x.openai.azure.com", organization: org-1}
                  - model_name: o
                    litellm_params: {model: openai/gpt-image-1, api_key: k, latency_ms: 10}
                """);

        assertThat(config.warnings()).containsExactly(
                "model_list[0].litellm_params.organization: not used by provider 'azure' (ignored; Azure OpenAI "
                        + "takes no organization)",
                "model_list[1].litellm_params.latency_ms: not used by provider 'openai' (ignored; a setting of "
                        + "provider 'mock')");
    }

    @Test
    void parse_unknownKeyOfAProviderEaselDoesNotKnow_isListedAsPassedThrough() {
        EaselConfig config = parse("""
                model_list:
                  - model_name: g
                    litellm_params: {model: vertex_ai/gemini-3.1-flash-image, api_key: k, vertex_project: p}
                """);

        assertThat(config.warnings()).containsExactly(
                "model_list[0].litellm_params.vertex_project: passed to provider 'vertex_ai' as is");
        assertThat(config.modelList().get(0).params().provider()).isEqualTo("vertex_ai");
    }

    @Test
    void parse_redisHostPortPassword_areActedOnWithoutWarnings() {
        EaselConfig config = parse("""
                model_list: [{model_name: m, litellm_params: {model: openai/gpt-image-1, api_key: k}}]
                router_settings:
                  redis_host: redis.internal
                  redis_port: 6379
                  redis_password: pw
                """);

        assertThat(config.warnings()).isEmpty();
        assertThat(config.routerSettings().redisConfigured()).isTrue();
        assertThat(config.routerSettings().toString()).doesNotContain("pw");
    }

    @Test
    void parse_redisUrlBesideHostPortPassword_theUrlWinsAndEachIsReportedAsNotUsed() {
        EaselConfig config = parse("""
                model_list: [{model_name: m, litellm_params: {model: openai/gpt-image-1, api_key: k}}]
                router_settings:
                  redis_url: redis://:urlpw@r:6380/2
                  redis_host: redis.internal
                  redis_port: 6379
                  redis_password: pw
                """);

        assertThat(config.warnings()).containsExactly(
                "router_settings.redis_host: not used: redis_url is set and wins (as in LiteLLM)",
                "router_settings.redis_port: not used: redis_url is set and wins (as in LiteLLM)",
                "router_settings.redis_password: not used: redis_url is set and wins (as in LiteLLM)");
        assertThat(config.routerSettings().redisUrl()).contains("redis://:urlpw@r:6380/2");
        assertThat(config.routerSettings().toString()).doesNotContain("urlpw");
    }

    @Test
    void parse_redisPortOrPasswordWithoutAHost_areReportedAsNotUsed() {
        EaselConfig config = parse("""
                model_list: [{model_name: m, litellm_params: {model: openai/gpt-image-1, api_key: k}}]
                router_settings:
                  redis_port: 6379
                  redis_password: pw
                """);

        assertThat(config.warnings()).containsExactly(
                "router_settings.redis_port: not used (ignored): neither redis_host nor redis_url is set, so router "
                        + "state is kept in this process",
                "router_settings.redis_password: not used (ignored): neither redis_host nor redis_url is set, so "
                        + "router state is kept in this process");
        assertThat(config.routerSettings().redisConfigured()).isFalse();
        assertThat(config.warnings()).noneMatch(w -> w.contains("pw"));
    }

    @Test
    void parse_redisPolicies_defaultsAndEveryName() {
        assertThat(parse("model_list: [{model_name: m, litellm_params: {model: openai/gpt-image-1, api_key: k}}]\n"
                + "router_settings: {redis_host: r}\n").routerSettings())
                .satisfies(r -> {
                    assertThat(r.redisKeyPrefix()).isEqualTo("easel:");
                    assertThat(r.redisUnavailableRateLimits()).isEqualTo(RedisRateLimitPolicy.DIVIDE);
                    assertThat(r.redisUnavailableBudgets()).isEqualTo(RedisBudgetPolicy.REFUSE);
                });
        RouterSettings set = parse("""
                model_list: [{model_name: m, litellm_params: {model: openai/gpt-image-1, api_key: k}}]
                router_settings:
                  redis_host: r
                  redis_key_prefix: "fleet-b:"
                  redis_unavailable_rate_limits: refuse
                  redis_unavailable_budgets: local
                """).routerSettings();
        assertThat(set.redisKeyPrefix()).isEqualTo("fleet-b:");
        assertThat(set.redisUnavailableRateLimits()).isEqualTo(RedisRateLimitPolicy.REFUSE);
        assertThat(set.redisUnavailableBudgets()).isEqualTo(RedisBudgetPolicy.LOCAL);
    }

    @Test
    void parse_pixelPricesBesideOutputCostPerImage_areReportedAsNotUsed() {
        EaselConfig config = parse("""
                model_list:
                  - model_name: m
                    litellm_params: {model: mock/m}
                    model_info: {output_cost_per_image: 0.04, input_cost_per_pixel: 1.9e-08}
                """);

        assertThat(config.warnings()).containsExactly(
                "model_list[0].model_info.input_cost_per_pixel: not used: output_cost_per_image is set and wins "
                        + "(as in LiteLLM)");
    }

    @Test
    void parse_nearMissInsideFreeFormSections_isNotChecked() {
        // environment variable names and end-user budget maps are the user's own names
        EaselConfig config = parse("""
                environment_variables: {api_bse: x, MASTER_KYE: y}
                general_settings:
                  end_user_budgets: {default: {max_budgt: 1}}
                """);

        assertThat(config.warnings()).containsExactly("model_list is missing: no models are configured");
    }
}
