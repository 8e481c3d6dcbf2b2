package dev.easel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.callback.EditLogRecord;
import dev.easel.catalog.ModelCatalog;
import dev.easel.config.ConfigLoader;
import dev.easel.image.TestImages;
import dev.easel.provider.EditCall;
import dev.easel.provider.EditParams;
import dev.easel.provider.ImageEditProvider;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * Adaptation in the pipeline, once for every adapter: the adapter sees the size mapped to what its model takes,
 * the mask in its convention, at most its images per call (n fanned out, retries asking only for what is missing),
 * and parameters or masks its model does not take refused or, with drop_params, dropped.
 */
class AdaptationTest {

    static final String CATALOG = """
            {"models": [
              {"id": "aspect", "provider": "rec", "input_formats": ["png"], "max_image_bytes": 1000000,
               "max_images": 4, "mask": {"supported": false}, "prompt_max_length": 1000, "n": {"min": 1, "max": 10},
               "images_per_call": 1,
               "sizes": {"type": "aspect_ratios", "ratios": ["1:1", "2:3", "3:2", "16:9", "9:16"],
                         "tiers": {"1K": 1024, "2K": 2048, "4K": 4096}},
               "params": {"quality": {"values": ["low", "medium", "high", "auto"]}},
               "streaming": false},
              {"id": "inpaint", "provider": "rec", "input_formats": ["png"], "max_image_bytes": 1000000,
               "max_images": 1, "mask": {"supported": true, "max_bytes": 1000000, "png_only": true,
               "alpha_required": true, "same_dimensions": true, "convention": "white_on_black"},
               "prompt_max_length": 1000, "n": {"min": 1, "max": 1}, "images_per_call": 1,
               "sizes": {"type": "any"}, "streaming": false},
              {"id": "priced", "provider": "rec", "input_formats": ["png"], "max_image_bytes": 1000000,
               "max_images": 1, "mask": {"supported": false}, "prompt_max_length": 1000, "n": {"min": 1, "max": 8},
               "images_per_call": 2, "sizes": {"type": "fixed", "sizes": ["1024x1024"], "auto": false},
               "params": {"quality": {"values": ["medium"]}}, "streaming": false,
               "pricing": {"per_image": {"medium|1024x1024": 0.04}, "source": "test"}}
            ]}""";

    static final ModelCatalog MODELS = ModelCatalog.fromJson(new ByteArrayInputStream(
            CATALOG.getBytes(StandardCharsets.UTF_8)));
    static final byte[] PNG = TestImages.png(16, 16, false);

    /** Records every call; answers each with {@code n} images unless a scripted failure comes first. */
    static final class Rec implements ImageEditProvider {
        final List<EditCall> calls = new CopyOnWriteArrayList<>();
        final ConcurrentLinkedQueue<EaselException> failures = new ConcurrentLinkedQueue<>();

        @Override
        public String name() {
            return "rec";
        }

        @Override
        public ImageResponse edit(EditCall call) {
            calls.add(call);
            EaselException f = failures.poll();
            if (f != null) {
                throw f;
            }
            ImageResponse.Builder b = ImageResponse.builder().provider("rec").model(call.deployment().model())
                    .created(1).size("1024x1024").quality("medium");
            for (int i = 0; i < call.params().n().orElse(1); i++) {
                b.addData(ImageData.ofBase64(Base64.getEncoder().encodeToString(PNG)));
            }
            return b.build();
        }

        @Override
        public ImageEditStream editStream(EditCall call) {
            throw new UnsupportedOperationException();
        }
    }

    final Rec rec = new Rec();
    final List<EditLogRecord> records = Collections.synchronizedList(new ArrayList<>());

    Easel easel(boolean dropParams) {
        return Easel.builder().catalog(MODELS).provider(rec).dropParams(dropParams).maxRetries(2)
                .sleeper(d -> { }).recordSink(records::add).build();
    }

    static ImageEditRequest.Builder request(String model) {
        return ImageEditRequest.builder().model(model).prompt("p").image(PNG);
    }

    static ServiceUnavailableException unavailable() {
        return new ServiceUnavailableException("busy", 503, "api_error", "service_unavailable", null, "rec", null, null);
    }

    @Test
    void size_isMappedToTheNearestRatioAndTier_autoIsLeftToTheProvider() {
        Easel e = easel(false);
        ImageResponse r = e.imageEdit(request("rec/aspect").size("1536x1024").build());
        e.imageEdit(request("rec/aspect").size("auto").build());

        assertThat(rec.calls.get(0).params().size()).contains(new EditParams.Size.Aspect("3:2", Optional.of("2K")));
        assertThat(rec.calls.get(1).params().size()).isEmpty();
        assertThat(r.warnings()).contains("size 1536x1024 sent to model 'aspect' as 3:2@2K");
    }

