package dev.easel.testkit;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Immutable, case-insensitive header maps. */
final class Headers {

    private Headers() {
    }

    static Map<String, List<String>> copyOf(Map<String, List<String>> source) {
        TreeMap<String, List<String>> copy = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        source.forEach((k, v) -> copy.merge(k, List.copyOf(v), (a, b) -> {
            List<String> merged = new ArrayList<>(a);
            merged.addAll(b);
            return List.copyOf(merged);
        }));
        return Collections.unmodifiableMap(copy);
    }
}
