package dev.easel.config;

import java.util.Objects;

/**
 * One {@code model_list} entry: a deployment serving the model group {@code modelName}. Several entries
 * with the same name form a load-balanced group.
 *
 * @param modelName the name clients send as {@code model}
 * @param params    how to call the deployment
 * @param modelInfo id and pricing; {@link ModelInfo#empty()} when absent
 */
public record ModelEntry(String modelName, LitellmParams params, ModelInfo modelInfo) {

    /** Checks that nothing is null. */
    public ModelEntry {
        Objects.requireNonNull(modelName, "modelName");
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(modelInfo, "modelInfo");
    }
}
