package dev.easel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.config.ConfigLoader;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** An SDK client does not share router state through a Redis its config names unless given a shared state: it says so. */
class EaselRedisWarningTest {

    private static final String MODEL = "model_list: [{model_name: m, litellm_params: {model: mock/m}}]\n";

    @Test
    void configNamingARedis_clientWithItsOwnState_warnsOnce() {
        try (Easel easel = Easel.builder().config(ConfigLoader.parse(MODEL + "router_settings: {redis_host: r}\n",
                Map.of(), "t.yaml")).build()) {
            assertThat(easel.warnings()).containsExactly("router_settings.redis_host: not acted on by this client "
                    + "(ignored): its router state is kept in this process; pass a shared one (easel-redis) to "
                    + "Easel.builder().routerState(...)");
        }
        try (Easel easel = Easel.builder().config(ConfigLoader.parse(MODEL
                + "router_settings: {redis_url: 'redis://:pw@r:6379'}\n", Map.of(), "t.yaml")).build()) {
            assertThat(easel.warnings()).singleElement().asString().startsWith("router_settings.redis_url: not acted on")
                    .doesNotContain("pw");
        }
    }

    @Test
    void configWithoutRedis_noWarning() {
        try (Easel easel = Easel.builder().config(ConfigLoader.parse(MODEL, Map.of(), "t.yaml")).build()) {
            assertThat(easel.warnings()).isEmpty();
        }
    }
}
