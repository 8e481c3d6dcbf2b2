package dev.easel.routing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The in-process state passes the {@link RouterStateContract}. */
class InMemoryRouterStateTest extends RouterStateContract {

    @Override
    protected RouterState newState() {
        return new InMemoryRouterState();
    }

    @Test
    void recheckInterval_isEmpty_everySlotIsFreedInThisProcess() {
        assertThat(state().recheckInterval()).isEmpty();
    }
}
