package dev.easel.engine;

import dev.easel.Easel;
import dev.easel.BadRequestException;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedRequest;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which {@code apiBase} counts as a gateway, and what changes behind one: {@code response_format} is sent as
 * given (the gateway honours it), unknown names pass, known names are still checked.
 */
class GatewayRuleTest {

    private static final String KEY = "sk-gateway-rule-1234";

    @TempDir
    Path dir;
    FakeOpenAi fake;
    Path image;

    @BeforeEach
    void start() throws IOException {
        fake = FakeOpenAi.builder().apiKey(KEY).start();
        BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        image = Files.write(dir.resolve("in.png"), out.toByteArray());
    }

    @AfterEach
    void stop() {
        fake.close();
    }

    private Easel.Builder client() {
        return Easel.builder().apiKey(KEY).apiBase(fake.baseUrl()).maxRetries(0).imageDirectory(dir.resolve("local"));
    }

    private ImageEditRequest.Builder edit(String model) {
        return ImageEditRequest.builder().model(model).image(image).prompt("p");
    }

    @Test
    void isGateway_openAisOwnHost_isNot() {
        assertThat(EditPipeline.isGateway(URI.create("https://api.openai.com/v1"), null)).isFalse();
        assertThat(EditPipeline.isGateway(URI.create("https://API.OpenAI.com/v1"), null)).isFalse();
        assertThat(EditPipeline.isGateway(URI.create("https://eu.api.openai.com/v1"), null)).isFalse();
        assertThat(EditPipeline.isGateway(null, null)).isFalse();
    }

    @Test
    void isGateway_anyOtherHost_is() {
        assertThat(EditPipeline.isGateway(URI.create("http://gw:4000"), null)).isTrue();
        assertThat(EditPipeline.isGateway(URI.create("http://127.0.0.1:4000/v1"), null)).isTrue();
        assertThat(EditPipeline.isGateway(URI.create("https://api.openai.com.evil.example/v1"), null)).isTrue();
        assertThat(EditPipeline.isGateway(URI.create("https://litellm.example.com/v1"), null)).isTrue();
    }

    @Test
    void isGateway_override_wins() {
        assertThat(EditPipeline.isGateway(URI.create("http://gw:4000"), false)).isFalse();
        assertThat(EditPipeline.isGateway(URI.create("https://api.openai.com/v1"), true)).isTrue();
    }

    @Test
    void responseFormat_knownGptModelBehindGateway_isSentAndTheUrlKept() {
        String upstreamUrl = fake.baseUrl() + "/files/0123456789abcdef0123456789abcdef.png";
        fake.enqueue(FakeResponse.json(200, "{\"created\": 1, \"data\": [{\"url\": \"" + upstreamUrl + "\"}]}"));

        ImageResponse r = client().build().imageEdit(edit("gpt-image-1").responseFormat("url").build());

        assertThat(fake.takeRequest().textField("response_format")).contains("url");
        assertThat(r.data()).singleElement().satisfies(d -> assertThat(d.url()).contains(upstreamUrl));
        assertThat(dir.resolve("local")).doesNotExist();
    }

    @Test
    void responseFormat_gatewayAnswersBase64Anyway_storedLocallyAsTheCallerAsked() {
        fake.enqueue(FakeResponse.json(200, "{\"created\": 1, \"data\": [{\"b64_json\": \""
                + Base64.getEncoder().encodeToString(pngBytes()) + "\"}]}"));

        ImageResponse r = client().build().imageEdit(edit("gpt-image-1").responseFormat("url").build());

        assertThat(r.data().get(0).url()).hasValueSatisfying(u -> assertThat(u).startsWith("file:"));
    }

    @Test
    void responseFormat_gatewayOff_isHonouredLocallyAndNotSent() {
        ImageResponse r = client().gateway(false).build().imageEdit(edit("gpt-image-1").responseFormat("url").build());

        assertThat(fake.takeRequest().fieldNames()).doesNotContain("response_format");
        assertThat(r.data().get(0).url()).hasValueSatisfying(u -> assertThat(u).startsWith("file:"));
    }

    @Test
    void edit_unknownNameBehindGateway_passesThroughWithWarning() {
        ImageResponse r = client().build().imageEdit(edit("my-group").size("333x777").n(4).build());

        RecordedRequest up = fake.takeRequest();
        assertThat(up.textField("model")).contains("my-group");
        assertThat(up.textField("size")).contains("333x777");
        assertThat(r.warnings()).contains("model 'my-group' is not in easel's catalogue; passing it through with "
                + "permissive rules");
    }

    @Test
    void edit_knownNameBehindGateway_stillCheckedLocally() {
        BadRequestException e = catchThrowableOfType(BadRequestException.class,
                () -> client().build().imageEdit(edit("gpt-image-1").n(11).build()));

        assertThat(e.getMessage()).isEqualTo("n must be between 1 and 10 (was 11)");
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void cost_behindGateway_isWhatTheGatewayReported() {
        String b64 = Base64.getEncoder().encodeToString(pngBytes());
        fake.enqueue(FakeResponse.json(200, "{\"created\": 1, \"data\": [{\"b64_json\": \"" + b64 + "\"}]}")
                .withHeader("x-easel-response-cost", "0.0123"));
        fake.enqueue(FakeResponse.json(200, "{\"created\": 1, \"data\": [{\"b64_json\": \"" + b64 + "\"}]}")
                .withHeader("x-litellm-response-cost", "0.5"));

        assertThat(client().build().imageEdit(edit("my-group").build()).cost()).contains(new java.math.BigDecimal("0.0123"));
        assertThat(client().build().imageEdit(edit("my-group").build()).cost()).contains(new java.math.BigDecimal("0.5"));
    }

    @Test
    void cost_notBehindGateway_headerIgnoredAndComputedFromTheCatalogue() {
        String usage = "\"usage\": {\"input_tokens\": 100, \"input_tokens_details\": {\"text_tokens\": 100, "
                + "\"image_tokens\": 0}, \"output_tokens\": 1000, \"total_tokens\": 1100}";
        fake.enqueue(FakeResponse.json(200, "{\"created\": 1, \"data\": [{\"b64_json\": \""
                + Base64.getEncoder().encodeToString(pngBytes()) + "\"}], " + usage + "}")
                .withHeader("x-easel-response-cost", "99"));

        ImageResponse r = client().gateway(false).build().imageEdit(edit("gpt-image-1").build());

        // gpt-image-1: 100 text tokens at $5/M + 1000 image output tokens at $40/M
        assertThat(r.cost()).hasValueSatisfying(c -> assertThat(c).isEqualByComparingTo("0.0405"));
    }

    @Test
    void reportedCost_garbageOrNegative_isIgnored() {
        java.util.function.Function<String, java.util.Optional<java.math.BigDecimal>> parse = v ->
                dev.easel.provider.openai.OpenAiProtocol.reportedCost(java.net.http.HttpHeaders.of(
                        java.util.Map.of("x-easel-response-cost", java.util.List.of(v)), (a, b) -> true));
        assertThat(parse.apply("None")).isEmpty();
        assertThat(parse.apply("-1")).isEmpty();
        assertThat(parse.apply("1E+999999999")).isEmpty();
        assertThat(parse.apply("NaN")).isEmpty();
        assertThat(parse.apply(" 0.044 ")).contains(new java.math.BigDecimal("0.044"));
    }

    private static byte[] pngBytes() {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_ARGB), "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
