package dev.easel.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.Easel;
import dev.easel.ImageEditRequest;
import dev.easel.ImageResponse;
import dev.easel.config.ConfigException;
import dev.easel.testkit.Await;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The auto-configuration's conditions, config sources, errors, metrics and health, with a fake OpenAI. */
class EaselAutoConfigurationTest {

    static final String KEY = "sk-spring";
    static FakeOpenAi fake;

    @TempDir
    Path dir;

    ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(EaselAutoConfiguration.class, EaselHealthAutoConfiguration.class));

    @BeforeAll
    static void startFake() {
        fake = FakeOpenAi.builder().apiKey(KEY).start();
    }

    @AfterAll
    static void stopFake() {
        fake.close();
    }

    @BeforeEach
    void resetFake() {
        fake.reset();
    }

    String[] oneGroup(String group) {
        return new String[] {
                "easel.model-list[0].model-name=" + group,
                "easel.model-list[0].litellm-params.model=openai/gpt-image-2",
                "easel.model-list[0].litellm-params.api-key=" + KEY,
                "easel.model-list[0].litellm-params.api-base=" + fake.baseUrl(),
        };
    }

    static ImageResponse edit(Easel easel, String model) {
        return easel.imageEdit(ImageEditRequest.builder().model(model).image(TestImages.png())
                .prompt("a red hat").build());
    }

    @Test
    void properties_buildClientServingTheirModelGroup() {
        runner.withPropertyValues(oneGroup("painter")).run(context -> {
            Easel easel = context.getBean(Easel.class);
            assertThat(easel.deployments()).singleElement().satisfies(d -> {
                assertThat(d.modelGroup()).isEqualTo("painter");
                assertThat(d.available()).isTrue();
            });
            ImageResponse r = edit(easel, "painter");

            assertThat(r.data()).hasSize(1);
            assertThat(r.data().get(0).bytes()).startsWith(0x89, 'P', 'N', 'G');
            var req = fake.takeRequest();
            assertThat(req.header("Authorization")).contains("Bearer " + KEY);
            assertThat(req.textField("model")).contains("gpt-image-2");
            assertThat(req.textField("prompt")).contains("a red hat");
        });
    }

    @Test
    void snakeCaseKeys_andListsInProperties_mapToTheConfigKeys() {
        runner.withPropertyValues(
                "easel.model-list[0].model-name=main",
                "easel.model-list[0].litellm-params.model=openai/gpt-image-2",
                "easel.model-list[0].litellm-params.api_key=" + KEY,
                "easel.model-list[0].litellm-params.api_base=" + fake.baseUrl(),
                "easel.model-list[0].model-info.id=main-1",
                "easel.model-list[1].model-name=backup",
                "easel.model-list[1].litellm-params.model=openai/gpt-image-2",
                "easel.model-list[1].litellm-params.api-key=" + KEY,
                "easel.model-list[1].litellm-params.api-base=" + fake.baseUrl(),
                "easel.model-list[1].model-info.id=backup-1",
                "easel.router-settings.num-retries=0",
                "easel.router-settings.fallbacks[0].main[0]=backup").run(context -> {
            Easel easel = context.getBean(Easel.class);
            assertThat(easel.deployments()).extracting(d -> d.id()).containsExactly("main-1", "backup-1");
            fake.enqueue(FakeResponse.serverError());

            ImageResponse r = edit(easel, "main");

            // main failed with a 500 and no retries: the fallback from the properties served it
            assertThat(r.data()).hasSize(1);
            assertThat(fake.requestCount()).isEqualTo(2);
        });
    }

    @Test
    void configFile_byPath_andByFileUrl() throws Exception {
        Path file = dir.resolve("config.yaml");
        Files.writeString(file, """
                model_list:
                  - model_name: from-file
                    litellm_params: {model: openai/gpt-image-2, api_key: %s, api_base: "%s"}
                """.formatted(KEY, fake.baseUrl()));
        for (String location : new String[] {file.toString(), file.toUri().toString()}) {
            runner.withPropertyValues("easel.config=" + location).run(context -> {
                Easel easel = context.getBean(Easel.class);
                assertThat(easel.deployments()).extracting(d -> d.modelGroup()).containsExactly("from-file");
                assertThat(edit(easel, "from-file").data()).hasSize(1);
            });
        }
    }

    @Test
    void configFile_onTheClassPath() {
        // src/test/resources/easel-mock.yaml: the offline mock provider, no key needed
        runner.withPropertyValues("easel.config=classpath:easel-mock.yaml").run(context -> {
            Easel easel = context.getBean(Easel.class);
            ImageResponse r = edit(easel, "offline");
            assertThat(r.provider()).contains("mock");
            assertThat(r.data().get(0).bytes()).startsWith(0x89, 'P', 'N', 'G');
        });
    }

    @Test
    void userDefinedEasel_wins_andTheStarterAddsNothing() {
        runner.withPropertyValues(oneGroup("painter")).withUserConfiguration(OwnEasel.class).run(context -> {
            assertThat(context).hasSingleBean(Easel.class);
            assertThat(context.getBean(Easel.class)).isSameAs(context.getBean(OwnEasel.class).easel);
            assertThat(context).doesNotHaveBean(EaselRuntime.class);
            assertThat(context).doesNotHaveBean("easelHealthContributor");
        });
    }

    @Test
    void client_isClosedWithTheContext() {
        Easel[] kept = new Easel[1];
        runner.withPropertyValues(oneGroup("painter")).run(context -> kept[0] = context.getBean(Easel.class));

        assertThatThrownBy(() -> edit(kept[0], "painter")).isInstanceOf(IllegalStateException.class)
                .hasMessage("this Easel client is closed");
    }

    @Test
    void badProperty_failsStartup_namingTheProperty() {
        runner.withPropertyValues(oneGroup("painter"))
                .withPropertyValues("easel.model-list[0].litellm-params.api-base=not a url").run(context -> {
            assertThat(context).hasFailed();
            ConfigException e = rootCause(context.getStartupFailure(), ConfigException.class);
            assertThat(e.getMessage()).startsWith("easel.model-list[0].litellm-params.api-base: ");
            FailureAnalysis analysis = new EaselConfigFailureAnalyzer().analyze(context.getStartupFailure());
            assertThat(analysis.getDescription()).contains("easel.model-list[0].litellm-params.api-base");
            assertThat(analysis.getAction()).contains("kebab-case");
        });
    }

    @Test
    void badRouterSetting_failsStartup_namingTheProperty() {
        runner.withPropertyValues(oneGroup("painter")).withPropertyValues("easel.router-settings.num-retries=many")
                .run(context -> assertThat(rootCause(context.getStartupFailure(), ConfigException.class).getMessage())
                        .isEqualTo("easel.router-settings.num-retries: expected an integer (was 'many')"));
    }

    @Test
    void missingModelName_failsStartup_namingTheEntry() {
        runner.withPropertyValues("easel.model-list[0].litellm-params.model=openai/gpt-image-2").run(context ->
                assertThat(rootCause(context.getStartupFailure(), ConfigException.class).getMessage())
                        .startsWith("easel.model-list[0]: ").contains("model_name"));
    }

    @Test
    void gapInAList_failsStartup_namingTheMissingIndex() {
        runner.withPropertyValues(oneGroup("painter"))
                .withPropertyValues("easel.litellm-settings.callbacks[1]=prometheus").run(context ->
                        assertThat(rootCause(context.getStartupFailure(), ConfigException.class).getMessage())
                                .isEqualTo("easel.litellm-settings.callbacks[0]: missing (the list has items up to "
                                        + "index 1)"));
    }

    @Test
    void propertyOutsideTheConfig_isRefused_notIgnored() {
        runner.withPropertyValues(oneGroup("painter")).withPropertyValues("easel.general-settings.master-key=sk-x")
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(context.getStartupFailure()).rootCause().hasMessageContaining(
                            "easel.general-settings.master-key");
                });
    }

    @Test
    void missingConfigFile_failsStartup_namingTheLocation() {
        runner.withPropertyValues("easel.config=classpath:nope.yaml").run(context -> {
            ConfigException e = rootCause(context.getStartupFailure(), ConfigException.class);
            assertThat(e.getMessage()).isEqualTo("easel.config: classpath:nope.yaml: file not found");
            assertThat(new EaselConfigFailureAnalyzer().analyze(context.getStartupFailure()).getAction())
                    .contains("Set easel.config");
        });
    }

    @Test
    void invalidConfigFile_failsStartup_namingFileAndYamlPath() throws Exception {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, "model_list:\n  - model_name: x\n    litellm_params: {model: openai/gpt-image-2, "
                + "rpm: -1}\n");
        runner.withPropertyValues("easel.config=" + file).run(context ->
                assertThat(rootCause(context.getStartupFailure(), ConfigException.class).getMessage())
                        .isEqualTo(file + ": model_list[0].litellm_params.rpm: must not be negative (was -1)"));
    }

    @Test
    void configFileAndProperties_together_areRefused() {
        runner.withPropertyValues(oneGroup("painter")).withPropertyValues("easel.config=classpath:easel-mock.yaml")
                .run(context -> assertThat(rootCause(context.getStartupFailure(), ConfigException.class)
                        .getMessage()).startsWith("easel.config is set together with easel.model-list"));
    }

    @Test
    void noConfig_givesAClientForModelStrings_keyFromOpenAiApiKey() {
        runner.withPropertyValues("OPENAI_API_KEY=" + KEY, "OPENAI_BASE_URL=" + fake.baseUrl()).run(context -> {
            Easel easel = context.getBean(Easel.class);
            assertThat(easel.deployments()).isEmpty();
            assertThat(edit(easel, "openai/gpt-image-2").data()).hasSize(1);
            assertThat(fake.takeRequest().header("Authorization")).contains("Bearer " + KEY);
            // no model group to report on: unknown, which does not pull the application's health down
            Health health = context.getBean("easelHealthContributor", HealthIndicator.class).health();
            assertThat(health.getStatus()).isEqualTo(Status.UNKNOWN);
        });
    }

    @Test
    void metrics_countIntoTheApplicationsRegistry() {
        runner.withPropertyValues(oneGroup("painter")).withUserConfiguration(Registry.class).run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            edit(context.getBean(Easel.class), "painter");

            Await.until("the edit is counted", () -> registry.find("easel.requests").tag("model_group", "painter")
                    .counters().stream().mapToDouble(c -> c.count()).sum() == 1.0);
        });
    }

    @Test
    void metrics_canBeTurnedOff() {
        runner.withPropertyValues(oneGroup("painter")).withPropertyValues("easel.metrics.enabled=false")
                .withUserConfiguration(Registry.class).run(context -> {
                    Easel easel = context.getBean(Easel.class);
                    edit(easel, "painter");
                    // the health listener heard the attempt: had metrics been bound, they would have been told too
                    Await.until("the attempt is delivered", () -> context.getBean(EaselRuntime.class).activity()
                            .lastSuccess("openai/gpt-image-2").isPresent());
                    assertThat(context.getBean(MeterRegistry.class).find("easel.requests").counters()).isEmpty();
                });
    }

    @Test
    void withoutMicrometer_theClientStillStarts() {
        runner.withPropertyValues(oneGroup("painter")).withClassLoader(new FilteredClassLoader(MeterRegistry.class))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(edit(context.getBean(Easel.class), "painter").data()).hasSize(1);
                });
    }

    @Test
    void withoutActuator_noHealthIndicator() {
        runner.withPropertyValues(oneGroup("painter")).withClassLoader(new FilteredClassLoader(HealthIndicator.class))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).doesNotHaveBean("easelHealthContributor");
                });
    }

    @Test
    void healthIndicator_canBeTurnedOff() {
        runner.withPropertyValues(oneGroup("painter")).withPropertyValues("management.health.easel.enabled=false")
                .run(context -> assertThat(context).doesNotHaveBean("easelHealthContributor"));
    }

    @Test
    void health_perModelGroup_fromCooldownsAndLastFailure_withoutCallingProviders() {
        runner.withPropertyValues(
                "easel.model-list[0].model-name=limited",
                "easel.model-list[0].litellm-params.model=openai/gpt-image-2",
                "easel.model-list[0].litellm-params.api-key=" + KEY,
                "easel.model-list[0].litellm-params.api-base=" + fake.baseUrl(),
                "easel.model-list[0].model-info.id=limited-1",
                "easel.model-list[1].model-name=fine",
                "easel.model-list[1].litellm-params.model=openai/gpt-image-2",
                "easel.model-list[1].litellm-params.api-key=" + KEY,
                "easel.model-list[1].litellm-params.api-base=" + fake.baseUrl(),
                "easel.model-list[1].model-info.id=fine-1",
                "easel.model-list[2].model-name=fine",
                "easel.model-list[2].litellm-params.model=acme/painter",
                "easel.model-list[2].model-info.id=fine-2",
                "easel.router-settings.num-retries=0").run(context -> {
            Easel easel = context.getBean(Easel.class);
            CompositeHealthContributor health = (CompositeHealthContributor) context.getBean(
                    "easelHealthContributor");
            assertThat(status(health, "limited")).isEqualTo(Status.UP);
            fake.enqueue(FakeResponse.rateLimited(30));
            assertThatThrownBy(() -> edit(easel, "limited")).isInstanceOf(dev.easel.RateLimitException.class);
            int calls = fake.requestCount();

            Health limited = Await.value("the 429 is in the health details",
                    () -> ((HealthIndicator) health.getContributor("limited")).health(),
                    h -> deployment(h, "limited-1").containsKey("last_failure"));

            assertThat(limited.getStatus()).isEqualTo(Status.DOWN);
            Map<String, Object> d = deployment(limited, "limited-1");
            assertThat(d).containsEntry("state", "cooling_down").containsEntry("provider", "openai")
                    .containsKey("cooldown_until");
            assertThat(((Map<?, ?>) d.get("last_failure")).get("status")).isEqualTo(429);
            // a group with one healthy deployment is up, whatever its other deployments are
            Health fine = ((HealthIndicator) health.getContributor("fine")).health();
            assertThat(fine.getStatus()).isEqualTo(Status.UP);
            assertThat(deployment(fine, "fine-1")).containsEntry("state", "healthy");
            assertThat(deployment(fine, "fine-2")).containsEntry("state", "unavailable").containsKey("reason");
            // health never calls a provider
            assertThat(fake.requestCount()).isEqualTo(calls);
        });
    }

    static Status status(CompositeHealthContributor c, String group) {
        return ((HealthIndicator) c.getContributor(group)).health().getStatus();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> deployment(Health h, String id) {
        Map<String, Object> all = (Map<String, Object>) h.getDetails().get("deployments");
        return (Map<String, Object>) all.get(id);
    }

    static <T extends Throwable> T rootCause(Throwable failure, Class<T> type) {
        assertThat(failure).as("start-up failure").isNotNull();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        throw new AssertionError("no " + type.getSimpleName() + " in " + failure, failure);
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnEasel {
        final Easel easel = Easel.builder().apiKey("sk-own").build();

        @Bean(destroyMethod = "close")
        Easel myEasel() {
            return easel;
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Registry {
        @Bean
        MeterRegistry meterRegistry() {
            return new SimpleMeterRegistry();
        }
    }
}
