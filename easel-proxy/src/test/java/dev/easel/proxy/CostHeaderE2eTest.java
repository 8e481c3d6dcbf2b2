package dev.easel.proxy;

import static dev.easel.proxy.SpendE2eFixture.costHeader;
import static dev.easel.proxy.SpendE2eFixture.fields;
import static dev.easel.proxy.SpendE2eFixture.form;
import static dev.easel.proxy.SpendE2eFixture.json;
import static dev.easel.proxy.SpendE2eFixture.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.Usage;
import dev.easel.catalog.ModelCatalog;
import dev.easel.config.ModelInfo;
import dev.easel.cost.CostCalculator;
import dev.easel.cost.CostInput;
import dev.easel.cost.PriceOverrides;
import dev.easel.testkit.FakeResponse;
import dev.easel.testkit.RecordedRequest;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code x-easel-response-cost} end to end: real proxy, fake OpenAI / Azure upstream. The header equals the
 * cost function for the usage the upstream reported, for catalogue prices, custom {@code model_info} prices,
 * an Azure deployment priced by {@code base_model}, per-image pricing without usage, and a stream (whose cost
 * rides in the completed event). Each request's spend row carries the same amount.
 */
class CostHeaderE2eTest {

    @TempDir
    static Path dataDir;
    static SpendE2eFixture f;

