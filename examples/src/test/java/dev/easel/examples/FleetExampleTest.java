package dev.easel.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.easel.config.ConfigLoader;
import dev.easel.config.EaselConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * examples/fleet: the replicas' config and the Kubernetes manifests parse, the config in them loads with Easel's
 * reader with the environment the manifests give it, and the probes, grace period and security settings agree
 * with what the proxy and its image do (docs/deploy.md, docs/proxy.md).
 */
class FleetExampleTest {

    private static final Path FLEET = Path.of("fleet");
    private static final Map<String, String> ENV = Map.of("EASEL_MASTER_KEY", "sk-test", "DATABASE_URL",
            "postgresql://easel:secret@127.0.0.1:5432/easel", "REDIS_HOST", "127.0.0.1", "REDIS_PORT", "6379",
            "REDIS_PASSWORD", "secret", "OPENAI_API_KEY", "sk-upstream");

    @Test
    void scriptConfig_loads_withTheSharedStoresFromTheEnvironment() {
        EaselConfig config = ConfigLoader.load(FLEET.resolve("config.yaml"), ENV);

        assertThat(config.modelList()).extracting(m -> m.modelName()).contains("gpt-image-1", "edit");
        assertThat(config.generalSettings().gracePeriod().toSeconds()).isEqualTo(30);
        assertThat(config.generalSettings().databaseUrl()).hasValue(ENV.get("DATABASE_URL"));
        assertThat(config.warnings()).as("keys not acted on").isEmpty();
    }

    @Test
    void manifests_runThreeReplicas_onTheProxysProbes_longerGraceThanTheProxys_nonRoot() throws Exception {
        List<JsonNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = new ObjectMapper(new YAMLFactory()).readerFor(JsonNode.class)
                .readValues(Files.readString(FLEET.resolve("k8s/easel.yaml")))) {
            it.forEachRemaining(docs::add);
        }
        assertThat(docs).extracting(d -> d.path("kind").asText()).containsExactly("ConfigMap", "Deployment", "Service");
        JsonNode configMap = docs.get(0);
        JsonNode deployment = docs.get(1);
        JsonNode pod = deployment.at("/spec/template/spec");
        JsonNode container = pod.at("/containers/0");

        EaselConfig config = ConfigLoader.parse(configMap.at("/data/config.yaml").asText(), ENV, "easel-config");
        assertThat(config.warnings()).as("keys not acted on").isEmpty();
        assertThat(deployment.at("/spec/replicas").asInt()).isEqualTo(3);
        assertThat(container.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/health/readiness");
        assertThat(container.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/health/liveliness");
        assertThat(pod.path("terminationGracePeriodSeconds").asLong())
                .isGreaterThan(config.generalSettings().gracePeriod().toSeconds());
        assertThat(pod.at("/securityContext/runAsNonRoot").asBoolean()).isTrue();
        assertThat(pod.at("/securityContext/runAsUser").asInt()).isEqualTo(65532);
        assertThat(container.at("/securityContext/allowPrivilegeEscalation").asBoolean(true)).isFalse();
        List<String> env = new ArrayList<>();
        container.path("env").forEach(e -> env.add(e.path("name").asText()));
        assertThat(env).containsAll(ENV.keySet());
        assertThat(container.at("/resources/limits/memory").asText()).isNotEmpty();
        List<String> mounts = new ArrayList<>();
        container.path("volumeMounts").forEach(m -> mounts.add(m.path("mountPath").asText()));
        assertThat(mounts).contains("/config", "/data", "/tmp");
        assertThat(docs.get(2).at("/spec/selector/app").asText()).isEqualTo("easel");
    }
}
