package dev.easel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.catalog.ModelCatalog;
import dev.easel.config.ModelInfo;
import dev.easel.cost.CostCalculator;
import dev.easel.cost.CostInput;
import dev.easel.cost.PriceOverrides;
import dev.easel.image.TestImages;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import java.math.BigDecimal;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link ImageResponse#cost()} through the SDK against the testkit's fake OpenAI: the exact token arithmetic
 * for a priced model, empty (never 0) for a model without prices, and what the offline mock provider gets.
 */
class CostOnResponseTest {

    static final byte[] PNG = TestImages.png(64, 64, false);
    static FakeOpenAi fake;
    static Easel easel;

    @BeforeAll
    static void start() {
        fake = FakeOpenAi.builder().apiKey("sk-cost").start();
        easel = Easel.builder().apiKey("sk-cost").apiBase(fake.baseUrl()).build();
    }

    @AfterAll
    static void stop() {
        fake.close();
    }

    @BeforeEach
    void reset() {
        fake.reset();
    }

    private static ImageEditRequest.Builder edit(String model) {
        return ImageEditRequest.builder().model(model).image(PNG).prompt("add a hat");
    }

    @Test
    void imageEdit_gptImage1_costIsTheObservedTokenArithmetic() {
        ImageResponse r = easel.imageEdit(edit("gpt-image-1").build());

        // the fake's usage: 50 text + 194 image input tokens, 1056 output tokens
        assertThat(r.usage()).contains(Usage.of(50, 194, 1056));
        assertThat(r.cost()).isPresent();
        // 50 x $5/M + 194 x $10/M + 1056 x $40/M
        assertThat(r.cost().get()).isEqualByComparingTo("0.04443");
        assertThat(r.cost().get().toPlainString()).isEqualTo("0.04443");
        assertThat(fake.requestCount()).isEqualTo(1);
        assertThat(fake.takeRequest().textField("model")).contains("gpt-image-1");
    }

    @Test
    void imageEdit_sameUsageTwoImages_costIsTheUsageNotTimesN() {
        // usage already counts every returned image: n must not multiply it again
        ImageResponse r = easel.imageEdit(edit("gpt-image-1").n(2).build());

        assertThat(r.data()).hasSize(2);
        assertThat(r.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.04443"));
    }

    @Test
    void imageEdit_gptImage15WithTextOutputTokens_billsTextOutputAtItsOwnRate() {
        fake.enqueue(FakeResponse.json(200, """
                {"created": 1760000000, "data": [{"b64_json": "%s"}], "size": "1024x1024", "quality": "high",
                 "output_format": "png", "background": "opaque",
                 "usage": {"input_tokens": 12, "input_tokens_details": {"text_tokens": 12, "image_tokens": 0},
                           "output_tokens": 4501,
                           "output_tokens_details": {"image_tokens": 4160, "text_tokens": 341},
                           "total_tokens": 4513}}
                """.formatted(Base64.getEncoder().encodeToString(PNG))));

        ImageResponse r = easel.imageEdit(edit("gpt-image-1.5").build());

        // 12 x $5/M + 4160 x $32/M + 341 x $10/M
        assertThat(r.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.13659"));
    }

    @Test
    void imageEdit_unpricedModel_costIsEmptyNotZero() {
        ImageResponse r = easel.imageEdit(edit("openai/some-unknown-model").build());

        assertThat(r.usage()).isPresent(); // the fake reported usage, but nobody knows the rates
        assertThat(r.cost()).isEmpty();
        assertThat(fake.takeRequest().textField("model")).contains("some-unknown-model");
    }

    @Test
    void imageEdit_mockEdit_isUnpriced() {
        // mock/edit has a permissive spec without prices: its usage is gpt-image-1-like, its cost unknown
        ImageResponse r = Easel.builder().build().imageEdit(edit("mock/edit").build());

        assertThat(r.usage()).isPresent();
        assertThat(r.cost()).isEmpty();
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void imageEdit_mockNamingACatalogueModel_isPricedAsThatModelFromItsUsage() {
        ImageResponse r = Easel.builder().build().imageEdit(edit("mock/gpt-image-1").quality("low").build());

        var spec = CostCalculator.pricedAs(ModelCatalog.bundled(), "gpt-image-1", ModelInfo.empty());
        BigDecimal expected = CostCalculator.standard().cost(spec, PriceOverrides.none(), CostInput.of(r))
                .total().orElseThrow();
        assertThat(r.usage()).isPresent();
        assertThat(r.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo(expected));
        // low 1024x1024 = 272 output tokens at $40/M, plus the input tokens
        Usage u = r.usage().orElseThrow();
        assertThat(u.outputTokens()).isEqualTo(272);
        BigDecimal byHand = new BigDecimal(u.inputTextTokens()).multiply(new BigDecimal("0.000005"))
                .add(new BigDecimal(u.inputImageTokens()).multiply(new BigDecimal("0.00001")))
                .add(new BigDecimal(272).multiply(new BigDecimal("0.00004")));
        assertThat(r.cost().get()).isEqualByComparingTo(byHand);
        assertThat(fake.requestCount()).isZero();
    }
}
