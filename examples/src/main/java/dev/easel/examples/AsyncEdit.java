package dev.easel.examples;

import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/** LiteLLM's "Async Image Edit", in Java: {@code imageEditAsync} returns a {@link CompletableFuture}. */
public final class AsyncEdit {

    private AsyncEdit() {
    }

    /** Starts the edit of {@code original_image.png} without blocking. */
    public static CompletableFuture<ImageResponse> editImage(Easel easel, Path dir) {
        return easel.imageEditAsync(ImageEditRequest.builder()
                .model("gpt-image-1")
                .image(dir.resolve("original_image.png"))
                .prompt("Make the image look like a painting")
                .n(1)
                .size("1024x1024")
                .responseFormat("b64_json")
                .build());
    }

    /** Runs the async edit and waits for it. */
    public static ImageResponse run(Easel easel, Path dir) {
        ImageResponse response = editImage(easel, dir).join();
        System.out.println(response);
        return response;
    }

    public static void main(String[] args) {
        try (Easel easel = Easel.fromEnv()) {
            run(easel, Path.of("."));
        }
    }
}
