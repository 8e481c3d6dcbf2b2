package dev.easel.provider.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.config.ConfigLoader;
import dev.easel.image.TestImages;
import dev.easel.testkit.FakeGemini;
import dev.easel.testkit.RecordedRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * A FakeGemini and Easel clients whose config serves one {@code gemini/…} deployment as model group {@code edit},
 * as a user's config would (no retries, so each test sees exactly one upstream call per image).
 */
final class GeminiFixture implements AutoCloseable {

    static final String KEY = "gm-key-0123456789abcdef";
    static final ObjectMapper JSON = new ObjectMapper();

    final FakeGemini fake = FakeGemini.builder().apiKey(KEY).start();

    /** A client for {@code gemini/<model>} at the fake; {@code params} are more {@code litellm_params} (YAML flow). */
    Easel client(String model, String params) {
        return client(model, params, "");
    }

    /** Like {@link #client(String, String)}, with extra top-level YAML ({@code litellm_settings: …}). */
    Easel client(String model, String params, String yaml) {
        return config("model_list:\n  - model_name: edit\n    litellm_params: " + deployment(model, params)
                + "\nrouter_settings: {num_retries: 0, allowed_fails: 1000}\n" + yaml);
    }

    /** The {@code litellm_params} of a deployment of {@code gemini/<model>} at the fake (YAML flow). */
    String deployment(String model, String params) {
        return "{model: gemini/" + model + ", api_key: " + KEY + ", api_base: \"" + fake.baseUrl() + "\""
                + (params.isEmpty() ? "" : ", " + params) + "}";
    }

    /** A client whose one group {@code edit} is a deployment with exactly {@code litellmParams} (YAML flow). */
    Easel group(String litellmParams) {
        return config("model_list:\n  - model_name: edit\n    litellm_params: " + litellmParams + "\n");
    }

    /** A client for a whole config. */
    Easel config(String yaml) {
        return Easel.builder().config(ConfigLoader.parse(yaml, Map.of(), "gemini.yaml")).sleeper(d -> { }).build();
    }

    Easel client(String model) {
        return client(model, "");
    }

    /** An edit of one 64x64 PNG, "add a red hat". */
    static ImageEditRequest.Builder request() {
        return ImageEditRequest.builder().model("edit").prompt("add a red hat").image(TestImages.png(64, 64, false));
    }

    /** The JSON body of a request the fake received. */
    static JsonNode body(RecordedRequest r) {
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        fake.close();
    }
}
