package dev.easel.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.RecordedRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/** Runs the example application as a user would, with OpenAI replaced by the fake, and checks its output image. */
class EditOnStartupTest {

    @TempDir
    Path dir;

    @Test
    void application_editsTheImageOnStartup_andWritesTheResult() throws Exception {
        Path output = dir.resolve("edited.png");
        try (FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-example").start();
             ConfigurableApplicationContext app = SpringApplication.run(EditOnStartup.class,
                     "--OPENAI_API_KEY=sk-example", "--OPENAI_BASE_URL=" + fake.baseUrl(),
                     "--example.output=" + output)) {
            RecordedRequest req = fake.takeRequest();
            assertThat(req.textField("model")).contains("gpt-image-2");
            assertThat(req.textField("prompt")).contains("Add a red hat to the person in the image");
            assertThat(req.part("image").bytes())
                    .isEqualTo(Files.readAllBytes(Path.of("../images/original_image.png")));
            assertThat(app.isRunning()).isTrue();
        }
        assertThat(Files.readAllBytes(output)).startsWith(0x89, 'P', 'N', 'G');
    }
}
