package dev.easel.clients;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.testkit.RecordedPart;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * OpenAI's official Node SDK ({@code openai@7.57.0} from the npm registry, under {@code target/clients/node})
 * against the proxy. Skipped only where {@code node} itself is missing (or older than 20); an npm install that
 * fails fails the tests.
 */
class NodeClientTest extends OfficialClientContract {

    @Override
    ClientInstall.Outcome install() {
        return ClientInstall.node();
    }

    @Override
    String inMemoryUpstreamFileName() {
        return "unknown_file.png";
    }

    @Override
    String exceptionFor(int status) {
        return switch (status) {
            case 400 -> "BadRequestError";
            case 401 -> "AuthenticationError";
            case 429 -> "RateLimitError";
            default -> status >= 500 ? "InternalServerError" : "APIError";
        };
    }

    @Test
    void readStreamUpload_sentDirectlyToFakeOpenAi_isRefusedForItsMimeType() {
        // why the proxy must type the parts: the SDK's README upload (fs.createReadStream) goes out as
        // application/octet-stream, which OpenAI (and the strict fake) refuse; through the proxy it is image/png
        byte[] png = ClientImages.png(16, 16, 14);
        Path image = input("cat.png", png);

        JsonNode error = runAgainst(fixture.fake.baseUrl(), ClientFixture.UPSTREAM_KEY, "error",
                expectError("single", edit(List.of(image))));

        assertThat(error.path("exception").asText()).as(error::toString).isEqualTo("BadRequestError");
        assertThat(error.path("code").asText()).isEqualTo("unsupported_file_mimetype");
        RecordedPart sent = fixture.fake.takeRequest().part("image");
        assertThat(sent.filename()).contains("cat.png");
        assertThat(sent.contentType()).contains("application/octet-stream");
        assertThat(sent.bytes()).isEqualTo(png);
    }
}
