package dev.easel.spring;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.easel.config.ConfigException;
import dev.easel.config.ConfigLoader;
import dev.easel.config.EaselConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.Resource;
import org.springframework.core.io.ResourceLoader;

/**
 * Turns {@code easel.config} or the {@code easel.*} config properties into an {@link EaselConfig}, through the
 * config reader itself: a property is the config key of the same name in kebab-case, so both are checked alike, and
 * an error about a property names the property.
 */
final class ConfigSource {

    /** Error messages from the properties path start with this, then the property name. */
    static final String PROPERTIES = "easel properties";

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    /** classpath:, file:, http: ... but not a Windows drive letter (C:\\). */
    private static final Pattern SCHEME = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]+:");
    private static final Pattern INDEX = Pattern.compile("\\d+");
    private static final Pattern PATH = Pattern.compile("^" + Pattern.quote(PROPERTIES) + ": ([^ :]+): (.*)$",
            Pattern.DOTALL);

    private ConfigSource() {
    }

    /**
     * The config the properties describe: the file at {@code easel.config}, the {@code easel.*} config properties,
     * or nothing when neither is set.
     *
     * @throws ConfigException naming the file and YAML path, or the property, of what is wrong
     */
    static Optional<EaselConfig> load(EaselProperties p, ResourceLoader resources, Map<String, String> env) {
        boolean inline = !p.getModelList().isEmpty() || !p.getRouterSettings().isEmpty()
                || !p.getLitellmSettings().isEmpty();
        String location = p.getConfig();
        if (location != null && !location.isBlank()) {
            if (inline) {
                throw new ConfigException("easel.config is set together with easel.model-list, "
                        + "easel.router-settings or easel.litellm-settings: use the config file or the properties, "
                        + "not both");
            }
            return Optional.of(fromFile(location.strip(), resources, env));
        }
        if (!inline) {
            return Optional.empty();
        }
        return Optional.of(fromProperties(p, env));
    }

    private static EaselConfig fromFile(String location, ResourceLoader resources, Map<String, String> env) {
        // a bare path is a file (Spring's loader would look for "/etc/x.yaml" on the class path)
        Resource resource = SCHEME.matcher(location).lookingAt() ? resources.getResource(location)
                : new FileSystemResource(location);
        if (!resource.exists()) {
            throw new ConfigException("easel.config: " + location + ": file not found");
        }
        byte[] bytes;
        try (InputStream in = resource.getInputStream()) {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new ConfigException("easel.config: " + location + ": cannot read (" + e + ")", e);
        }
        String yaml;
        try {
            yaml = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new ConfigException("easel.config: " + location + ": not valid UTF-8", e);
        }
        return ConfigLoader.parse(yaml, env, location);
    }

    private static EaselConfig fromProperties(EaselProperties p, Map<String, String> env) {
        Map<String, Object> root = new LinkedHashMap<>();
        if (!p.getModelList().isEmpty()) {
            List<Object> models = new ArrayList<>();
            for (int i = 0; i < p.getModelList().size(); i++) {
                EaselProperties.Model m = p.getModelList().get(i);
                Map<String, Object> entry = new LinkedHashMap<>();
                if (m.getModelName() != null) {
                    entry.put("model_name", m.getModelName());
                }
                String at = "easel.model-list[" + i + "]";
                if (!m.getLitellmParams().isEmpty()) {
                    entry.put("litellm_params", section(m.getLitellmParams(), at + ".litellm-params"));
                }
                if (!m.getModelInfo().isEmpty()) {
                    entry.put("model_info", section(m.getModelInfo(), at + ".model-info"));
                }
                models.add(entry);
            }
            root.put("model_list", models);
        }
        if (!p.getRouterSettings().isEmpty()) {
            root.put("router_settings", section(p.getRouterSettings(), "easel.router-settings"));
        }
        if (!p.getLitellmSettings().isEmpty()) {
            root.put("litellm_settings", section(p.getLitellmSettings(), "easel.litellm-settings"));
        }
        String yaml;
        try {
            // every scalar is written as a quoted string: the reader takes numbers, booleans and durations from
            // text as it does in a config file, and reports the value it could not use
            yaml = YAML.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the easel properties as YAML", e);
        }
        try {
            return ConfigLoader.parse(yaml, env, PROPERTIES);
        } catch (ConfigException e) {
            throw new ConfigException(propertyMessage(e.getMessage()), e);
        }
    }

    /** A section's keys in snake_case (the config's), its values with Spring's indexed maps made lists. */
    private static Map<String, Object> section(Map<String, Object> props, String at) {
        Map<String, Object> out = new LinkedHashMap<>();
        props.forEach((k, v) -> {
            String key = k.replace('-', '_');
            if (out.putIfAbsent(key, value(v, at + "." + k)) != null) {
                throw new ConfigException(at + ": " + key + " is given twice (as kebab-case and snake_case)");
            }
        });
        return out;
    }

    /**
     * Spring binds {@code a[0]=x, a[1]=y} into a map {@code {0=x, 1=y}}: a map whose keys are all indexes is the
     * list it stands for. Everything else is kept (keys below a section are the user's own names, e.g. model groups
     * in {@code fallbacks}).
     */
    private static Object value(Object v, String at) {
        if (v instanceof Map<?, ?> map && !map.isEmpty()
                && map.keySet().stream().allMatch(k -> INDEX.matcher(String.valueOf(k)).matches())) {
            TreeMap<Integer, Object> ordered = new TreeMap<>();
            map.forEach((k, x) -> ordered.put(Integer.valueOf(String.valueOf(k)), x));
            List<Object> list = new ArrayList<>();
            int expected = 0;
            for (Map.Entry<Integer, Object> e : ordered.entrySet()) {
                if (e.getKey() != expected) {
                    throw new ConfigException(at + "[" + expected + "]: missing (the list has items up to index "
                            + ordered.lastKey() + ")");
                }
                list.add(value(e.getValue(), at + "[" + expected + "]"));
                expected++;
            }
            return list;
        }
        if (v instanceof Map<?, ?> map) {
            Map<String, Object> out = new LinkedHashMap<>();
            map.forEach((k, x) -> out.put(String.valueOf(k), value(x, at + "." + k)));
            return out;
        }
        if (v instanceof List<?> list) {
            List<Object> out = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                out.add(value(list.get(i), at + "[" + i + "]"));
            }
            return out;
        }
        return v == null ? null : String.valueOf(v);
    }

    /**
     * {@code easel properties: model_list[0].litellm_params.api_base: expected ...} as
     * {@code easel.model-list[0].litellm-params.api-base: expected ...}. Only the config's own key names are
     * converted to kebab-case, never the user's names below them.
     */
    static String propertyMessage(String message) {
        Matcher m = PATH.matcher(message);
        if (!m.matches()) {
            return "easel.*: " + message.substring(message.startsWith(PROPERTIES + ": ")
                    ? PROPERTIES.length() + 2 : 0);
        }
        return property(m.group(1)) + ": " + m.group(2);
    }

    /** The property of a YAML path: {@code router_settings.num_retries} is {@code easel.router-settings.num-retries}. */
    static String property(String yamlPath) {
        String[] segments = yamlPath.split("\\.");
        // model_list[i].litellm_params.key: three config names; router_settings.key: two
        int configNames = segments[0].startsWith("model_list") ? 3 : 2;
        StringBuilder out = new StringBuilder("easel");
        for (int i = 0; i < segments.length; i++) {
            out.append('.').append(i < configNames ? segments[i].replace('_', '-') : segments[i]);
        }
        return out.toString();
    }
}
