package dev.easel.examples;

import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** LiteLLM's "Async Multiple Images Edit", in Java. */
public final class AsyncMultipleImagesEdit {

    private AsyncMultipleImagesEdit() {
    }

    /** Starts the edit of {@code portrait1.png} and {@code portrait2.png}. */
    public static CompletableFuture<ImageResponse> editMultipleImages(Easel easel, Path dir) {
        return easel.imageEditAsync(ImageEditRequest.builder()
                .model("gpt-image-1")
                .images(List.of(dir.resolve("portrait1.png"), dir.resolve("portrait2.png")))
                .prompt("Add professional lighting to the portraits")
                .n(1)
                .size("1024x1024")
                .responseFormat("url")
                .build());
    }

    /** Runs the async edit and waits for it. */
    public static ImageResponse run(Easel easel, Path dir) {
        ImageResponse response = editMultipleImages(easel, dir).join();
        System.out.println(response);
        return response;
    }

    public static void main(String[] args) {
        try (Easel easel = Easel.fromEnv()) {
            run(easel, Path.of("."));
        }
    }
}
