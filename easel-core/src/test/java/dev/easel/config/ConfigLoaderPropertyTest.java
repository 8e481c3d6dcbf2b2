package dev.easel.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.easel.testkit.Seeds;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link ConfigLoader#parse} over generated input (seeded, see {@link Seeds}): YAML-ish text, random trees rendered as
 * YAML, and mutations of a valid config (keys renamed, values of other types, nesting changed, anchors and merge
 * keys). Whatever it gets, it returns a config or throws a {@link ConfigException} whose message starts with the
 * source name: never another exception, never a hang.
 */
class ConfigLoaderPropertyTest {

    private static final String SOURCE = "config.yaml";
    private static final Map<String, String> ENV = Map.of("SET", "sk-from-env", "NUM", "12", "EMPTY", "",
            "URL", "https://example.test/v1");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER));

    /** A config that uses every section and most kinds of value: the start of every mutation. */
    static final String VALID = """
            model_list:
              - model_name: gpt-image-1
                litellm_params:
                  model: openai/gpt-image-1
                  api_key: os.environ/SET
                  api_base: https://api.openai.com/v1
                  timeout: 600
                  max_retries: 2
                  rpm: 100
                  tpm: 100000
                  weight: 2
                  order: 1
                  max_parallel_requests: 4
                  stream_timeout: 30s
                  drop_params: true
                model_info:
                  id: dep-1
                  base_model: gpt-image-1
                  input_cost_per_token: 5.0e-06
                  output_cost_per_image: 0.04
              - model_name: gpt-image-1
                litellm_params:
                  model: azure/dep
                  api_base: https://x.openai.azure.com
                  api_version: 2025-04-01-preview
                  api_key: sk-azure
              - model_name: inpaint
                litellm_params:
                  model: stability/inpaint
                  api_key: sk-stability
                  extra_setting: [1, {a: b}]
              - model_name: gemini
                litellm_params:
                  model: vertex_ai/gemini-3.1-flash-image
            router_settings:
              routing_strategy: simple-shuffle
              num_retries: 2
              retry_after: 0
              allowed_fails: 3
              cooldown_time: 5
              timeout: 600
              fallbacks: [{"gpt-image-1": ["inpaint"]}]
              content_policy_fallbacks: [{"gpt-image-1": ["gemini"]}]
              default_fallbacks: ["gemini"]
              retry_on_timeout: true
              max_cooldown_time: 60
              max_parallel_waiters: 10
              max_parallel_wait: 500ms
            litellm_settings:
              drop_params: true
              num_retries: 2
              request_timeout: 600
              callbacks: ["otel", "prometheus"]
              success_callback: langfuse
              json_logs: true
              redact_prompts: false
            general_settings:
              master_key: sk-1234
              database_url: postgresql://localhost/easel
              public_base_url: https://easel.example.test
              allow_image_urls: false
              end_user_budgets: {alice: 10, bob: 2.5}
              max_request_bytes: 50MB
              max_image_bytes: 20MiB
              image_url_ttl: 3600
              grace_period: 1.5
              max_parts: 20
              max_text_field_bytes: 64KiB
              max_part_header_bytes: 16KiB
              min_request_body_rate: 0
              request_body_timeout: 2m
            environment_variables:
              EXTRA: os.environ/SET
            """;

    static Stream<Long> textSeeds() {
        return Seeds.of("config.text", 400);
    }

    static Stream<Long> treeSeeds() {
        return Seeds.of("config.tree", 400);
    }

    static Stream<Long> mutationSeeds() {
        return Seeds.of("config.mutation", 600);
    }

    @Test
    void theValidConfig_theMutationsStartFrom_isValid() {
        EaselConfig config = ConfigLoader.parse(VALID, ENV, SOURCE);

        assertThat(config.modelList()).hasSize(4);
        assertThat(config.environmentVariables()).containsEntry("EXTRA", "sk-from-env");
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("textSeeds")
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void yamlishText_givesAConfigOrAConfigException(long seed) {
        Seeds.check(seed, random -> assertConfigOrConfigException(yamlish(random)));
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("treeSeeds")
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void randomTreeAsYaml_givesAConfigOrAConfigException(long seed) {
        Seeds.check(seed, random -> {
            Map<String, Object> root = new LinkedHashMap<>();
            for (int i = 0, n = random.nextInt(5); i < n; i++) {
                root.put(key(random), value(random, 4));
            }
            assertConfigOrConfigException(YAML.writeValueAsString(root));
        });
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("mutationSeeds")
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void mutatedValidConfig_givesAConfigOrAConfigException(long seed) {
        Seeds.check(seed, random -> {
            @SuppressWarnings("unchecked")
            Map<String, Object> tree = YAML.readValue(VALID, LinkedHashMap.class);
            for (int i = 0, n = 1 + random.nextInt(4); i < n; i++) {
                mutate(random, tree, 0);
            }
            String yaml = YAML.writeValueAsString(tree);
            if (random.nextInt(5) == 0) {
                yaml = mutateText(random, yaml);
            }
            assertConfigOrConfigException(yaml);
        });
    }

    private static void assertConfigOrConfigException(String yaml) {
        try {
            assertThat(ConfigLoader.parse(yaml, ENV, SOURCE)).isNotNull();
        } catch (ConfigException e) {
            assertThat(e.getMessage()).as("message of %s", e).startsWith(SOURCE + ": ");
            assertThat(e.type()).isEqualTo("config_error");
        } catch (RuntimeException | StackOverflowError e) {
            throw new AssertionError("parsing threw " + e + " instead of a ConfigException, for:\n" + yaml, e);
        }
    }

    // ---------------------------------------------------------------- generators

    /** Keys of every section, near misses of them, and the user's own. */
    private static final String[] KEYS = {"model_list", "router_settings", "litellm_settings", "general_settings",
            "environment_variables", "model_name", "litellm_params", "model_info", "model", "api_key", "api_base",
            "api_version", "timeout", "max_retries", "rpm", "tpm", "weight", "order", "max_parallel_requests",
            "stream_timeout", "drop_params", "id", "base_model", "input_cost_per_token", "output_cost_per_image",
            "input_cost_per_pixel", "routing_strategy", "num_retries", "retry_after", "allowed_fails",
            "cooldown_time", "fallbacks", "content_policy_fallbacks", "default_fallbacks", "redis_port",
            "max_cooldown_time", "callbacks", "success_callback", "master_key", "public_base_url",
            "end_user_budgets", "max_request_bytes", "max_part_header_bytes", "min_request_body_rate",
            "image_url_ttl", "max_json_depth", "api_bse", "modle", "num_retry", "<<", "", " ", "x", "日本",
            "aspect_ratio", "seed"};

    private static String key(Random random) {
        return KEYS[random.nextInt(KEYS.length)];
    }

    /** Scalars that reach every conversion's edge: types, signs, sizes, units, env references, URLs. */
    private static Object scalar(Random random) {
        return switch (random.nextInt(24)) {
            case 0 -> null;
            case 1 -> random.nextBoolean();
            case 2 -> random.nextInt();
            case 3 -> -1 - random.nextInt(10);
            case 4 -> random.nextLong();
            case 5 -> new java.math.BigInteger(200, random);
            case 6 -> random.nextDouble() * 1e6;
            case 7 -> 1e300 * (random.nextBoolean() ? 1e10 : -1e10); // infinity
            case 8 -> Double.NaN;
            case 9 -> "os.environ/SET";
            case 10 -> "os.environ/UNSET";
            case 11 -> "os.environ/";
            case 12 -> "os.environ/EMPTY";
            case 13 -> "https://example.test/v1";
            case 14 -> "http://[::1";
            case 15 -> "openai/gpt-image-1";
            case 16 -> random.nextBoolean() ? "azure/dep" : "stability/inpaint";
            case 17 -> random.nextBoolean() ? "/" : "openai/";
            case 18 -> (random.nextInt(2000) - 1000) + List.of("ms", "s", "m", "h", "MB", "MiB", "GiB", "KB", "B", "x")
                    .get(random.nextInt(10));
            case 19 -> "9".repeat(1 + random.nextInt(40)) + (random.nextBoolean() ? "GiB" : "s");
            case 20 -> random.nextBoolean() ? "1.5e-3" : "-0.0";
            case 21 -> "";
            case 22 -> random.nextBoolean() ? ".inf" : "0x1F";
            default -> key(random);
        };
    }

    private static Object value(Random random, int depth) {
        int kind = depth <= 0 ? 0 : random.nextInt(4);
        return switch (kind) {
            case 1 -> {
                List<Object> list = new ArrayList<>();
                for (int i = 0, n = random.nextInt(4); i < n; i++) {
                    list.add(value(random, depth - 1));
                }
                yield list;
            }
            case 2 -> {
                Map<String, Object> map = new LinkedHashMap<>();
                for (int i = 0, n = random.nextInt(4); i < n; i++) {
                    map.put(key(random), value(random, depth - 1));
                }
                yield map;
            }
            default -> scalar(random);
        };
    }

    /**
     * One change somewhere in the tree: a key renamed, removed or added, a value replaced by another type, or the
     * nesting changed (a value wrapped in a list or a mapping, or a list or mapping replaced by its first item).
     */
    @SuppressWarnings("unchecked")
    private static void mutate(Random random, Object node, int depth) {
        if (node instanceof Map<?, ?> raw && !raw.isEmpty()) {
            Map<String, Object> map = (Map<String, Object>) raw;
            List<String> keys = new ArrayList<>(map.keySet());
            String k = keys.get(random.nextInt(keys.size()));
            Object child = map.get(k);
            if ((child instanceof Map<?, ?> || child instanceof List<?>) && random.nextInt(3) > 0 && depth < 8) {
                mutate(random, child, depth + 1);
                return;
            }
            switch (random.nextInt(6)) {
                case 0 -> map.put(key(random), map.remove(k)); // renamed (order changes: fine for YAML)
                case 1 -> map.remove(k);
                case 2 -> map.put(key(random), value(random, 2));
                case 3 -> map.put(k, random.nextBoolean() ? new ArrayList<>(List.of(nullSafe(child)))
                        : new LinkedHashMap<>(Map.of(key(random), nullSafe(child))));
                case 4 -> map.put(k, unwrap(child));
                default -> map.put(k, value(random, 2));
            }
        } else if (node instanceof List<?> raw && !raw.isEmpty()) {
            List<Object> list = (List<Object>) raw;
            int i = random.nextInt(list.size());
            Object child = list.get(i);
            if ((child instanceof Map<?, ?> || child instanceof List<?>) && random.nextInt(3) > 0 && depth < 8) {
                mutate(random, child, depth + 1);
                return;
            }
            switch (random.nextInt(4)) {
                case 0 -> list.remove(i);
                case 1 -> list.add(random.nextInt(list.size() + 1), random.nextBoolean() ? child : value(random, 2));
                case 2 -> list.set(i, unwrap(child));
                default -> list.set(i, value(random, 2));
            }
        }
    }

    private static Object nullSafe(Object o) {
        return o == null ? "null" : o;
    }

    private static Object unwrap(Object o) {
        if (o instanceof Map<?, ?> m && !m.isEmpty()) {
            return m.values().iterator().next();
        }
        if (o instanceof List<?> l && !l.isEmpty()) {
            return l.getFirst();
        }
        return o;
    }

    /** Text-level changes the tree cannot make: anchors, aliases, merge keys, tags, cut lines, bad indentation. */
    private static String mutateText(Random random, String yaml) {
        String[] lines = yaml.split("\n", -1);
        int at = random.nextInt(lines.length);
        String piece = switch (random.nextInt(8)) {
            case 0 -> "base: &base {model: openai/gpt-image-1}";
            case 1 -> "  <<: *base";
            case 2 -> "  <<: *missing";
            case 3 -> "a: &a [*a]";
            case 4 -> "x: !!binary AAAA";
            case 5 -> "  - model_name: &n x\n    litellm_params: {model: *n}";
            case 6 -> "\t- tab";
            default -> lines[at].substring(0, random.nextInt(lines[at].length() + 1));
        };
        lines[at] = piece + (random.nextBoolean() ? "\n" + lines[at] : "");
        return String.join("\n", lines);
    }

    /** Text built from YAML's syntax, the config's words and noise, up to 400 characters. */
    private static String yamlish(Random random) {
        String[] pieces = {":", ": ", "- ", "-", "\n", "\n  ", "\n    ", " ", "  ", "[", "]", "{", "}", ",", "&a ",
                "*a", "<<: ", "!!str ", "!!int ", "!!map ", "|\n  ", ">-\n  ", "'", "\"", "\\", "#", "%YAML 1.2\n",
                "---\n", "...\n", "?", "@", "`", "\t", "~", "null", "true", "0x", "1e999", "-.inf", ".nan", "0o17",
                "1_000", "2025-04-01", "os.environ/", "SET", "é"};
        // characters YAML refuses outright end most texts at once: only one text in ten gets one
        String[] refused = {"\u0000", "\uFEFF", "\uD800", "\u0007"};
        StringBuilder s = new StringBuilder();
        int length = random.nextInt(400);
        while (s.length() < length) {
            s.append(random.nextInt(3) == 0 ? key(random) : pieces[random.nextInt(pieces.length)]);
        }
        if (random.nextInt(10) == 0) {
            s.insert(random.nextInt(s.length() + 1), refused[random.nextInt(refused.length)]);
        }
        return s.toString();
    }
}
