package dev.easel.testkit;

import static dev.easel.testkit.FakeOpenAiTest.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FakeOpenAiAzureTest {

    private final FakeOpenAi fake = FakeOpenAi.builder().apiKey("azure-key").start();

    @AfterEach
    void stop() {
        fake.close();
    }

    private HttpResponse<String> azure(String deployment, String query, Form form, String... headers) {
        return Http.send(Http.post(fake.azureBaseUrl() + "/openai/deployments/" + deployment + "/images/edits"
                + query, form, headers));
    }

    private static void assertAzureError(HttpResponse<String> response, int status, String message) {
        assertThat(response.statusCode()).isEqualTo(status);
        assertThat(response.body()).isEqualTo("{\"error\":{\"code\":\"" + status + "\",\"message\":\"" + message
                + "\"}}");
    }

    @Test
    void azureEdit_apiKeyAndCurrentApiVersion_returnsImage() {
        HttpResponse<String> response = azure("my-gpt-image", "?api-version=2025-04-01-preview",
                Form.edit(null).png("image"), "api-key", "azure-key");

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode body = Http.json(response);
        assertThat(body.get("data").get(0).get("b64_json").asText()).isNotEmpty();
        assertThat(body.get("usage").get("total_tokens").asInt()).isEqualTo(1300);
        RecordedRequest request = fake.takeRequest();
        assertThat(request.path()).isEqualTo("/openai/deployments/my-gpt-image/images/edits");
        assertThat(request.queryParameter("api-version")).contains("2025-04-01-preview");
        assertThat(request.header("API-KEY")).contains("azure-key");
    }

    @Test
    void azureEdit_bearerToken_accepted() {
        HttpResponse<String> response = azure("d", "?api-version=2025-06-01", Form.edit(null).png("image"),
                "Authorization", "Bearer entra-token");

        assertThat(response.statusCode()).isEqualTo(200);
    }

    @Test
    void azureEdit_missingOrOldApiVersion_404ResourceNotFound() {
        assertAzureError(azure("d", "", Form.edit(null).png("image"), "api-key", "azure-key"), 404,
                "Resource not found");
        assertAzureError(azure("d", "?api-version=2025-03-01-preview", Form.edit(null).png("image"), "api-key",
                "azure-key"), 404, "Resource not found");
        assertAzureError(azure("d", "?api-version=latest", Form.edit(null).png("image"), "api-key",
                "azure-key"), 404, "Resource not found");
    }

    @Test
    void azureEdit_noKeyOrWrongKey_401() {
        String message = "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
                + "a valid key for an active subscription and use a correct regional API endpoint for your resource.";
        assertAzureError(azure("d", "?api-version=2025-04-01-preview", Form.edit(null).png("image")), 401, message);
        assertAzureError(azure("d", "?api-version=2025-04-01-preview", Form.edit(null).png("image"), "api-key",
                "other"), 401, message);
    }

    @Test
    void azureEdit_sameBodyRulesAsOpenAi() {
        assertError(azure("d", "?api-version=2025-04-01-preview", Form.edit(null)
                        .file("image", "a.png", "application/octet-stream", Images.PNG), "api-key", "azure-key"), 400,
                "Invalid file 'image': unsupported mimetype ('application/octet-stream'). Supported file formats are "
                        + "'image/jpeg', 'image/png', and 'image/webp'.", "image", "unsupported_file_mimetype");
    }

    @Test
    void azureEdit_deploymentNameStandsInForMissingModel() {
        assertError(azure("gpt-image-2", "?api-version=2025-04-01-preview", Form.edit(null)
                        .text("input_fidelity", "high").png("image"), "api-key", "azure-key"), 400,
                "The model 'gpt-image-2' does not support the 'input_fidelity' parameter.", "input_fidelity", null);
    }

    @Test
    void apiVersionSupported_comparesDates() {
        assertThat(FakeOpenAi.azureApiVersionSupported(java.util.Optional.of("2025-04-01-preview"))).isTrue();
        assertThat(FakeOpenAi.azureApiVersionSupported(java.util.Optional.of("2026-01-15"))).isTrue();
        assertThat(FakeOpenAi.azureApiVersionSupported(java.util.Optional.of("2024-10-21"))).isFalse();
        assertThat(FakeOpenAi.azureApiVersionSupported(java.util.Optional.empty())).isFalse();
    }
}
