package dev.easel.cli.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * examples/keys/budget-demo.sh, run as a user runs it (bash, curl, python3) against the real proxy process: on the
 * embedded default (SQLite, in-process limits) and on a fleet of two on PostgreSQL + Redis. The script makes a team
 * and a key with a budget, edits until the budget stops the key, and prints {@code /key/info}.
 */
class KeysExampleTest {

    static final Path SCRIPT = Path.of("..", "examples", "keys", "budget-demo.sh").toAbsolutePath().normalize();
    static final Path IMAGE = Path.of("..", "examples", "images", "original_image.png").toAbsolutePath().normalize();
    static final String MODELS = """
            - model_name: gpt-image-1
              litellm_params: {model: mock/gpt-image-1}
            """;

    @TempDir
    Path dir;

    @Test
    void script_onTheEmbeddedDefault_stopsAtTheBudget_andPrintsKeyInfo() throws Exception {
        try (Fleet fleet = Fleet.builder(dir).replicas(1).modelList(MODELS).start()) {
            runAndCheck(fleet.replica(0).baseUri().toString());
        }
    }

    @Test
    void script_onPostgresAndRedis_stopsAtTheBudget_andPrintsKeyInfo() throws Exception {
        try (Fleet fleet = Fleet.builder(dir).replicas(2).postgres().redis().modelList(MODELS).start()) {
            runAndCheck(fleet.replica(1).baseUri().toString());
        }
    }

    private void runAndCheck(String baseUrl) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", SCRIPT.toString()).redirectErrorStream(true);
        pb.environment().put("EASEL_URL", baseUrl);
        pb.environment().put("MASTER_KEY", Fleet.MASTER_KEY);
        pb.environment().put("IMAGE", IMAGE.toString());
        pb.environment().put("BUDGET", "0.1");
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("edit 1: 200").containsPattern("edit \\d+: 400 budget_exceeded: key 'demo-key-");
        // the key itself appears once (generate's answer is read by the script, never printed)
        assertThat(out).doesNotContainPattern("sk-[A-Za-z0-9_-]{20,}");
        JsonNode info = new ObjectMapper().readTree(out.substring(out.indexOf("== /key/info") + 12));
        assertThat(info.path("info").path("key_alias").asText()).startsWith("demo-key-");
        assertThat(info.path("info").path("spend").decimalValue()).isPositive()
                .isLessThanOrEqualTo(new java.math.BigDecimal("0.1"));
        assertThat(info.path("info").path("max_budget").decimalValue()).isEqualByComparingTo("0.1");
    }
}
