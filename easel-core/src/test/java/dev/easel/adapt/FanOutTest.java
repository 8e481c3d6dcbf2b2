package dev.easel.adapt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.ImageData;
import dev.easel.ImageResponse;
import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

class FanOutTest {

    private static ImageResponse oneImage(String charge) {
        ImageResponse.Builder b = ImageResponse.builder().addData(ImageData.ofBase64("aGk="));
        return (charge == null ? b : b.providerCost(new BigDecimal(charge))).build();
    }

    @Test
    void combined_addsUpTheProviderChargesOfEveryCall() {
        FanOut fan = new FanOut(3);
        fan.run(1, count -> new FanOut.Part(oneImage("0.04"), new BigDecimal("0.04"), "d1"));

        ImageResponse all = fan.combined();

        assertThat(all.data()).hasSize(3);
        assertThat(all.providerCost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.12"));
        assertThat(fan.cost()).isEqualByComparingTo("0.12");
    }

    @Test
    void combined_hasNoChargeWhenOneCallReportedNone() {
        FanOut fan = new FanOut(2);
        java.util.concurrent.atomic.AtomicInteger i = new java.util.concurrent.atomic.AtomicInteger();
        fan.run(1, count -> new FanOut.Part(oneImage(i.getAndIncrement() == 0 ? "0.04" : null), null, "d1"));

        assertThat(fan.combined().providerCost()).isEmpty();
    }
}
