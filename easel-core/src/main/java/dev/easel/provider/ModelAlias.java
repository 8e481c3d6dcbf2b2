package dev.easel.provider;

import java.util.Objects;

/**
 * A model name a provider serves as another of its models: LiteLLM's default for a name it does not recognise
 * (a {@code stability/} name that is no edit operation goes to inpaint). Easel does the same, and says so: the
 * config load warns, and a request naming it carries the warning.
 *
 * @param model  the provider's model it is served as ({@code inpaint})
 * @param reason why, for the warning
 */
public record ModelAlias(String model, String reason) {

    public ModelAlias {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(reason, "reason");
    }
}
