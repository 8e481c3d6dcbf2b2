package dev.easel.provider.bfl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageInput;
import dev.easel.ImageResponse;
import dev.easel.callback.EditLogRecord;
import dev.easel.callback.EaselListener;
import dev.easel.config.ConfigLoader;
import dev.easel.image.TestImages;
import dev.easel.testkit.FakeBfl;
import java.math.BigDecimal;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What a BFL edit costs, with the figures of docs/providers/bfl.md: the submit answer's {@code cost} (credits of
 * $0.01) is the charge, and the catalogue's table prices an answer that has none — flat per image for Kontext,
 * Fill and Expand, first/extra/input megapixels (2^20 pixels, rounded up) for FLUX.2.
 */
class BflCostTest {

    static final String KEY = "bfl-cost-0123456789";

    /** The cost of one edit of {@code images} on {@code model}, against a fake that does or does not report it. */
    static ImageResponse edit(String model, boolean reported, String size, byte[]... images) {
        try (FakeBfl fake = FakeBfl.builder().apiKey(KEY).pendingPolls(0).reportsCost(reported).start()) {
            String yaml = """
                    model_list:
                      - model_name: edit
                        litellm_params: {model: black_forest_labs/%s, api_key: %s, api_base: "%s"}
                    """.formatted(model, KEY, fake.baseUrl());
            Easel easel = Easel.builder().config(ConfigLoader.parse(yaml, Map.of(), "cost.yaml")).sleeper(d -> { })
                    .build();
            ImageEditRequest.Builder r = ImageEditRequest.builder().model("edit").prompt("p")
                    .images(java.util.Arrays.stream(images).map(ImageInput::of).toArray(ImageInput[]::new));
            if (size != null) {
                r.size(size);
            }
            if (model.endsWith("-fill")) {
                r.mask(TestImages.maskWithHole(64, 64));
            }
            return easel.imageEdit(r.build());
        }
    }

    static byte[] png(int w, int h) {
        return TestImages.png(w, h, false);
    }

    @Test
    void flatModels_reportedCredits_andTheSameFromTheCatalogueWithout() {
        Map<String, String> usd = Map.of("flux-kontext-pro", "0.04", "flux-kontext-max", "0.08",
                "flux-pro-1.0-fill", "0.05", "flux-pro-1.0-expand", "0.05");
        usd.forEach((model, price) -> {
            ImageResponse reported = edit(model, true, null, png(64, 64));
            ImageResponse table = edit(model, false, null, png(64, 64));

            assertThat(reported.providerCost()).as(model).hasValueSatisfying(c -> assertThat(c)
                    .isEqualByComparingTo(price));
            assertThat(reported.cost()).as(model).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo(price));
            assertThat(table.providerCost()).as(model).isEmpty();
            assertThat(table.cost()).as(model).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo(price));
        });
    }

    @Test
    void flux2Pro_oneMegapixelInAndOut_is0_045() {
        // 3 credits for the first output MP + 1.5 for the 1 MP input: $0.045, reported and from the table alike
        for (boolean reported : new boolean[] {true, false}) {
            ImageResponse r = edit("flux-2-pro", reported, null, png(1024, 1024));

            assertThat(r.size()).contains("1024x1024");
            assertThat(r.cost()).as("reported %s", reported).hasValueSatisfying(c -> assertThat(c)
                    .isEqualByComparingTo("0.045"));
        }
    }

    @Test
    void flux2Flex_threeMegapixelsOutFromTwoInputsOfOneAndAHalf_is0_36() {
        // first MP 0.06 + 2 further output MP × 0.06 + 3 input MP × 0.06
        for (boolean reported : new boolean[] {true, false}) {
            ImageResponse r = edit("flux-2-flex", reported, "2048x1536", png(1536, 1024), png(1536, 1024));

            assertThat(r.size()).contains("2048x1536");
            assertThat(r.cost()).as("reported %s", reported).hasValueSatisfying(c -> assertThat(c)
                    .isEqualByComparingTo("0.36"));
        }
    }

    @Test
    void flux2Max_twoMegapixelsOutFromOneInput_is0_13() {
        // 0.07 + 1 further output MP × 0.03 + 1 input MP × 0.03 (the 64x64 input is 0.0039 MP: rounds to 0.00, so 0)
        ImageResponse big = edit("flux-2-max", false, "2048x1024", png(1024, 1024));
        ImageResponse tiny = edit("flux-2-max", true, "2048x1024", png(64, 64));

        assertThat(big.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.13"));
        assertThat(tiny.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.10"));
    }

    @Test
    void theSpendRecord_carriesTheCharge_andEveryPollIsReported() throws Exception {
        var records = new LinkedBlockingQueue<EditLogRecord>();
        var polls = new java.util.concurrent.CopyOnWriteArrayList<String>();
        try (FakeBfl fake = FakeBfl.builder().apiKey(KEY).pendingPolls(1).start()) {
            String yaml = """
                    model_list:
                      - model_name: edit
                        litellm_params: {model: black_forest_labs/flux-kontext-pro, api_key: %s, api_base: "%s"}
                    """.formatted(KEY, fake.baseUrl());
            Easel easel = Easel.builder().config(ConfigLoader.parse(yaml, Map.of(), "cost.yaml")).sleeper(d -> { })
                    .listener(new EaselListener() {
                        @Override
                        public void onSuccess(EditLogRecord record) {
                            records.add(record);
                        }

                        @Override
                        public void onJobPoll(dev.easel.callback.JobPollEvent event) {
                            polls.add(event.jobId() + " " + event.outcome());
                        }
                    }).build();
            easel.imageEdit(ImageEditRequest.builder().model("edit").prompt("p").image(png(64, 64)).build());
            String job = fake.jobIds().getFirst();

            EditLogRecord record = records.poll(5, TimeUnit.SECONDS);
            assertThat(record).isNotNull();
            assertThat(record.costUsd()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo(
                    new BigDecimal("0.04")));
            dev.easel.testkit.Await.until("both polls to be reported", () -> polls.size() == 2);
            assertThat(polls).containsExactly(job + " pending", job + " ready");
        }
    }
}
