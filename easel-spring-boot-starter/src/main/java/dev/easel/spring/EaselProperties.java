package dev.easel.spring;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code easel.*} properties. Either {@code easel.config} names a LiteLLM-format {@code config.yaml}, or the
 * config is written in properties: every property below {@code easel.} is the config key of the same name in
 * kebab-case ({@code easel.model-list[0].litellm-params.api-base} is {@code model_list[0].litellm_params.api_base}),
 * read by the same reader with the same checks.
 */
@ConfigurationProperties(prefix = "easel", ignoreUnknownFields = false)
public class EaselProperties {

    /**
     * Location of a LiteLLM-format config.yaml: a file path, or a resource location such as classpath:easel.yaml or
     * file:/etc/easel/config.yaml. Not together with the model-list, router-settings and litellm-settings properties.
     */
    private String config;

    /** The model groups and their deployments: the config's model_list. */
    private List<Model> modelList = new ArrayList<>();

    /**
     * The config's router_settings (routing-strategy, num-retries, allowed-fails, cooldown-time, timeout,
     * fallbacks, ...).
     */
    private Map<String, Object> routerSettings = new LinkedHashMap<>();

    /** The config's litellm_settings (drop-params, num-retries, request-timeout, redact-prompts, ...). */
    private Map<String, Object> litellmSettings = new LinkedHashMap<>();

    /** Micrometer metrics. */
    private final Metrics metrics = new Metrics();

    /** The config file location, if set. */
    public String getConfig() {
        return config;
    }

    /** Sets the config file location. */
    public void setConfig(String config) {
        this.config = config;
    }

    /** The model list. */
    public List<Model> getModelList() {
        return modelList;
    }

    /** Sets the model list. */
    public void setModelList(List<Model> modelList) {
        this.modelList = modelList;
    }

    /** The router settings. */
    public Map<String, Object> getRouterSettings() {
        return routerSettings;
    }

    /** Sets the router settings. */
    public void setRouterSettings(Map<String, Object> routerSettings) {
        this.routerSettings = routerSettings;
    }

    /** The LiteLLM settings. */
    public Map<String, Object> getLitellmSettings() {
        return litellmSettings;
    }

    /** Sets the LiteLLM settings. */
    public void setLitellmSettings(Map<String, Object> litellmSettings) {
        this.litellmSettings = litellmSettings;
    }

    /** The metrics settings. */
    public Metrics getMetrics() {
        return metrics;
    }

    /** One entry of {@code model_list}: a deployment of a model group. */
    public static class Model {

        /** The name clients ask for (model_name); several entries with one name form a group. */
        private String modelName;

        /**
         * The deployment (litellm_params): model (provider/model), api-key, api-base, api-version, timeout,
         * max-retries, rpm, tpm, weight, order, max-parallel-requests, stream-timeout, drop-params, and the
         * provider's own settings.
         */
        private Map<String, Object> litellmParams = new LinkedHashMap<>();

        /** Its model_info: id, base-model and price overrides (input-cost-per-token, ...). */
        private Map<String, Object> modelInfo = new LinkedHashMap<>();

        /** The model group name. */
        public String getModelName() {
            return modelName;
        }

        /** Sets the model group name. */
        public void setModelName(String modelName) {
            this.modelName = modelName;
        }

        /** The deployment's parameters. */
        public Map<String, Object> getLitellmParams() {
            return litellmParams;
        }

        /** Sets the deployment's parameters. */
        public void setLitellmParams(Map<String, Object> litellmParams) {
            this.litellmParams = litellmParams;
        }

        /** The deployment's model info. */
        public Map<String, Object> getModelInfo() {
            return modelInfo;
        }

        /** Sets the deployment's model info. */
        public void setModelInfo(Map<String, Object> modelInfo) {
            this.modelInfo = modelInfo;
        }
    }

    /** Metrics settings. */
    public static class Metrics {

        /** Whether edits are counted into the application's MeterRegistry (when it has one). */
        private boolean enabled = true;

        /** Whether edits are counted into the application's registry. */
        public boolean isEnabled() {
            return enabled;
        }

        /** Sets whether edits are counted. */
        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }
    }
}