    @BeforeAll
    static void start() {
        f = SpendE2eFixture.start(dataDir, "");
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    @BeforeEach
    void reset() {
        f.fake.reset();
    }

    private static BigDecimal calculated(String model, ModelInfo info, Usage usage, int images) {
        var spec = CostCalculator.pricedAs(ModelCatalog.bundled(), model, info);
        return CostCalculator.standard().cost(spec, PriceOverrides.of(info),
                CostInput.builder().usage(usage).imagesReturned(images).build()).total().orElseThrow();
    }

    /** The usage the proxy passed on to the client. */
    private static Usage usageOf(JsonNode body) {
        JsonNode u = body.path("usage");
        assertThat(u.isObject()).as("usage in %s", body).isTrue();
        JsonNode out = u.path("output_tokens_details");
        long outTokens = u.path("output_tokens").asLong();
        long inText = u.path("input_tokens_details").path("text_tokens").asLong();
        long inImage = u.path("input_tokens_details").path("image_tokens").asLong();
        if (out.isObject()) {
            return new Usage(inText + inImage, outTokens, inText + inImage + outTokens, inText, inImage,
                    out.path("image_tokens").asLong(), out.path("text_tokens").asLong(), true);
        }
        return Usage.of(inText, inImage, outTokens);
    }

    /** The spend row of one request (waits for the flush). */
    private static JsonNode row(HttpResponse<byte[]> r) {
        String id = r.headers().firstValue("x-request-id").orElseThrow();
        JsonNode rows = f.logsWhenFlushed("request_id=" + id, 1);
        assertThat(rows.size()).isEqualTo(1);
        return rows.get(0);
    }

    private static String b64Png() {
        return Base64.getEncoder().encodeToString(SpendE2eFixture.PNG);
    }

    @Test
    void gptImage1_observedUsage_headerIsExactly0_04443AndEqualsTheCostFunction() {
        HttpResponse<byte[]> r = f.edit(form("gpt-image-1", Map.of()));

        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        assertThat(r.headers().firstValue("x-easel-response-cost")).contains("0.04443");
        JsonNode body = json(r);
        Usage usage = usageOf(body);
        assertThat(usage).isEqualTo(Usage.of(50, 194, 1056));
        assertThat(costHeader(r)).isEqualByComparingTo(calculated("gpt-image-1", ModelInfo.empty(), usage, 1));
        // upstream side: one call, the provider's model and key
        RecordedRequest sent = f.fake.takeRequest();
        assertThat(sent.textField("model")).contains("gpt-image-1");
        assertThat(sent.header("Authorization")).contains("Bearer " + SpendE2eFixture.UPSTREAM_KEY);
        assertThat(f.fake.requestCount()).isEqualTo(1);
        // the spend row carries the same amount, exactly
        JsonNode row = row(r);
        assertThat(row.path("spend").decimalValue()).isEqualByComparingTo("0.04443");
        assertThat(row.path("prompt_tokens").asLong()).isEqualTo(244);
        assertThat(row.path("completion_tokens").asLong()).isEqualTo(1056);
        assertThat(row.path("total_tokens").asLong()).isEqualTo(1300);
        assertThat(row.path("input_text_tokens").asLong()).isEqualTo(50);
        assertThat(row.path("input_image_tokens").asLong()).isEqualTo(194);
        assertThat(row.path("output_image_tokens").asLong()).isEqualTo(1056);
    }

    @Test
    void nTwo_usageIsTheWholeBill_notMultipliedAgain() {
        HttpResponse<byte[]> r = f.edit(form("gpt-image-1", fields("n", "2")));

        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        assertThat(json(r).path("data").size()).isEqualTo(2);
        assertThat(f.fake.takeRequest().textField("n")).contains("2");
        assertThat(costHeader(r)).isEqualByComparingTo("0.04443");
        assertThat(row(r).path("images_out").asInt()).isEqualTo(2);
    }

    @Test
    void scriptedUsage_twoImagesWithOtherTokenCounts_headerIsTheTokenArithmetic() {
        f.fake.enqueue(FakeResponse.json(200, """
                {"created": 1760000000, "background": "opaque", "output_format": "png", "quality": "high",
                 "size": "1024x1536", "data": [{"b64_json": "%1$s"}, {"b64_json": "%1$s"}],
                 "usage": {"input_tokens": 1349, "input_tokens_details": {"image_tokens": 1300, "text_tokens": 49},
                           "output_tokens": 12480, "total_tokens": 13829}}
                """.formatted(b64Png())));

        HttpResponse<byte[]> r = f.edit(form("gpt-image-1", fields("n", "2", "quality", "high",
                "size", "1024x1536")));

        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        // 49 x $5/M + 1300 x $10/M + 12480 x $40/M = 0.000245 + 0.013 + 0.4992
        assertThat(costHeader(r)).isEqualByComparingTo("0.512445");
        assertThat(costHeader(r)).isEqualByComparingTo(calculated("gpt-image-1", ModelInfo.empty(),
                Usage.of(49, 1300, 12480), 2));
    }

    @Test
    void gptImage15_outputTokensDetails_textOutputBilledAtTextRate() {
        f.fake.enqueue(FakeResponse.json(200, """
                {"created": 1760000000, "background": "opaque", "output_format": "png", "quality": "high",
                 "size": "1024x1024", "data": [{"b64_json": "%s"}],
                 "usage": {"input_tokens": 12, "input_tokens_details": {"image_tokens": 0, "text_tokens": 12},
                           "output_tokens": 4501,
                           "output_tokens_details": {"image_tokens": 4160, "text_tokens": 341},
                           "total_tokens": 4513}}
                """.formatted(b64Png())));

        HttpResponse<byte[]> r = f.edit(form("gpt-image-1.5", fields("quality", "high")));

        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        // 12 x $5/M + 4160 x $32/M + 341 x $10/M
        assertThat(costHeader(r)).isEqualByComparingTo("0.13659");
        Usage usage = usageOf(json(r));
        assertThat(usage.outputTextTokens()).isEqualTo(341);
        assertThat(costHeader(r)).isEqualByComparingTo(calculated("gpt-image-1.5", ModelInfo.empty(), usage, 1));
        assertThat(f.fake.takeRequest().textField("model")).contains("gpt-image-1.5");
        JsonNode row = row(r);
        assertThat(row.path("spend").decimalValue()).isEqualByComparingTo("0.13659");
        assertThat(row.path("output_text_tokens").asLong()).isEqualTo(341);
        assertThat(row.path("output_image_tokens").asLong()).isEqualTo(4160);
    }

    @Test
    void modelInfoTokenPrices_overrideTheCatalogue() {
        HttpResponse<byte[]> r = f.edit(form("custom-priced", Map.of()));

        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        // 50 x $4/M + 194 x $8/M + 1056 x $36/M = 0.0002 + 0.001552 + 0.038016
        assertThat(costHeader(r)).isEqualByComparingTo("0.039768");
        ModelInfo info = new ModelInfo(Optional.empty(), Optional.empty(), Optional.of(new BigDecimal("4.0e-06")),
                Optional.of(new BigDecimal("8.0e-06")), Optional.of(new BigDecimal("3.6e-05")), Optional.empty(),
                Optional.empty(), Map.of());
        assertThat(costHeader(r)).isEqualByComparingTo(calculated("gpt-image-1", info, Usage.of(50, 194, 1056), 1));
        assertThat(f.fake.takeRequest().textField("model")).contains("gpt-image-1");
    }

    @Test
    void modelInfoOutputCostPerImage_pricesEachReturnedImagePlusInputTokens() {
        HttpResponse<byte[]> r = f.edit(form("flat-priced", fields("n", "3")));

        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        assertThat(json(r).path("data").size()).isEqualTo(3);
        // gpt-image-1-mini input: 50 x $2/M + 194 x $2.50/M = 0.000585; output: 3 images x $0.01
        assertThat(costHeader(r)).isEqualByComparingTo("0.030585");
        assertThat(f.fake.takeRequest().textField("model")).contains("gpt-image-1-mini");
    }

    @Test
    void azureDeployment_pricedByBaseModel() {
        HttpResponse<byte[]> r = f.edit(form("azure-image", Map.of()));

        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        assertThat(r.headers().firstValue("x-easel-response-cost")).contains("0.04443");
        RecordedRequest sent = f.fake.takeRequest();
        assertThat(sent.path()).isEqualTo("/openai/deployments/" + SpendE2eFixture.AZURE_DEPLOYMENT
                + "/images/edits");
        assertThat(sent.header("api-key")).contains(SpendE2eFixture.UPSTREAM_KEY);
        JsonNode row = row(r);
        assertThat(row.path("custom_llm_provider").asText()).isEqualTo("azure");
        assertThat(row.path("api_base").asText()).isEqualTo(f.fake.azureBaseUrl());
        assertThat(row.path("model").asText()).isEqualTo(SpendE2eFixture.AZURE_DEPLOYMENT);
        assertThat(row.path("spend").decimalValue()).isEqualByComparingTo("0.04443");
    }

    @Test
    void azureDeploymentWithoutBaseModel_isUnpriced_noHeaderAndNullSpend() {
        HttpResponse<byte[]> r = f.edit(form("azure-unpriced", Map.of()));

        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        assertThat(r.headers().firstValue("x-easel-response-cost")).isEmpty();
        assertThat(f.fake.requestCount()).isEqualTo(1);
        JsonNode row = row(r);
        assertThat(row.path("status").asText()).isEqualTo("success");
        assertThat(row.path("spend").isNull()).as("spend of an unpriced edit: %s", row).isTrue();
    }

    @Test
    void dallE2_noUsage_pricedPerReturnedImageOfTheResolvedSize() {
        HttpResponse<byte[]> r = f.edit(form("dall-e-2", fields("n", "2", "size", "512x512")));

        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        assertThat(json(r).has("usage")).isFalse();
        assertThat(json(r).path("data").size()).isEqualTo(2);
        // 2 x $0.018 (512x512)
        assertThat(costHeader(r)).isEqualByComparingTo("0.036");
        RecordedRequest sent = f.fake.takeRequest();
        assertThat(sent.textField("model")).contains("dall-e-2");
        assertThat(sent.textField("size")).contains("512x512");
        assertThat(row(r).path("spend").decimalValue()).isEqualByComparingTo("0.036");
    }

    @Test
    void stream_litellm37923_completedEventCostEqualsNonStreamedCost() {
        HttpResponse<byte[]> plain = f.edit(form("gpt-image-1", Map.of()));
        assertThat(plain.statusCode()).as(text(plain)).isEqualTo(200);
        f.fake.reset();

        HttpResponse<byte[]> streamed = f.edit(form("gpt-image-1", fields("stream", "true", "partial_images", "2")));

        assertThat(streamed.statusCode()).as(text(streamed)).isEqualTo(200);
        assertThat(streamed.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<String[]> events = sse(text(streamed));
        assertThat(events).extracting(e -> e[0]).containsExactly("image_edit.partial_image",
                "image_edit.partial_image", "image_edit.completed");
        JsonNode completed = parse(events.get(2)[1]);
        assertThat(completed.has("easel_response_cost")).as("completed event: %s", events.get(2)[1]).isTrue();
        BigDecimal streamedCost = completed.path("easel_response_cost").decimalValue();
        assertThat(streamedCost).isEqualByComparingTo(costHeader(plain));
        assertThat(streamedCost).isEqualByComparingTo("0.04443");
        // the partial events carry no cost; the upstream got a streamed request
        assertThat(parse(events.get(0)[1]).has("easel_response_cost")).isFalse();
        RecordedRequest sent = f.fake.takeRequest();
        assertThat(sent.textField("stream")).contains("true");
        assertThat(sent.textField("partial_images")).contains("2");
        // and the streamed request's spend row says the same
        assertThat(row(streamed).path("spend").decimalValue()).isEqualByComparingTo("0.04443");
    }

    /** SSE events as {@code [event, data]}. */
    private static List<String[]> sse(String body) {
        List<String[]> out = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            String event = null;
            StringBuilder data = new StringBuilder();
            for (String line : block.split("\n")) {
                if (line.startsWith("event: ")) {
                    event = line.substring(7).trim();
                } else if (line.startsWith("data: ")) {
                    data.append(line.substring(6));
                }
            }
            if (event != null || !data.isEmpty()) {
                out.add(new String[] {event, data.toString()});
            }
        }
        return out;
    }

    private static JsonNode parse(String json) {
        try {
            return SpendE2eFixture.JSON.readTree(json);
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + json, e);
        }
    }
}
