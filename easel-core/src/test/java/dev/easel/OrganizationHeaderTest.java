package dev.easel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.config.ConfigLoader;
import dev.easel.image.TestImages;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.RecordedRequest;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code litellm_params.organization} goes upstream as {@code OpenAI-Organization} on OpenAI calls (as
 * LiteLLM and the OpenAI SDKs send it); Azure takes no organization, so nothing is sent there.
 */
class OrganizationHeaderTest {

    static final byte[] PNG = TestImages.png(64, 64, true);
    static FakeOpenAi fake;
    static Easel easel;

    @BeforeAll
    static void start() {
        fake = FakeOpenAi.builder().apiKey("sk-org").start();
        String yaml = """
                model_list:
                  - model_name: with-org
                    litellm_params: {model: openai/gpt-image-1, api_key: sk-org, api_base: "%1$s",
                                     organization: org-4f2a}
                  - model_name: without-org
                    litellm_params: {model: openai/gpt-image-1, api_key: sk-org, api_base: "%1$s"}
                  - model_name: azure-with-org
                    litellm_params: {model: azure/edits, api_key: sk-org, api_base: "%2$s", organization: org-4f2a}
                    model_info: {base_model: gpt-image-1}
                """.formatted(fake.baseUrl(), fake.azureBaseUrl());
        easel = Easel.builder().config(ConfigLoader.parse(yaml, Map.of(), "org.yaml")).build();
    }

    @AfterAll
    static void stop() {
        fake.close();
    }

    @BeforeEach
    void reset() {
        fake.reset();
    }

    private static void edit(String model) {
        easel.imageEdit(ImageEditRequest.builder().model(model).image(PNG).prompt("add a hat").build());
    }

    @Test
    void imageEdit_openAiDeploymentWithOrganization_sendsOpenAiOrganizationHeader() {
        edit("with-org");

        RecordedRequest r = fake.takeRequest();
        assertThat(r.path()).isEqualTo("/v1/images/edits");
        assertThat(r.headerValues("OpenAI-Organization")).containsExactly("org-4f2a");
    }

    @Test
    void imageEdit_openAiDeploymentWithoutOrganization_sendsNoOrganizationHeader() {
        edit("without-org");

        assertThat(fake.takeRequest().header("OpenAI-Organization")).isEmpty();
    }

    @Test
    void imageEdit_azureDeploymentWithOrganization_sendsNoOrganizationHeader() {
        edit("azure-with-org");

        RecordedRequest r = fake.takeRequest();
        assertThat(r.path()).isEqualTo("/openai/deployments/edits/images/edits");
        assertThat(r.header("OpenAI-Organization")).isEmpty();
    }
}
