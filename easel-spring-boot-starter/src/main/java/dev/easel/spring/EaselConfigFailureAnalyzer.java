package dev.easel.spring;

import dev.easel.config.ConfigException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Turns a bad Easel config at start-up into Boot's "APPLICATION FAILED TO START" report: what is wrong, naming the
 * property or the file and YAML path, and what to do.
 */
final class EaselConfigFailureAnalyzer extends AbstractFailureAnalyzer<ConfigException> {

    @Override
    protected FailureAnalysis analyze(Throwable root, ConfigException cause) {
        String message = cause.getMessage();
        String action = message.startsWith("easel.config")
                ? "Set easel.config to a LiteLLM config file that exists (a file path, or classpath:...), "
                + "or configure Easel with easel.* properties instead."
                : message.startsWith("easel.")
                ? "Fix the property named above. Each easel.* property is the LiteLLM config key of the same name in "
                + "kebab-case (easel.model-list[0].litellm-params.api-base is model_list[0].litellm_params.api_base)."
                : "Fix the config file named above (easel.config) at the YAML path given.";
        return new FailureAnalysis("The Easel configuration is invalid: " + message, action, cause);
    }
}
