package dev.easel.examples.langchain4j;

import dev.easel.Easel;
import dev.easel.langchain4j.EaselImageModel;
import dev.langchain4j.data.image.Image;
import dev.langchain4j.model.image.ImageModel;
import dev.langchain4j.model.output.Response;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/**
 * A LangChain4j application editing an image with a mask through Easel: the code sees only LangChain4j's
 * {@link ImageModel}; Easel picks the provider, validates, retries and prices the edit.
 *
 * <pre>
 * OPENAI_API_KEY=sk-... java ... dev.easel.examples.langchain4j.LangChain4jMaskEdit ../images edited.png
 * </pre>
 */
public final class LangChain4jMaskEdit {

    private LangChain4jMaskEdit() {
    }

    /** Edits {@code original_image.png} of {@code images} where {@code mask_image.png} is transparent. */
    public static Response<Image> run(ImageModel model, Path images) throws IOException {
        Image image = png(images.resolve("original_image.png"));
        Image mask = png(images.resolve("mask_image.png"));
        return model.edit(image, mask, "Replace the background with a beach scene");
    }

    private static Image png(Path file) throws IOException {
        return Image.builder().base64Data(Base64.getEncoder().encodeToString(Files.readAllBytes(file)))
                .mimeType("image/png").build();
    }

    /** {@code args}: the images directory and the output file. */
    public static void main(String[] args) throws IOException {
        Path images = Path.of(args.length > 0 ? args[0] : "../images");
        Path output = Path.of(args.length > 1 ? args[1] : "edited.png");
        try (Easel easel = Easel.fromEnv()) { // OPENAI_API_KEY, and OPENAI_BASE_URL when set
            ImageModel model = EaselImageModel.builder().easel(easel).model("gpt-image-2")
                    .responseFormat("b64_json").build();
            Response<Image> response = run(model, images);
            Files.write(output, Base64.getDecoder().decode(response.content().base64Data()));
            System.out.println("wrote " + output + ", cost $" + response.metadata().get(EaselImageModel.COST_USD)
                    + ", tokens " + response.tokenUsage());
        }
    }
}
