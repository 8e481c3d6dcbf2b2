package dev.easel.examples;

import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import java.nio.file.Path;
import java.util.List;

/** LiteLLM's "Multiple Images Edit", in Java: several images, sent in order. */
public final class MultipleImagesEdit {

    private MultipleImagesEdit() {
    }

    /** Edits {@code image1.png}, {@code image2.png} and {@code image3.png} in {@code dir}. */
    public static ImageResponse run(Easel easel, Path dir) {
        // Edit multiple images with a prompt
        ImageResponse response = easel.imageEdit(ImageEditRequest.builder()
                .model("gpt-image-1")
                .images(List.of(dir.resolve("image1.png"), dir.resolve("image2.png"), dir.resolve("image3.png")))
                .prompt("Apply vintage filter to all images")
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
