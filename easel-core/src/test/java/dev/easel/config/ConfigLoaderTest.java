package dev.easel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.provider.Deployment;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {

    @TempDir
    Path dir;

    private static String resource(String name) throws IOException {
        try (InputStream in = ConfigLoaderTest.class.getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private Path write(String yaml) throws IOException {
        return Files.writeString(dir.resolve("config.yaml"), yaml);
    }

    private static EaselConfig parse(String yaml) {
        return ConfigLoader.parse(yaml, Map.of(), "config.yaml");
    }

    private static final String ONE_MODEL = """
            model_list:
              - model_name: m
                litellm_params:
                  model: mock/m
            """;

    // ------------------------------------------------------------ the two reference configs

    @Test
    void load_imageEditsDocConfig_readsModelAndKeyFromEnv() throws IOException {
        Path file = write(resource("litellm-image-edits-doc.yaml"));

        EaselConfig config = ConfigLoader.load(file, Map.of("OPENAI_API_KEY", "sk-from-env"));

        assertThat(config.modelList()).hasSize(1);
        ModelEntry entry = config.modelList().get(0);
        assertThat(entry.modelName()).isEqualTo("gpt-image-1");
        assertThat(entry.params().model()).isEqualTo("gpt-image-1");
        assertThat(entry.params().provider()).isEqualTo("openai");
        assertThat(entry.params().providerModel()).isEqualTo("gpt-image-1");
        assertThat(entry.params().apiKey()).contains("sk-from-env");
        assertThat(entry.params().extra()).isEmpty();
        assertThat(entry.modelInfo()).isEqualTo(ModelInfo.empty());
        assertThat(config.routerSettings()).isEqualTo(RouterSettings.defaults());
        assertThat(config.litellmSettings()).isEqualTo(LitellmSettings.defaults());
        assertThat(config.generalSettings()).isEqualTo(GeneralSettings.defaults());
        assertThat(config.environmentVariables()).isEmpty();
        assertThat(config.warnings()).isEmpty();
    }

    @Test
    void load_imageEditsDocConfig_withoutOpenAiKey_namesPathAndVariable() throws IOException {
        Path file = write(resource("litellm-image-edits-doc.yaml"));

        assertThatThrownBy(() -> ConfigLoader.load(file, Map.of("OTHER", "x")))
                .isInstanceOf(ConfigException.class)
                .hasMessage(file + ": model_list[0].litellm_params.api_key: environment variable 'OPENAI_API_KEY' is not set")
                .satisfies(e -> assertThat(((ConfigException) e).type()).isEqualTo("config_error"));
    }

    @Test
    void load_compatExample_readsEveryField() throws IOException {
        Path file = write(resource("litellm-compat-example.yaml"));

        // no process env at all: OPENAI_API_KEY comes from the file's environment_variables
        EaselConfig config = ConfigLoader.load(file, Map.of());

        ModelEntry entry = config.modelList().get(0);
        assertThat(config.modelList()).hasSize(1);
        assertThat(entry.modelName()).isEqualTo("gpt-image-1");
        LitellmParams p = entry.params();
        assertThat(p.model()).isEqualTo("openai/gpt-image-1");
        assertThat(p.provider()).isEqualTo("openai");
        assertThat(p.providerModel()).isEqualTo("gpt-image-1");
        assertThat(p.apiKey()).contains("sk-...");
        assertThat(p.apiBase()).contains(URI.create("https://api.openai.com/v1"));
        assertThat(p.apiVersion()).contains("2025-04-01-preview");
        assertThat(p.timeout()).contains(Duration.ofSeconds(600));
        assertThat(p.maxRetries()).isEqualTo(OptionalInt.of(2));
        assertThat(p.rpm()).isEqualTo(OptionalInt.of(100));
        assertThat(p.tpm()).isEqualTo(OptionalLong.of(100000));
        assertThat(p.weight()).isEqualTo(OptionalDouble.of(2));
        assertThat(p.order()).isEqualTo(OptionalInt.of(1));
        assertThat(p.extra()).isEmpty();

        ModelInfo info = entry.modelInfo();
        assertThat(info.id()).contains("my-deployment-id");
        assertThat(info.baseModel()).contains("gpt-image-1");
        // exact as written, scale included
        assertThat(info.inputCostPerToken()).contains(new BigDecimal("5.0e-06"));
        assertThat(info.inputCostPerImageToken()).contains(new BigDecimal("1.0e-05"));
        assertThat(info.outputCostPerImageToken()).contains(new BigDecimal("4.0e-05"));
        assertThat(info.outputCostPerToken()).isEmpty();
        assertThat(info.outputCostPerImage()).contains(new BigDecimal("0.04"));
        assertThat(info.extra()).isEmpty();

        RouterSettings r = config.routerSettings();
        assertThat(r.routingStrategy()).isEqualTo(RoutingStrategy.SIMPLE_SHUFFLE);
        assertThat(r.numRetries()).isEqualTo(OptionalInt.of(2));
        assertThat(r.retryAfter()).isEqualTo(Duration.ZERO);
        assertThat(r.allowedFails()).isEqualTo(3);
        assertThat(r.cooldownTime()).isEqualTo(Duration.ofSeconds(5));
        assertThat(r.timeout()).contains(Duration.ofSeconds(600));
        assertThat(r.fallbacks()).isEqualTo(Map.of("gpt-image-1", List.of("gpt-image-1-mini")));
        assertThat(r.contentPolicyFallbacks()).isEqualTo(Map.of("gpt-image-1", List.of("other-provider-model")));
        assertThat(r.defaultFallbacks()).containsExactly("gpt-image-1-mini");
        assertThat(r.retryOnTimeout()).isFalse();
        // the reference abbreviates the three redis keys into one line: it is a (useless but valid) host string
        assertThat(r.redisHost()).contains("... / redis_port / redis_password");
        assertThat(r.redisPort()).isEmpty();
        assertThat(r.redisPassword()).isEmpty();

        LitellmSettings l = config.litellmSettings();
        assertThat(l.dropParams()).isTrue();
        assertThat(l.numRetries()).isEqualTo(OptionalInt.of(2));
        assertThat(l.requestTimeout()).contains(Duration.ofSeconds(600));
        assertThat(l.callbacks()).containsExactly("otel", "prometheus");
        assertThat(l.successCallback()).isEmpty();
        assertThat(l.failureCallback()).isEmpty();
        assertThat(l.jsonLogs()).isTrue();
        assertThat(l.redactPrompts()).isFalse();

        GeneralSettings g = config.generalSettings();
        assertThat(g.masterKey()).contains("sk-1234");
        assertThat(g.databaseUrl()).contains("postgresql://...");

        assertThat(config.environmentVariables()).isEqualTo(Map.of("OPENAI_API_KEY", "sk-..."));
        // the example's fallback targets are not in its model_list: warned, not refused
        assertThat(config.warnings()).containsExactly(
                "router_settings.fallbacks[0]: unknown model 'gpt-image-1-mini'",
                "router_settings.content_policy_fallbacks[0]: unknown model 'other-provider-model'",
                "router_settings.default_fallbacks[0]: unknown model 'gpt-image-1-mini'");
    }

    @Test
    void load_compatExample_processEnvIsOverriddenByEnvironmentVariablesSection() throws IOException {
        Path file = write(resource("litellm-compat-example.yaml"));

        EaselConfig config = ConfigLoader.load(file, Map.of("OPENAI_API_KEY", "sk-process"));

        assertThat(config.modelList().get(0).params().apiKey()).contains("sk-...");
    }

    @Test
    void load_missingFile_namesTheFile() {
        Path file = dir.resolve("nope.yaml");

        assertThatThrownBy(() -> ConfigLoader.load(file, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage(file + ": file not found");
    }

    // ------------------------------------------------------------ models

    @Test
    void parse_fullModelEntry_keepsUnknownParamsAsExtraAndReportsThoseNoProviderReads() {
        EaselConfig config = parse("""
                model_list:
                  - model_name: fake
                    litellm_params:
                      model: mock/gpt-image-1
                      latency_ms: 250
                      failure_rate: 0.25
                      big: 12345678901
                      nested: {a: [1, "two", true], b: null}
                    model_info:
                      mode: image_edit
                      max_images: 16
                """);

        LitellmParams p = config.modelList().get(0).params();
        assertThat(p.provider()).isEqualTo("mock");
        assertThat(p.providerModel()).isEqualTo("gpt-image-1");
        assertThat(p.extra()).containsExactly(
                Map.entry("latency_ms", 250),
                Map.entry("failure_rate", new BigDecimal("0.25")),
                Map.entry("big", 12345678901L),
                Map.entry("nested", Map.of("a", List.of(1, "two", true))));
        assertThat(config.modelList().get(0).modelInfo().extra())
                .containsExactly(Map.entry("mode", "image_edit"), Map.entry("max_images", 16));
        // latency_ms and failure_rate are the mock's own settings; the rest is reported once each
        assertThat(config.warnings()).containsExactly(
                "unknown key 'model_list[0].litellm_params.big' (ignored: provider 'mock' reads no such setting)",
                "unknown key 'model_list[0].litellm_params.nested' (ignored: provider 'mock' reads no such setting)",
                "unknown key 'model_list[0].model_info.mode' (ignored)",
                "unknown key 'model_list[0].model_info.max_images' (ignored)");
    }

    @Test
    void parse_providerSplitsAtFirstSlash() {
        EaselConfig config = parse("""
                model_list:
                  - model_name: a
                    litellm_params:
                      model: azure/my/deployment
                      api_base: https://x.openai.azure.com
                      api_version: 2025-04-01-preview
                """);

        LitellmParams p = config.modelList().get(0).params();
        assertThat(p.provider()).isEqualTo("azure");
        assertThat(p.providerModel()).isEqualTo("my/deployment");
        Deployment d = p.toDeployment();
        assertThat(d.provider()).isEqualTo("azure");
        assertThat(d.model()).isEqualTo("my/deployment");
        assertThat(d.base()).contains(URI.create("https://x.openai.azure.com"));
        assertThat(d.apiVersion()).isEqualTo("2025-04-01-preview");
        assertThat(d.key()).isEmpty();
    }

    @Test
    void parse_toDeployment_carriesKeyTimeoutAndExtra() {
        EaselConfig config = ConfigLoader.parse("""
                model_list:
                  - model_name: m
                    litellm_params:
                      model: mock/m
                      api_key: os.environ/K
                      timeout: "1.5"
                      latency_ms: 10
                """, Map.of("K", "secret"), "config.yaml");

        Deployment d = config.modelList().get(0).params().toDeployment();
        assertThat(d.key()).contains("secret");
        assertThat(d.timeout()).isEqualTo(Duration.ofMillis(1500));
        assertThat(d.settings()).isEqualTo(Map.of("latency_ms", 10));
    }

    @Test
    void parse_groupsAndNames() {
        EaselConfig config = parse("""
                model_list:
                  - {model_name: b, litellm_params: {model: mock/1}}
                  - {model_name: a, litellm_params: {model: mock/2}}
                  - {model_name: b, litellm_params: {model: mock/3}}
                """);

        assertThat(config.modelNames()).containsExactly("b", "a");
        assertThat(config.deployments("b")).extracting(e -> e.params().model()).containsExactly("mock/1", "mock/3");
        assertThat(config.deployments("zzz")).isEmpty();
    }

    @Test
    void parse_missingModelList_warns() {
        EaselConfig config = parse("general_settings: {master_key: sk-1}\n");

        assertThat(config.modelList()).isEmpty();
        assertThat(config.warnings()).containsExactly("model_list is missing: no models are configured");
    }

    @Test
    void parse_emptyModelList_warns() {
        EaselConfig config = parse("model_list: []\n");

        assertThat(config.modelList()).isEmpty();
        assertThat(config.warnings()).containsExactly("model_list is empty: no models are configured");
    }

    @Test
    void parse_emptyDocument_isAnEmptyConfigWithWarning() {
        EaselConfig config = parse("# nothing yet\n");

        assertThat(config.modelList()).isEmpty();
        assertThat(config.warnings()).containsExactly("model_list is missing: no models are configured");
    }

    @Test
    void parse_anchorsAliasesAndMergeKeys_areResolved() {
        EaselConfig config = ConfigLoader.parse("""
                x-common: &common
                  api_key: os.environ/KEY
                  timeout: 30
                model_list:
                  - model_name: a
                    litellm_params:
                      <<: *common
                      model: mock/a
                  - model_name: b
                    litellm_params:
                      <<: *common
                      model: mock/b
                      timeout: 60
                """, Map.of("KEY", "k"), "config.yaml");

        assertThat(config.modelList()).extracting(e -> e.params().apiKey()).containsOnly(Optional.of("k"));
        assertThat(config.modelList()).extracting(e -> e.params().timeout())
                .containsExactly(Optional.of(Duration.ofSeconds(30)), Optional.of(Duration.ofSeconds(60)));
        assertThat(config.warnings()).containsExactly("unknown key 'x-common' (ignored)");
    }

    // ------------------------------------------------------------ os.environ

    @Test
    void parse_osEnviron_isReplacedAtAnyDepth() {
        EaselConfig config = ConfigLoader.parse("""
                environment_variables:
                  BUDGET: "25.5"
                  DERIVED: os.environ/FROM_PROCESS
                model_list:
                  - model_name: m
                    litellm_params:
                      model: os.environ/MODEL
                      headers: {Authorization: os.environ/DERIVED, list: [os.environ/MODEL]}
                router_settings:
                  num_retries: os.environ/RETRIES
                  fallbacks: [{m: [os.environ/MODEL_NAME]}]
                litellm_settings:
                  callbacks: os.environ/CALLBACK
                general_settings:
                  end_user_budgets: {default: {max_budget: os.environ/BUDGET}}
                  max_request_bytes: os.environ/SIZE
                  allow_image_urls: os.environ/ALLOW
                """, Map.of("FROM_PROCESS", "p", "MODEL", "mock/x", "RETRIES", "4", "MODEL_NAME", "m",
                "CALLBACK", "otel", "SIZE", "10MiB", "ALLOW", "True"), "config.yaml");

        LitellmParams p = config.modelList().get(0).params();
        assertThat(p.model()).isEqualTo("mock/x");
        assertThat(p.extra()).isEqualTo(Map.of("headers", Map.of("Authorization", "p", "list", List.of("mock/x"))));
        assertThat(config.routerSettings().numRetries()).isEqualTo(OptionalInt.of(4));
        assertThat(config.routerSettings().fallbacks()).isEqualTo(Map.of("m", List.of("m")));
        assertThat(config.litellmSettings().callbacks()).containsExactly("otel");
        assertThat(config.generalSettings().endUserBudgets())
                .isEqualTo(Map.of("default", Map.of("max_budget", "25.5")));
        assertThat(config.generalSettings().maxRequestBytes()).isEqualTo(10L << 20);
        assertThat(config.generalSettings().allowImageUrls()).isTrue();
        assertThat(config.environmentVariables()).containsExactly(Map.entry("BUDGET", "25.5"), Map.entry("DERIVED", "p"));
        assertThat(config.warnings()).containsExactly(
                "unknown key 'model_list[0].litellm_params.headers' (ignored: provider 'mock' reads no such setting)");
    }

    @Test
    void parse_osEnvironInsideUnknownKey_isNotResolved() {
        EaselConfig config = parse(ONE_MODEL + "general_settings: {alerting_key: os.environ/NOT_SET}\n");

        assertThat(config.warnings()).containsExactly("unknown key 'general_settings.alerting_key' (ignored)");
    }

    // ------------------------------------------------------------ unknown keys

    @Test
    void parse_unknownKeys_warnOncePerKeyWithPath() {
        EaselConfig config = parse("""
                model_list:
                  - model_name: m
                    litellm_params: {model: mock/m, custom_param: 1}
                    model_info: {mode: image_edit}
                    tags: [a]
                router_settings:
                  enable_pre_call_checks: true
                  num_retries: 1
                litellm_settings:
                  set_verbose: true
                  cache: {type: redis}
                general_settings:
                  foo: bar
                  store_model_in_db: true
                include: [other.yaml]
                """);

        assertThat(config.warnings()).containsExactly(
                "unknown key 'model_list[0].litellm_params.custom_param' (ignored: provider 'mock' reads no such "
                        + "setting)",
                "unknown key 'model_list[0].model_info.mode' (ignored)",
                "unknown key 'model_list[0].tags' (ignored)",
                "unknown key 'router_settings.enable_pre_call_checks' (ignored)",
                "unknown key 'litellm_settings.set_verbose' (ignored)",
                "unknown key 'litellm_settings.cache' (ignored)",
                "unknown key 'general_settings.foo' (ignored)",
                "unknown key 'general_settings.store_model_in_db' (ignored)",
                "unknown key 'include' (ignored)");
    }

    // ------------------------------------------------------------ router settings

    @Test
    void parse_fallbacks_listOfDicts() {
        EaselConfig config = parse("""
                model_list:
                  - {model_name: a, litellm_params: {model: mock/a}}
                  - {model_name: b, litellm_params: {model: mock/b}}
                  - {model_name: c, litellm_params: {model: mock/c}}
                router_settings:
                  fallbacks: [{"c": ["a", "b"]}, {"a": ["b"], "b": ["c"]}]
                """);

        assertThat(config.routerSettings().fallbacks())
                .containsExactly(Map.entry("c", List.of("a", "b")), Map.entry("a", List.of("b")),
                        Map.entry("b", List.of("c")));
        assertThat(config.warnings()).isEmpty();
    }

    @Test
    void parse_fallbacks_singleDict() {
        EaselConfig config = parse("""
                model_list:
                  - {model_name: a, litellm_params: {model: mock/a}}
                  - {model_name: b, litellm_params: {model: mock/b}}
                router_settings:
                  fallbacks: {b: [a], a: [b]}
                  content_policy_fallbacks:
                    a: [b]
                """);

        assertThat(config.routerSettings().fallbacks())
                .containsExactly(Map.entry("b", List.of("a")), Map.entry("a", List.of("b")));
        assertThat(config.routerSettings().contentPolicyFallbacks()).containsExactly(Map.entry("a", List.of("b")));
    }

    @Test
    void parse_fallbacks_singleStringTargets() {
        EaselConfig config = parse("""
                model_list:
                  - {model_name: a, litellm_params: {model: mock/a}}
                  - {model_name: b, litellm_params: {model: mock/b}}
                router_settings:
                  fallbacks: {a: b}
                  content_policy_fallbacks: [{b: a}]
                  default_fallbacks: a
                """);

        assertThat(config.routerSettings().fallbacks()).isEqualTo(Map.of("a", List.of("b")));
        assertThat(config.routerSettings().contentPolicyFallbacks()).isEqualTo(Map.of("b", List.of("a")));
        assertThat(config.routerSettings().defaultFallbacks()).containsExactly("a");
        assertThat(config.warnings()).isEmpty();
    }

    @Test
    void parse_fallbacks_unknownModels_warnWithPath() {
        EaselConfig config = parse(ONE_MODEL + """
                router_settings:
                  fallbacks: [{m: [x]}, {y: [m]}]
                  content_policy_fallbacks: {m: z}
                  default_fallbacks: [m, w]
                """);

        assertThat(config.routerSettings().fallbacks())
                .containsExactly(Map.entry("m", List.of("x")), Map.entry("y", List.of("m")));
        assertThat(config.warnings()).containsExactly(
                "router_settings.fallbacks[0]: unknown model 'x'",
                "router_settings.fallbacks[1]: unknown model 'y'",
                "router_settings.content_policy_fallbacks: unknown model 'z'",
                "router_settings.default_fallbacks[1]: unknown model 'w'");
    }

    @Test
    void parse_fallbacks_duplicateSource_firstWinsWithWarning() {
        EaselConfig config = parse(ONE_MODEL + """
                  - {model_name: n, litellm_params: {model: mock/n}}
                router_settings:
                  fallbacks: [{m: [n]}, {m: [m]}]
                """);

        assertThat(config.routerSettings().fallbacks()).isEqualTo(Map.of("m", List.of("n")));
        assertThat(config.warnings())
                .containsExactly("router_settings.fallbacks[1]: duplicate fallbacks for 'm' (ignored; the first ones win)");
    }

    @Test
    void parse_routerSettings_allKeys() {
        EaselConfig config = parse(ONE_MODEL + """
                router_settings:
                  routing_strategy: usage-based-routing-v2
                  num_retries: "3"
                  retry_after: 0.5
                  allowed_fails: 0
                  cooldown_time: "2m"
                  timeout: 30
                  retry_on_timeout: false
                  redis_host: redis.internal
                  redis_port: 6380
                  redis_password: hunter2
                """);

        RouterSettings r = config.routerSettings();
        assertThat(r.routingStrategy()).isEqualTo(RoutingStrategy.USAGE_BASED_ROUTING_V2);
        assertThat(r.numRetries()).isEqualTo(OptionalInt.of(3));
        assertThat(r.retryAfter()).isEqualTo(Duration.ofMillis(500));
        assertThat(r.allowedFails()).isZero();
        assertThat(r.cooldownTime()).isEqualTo(Duration.ofMinutes(2));
        assertThat(r.timeout()).contains(Duration.ofSeconds(30));
        assertThat(r.retryOnTimeout()).isFalse();
        assertThat(r.redisHost()).contains("redis.internal");
        assertThat(r.redisPort()).isEqualTo(OptionalInt.of(6380));
        assertThat(r.redisPassword()).contains("hunter2");
        assertThat(r.redisConfigured()).isTrue();
        assertThat(config.warnings()).isEmpty(); // the proxy shares router state through this Redis
    }

    @ParameterizedTest
    @CsvSource({"simple-shuffle, SIMPLE_SHUFFLE", "least-busy, LEAST_BUSY",
            "latency-based-routing, LATENCY_BASED_ROUTING", "usage-based-routing, USAGE_BASED_ROUTING",
            "usage-based-routing-v2, USAGE_BASED_ROUTING_V2", "cost-based-routing, COST_BASED_ROUTING"})
    void parse_routingStrategy_everyLiteLlmName(String wireName, RoutingStrategy expected) {
        EaselConfig config = parse(ONE_MODEL + "router_settings: {routing_strategy: " + wireName + "}\n");

        assertThat(config.routerSettings().routingStrategy()).isEqualTo(expected);
        assertThat(expected.wireName()).isEqualTo(wireName);
    }

    // ------------------------------------------------------------ litellm / general settings

    @Test
    void parse_litellmSettings_callbacksAsListOrString() {
        EaselConfig config = parse(ONE_MODEL + """
                litellm_settings:
                  callbacks: otel
                  success_callback: [langfuse, webhook]
                  failure_callback: sentry
                  redact_prompts: true
                  json_logs: false
                  request_timeout: 120
                  num_retries: 0
                  drop_params: false
                """);

        LitellmSettings l = config.litellmSettings();
        assertThat(l.callbacks()).containsExactly("otel");
        assertThat(l.successCallback()).containsExactly("langfuse", "webhook");
        assertThat(l.failureCallback()).containsExactly("sentry");
        assertThat(l.redactPrompts()).isTrue();
        assertThat(l.jsonLogs()).isFalse();
        assertThat(l.requestTimeout()).contains(Duration.ofMinutes(2));
        assertThat(l.numRetries()).isEqualTo(OptionalInt.of(0));
        assertThat(l.dropParams()).isFalse();
        assertThat(l.enableEndUserCostTrackingPrometheusOnly()).isFalse();
        assertThat(l.requireAuthForMetricsEndpoint()).isFalse();
        assertThat(l.hasCallback("sentry")).isTrue();
        assertThat(l.hasCallback("prometheus")).isFalse();
    }

    @Test
    void parse_litellmSettings_prometheusOptions() {
        EaselConfig config = parse(ONE_MODEL + """
                litellm_settings:
                  success_callback: prometheus
                  enable_end_user_cost_tracking_prometheus_only: true
                  require_auth_for_metrics_endpoint: "TRUE"
                """);

        LitellmSettings l = config.litellmSettings();
        assertThat(l.hasCallback("prometheus")).isTrue();
        assertThat(l.enableEndUserCostTrackingPrometheusOnly()).isTrue();
        assertThat(l.requireAuthForMetricsEndpoint()).isTrue();
        assertThat(config.warnings()).isEmpty();
    }

    @Test
    void parse_generalSettings_allKeys() {
        EaselConfig config = parse(ONE_MODEL + """
                general_settings:
                  master_key: sk-master
                  database_url: postgresql://u:pw@db/easel
                  public_base_url: https://easel.example.com
                  allow_image_urls: true
                  webhook_url: http://hooks.local:8080/in
                  otel_exporter_endpoint: http://otel:4318
                  end_user_budgets: {max_budget: 10, budget_duration: 30d}
                  max_request_bytes: 200MB
                  max_image_bytes: 20971520
                  max_inflight_upload_bytes: 2GiB
                  upload_memory_bytes: 64MiB
                  image_url_ttl: 2h
                  grace_period: 0
                """);

        GeneralSettings g = config.generalSettings();
        assertThat(g.masterKey()).contains("sk-master");
        assertThat(g.databaseUrl()).contains("postgresql://u:pw@db/easel");
        assertThat(g.publicBaseUrl()).contains(URI.create("https://easel.example.com"));
        assertThat(g.allowImageUrls()).isTrue();
        assertThat(g.webhookUrl()).contains(URI.create("http://hooks.local:8080/in"));
        assertThat(g.otelExporterEndpoint()).contains(URI.create("http://otel:4318"));
        assertThat(g.endUserBudgets()).containsExactly(Map.entry("max_budget", 10), Map.entry("budget_duration", "30d"));
        assertThat(g.maxRequestBytes()).isEqualTo(200_000_000L);
        assertThat(g.maxImageBytes()).isEqualTo(20L << 20);
        assertThat(g.maxInflightUploadBytes()).isEqualTo(2L << 30);
        assertThat(g.uploadMemoryBytes()).isEqualTo(64L << 20);
        assertThat(g.resolvedUploadMemoryBytes()).isEqualTo(64L << 20);
        assertThat(GeneralSettings.defaults().resolvedUploadMemoryBytes()).as("default: an eighth of the heap")
                .isEqualTo(Runtime.getRuntime().maxMemory() / 8);
        assertThat(g.imageUrlTtl()).isEqualTo(Duration.ofHours(2));
        assertThat(g.gracePeriod()).isEqualTo(Duration.ZERO);
        assertThat(config.warnings()).isEmpty();
    }

    @Test
    void parse_generalSettings_requestLimits() {
        EaselConfig config = parse(ONE_MODEL + """
                general_settings:
                  max_parts: 50
                  max_images: 20
                  max_text_fields: 30
                  max_text_field_bytes: 64KiB
                  max_text_bytes: 128KiB
                  max_field_name_bytes: 100
                  max_part_header_bytes: 8KiB
                  max_json_depth: 8
                  max_json_tokens: 5000
                  max_json_body_bytes: 512KiB
                  idle_timeout: 10s
                  min_request_body_rate: 32KiB
                  request_body_rate_window: 5s
                  request_body_timeout: 2m
                """);

        RequestLimits l = config.generalSettings().requestLimits();
        assertThat(l).isEqualTo(new RequestLimits(50, 20, 30, 64 << 10, 128 << 10, 100, 8 << 10, 8, 5000, 512 << 10,
                Duration.ofSeconds(10), 32 << 10, Duration.ofSeconds(5), Duration.ofMinutes(2)));
        assertThat(config.warnings()).isEmpty();
    }

    @Test
    void parse_generalSettings_requestLimitDefaults() {
        RequestLimits l = parse(ONE_MODEL).generalSettings().requestLimits();

        assertThat(l).isEqualTo(RequestLimits.defaults());
        assertThat(l.maxParts()).isEqualTo(100);
        assertThat(l.maxImages()).isEqualTo(32);
        assertThat(l.maxTextFields()).isEqualTo(64);
        assertThat(l.maxTextFieldBytes()).isEqualTo(1L << 20);
        assertThat(l.maxTextBytes()).isEqualTo(2L << 20);
        assertThat(l.maxFieldNameBytes()).isEqualTo(256);
        assertThat(l.maxPartHeaderBytes()).isEqualTo(16 << 10);
        assertThat(l.maxJsonDepth()).isEqualTo(32);
        assertThat(l.maxJsonTokens()).isEqualTo(10_000);
        assertThat(l.maxJsonBodyBytes()).isEqualTo(1L << 20);
        assertThat(l.idleTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(l.minRequestBodyRate()).isEqualTo(16L << 10);
        assertThat(l.requestBodyRateWindow()).isEqualTo(Duration.ofSeconds(10));
        assertThat(l.requestBodyTimeout()).isEqualTo(Duration.ofMinutes(5));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"0 | 0", "'0' | 0", "'0B' | 0", "1KiB | 1024", "'64 KiB' | 65536"})
    void parse_minRequestBodyRate_zeroTurnsItOff(String yaml, long expected) {
        EaselConfig config = parse(ONE_MODEL + "general_settings: {min_request_body_rate: " + yaml + "}\n");

        assertThat(config.generalSettings().requestLimits().minRequestBodyRate()).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "600          | PT10M",
            "'600'        | PT10M",
            "1.5          | PT1.5S",
            "'1.5'        | PT1.5S",
            "'500ms'      | PT0.5S",
            "'30s'        | PT30S",
            "'2m'         | PT2M",
            "'1h'         | PT1H",
            "'1d'         | PT24H",
            "'0.25 h'     | PT15M",
            "0.000000001  | PT0.000000001S"})
    void parse_durations(String yaml, Duration expected) {
        EaselConfig config = parse(ONE_MODEL + "router_settings: {cooldown_time: " + yaml + "}\n");

        assertThat(config.routerSettings().cooldownTime()).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "1048576      | 1048576",
            "'1048576'    | 1048576",
            "512B         | 512",
            "50MB         | 50000000",
            "50mb         | 50000000",
            "'50 MB'      | 50000000",
            "50MiB        | 52428800",
            "1GiB         | 1073741824",
            "1.5GB        | 1500000000",
            "1.5KiB       | 1536",
            "2k           | 2000",
            "1TB          | 1000000000000"})
    void parse_sizes(String yaml, long expected) {
        EaselConfig config = parse(ONE_MODEL + "general_settings: {max_image_bytes: " + yaml + "}\n");

        assertThat(config.generalSettings().maxImageBytes()).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({"true, true", "false, false", "yes, true", "off, false", "'\"TRUE\"', true", "'\"False\"', false"})
    void parse_booleans(String yaml, boolean expected) {
        EaselConfig config = parse(ONE_MODEL + "router_settings: {retry_on_timeout: " + yaml + "}\n");

        assertThat(config.routerSettings().retryOnTimeout()).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({"2, 2", "'2', 2", "2.0, 2", "0x10, 16", "1_000, 1000"})
    void parse_integers(String yaml, int expected) {
        EaselConfig config = parse(ONE_MODEL + "router_settings: {allowed_fails: " + yaml + "}\n");

        assertThat(config.routerSettings().allowedFails()).isEqualTo(expected);
    }

    // ------------------------------------------------------------ secrets

    @Test
    void toString_neverShowsSecrets() {
        EaselConfig config = ConfigLoader.parse("""
                environment_variables:
                  ENV_SECRET: env-secret-value
                model_list:
                  - model_name: m
                    litellm_params:
                      model: mock/m
                      api_key: os.environ/KEY
                      aws_secret_access_key: aws-secret-value
                      vertex_credentials: {private_key: pk-secret-value}
                      extra_headers: [{access_token: token-secret-value}]
                      latency_ms: 5
                router_settings:
                  redis_password: redis-secret-value
                general_settings:
                  master_key: master-secret-value
                  database_url: postgresql://user:db-secret-value@host/db
                """, Map.of("KEY", "api-secret-value"), "config.yaml");

        String all = config.toString() + config.modelList() + config.modelList().get(0).params()
                + config.routerSettings() + config.generalSettings();
        assertThat(all).doesNotContain("secret-value").contains("****").contains("latency_ms=5")
                .contains("ENV_SECRET=****");
    }

    // ------------------------------------------------------------ limits taken before the call (issue 12)

    @Test
    void parse_limitKeys_readWithoutWarnings() {
        EaselConfig config = parse("""
                model_list:
                  - model_name: m
                    litellm_params: {model: mock/m, max_parallel_requests: 4, stream_timeout: 45, max_retries: 2}
                router_settings:
                  timeout: 90
                  stream_timeout: 30
                  max_cooldown_time: 120
                  default_max_parallel_requests: 8
                  max_parallel_waiters: 0
                  max_parallel_wait: 500ms
                general_settings:
                  global_max_parallel_requests: 64
                  max_parallel_requests: 16
                  max_parallel_waiters: 10
                  max_parallel_wait: 5
                """);

        LitellmParams p = config.modelList().get(0).params();
        assertThat(p.maxParallelRequests()).isEqualTo(OptionalInt.of(4));
        assertThat(p.streamTimeout()).contains(Duration.ofSeconds(45));
        assertThat(p.maxRetries()).isEqualTo(OptionalInt.of(2));
        assertThat(p.extra()).isEmpty();
        RouterSettings r = config.routerSettings();
        assertThat(r.timeout()).contains(Duration.ofSeconds(90));
        assertThat(r.streamTimeout()).contains(Duration.ofSeconds(30));
        assertThat(r.maxCooldownTime()).isEqualTo(Duration.ofSeconds(120));
        assertThat(r.defaultMaxParallelRequests()).isEqualTo(OptionalInt.of(8));
        assertThat(r.maxParallelWaiters()).isZero();
        assertThat(r.maxParallelWait()).isEqualTo(Duration.ofMillis(500));
        GeneralSettings g = config.generalSettings();
        assertThat(g.globalMaxParallelRequests()).isEqualTo(OptionalInt.of(64));
        assertThat(g.maxParallelRequests()).isEqualTo(OptionalInt.of(16));
        assertThat(g.maxParallelWaiters()).isEqualTo(10);
        assertThat(g.maxParallelWait()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.warnings()).isEmpty();
    }

    @Test
    void parse_limitKeysAbsent_defaults() {
        EaselConfig config = parse(ONE_MODEL);

        assertThat(config.modelList().get(0).params().maxParallelRequests()).isEmpty();
        assertThat(config.modelList().get(0).params().streamTimeout()).isEmpty();
        RouterSettings r = config.routerSettings();
        assertThat(r.timeout()).isEmpty();
        assertThat(r.streamTimeout()).isEmpty();
        assertThat(r.maxCooldownTime()).isEqualTo(Duration.ofSeconds(60));
        assertThat(r.defaultMaxParallelRequests()).isEmpty();
        assertThat(r.maxParallelWaiters()).isEqualTo(100);
        assertThat(r.maxParallelWait()).isEqualTo(Duration.ofSeconds(30));
        GeneralSettings g = config.generalSettings();
        assertThat(g.globalMaxParallelRequests()).isEmpty();
        assertThat(g.maxParallelRequests()).isEmpty();
        assertThat(g.maxParallelWaiters()).isEqualTo(100);
        assertThat(g.maxParallelWait()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void litellmParams_forDisplay_dropSecretLookingSettingsAtAnyDepth_andTheApiBasesCredentials() {
        EaselConfig c = ConfigLoader.parse("""
                model_list:
                  - model_name: m
                    litellm_params:
                      model: mock/m
                      api_base: https://user:pass@host.example:8443/v1/x?key=abc#frag
                      latency_ms: 5
                      aws_secret_access_key: s1
                      vertex_credentials: s2
                      session_token: s3
                      nested: {keep: 1, client_secret: s4, list: [{password: s5, ok: 2}]}
                general_settings:
                  background_health_checks: false
                """, Map.of(), "config.yaml");
        LitellmParams p = c.modelList().get(0).params();

        assertThat(p.extraWithoutSecrets()).isEqualTo(Map.of("latency_ms", 5,
                "nested", Map.of("keep", 1, "list", List.of(Map.of("ok", 2)))));
        assertThat(p.extraWithoutSecrets().toString()).doesNotContain("s1", "s2", "s3", "s4", "s5");
        assertThat(p.apiBaseForDisplay()).contains("https://host.example:8443/v1/x");
        assertThat(c.warnings()).as("false is what Easel does: accepted without a warning")
                .noneMatch(w -> w.contains("background_health_checks"));
    }
}
