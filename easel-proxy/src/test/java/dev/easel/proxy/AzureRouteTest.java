package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.azure.AzureOpenAIServiceVersion;
import com.openai.azure.AzureUrlPathMode;
import com.openai.azure.credential.AzureApiKeyCredential;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.images.ImageEditParams;
import com.openai.models.images.ImagesResponse;
import dev.easel.testkit.RecordedRequest;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Azure's route on the proxy ({@code /openai/deployments/{model}/images/edits}, {@code api-key} header),
 * and Azure deployments in the config reaching the fake's Azure route.
 */
class AzureRouteTest {

    @TempDir
    static Path dataDir;

    static WireFixture wire;

    @BeforeAll
    static void start() {
        wire = WireFixture.start(dataDir);
    }

    @AfterAll
    static void stop() {
        if (wire != null) {
            wire.close();
        }
    }

    @BeforeEach
    void reset() {
        wire.fake.reset();
    }

    @Test
    void azureRoute_pathModelWinsOverFormField() {
        byte[] png = WireImages.png(32, 32, 1);

        HttpResponse<byte[]> r = azurePost("gpt-image-1", new RawMultipart().text("model", "gpt-image-2")
                .text("prompt", "azure style").file("image", "i.png", "image/png", png));

        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
        assertThat(WireFixture.json(r).path("data").size()).isEqualTo(1);
        assertThat(r.headers().firstValue("x-easel-model-group")).contains("gpt-image-1");
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.path()).isEqualTo("/v1/images/edits");
        assertThat(up.textField("model")).contains("gpt-image-1");
        assertThat(up.part("image").bytes()).isEqualTo(png);
    }

    @Test
    void azureRoute_wrongApiKey_is401() {
        HttpResponse<byte[]> r = wire.send(HttpRequest.newBuilder(wire.uri(
                        "/openai/deployments/gpt-image-1/images/edits?api-version=" + WireFixture.AZURE_API_VERSION))
                .timeout(Duration.ofSeconds(10))
                .header("api-key", "not-the-key").header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(new RawMultipart().text("prompt", "p").build())).build());

        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(WireFixture.error(r).path("code").asText()).isEqualTo("invalid_api_key");
        assertThat(wire.fake.requestCount()).isZero();
    }

    @Test
    void azureDeployment_reachesFakeAzureRoute_withApiVersionAndApiKey_withoutModelField() {
        byte[] png = WireImages.png(32, 32, 2);
        byte[] mask = WireImages.mask(32, 32);

        HttpResponse<byte[]> r = wire.postMultipart(new RawMultipart().text("model", "azure-image").text("prompt", "p")
                .file("image", "i.png", "image/png", png).file("mask", "m.png", "image/png", mask));

        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
        assertThat(r.headers().firstValue("x-easel-deployment")).isPresent();
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.path()).isEqualTo("/openai/deployments/" + WireFixture.AZURE_DEPLOYMENT + "/images/edits");
        assertThat(up.queryParameter("api-version")).contains(WireFixture.AZURE_API_VERSION);
        assertThat(up.header("api-key")).contains(WireFixture.UPSTREAM_KEY);
        assertThat(up.header("Authorization")).isEmpty();
        assertThat(up.fieldNames()).containsExactly("prompt", "image", "mask");
        assertThat(up.part("image").bytes()).isEqualTo(png);
        assertThat(up.part("mask").bytes()).isEqualTo(mask);
    }

    @Test
    void azureRouteOnProxy_toAzureDeployment_bothSidesAzure() {
        byte[] png = WireImages.png(32, 32, 3);

        HttpResponse<byte[]> r = azurePost("azure-image", new RawMultipart().text("prompt", "p")
                .file("image", null, "application/octet-stream", png));

        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.path()).isEqualTo("/openai/deployments/" + WireFixture.AZURE_DEPLOYMENT + "/images/edits");
        assertThat(up.fieldNames()).containsExactly("prompt", "image");
        assertThat(up.part("image").contentType()).contains("image/png");
        assertThat(up.part("image").filename()).contains("image.png");
    }

    @Test
    void openAiJavaAzureClient_usesDeploymentRouteAndApiKey() {
        byte[] png = WireImages.png(32, 32, 4);
        OpenAIClient azure = OpenAIOkHttpClient.builder()
                .baseUrl(wire.proxy.baseUri().toString())
                .credential(AzureApiKeyCredential.create(WireFixture.MASTER_KEY))
                .azureServiceVersion(AzureOpenAIServiceVersion.fromString(WireFixture.AZURE_API_VERSION))
                .azureUrlPathMode(AzureUrlPathMode.LEGACY)
                .maxRetries(0)
                .build();
        try {
            ImagesResponse response = azure.images().edit(ImageEditParams.builder()
                    .image(png).prompt("p").model("azure-image").build());

            assertThat(response.data()).hasValueSatisfying(d -> assertThat(d).hasSize(1));
        } finally {
            azure.close();
        }
        RecordedRequest up = wire.fake.takeRequest();
        assertThat(up.path()).isEqualTo("/openai/deployments/" + WireFixture.AZURE_DEPLOYMENT + "/images/edits");
        assertThat(up.part("image").bytes()).isEqualTo(png);
    }

    @Test
    void azureRoute_unknownDeployment_is404() {
        HttpResponse<byte[]> r = azurePost("no-such-model", new RawMultipart().text("prompt", "p")
                .file("image", "i.png", "image/png", WireImages.png(32, 32, 5)));

        assertThat(r.statusCode()).isEqualTo(404);
        JsonNode error = WireFixture.error(r);
        assertThat(error.path("message").asText()).contains("no-such-model");
        assertThat(wire.fake.requestCount()).isZero();
    }

    /** Posts like an Azure client: {@code api-key} header, {@code api-version} query, no Authorization. */
    private static HttpResponse<byte[]> azurePost(String deployment, RawMultipart body) {
        return wire.send(HttpRequest.newBuilder(wire.uri("/openai/deployments/" + deployment
                        + "/images/edits?api-version=" + WireFixture.AZURE_API_VERSION))
                .timeout(Duration.ofSeconds(20))
                .header("api-key", WireFixture.MASTER_KEY)
                .header("Content-Type", RawMultipart.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.build())).build());
    }
}
