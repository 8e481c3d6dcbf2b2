package dev.easel.provider.stability;

import java.util.Arrays;
import dev.easel.provider.ModelAlias;
import java.util.Optional;

/**
 * The Stability edit operations Easel serves, one per model ({@code stability/inpaint}, …): the path each is posted
 * to and whether it reads a prompt. What each takes besides (mask, fields, ranges) is in the catalogue.
 */
enum Operation {
    INPAINT("inpaint", true),
    ERASE("erase", false),
    OUTPAINT("outpaint", true),
    SEARCH_AND_REPLACE("search-and-replace", true),
    SEARCH_AND_RECOLOR("search-and-recolor", true),
    REMOVE_BACKGROUND("remove-background", false);

    /**
     * Names LiteLLM maps to Stability endpoints that Easel does not serve, each with what it is: a model string
     * naming one is refused with that reason rather than sent to inpaint, LiteLLM's default for any other name.
     */
    private static final java.util.Map<String, String> NOT_SERVED = java.util.Map.of(
            "replace-background-and-relight", "asynchronous edit (subject_image, background_prompt), which Easel "
                    + "does not serve yet",
            "fast", "upscale/fast endpoint, not an edit",
            "conservative", "upscale/conservative endpoint, not an edit",
            "creative", "asynchronous upscale/creative endpoint, not an edit",
            "sketch", "control/sketch endpoint, not an edit",
            "structure", "control/structure endpoint, not an edit",
            "style", "control/style endpoint, not an edit",
            "style-transfer", "control/style-transfer endpoint, not an edit");

    private final String wire;
    private final boolean takesPrompt;

    Operation(String wire, boolean takesPrompt) {
        this.wire = wire;
        this.takesPrompt = takesPrompt;
    }

    /** The operation's name in the path and in the model string. */
    String wire() {
        return wire;
    }

    /** Whether the operation reads {@code prompt} (erase and remove-background take none). */
    boolean takesPrompt() {
        return takesPrompt;
    }

    /** The operation a model string names, exactly ({@code inpaint}). */
    static Optional<Operation> of(String model) {
        return Arrays.stream(values()).filter(o -> o.wire.equals(model)).findFirst();
    }

    /** Why {@code model} cannot be served: it names another Stability service; empty for an operation or any other name. */
    static Optional<String> problem(String model) {
        if (of(model).isPresent()) {
            return Optional.empty();
        }
        String served = String.join(", ", Arrays.stream(values()).map(Operation::wire).toList());
        String what = NOT_SERVED.get(model);
        if (what != null) {
            return Optional.of("'" + model + "' is Stability's " + what + "; Easel serves the edit operations "
                    + served);
        }
        return Optional.empty(); // served as inpaint, as LiteLLM does (servedAs)
    }

    /**
     * Inpaint, for a name that is neither an edit operation nor another Stability service: LiteLLM's default for a
     * {@code stability/} name it does not recognise, so a LiteLLM config keeps working (with a warning).
     */
    static Optional<ModelAlias> servedAs(String model) {
        if (of(model).isPresent() || NOT_SERVED.containsKey(model)) {
            return Optional.empty();
        }
        String served = String.join(", ", Arrays.stream(values()).map(Operation::wire).toList());
        return Optional.of(new ModelAlias(INPAINT.wire(), "'" + model + "' is not a Stability edit operation (Easel "
                + "serves " + served + "); served as inpaint, as LiteLLM does; write 'stability/inpaint' to say so"));
    }
}
