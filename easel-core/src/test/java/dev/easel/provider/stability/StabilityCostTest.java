package dev.easel.provider.stability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.ContentPolicyViolationException;
import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import dev.easel.callback.EditLogRecord;
import dev.easel.config.ConfigLoader;
import dev.easel.image.TestImages;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.FakeStability;
import dev.easel.testkit.RecordedRequest;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a Stability edit costs (credits per successful call, 1 credit = $0.01: inpaint, erase, search and replace,
 * search and recolor, remove background 5; outpaint 4), with the worked figures of docs/providers/stability.md;
 * {@code n} fanned out into one call per image; a filtered result unbilled and sent to the content policy
 * fallback; a fallback from OpenAI with a size Stability cannot honour.
 */
class StabilityCostTest {

    private final FakeStability fake = FakeStability.builder().apiKey(StabilityProviderTest.KEY).start();
    private final List<EditLogRecord> records = Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void stop() {
        fake.close();
    }

    private Easel easel(String extraYaml) {
        String yaml = """
                model_list:
                  - model_name: inpaint
                    litellm_params: {model: stability/inpaint, api_base: %1$s, api_key: %2$s}
                  - model_name: outpaint
                    litellm_params: {model: stability/outpaint, api_base: %1$s, api_key: %2$s}
                  - model_name: erase
                    litellm_params: {model: stability/erase, api_base: %1$s, api_key: %2$s}
                  - model_name: backup
                    litellm_params: {model: mock/gpt-image-1}
                router_settings:
                  num_retries: 0
                """.formatted(fake.baseUrl(), StabilityProviderTest.KEY) + extraYaml;
        return Easel.builder().config(ConfigLoader.parse(yaml, Map.of(), "stability.yaml")).sleeper(d -> { })
                .recordSink(records::add).build();
    }

    private static ImageEditRequest.Builder request(String group) {
        return ImageEditRequest.builder().model(group).prompt("a red door").image(TestImages.png(64, 64, true));
    }

    @Test
    void oneInpaint_costsFiveCredits_oneOutpaintFour() {
        Easel e = easel("");
        assertThat(e.imageEdit(request("inpaint").build()).cost()).contains(new BigDecimal("0.05"));
        ImageResponse out = e.imageEdit(request("outpaint").extraBody(Map.of("left", 64)).build());
        assertThat(out.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.04"));
        assertThat(records).extracting(r -> r.costUsd().orElseThrow().stripTrailingZeros().toPlainString())
                .containsExactly("0.05", "0.04");
    }

    @Test
    void nOfThree_isThreeCallsOfOneImage_andCostsThreeTimesFiveCredits() {
        ImageResponse r = easel("").imageEdit(request("inpaint").n(3).build());

        assertThat(r.data()).hasSize(3);
        assertThat(fake.requests()).hasSize(3).allSatisfy(req -> {
            assertThat(req.path()).isEqualTo("/v2beta/stable-image/edit/inpaint");
            assertThat(req.fieldNames()).doesNotContain("n");
        });
        assertThat(r.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.15"));
        assertThat(r.warnings()).contains("n=3 made in 3 calls (model 'inpaint' makes at most 1 per call)");
    }

    @Test
    void filteredResult_isNotBilled_butTheDeliveredImageOfTheSameRequestIs() {
        Easel e = easel("");
        fake.enqueue(FakeStability.contentFiltered());
        assertThatThrownBy(() -> e.imageEdit(request("erase").build()))
                .isInstanceOf(ContentPolicyViolationException.class);
        assertThat(records).singleElement().satisfies(r -> assertThat(r.costUsd().map(BigDecimal::signum)
                .orElse(0)).isZero());

        records.clear();
        fake.enqueue(FakeStability.contentFiltered()); // one of the two calls of n=2 is filtered, the other delivered
        assertThatThrownBy(() -> e.imageEdit(request("erase").n(2).build()))
                .isInstanceOfSatisfying(ContentPolicyViolationException.class,
                        ex -> assertThat(ex.code()).contains("moderation_blocked"));
        assertThat(fake.requests()).hasSize(3);
        assertThat(records).singleElement().satisfies(r ->
                assertThat(r.costUsd()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.05")));
    }

    @Test
    void filteredResult_goesToTheContentPolicyFallback_ofAnotherProvider() {
        Easel e = easel("  content_policy_fallbacks: [{inpaint: [backup]}]\n");
        fake.enqueue(FakeStability.contentFiltered());

        ImageResponse r = e.imageEdit(request("inpaint").build());

        assertThat(r.provider()).contains("mock");
        assertThat(fake.requestCount()).isEqualTo(1);
        assertThat(records).singleElement().satisfies(rec -> assertThat(rec.fallbacks()).isEqualTo(1));
    }

    @Test
    void fallbackFromOpenAi_dropsTheSizeStabilityCannotHonour_andSaysSo() {
        try (FakeOpenAi openai = FakeOpenAi.builder().apiKey("sk-openai-000000000").start()) {
            openai.enqueue(FakeResponse.serverError());
            Easel withOpenAi = Easel.builder().config(ConfigLoader.parse("""
                    model_list:
                      - model_name: edit
                        litellm_params: {model: openai/gpt-image-1.5, api_base: %s, api_key: sk-openai-000000000}
                      - model_name: inpaint
                        litellm_params: {model: stability/inpaint, api_base: %s, api_key: %s}
                    router_settings: {num_retries: 0, fallbacks: [{edit: [inpaint]}]}
                    """.formatted(openai.baseUrl(), fake.baseUrl(), StabilityProviderTest.KEY), Map.of(), "f.yaml"))
                    .sleeper(d -> { }).build();

            ImageResponse r = withOpenAi.imageEdit(request("edit").size("1024x1536").quality("high").build());

            assertThat(r.provider()).contains("stability");
            RecordedRequest sent = fake.takeRequest();
            assertThat(sent.fieldNames()).containsExactly("prompt", "image");
            assertThat(r.warnings()).contains(
                    "dropped 'size': the output of model 'inpaint' takes its size from the input image",
                    "dropped 'quality': model 'inpaint' does not support it");
            assertThat(r.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.05"));
        }
    }
}
