package dev.easel.examples;

import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import java.nio.file.Path;

/**
 * LiteLLM's "Image Edit with Mask", in Java. The original asks gpt-image-1 for {@code size=512x512},
 * a size only dall-e-2 ever took; gpt-image-1 accepts 1024x1024, 1536x1024, 1024x1536 or auto, so this
 * twin asks for 1024x1024. (Sent as written, Easel refuses it before calling OpenAI:
 * {@code Invalid size '512x512'. Supported sizes are 1024x1024, 1024x1536, 1536x1024, and auto.})
 */
public final class MaskEdit {

    private MaskEdit() {
    }

    /** Edits {@code original_image.png} where {@code mask_image.png} is transparent. */
    public static ImageResponse run(Easel easel, Path dir) {
        // Edit an image with a mask to specify the area to edit
        ImageResponse response = easel.imageEdit(request(dir, "1024x1024"));
        System.out.println(response);
        return response;
    }

    /** The request, with the size to ask for. */
    public static ImageEditRequest request(Path dir, String size) {
        return ImageEditRequest.builder()
                .model("gpt-image-1")
                .image(dir.resolve("original_image.png"))
                .mask(dir.resolve("mask_image.png")) // Transparent areas will be edited
                .prompt("Replace the background with a beach scene")
                .n(2)
                .size(size)
                .responseFormat("url")
                .build();
    }

    public static void main(String[] args) {
        try (Easel easel = Easel.fromEnv()) {
            run(easel, Path.of("."));
        }
    }
}
