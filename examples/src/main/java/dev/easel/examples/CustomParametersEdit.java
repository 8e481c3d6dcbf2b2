package dev.easel.examples;

import dev.easel.Easel;
import dev.easel.ImageData;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/** LiteLLM's "Image Edit with Custom Parameters", in Java. */
public final class CustomParametersEdit {

    private CustomParametersEdit() {
    }

    /** Edits {@code portrait.png} with n=3, a user id, a timeout and an extra header. */
    public static ImageResponse run(Easel easel, Path dir) {
        // Edit image with additional parameters
        ImageResponse response = easel.imageEdit(ImageEditRequest.builder()
                .model("gpt-image-1")
                .image(dir.resolve("portrait.png"))
                .prompt("Add sunglasses and a smile")
                .n(3)
                .size("1024x1024")
                .responseFormat("url")
                .user("user-123")
                .timeout(Duration.ofSeconds(60))
                .extraHeaders(Map.of("Custom-Header", "value"))
                .build());

        System.out.println("Generated " + response.data().size() + " image variations");
        for (int i = 0; i < response.data().size(); i++) {
            ImageData imageData = response.data().get(i);
            System.out.println("Image " + (i + 1) + ": " + imageData.url().orElseThrow());
        }
        return response;
    }

    public static void main(String[] args) {
        try (Easel easel = Easel.fromEnv()) {
            run(easel, Path.of("."));
        }
    }
}
