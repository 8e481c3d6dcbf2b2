package dev.easel.engine;

import dev.easel.DeploymentStatus;
import dev.easel.catalog.ModelSpec;
import dev.easel.config.ModelEntry;
import dev.easel.cost.CostCalculator;
import java.util.Objects;

/**
 * A config deployment as the engine serves it, for a gateway's model-info answers: its id and availability, its
 * {@code model_list} entry as written (credentials included: a gateway strips them before showing anything), the
 * model rules it is validated against (its {@code base_model}, else its model) and the prices its edits are charged
 * at.
 *
 * @param status its id, group, provider and whether it can be called
 * @param entry  its {@code model_list} entry
 * @param spec   the catalogue model it is validated and priced as
 * @param rates  the prices its edits are charged at ({@link CostCalculator#rates})
 */
public record DeploymentInfo(DeploymentStatus status, ModelEntry entry, ModelSpec spec, CostCalculator.Rates rates) {

    /** Checks that nothing is null. */
    public DeploymentInfo {
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(entry, "entry");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(rates, "rates");
    }
}