    @Test
    void nAboveImagesPerCall_fansOutIntoParallelCallsOfOne_andTheImagesComeBackTogether() {
        ImageResponse r = easel(false).imageEdit(request("rec/aspect").n(3).build());

        assertThat(rec.calls).hasSize(3).allSatisfy(c -> assertThat(c.params().n()).hasValue(1));
        assertThat(r.data()).hasSize(3);
        assertThat(r.warnings()).contains("n=3 made in 3 calls (model 'aspect' makes at most 1 per call)");
    }

    @Test
    void fanOut_oneCallFailsOnce_theRetryAsksOnlyForTheMissingImages_andEveryImageIsPaidOnce() {
        rec.failures.add(unavailable());
        ImageResponse r = easel(false).imageEdit(request("rec/priced").n(5).size("1024x1024").quality("medium")
                .build());

        // 5 images in calls of at most 2: [2, 2, 1]; one of them failed and only its images were asked again
        assertThat(rec.calls).hasSize(4);
        assertThat(r.data()).hasSize(5);
        assertThat(r.cost()).contains(new BigDecimal("0.20"));
        assertThat(records).singleElement().satisfies(rr -> assertThat(rr.cost()).isEqualByComparingTo("0.20"));
    }

    @Test
    void fanOut_aCallFailsForGood_theRequestFails_andTheDeliveredCallsAreStillBilled() {
        rec.failures.add(new BadRequestException("no", 400, "invalid_request_error", "bad", null, "rec", null,
                null));
        assertThatThrownBy(() -> easel(false).imageEdit(request("rec/priced").n(4).size("1024x1024")
                .quality("medium").build())).isInstanceOf(BadRequestException.class);

        assertThat(rec.calls).hasSize(2);
        assertThat(records).singleElement().satisfies(rr -> {
            assertThat(rr.success()).isFalse();
            assertThat(rr.cost()).isEqualByComparingTo("0.08"); // the call that made two images
        });
    }

    @Test
    void mask_isConvertedToTheModelsConvention_onceForRetries() throws Exception {
        rec.failures.add(unavailable());
        easel(false).imageEdit(request("rec/inpaint").mask(TestImages.maskWithHole(16, 16)).build());

        assertThat(rec.calls).hasSize(2);
        EditCall first = rec.calls.get(0);
        assertThat(rec.calls.get(1).maskOrNull()).isSameAs(first.maskOrNull());
        BufferedImage m;
        try (InputStream in = first.maskOrNull().blob().open()) {
            m = ImageIO.read(in);
        }
        assertThat(m.getType()).isEqualTo(BufferedImage.TYPE_BYTE_GRAY);
        assertThat(m.getRaster().getSample(8, 8, 0)).isEqualTo(255); // the hole: edited
        assertThat(m.getRaster().getSample(0, 0, 0)).isEqualTo(0);
    }

    @Test
    void maskToAModelThatTakesNone_is400NamingParameterAndModel_unlessDropParams() {
        assertThatThrownBy(() -> easel(false).imageEdit(request("rec/aspect").mask(TestImages.maskWithHole(16, 16))
                .build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).contains("mask"))
                .hasMessage("The model 'aspect' does not support the 'mask' parameter.");
        assertThat(rec.calls).isEmpty();

        ImageResponse r = easel(true).imageEdit(request("rec/aspect").mask(TestImages.maskWithHole(16, 16)).build());
        assertThat(rec.calls).singleElement().satisfies(c -> assertThat(c.maskOrNull()).isNull());
        assertThat(r.warnings()).contains("dropped 'mask': model 'aspect' takes no mask");
        assertThat(records.get(records.size() - 1).warnings()).contains("dropped 'mask': model 'aspect' takes no mask");
    }

    @Test
    void dropParams_perDeployment_winsOverTheGlobalSetting() {
        String yaml = """
                model_list:
                  - model_name: strict
                    litellm_params: {model: rec/priced}
                  - model_name: lenient
                    litellm_params: {model: rec/priced, drop_params: true}
                litellm_settings: {drop_params: false}
                """;
        Easel e = Easel.builder().config(ConfigLoader.parse(yaml, Map.of(), "test.yaml")).catalog(MODELS)
                .provider(rec).build();

        assertThatThrownBy(() -> e.imageEdit(request("strict").background("opaque").build()))
                .isInstanceOfSatisfying(BadRequestException.class, x -> assertThat(x.param()).contains("background"))
                .hasMessage("The model 'priced' does not support the 'background' parameter.");
        ImageResponse r = e.imageEdit(request("lenient").background("opaque").build());
        assertThat(rec.calls).singleElement().satisfies(c -> assertThat(c.params().background()).isEmpty());
        assertThat(r.warnings()).contains("dropped 'background': model 'priced' does not support it");
    }
}
