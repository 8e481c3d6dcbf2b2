package dev.easel.examples.spring;

import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;

/**
 * A Spring Boot application whose only Easel dependency is the starter: the {@link Easel} bean comes from
 * {@code application.yaml}, and the application edits one image on start-up and writes the result.
 *
 * <pre>
 * OPENAI_API_KEY=sk-... ./mvnw -pl examples/spring-boot spring-boot:run
 * </pre>
 */
@SpringBootApplication
public class EditOnStartup {

    /** Starts the application. */
    public static void main(String[] args) {
        SpringApplication.run(EditOnStartup.class, args);
    }

    /** Edits {@code example.image} as {@code example.prompt} says and writes {@code example.output}. */
    @Bean
    ApplicationRunner editOnce(Easel easel, @Value("${example.image}") Path image,
                               @Value("${example.prompt}") String prompt, @Value("${example.output}") Path output) {
        return args -> {
            ImageResponse response = easel.imageEdit(ImageEditRequest.builder()
                    .model("painter") // the model group of application.yaml
                    .image(image)
                    .prompt(prompt)
                    .responseFormat("b64_json")
                    .build());
            write(output, response.data().get(0).bytes());
            System.out.println("edited " + image + " -> " + output + " (cost " + response.cost()
                    .map(c -> "$" + c.toPlainString()).orElse("unknown") + ")");
        };
    }

    private static void write(Path output, byte[] bytes) throws IOException {
        Path parent = output.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.write(output, bytes);
    }
}
