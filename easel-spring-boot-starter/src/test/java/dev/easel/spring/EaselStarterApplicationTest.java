package dev.easel.spring;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import dev.easel.testkit.FakeOpenAi;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.InputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.health.actuate.endpoint.IndicatedHealthDescriptor;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A whole Boot application with Actuator, configured only by properties: the starter's client edits through a fake
 * OpenAI, Actuator's health endpoint shows the model group, and the edit is in the application's registry.
 */
@SpringBootTest(classes = EaselStarterApplicationTest.App.class,
        properties = "management.endpoint.health.show-details=always")
class EaselStarterApplicationTest {

    static final String KEY = "sk-boot";
    static final FakeOpenAi FAKE = FakeOpenAi.builder().apiKey(KEY).start();

    @DynamicPropertySource
    static void fake(DynamicPropertyRegistry registry) {
        // Spring takes a list from one property source: the whole entry goes here, beside the fake's address
        registry.add("easel.model-list[0].model-name", () -> "studio");
        registry.add("easel.model-list[0].litellm-params.model", () -> "openai/gpt-image-2");
        registry.add("easel.model-list[0].litellm-params.api-key", () -> KEY);
        registry.add("easel.model-list[0].litellm-params.api-base", FAKE::baseUrl);
    }

    @AfterAll
    static void stop() {
        FAKE.close();
    }

    /** An application of its own: no component scan, which would pick up other tests' configurations. */
    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {
    }

    @Autowired
    Easel easel;
    @Autowired
    HealthEndpoint health;
    @Autowired
    MeterRegistry registry;

    @Test
    void edit_throughTheAutoConfiguredClient_andSeeItInHealthAndMetrics() {
        ImageResponse r = easel.imageEdit(ImageEditRequest.builder().model("studio").image(TestImages.png())
                .prompt("paint it blue").responseFormat("b64_json").build());

        assertThat(r.data()).singleElement().satisfies(d -> assertThat(d.b64Json()).isPresent());
        assertThat(FAKE.takeRequest().textField("prompt")).contains("paint it blue");
        var group = (IndicatedHealthDescriptor) health.healthForPath("easel", "studio");
        assertThat(group.getStatus()).isEqualTo(Status.UP);
        assertThat(group.getDetails()).containsKey("deployments");
        dev.easel.testkit.Await.until("the edit is counted",
                () -> registry.find("easel.requests").tag("model_group", "studio").counter() != null);
    }

    @Test
    void configurationMetadata_letsIdesCompleteTheProperties() throws Exception {
        JsonNode meta;
        try (InputStream in = getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
            meta = new ObjectMapper().readTree(in);
        }
        assertThat(meta.get("properties").findValuesAsText("name")).contains("easel.config", "easel.model-list",
                "easel.router-settings", "easel.litellm-settings", "easel.metrics.enabled",
                "management.health.easel.enabled");
        assertThat(meta.get("hints").findValuesAsText("value")).contains("num-retries", "fallbacks", "drop-params");
    }
}
