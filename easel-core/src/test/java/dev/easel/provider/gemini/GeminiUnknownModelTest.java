package dev.easel.provider.gemini;

import static dev.easel.provider.gemini.GeminiFixture.KEY;
import static dev.easel.provider.gemini.GeminiFixture.body;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.easel.BadRequestException;
import dev.easel.ImageResponse;
import dev.easel.catalog.ModelCatalog;
import dev.easel.http.HttpTransport;
import dev.easel.image.ImageInspector;
import dev.easel.image.TestImages;
import dev.easel.internal.Blob;
import dev.easel.provider.Deployment;
import dev.easel.provider.EditCall;
import dev.easel.provider.EditParams;
import dev.easel.provider.ImagePart;
import dev.easel.provider.JobRunner;
import dev.easel.provider.ProviderContext;
import dev.easel.provider.ResponseMemory;
import dev.easel.provider.ResultDownloader;
import dev.easel.testkit.RecordedRequest;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A Gemini model the catalogue does not know gets permissive rules (any {@code WxH}, a mask, {@code n} up to 10,
 * streaming, every parameter): the adapter itself then maps what the Gemini API can take and says what it cannot.
 * Called directly with such a call, against the fake (which serves the GA ids; the call names one of them under the
 * permissive stand-in's rules).
 */
class GeminiUnknownModelTest {

    final GeminiFixture gemini = new GeminiFixture();
    final HttpTransport transport = new HttpTransport();
    final ResultDownloader downloader = ResultDownloader.guarded(transport);
    final GeminiProvider provider = new GeminiProvider(new ProviderContext(transport, Clock.systemUTC(), d -> { },
            new JobRunner(Clock.systemUTC(), d -> { }, downloader), downloader, ResponseMemory.shared()));

    @AfterEach
    void stop() {
        gemini.close();
    }

    EditCall call(EditParams params, ImagePart mask) {
        String model = GeminiProviderTest.FLASH;
        Deployment d = new Deployment("gemini", model, KEY, URI.create(gemini.fake.baseUrl()), null, null, Map.of());
        byte[] png = TestImages.png(64, 64, false);
        ImagePart image = new ImagePart(Blob.ofBytes(png), ImageInspector.inspect(Blob.ofBytes(png)), "a.png");
        return new EditCall(d, ModelCatalog.permissive(model, "gemini"), "add a red hat", List.of(image), mask, params,
                false, Map.of(), Duration.ofSeconds(20));
    }

    @Test
    void pixels_areMappedToGeminiRatiosAndTiers_nFansOut_otherOpenAiParametersAreWarnedAbout() {
        EditParams params = EditParams.builder().n(2).size(new EditParams.Size.Pixels(1536, 1024))
                .quality(EditParams.Quality.HIGH).outputFormat(EditParams.OutputFormat.JPEG)
                .extra("safetySettings", JsonNodeFactory.instance.arrayNode().add(JsonNodeFactory.instance.objectNode()
                        .put("category", "HARM_CATEGORY_HATE_SPEECH").put("threshold", "BLOCK_NONE"))).build();

        ImageResponse r = provider.edit(call(params, null));

        assertThat(r.data()).hasSize(2);
        assertThat(gemini.fake.requestCount()).isEqualTo(2);
        for (RecordedRequest up : gemini.fake.requests()) {
            var body = body(up);
            assertThat(body.path("generationConfig").path("imageConfig").toString())
                    .isEqualTo("{\"aspectRatio\":\"3:2\",\"imageSize\":\"2K\"}");
            assertThat(body.path("safetySettings").path(0).path("threshold").asText()).as("a field of Gemini's own")
                    .isEqualTo("BLOCK_NONE");
            assertThat(up.bodyText()).doesNotContain("\"quality\"").doesNotContain("jpeg");
        }
        assertThat(r.warnings()).contains("'quality' not sent: the Gemini API has no such parameter",
                "'output_format' not sent: the Gemini API has no such parameter");
        assertThat(r.usage().orElseThrow().outputImageTokens()).isEqualTo(2 * 1680);
    }

    @Test
    void mask_andStream_areRefused_nothingSent() {
        byte[] m = TestImages.maskWithHole(64, 64);
        ImagePart mask = new ImagePart(Blob.ofBytes(m), ImageInspector.inspect(Blob.ofBytes(m)), "mask.png");

        assertThatThrownBy(() -> provider.edit(call(EditParams.NONE, mask)))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("The model 'gemini-3.1-flash-image' does not support the 'mask' parameter.");
        assertThatThrownBy(() -> provider.editStream(call(EditParams.NONE, null)))
                .isInstanceOf(BadRequestException.class)
                .hasMessage("The model 'gemini-3.1-flash-image' does not support the 'stream' parameter.");
        assertThat(gemini.fake.requestCount()).isZero();
    }
}
