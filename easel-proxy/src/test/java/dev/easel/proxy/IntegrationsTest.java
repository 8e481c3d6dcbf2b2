package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.callback.EaselListener;
import dev.easel.callback.RequestEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IntegrationsTest {

    @Test
    void both_oneIntegrationNamedAsTheFirst_aThrowingHalfStillLetsTheOtherHear_andTheFailureIsPassedOn() {
        List<String> heard = new ArrayList<>();
        EaselListener broken = new EaselListener() {
            @Override
            public String name() {
                return "prometheus";
            }

            @Override
            public void onRequest(RequestEvent e) {
                throw new IllegalStateException("broken meter");
            }
        };
        EaselListener other = new EaselListener() {
            @Override
            public void onRequest(RequestEvent e) {
                heard.add(e.requestId());
            }
        };
        EaselListener both = Integrations.both(broken, other);

        assertThat(both.name()).isEqualTo("prometheus");
        assertThatThrownBy(() -> both.onRequest(new RequestEvent("req_1", Instant.EPOCH, "m", null, "proxy", null,
                Map.of(), "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", null)))
                .isInstanceOf(IllegalStateException.class).hasMessage("broken meter");
        assertThat(heard).containsExactly("req_1");
    }
}
