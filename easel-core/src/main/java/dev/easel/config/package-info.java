/**
 * Loads LiteLLM's proxy {@code config.yaml} ({@code model_list}, {@code router_settings},
 * {@code litellm_settings}, {@code general_settings}, {@code environment_variables}, {@code os.environ/NAME})
 * into immutable records: start at {@link dev.easel.config.ConfigLoader}. Keys and defaults are described in
 * {@code docs/config.md}.
 */
package dev.easel.config;
