package dev.easel.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/** Immutable, order-keeping copies and secret masking shared by the config records. */
final class Copies {

    static final String MASK = "****";

    /** Keys in free-form maps whose values are treated as secrets by {@code toString()}. */
    private static final Pattern SECRET_KEY =
            Pattern.compile(".*(key|secret|passw|credential).*|.*token");

    private Copies() {
    }

    /** An unmodifiable copy that keeps insertion order and rejects null keys and values. */
    static <K, V> Map<K, V> orderedMap(Map<K, V> map) {
        Map<K, V> copy = new LinkedHashMap<>();
        map.forEach((k, v) -> copy.put(Objects.requireNonNull(k, "key"), Objects.requireNonNull(v, "value")));
        return Collections.unmodifiableMap(copy);
    }

    /** Like {@link #orderedMap} with each list value copied too. */
    static Map<String, List<String>> orderedListMap(Map<String, List<String>> map) {
        Map<String, List<String>> copy = new LinkedHashMap<>();
        map.forEach((k, v) -> copy.put(Objects.requireNonNull(k, "key"), List.copyOf(v)));
        return Collections.unmodifiableMap(copy);
    }

    /** {@code ****} when a secret is present, {@code <none>} otherwise. */
    static String mask(Optional<String> secret) {
        return secret.isPresent() ? MASK : "<none>";
    }

    /** A free-form map rendered with values of secret-looking keys masked, at any depth. */
    static String maskedMap(Map<String, ?> map) {
        StringBuilder out = new StringBuilder("{");
        String sep = "";
        for (Map.Entry<String, ?> e : map.entrySet()) {
            out.append(sep).append(e.getKey()).append('=');
            out.append(isSecretKey(e.getKey()) ? MASK : masked(e.getValue()));
            sep = ", ";
        }
        return out.append('}').toString();
    }

    @SuppressWarnings("unchecked")
    private static String masked(Object value) {
        if (value instanceof Map<?, ?> m) {
            return maskedMap((Map<String, ?>) m);
        }
        if (value instanceof List<?> list) {
            return list.stream().map(Copies::masked).toList().toString();
        }
        return String.valueOf(value);
    }

    /** A copy of {@code map} without the entries of secret-looking keys, at any depth (order kept, unmodifiable). */
    static Map<String, Object> withoutSecrets(Map<String, ?> map) {
        Map<String, Object> out = new LinkedHashMap<>();
        map.forEach((k, v) -> {
            if (!isSecretKey(k)) {
                out.put(k, withoutSecrets(v));
            }
        });
        return Collections.unmodifiableMap(out);
    }

    @SuppressWarnings("unchecked")
    private static Object withoutSecrets(Object value) {
        if (value instanceof Map<?, ?> m) {
            return withoutSecrets((Map<String, ?>) m);
        }
        if (value instanceof List<?> list) {
            return list.stream().map(Copies::withoutSecrets).toList();
        }
        return value;
    }

    static boolean isSecretKey(String key) {
        return SECRET_KEY.matcher(key.toLowerCase(Locale.ROOT)).matches();
    }
}
