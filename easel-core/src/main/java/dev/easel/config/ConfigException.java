package dev.easel.config;

import dev.easel.EaselException;

/**
 * The configuration file cannot be used: it cannot be read, is not valid YAML, or holds an invalid
 * value. The message starts with the file name and the YAML path, e.g.
 * {@code config.yaml: router_settings.num_retries: expected an integer (was 'abc')}. Its
 * {@link #type()} is {@code config_error}. Messages never contain secret values.
 */
public final class ConfigException extends EaselException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with type {@code config_error}. */
    public ConfigException(String message) {
        super(message, "config_error");
    }

    /** Creates the exception with type {@code config_error} and the underlying cause. */
    public ConfigException(String message, Throwable cause) {
        super(message, 0, "config_error", null, null, null, null, cause);
    }
}
