package dev.easel.config;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A loaded LiteLLM-format {@code config.yaml}. Built by {@link ConfigLoader}; every {@code os.environ/NAME}
 * is already replaced. {@link #toString()} never shows secrets.
 *
 * @param modelList            {@code model_list}, in file order
 * @param routerSettings       {@code router_settings}
 * @param litellmSettings      {@code litellm_settings}
 * @param generalSettings      {@code general_settings}
 * @param environmentVariables {@code environment_variables}, values resolved (never written to the process env)
 * @param warnings             one line per key not acted on (unknown, another provider's, passed through, not
 *                             implemented yet) or suspicious value, to log once at start-up
 */
public record EaselConfig(List<ModelEntry> modelList, RouterSettings routerSettings, LitellmSettings litellmSettings,
                          GeneralSettings generalSettings, Map<String, String> environmentVariables,
                          List<String> warnings) {

    /** Checks that nothing is null and copies the collections (unmodifiable, order kept). */
    public EaselConfig {
        modelList = List.copyOf(modelList);
        Objects.requireNonNull(routerSettings, "routerSettings");
        Objects.requireNonNull(litellmSettings, "litellmSettings");
        Objects.requireNonNull(generalSettings, "generalSettings");
        environmentVariables = Copies.orderedMap(environmentVariables);
        warnings = List.copyOf(warnings);
    }

    /** Distinct {@code model_name}s in file order. */
    public Set<String> modelNames() {
        return modelList.stream().map(ModelEntry::modelName).collect(Collectors.toCollection(LinkedHashSet::new));
    }

    /** The entries (deployments) serving {@code modelName}, in file order; empty if none. */
    public List<ModelEntry> deployments(String modelName) {
        return modelList.stream().filter(e -> e.modelName().equals(modelName)).toList();
    }

    @Override
    public String toString() {
        return "EaselConfig[modelList=" + modelList + ", routerSettings=" + routerSettings + ", litellmSettings="
                + litellmSettings + ", generalSettings=" + generalSettings + ", environmentVariables="
                + environmentVariables.keySet().stream().map(k -> k + "=" + Copies.MASK)
                        .collect(Collectors.joining(", ", "{", "}"))
                + ", warnings=" + warnings + "]";
    }
}
