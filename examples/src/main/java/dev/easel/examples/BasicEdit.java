package dev.easel.examples;

import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import java.nio.file.Path;

/** LiteLLM's "Basic Image Edit", in Java. Run with OPENAI_API_KEY set, next to original_image.png. */
public final class BasicEdit {

    private BasicEdit() {
    }

    /** Edits {@code original_image.png} in {@code dir}. */
    public static ImageResponse run(Easel easel, Path dir) {
        // Edit an image with a prompt
        ImageResponse response = easel.imageEdit(ImageEditRequest.builder()
                .model("gpt-image-1")
                .image(dir.resolve("original_image.png"))
                .prompt("Add a red hat to the person in the image")
                .n(1)
                .size("1024x1024")
                .build());
        System.out.println(response);
        return response;
    }

    public static void main(String[] args) {
        try (Easel easel = Easel.fromEnv()) {
            run(easel, Path.of("."));
        }
    }
}
