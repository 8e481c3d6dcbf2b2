package dev.easel.cli.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.HttpResponseFor;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.images.ImageEditParams;
import com.openai.models.images.ImagesResponse;
import dev.easel.testkit.Await;
import dev.easel.testkit.FakeOpenAi;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three proxy processes on one real Redis and one real PostgreSQL, driven concurrently through OpenAI's Java client:
 * every limit configured for a deployment or an end user holds for the whole fleet, a deployment rested by one
 * replica rests on all, and a stopped Redis follows the documented policy (docs/scaling.md). Each test is named
 * after the LiteLLM issue whose failure it rules out: LiteLLM trusts each pod's own cache, and the sum of pods
 * overspends.
 */
class FleetRedisTest {

    private static final String KEY = "sk-fleet-redis-upstream";
    private static final BigDecimal BUDGET = new BigDecimal("0.10");

    @TempDir
    static Path dir;

    private static FakeOpenAi rpmFake;
    private static FakeOpenAi parallelFake;
    private static FakeOpenAi budgetFake;
    private static FakeOpenAi refusingFake;
    private static FakeOpenAi outageFake;
    private static Fleet fleet;
    private static List<OpenAIClient> clients;
    private static byte[] png;

    @BeforeAll
    static void startFleet() throws IOException {
        png = png();
        rpmFake = FakeOpenAi.builder().apiKey(KEY).start();
        parallelFake = FakeOpenAi.builder().apiKey(KEY).start();
        budgetFake = FakeOpenAi.builder().apiKey(KEY).defaultLatency(Duration.ofMillis(50)).start();
        refusingFake = FakeOpenAi.builder().apiKey("sk-another-key").start();
        outageFake = FakeOpenAi.builder().apiKey(KEY).start();
        fleet = Fleet.builder(dir).replicas(3).postgres().redis()
                .modelList(group("rpm6", rpmFake, KEY, "rpm: 6"))
                .modelList(group("parallel2", parallelFake, KEY, "max_parallel_requests: 2"))
                .modelList(group("budgeted", budgetFake, KEY, "rpm: 100000"))
                .modelList(group("resting", refusingFake, KEY, "rpm: 100000"))
                .modelList(group("outage", outageFake, KEY, "rpm: 6"))
                .routerSettings("num_retries: 0\ncooldown_time: 60\nmax_parallel_wait: 60")
                .generalSettings("end_user_budgets:\n  capped: {max_budget: " + BUDGET + ", budget_duration: 1d}\n"
                        + "  capped-during-outage: {max_budget: 5, budget_duration: 1d}")
                .start();
        clients = new ArrayList<>();
        for (Replica r : fleet.replicas()) {
            clients.add(OpenAIOkHttpClient.builder().baseUrl(r.baseUri() + "/v1").apiKey(Fleet.MASTER_KEY)
                    .maxRetries(0).timeout(Duration.ofSeconds(90)).build());
        }
    }

    @AfterAll
    static void stopFleet() {
        if (clients != null) {
            clients.forEach(OpenAIClient::close);
        }
        if (fleet != null) {
            fleet.close();
        }
        for (FakeOpenAi f : new FakeOpenAi[] {rpmFake, parallelFake, budgetFake, refusingFake, outageFake}) {
            if (f != null) {
                f.close();
            }
        }
    }

    @BeforeEach
    void fullStrength() {
        // each test counts the provider calls it caused (the Redis test also edits through "budgeted")
        for (FakeOpenAi f : new FakeOpenAi[] {rpmFake, parallelFake, budgetFake, refusingFake, outageFake}) {
            f.reset();
        }
        fleet.ensureRunning();
        for (Replica r : fleet.replicas()) {
            Await.until("replica " + r.index() + " sees Redis up", Duration.ofSeconds(30),
                    () -> r.readiness().body().at("/redis/status").asText().equals("up"));
        }
    }

    /** LiteLLM #23714: a deployment's rpm counted per pod, so N pods let N × rpm through. */
    @Test
    void litellm23714_deploymentRpm_holdsExactlyForTheWholeFleet() throws Exception {
        awayFromTheMinutesEnd();
        List<Answer> answers = concurrently(18, i -> send(i % 3, "rpm6", "rpm-user"));

        assertThat(rpmFake.requestCount()).as("calls that reached the provider").isEqualTo(6);
        assertThat(answers).filteredOn(a -> a.status == 200).hasSize(6);
        assertThat(answers).filteredOn(a -> a.status != 200).hasSize(12)
                .allSatisfy(a -> assertThat(a.status).isEqualTo(429));
        assertThat(answers).filteredOn(a -> a.status == 200).extracting(a -> a.replica).containsAnyOf(0, 1, 2);
    }

    /** LiteLLM #28247: max_parallel_requests enforced per pod, so the provider saw pods × the limit at once. */
    @Test
    void litellm28247_maxParallelRequests_neverMoreInFlightThanTheLimitAcrossTheFleet() throws Exception {
        parallelFake.holdAnswers();
        List<Answer> answers;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Answer>> sent = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                int replica = i % 3;
                sent.add(pool.submit(() -> send(replica, "parallel2", "parallel-user")));
            }
            Await.until("two calls held at the provider", () -> parallelFake.editsInFlight() == 2);
            // every replica has requests waiting for a slot; none may start a third call while two are held
            Await.until("requests waiting on every replica", () -> fleet.replicas().stream()
                    .allMatch(r -> r.readiness().inflight() >= 1));
            assertThat(parallelFake.editsInFlight()).isEqualTo(2);
            parallelFake.releaseAnswers();
            answers = new ArrayList<>();
            for (Future<Answer> f : sent) {
                answers.add(f.get());
            }
        } finally {
            parallelFake.releaseAnswers();
        }

        assertThat(answers).allSatisfy(a -> assertThat(a.status).as(a.toString()).isEqualTo(200));
        assertThat(parallelFake.maxEditsInFlight()).as("most calls in flight at the provider at once").isEqualTo(2);
        assertThat(parallelFake.requestCount()).isEqualTo(12);
    }

    /**
     * LiteLLM #34238, #26672: an end user's budget checked against each pod's cache; concurrent requests on several
     * pods all passed the check and spent far beyond it. Here holds are taken in Redis before the call: the fleet
     * overshoots by at most one request's cost.
     */
    @Test
    void litellm34238_litellm26672_endUserBudget_acrossReplicas_overshootsByAtMostOneRequest() throws Exception {
        List<Answer> answers = concurrently(45, i -> send(i % 3, "budgeted", "capped"));
        fleet.awaitSpendWritten(Duration.ofSeconds(60));

        List<Answer> served = answers.stream().filter(a -> a.status == 200).toList();
        BigDecimal mostOneCost = served.stream().map(a -> a.cost.orElseThrow()).max(BigDecimal::compareTo)
                .orElseThrow();
        BigDecimal spent = spendOf("capped");
        System.out.println("fleet budget: " + served.size() + " served of " + answers.size() + ", spent " + spent
                + " of " + BUDGET + " (one request costs up to " + mostOneCost + "); provider calls "
                + budgetFake.requestCount() + "; refusals " + answers.stream().filter(a -> a.status != 200)
                .map(a -> a.status + " " + a.code.orElse("")).distinct().toList() + "; provider saw "
                + budgetFake.requests().stream().map(r -> r.method() + " " + r.path() + " user="
                        + r.textField("user").orElse("-")).toList());

        assertThat(served).as("some requests fit the budget").isNotEmpty();
        assertThat(answers).filteredOn(a -> a.status != 200).isNotEmpty()
                .allSatisfy(a -> assertThat(a.status).as(a.toString()).isIn(400, 429));
        assertThat(spent).isEqualByComparingTo(served.stream().map(a -> a.cost.orElseThrow())
                .reduce(BigDecimal.ZERO, BigDecimal::add));
        assertThat(spent).as("spend against a budget of " + BUDGET).isLessThanOrEqualTo(BUDGET.add(mostOneCost));
        // every provider call is an answer the client got: served, or a provider error passed on (not billed);
        // none made for a request the budget refused
        long refusedByBudget = answers.stream().filter(a -> a.code.orElse("").contains("budget_exceeded")).count();
        assertThat(budgetFake.requestCount()).as("calls that reached the provider")
                .isEqualTo(answers.size() - refusedByBudget);
    }

    /** LiteLLM #33325: a deployment cooled down by one pod kept getting traffic from the others. */
    @Test
    void litellm33325_cooldownSetByOneReplica_isRespectedByTheOthers() throws Exception {
        Answer first = send(0, "resting", "cool-user");
        assertThat(first.status).as("the provider refused the key").isEqualTo(401);
        int calls = refusingFake.requestCount();

        List<Answer> others = concurrently(8, i -> send(1 + i % 2, "resting", "cool-user"));

        assertThat(refusingFake.requestCount()).as("calls to the rested deployment after the rest began")
                .isEqualTo(calls);
        assertThat(others).allSatisfy(a -> {
            assertThat(a.status).as(a.toString()).isEqualTo(429);
            assertThat(a.retryAfter).as("Retry-After").isPresent();
        });
    }

    /**
     * Redis stopped mid-run: rate limits fall back to each replica's share (rpm 6 over 3 replicas: 2 each), budgets
     * refuse new spend for end users who have one while users without a budget are served, and the fleet goes back
     * to shared state when Redis returns.
     */
    @Test
    void redisStopped_limitsDivideByTheReplicas_budgetsRefuse_andSharedStateReturns() throws Exception {
        awayFromTheMinutesEnd();
        fleet.redis().stop();
        try {
            for (Replica r : fleet.replicas()) {
                Await.until("replica " + r.index() + " sees Redis unavailable", Duration.ofSeconds(30),
                        () -> r.readiness().body().at("/redis/status").asText().equals("unavailable"));
                assertThat(r.readiness().status()).as("Redis down does not make a replica unready").isEqualTo(200);
            }
            List<Answer> limited = concurrently(12, i -> send(i % 3, "outage", "outage-user"));
            Answer budgeted = send(0, "budgeted", "capped-during-outage");

            assertThat(outageFake.requestCount()).as("rpm 6 divided over 3 replicas, each taking 4 requests")
                    .isEqualTo(6);
            assertThat(limited).filteredOn(a -> a.status == 200).hasSize(6);
            assertThat(limited).filteredOn(a -> a.status != 200)
                    .allSatisfy(a -> assertThat(a.status).isEqualTo(429));
            assertThat(budgeted.status).as(budgeted.toString()).isEqualTo(503);
            assertThat(budgeted.code.orElse("")).contains("ledger_unavailable", "cannot be checked");
        } finally {
            fleet.redis().start();
        }
        for (Replica r : fleet.replicas()) {
            Await.until("replica " + r.index() + " back on Redis", Duration.ofSeconds(30),
                    () -> r.readiness().body().at("/redis/status").asText().equals("up"));
            assertThat(r.stderr()).as(r.describe()).anyMatch(l -> l.contains("redis unavailable"))
                    .anyMatch(l -> l.contains("redis back after"));
        }
        assertThat(send(1, "budgeted", "capped-during-outage").status).isEqualTo(200);
    }

    // --- helpers

    private record Answer(int replica, int status, Optional<BigDecimal> cost, Optional<String> retryAfter,
                          Optional<String> code) {
    }

    private interface Send {
        Answer send(int i) throws Exception;
    }

    private static List<Answer> concurrently(int n, Send send) throws Exception {
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Answer>> sent = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                sent.add(pool.submit(() -> send.send(index)));
            }
            List<Answer> answers = new ArrayList<>();
            for (Future<Answer> f : sent) {
                answers.add(f.get());
            }
            return answers;
        }
    }

    private static Answer send(int replica, String model, String user) {
        ImageEditParams params = ImageEditParams.builder().image(png).prompt("add a hat").model(model).user(user)
                .build();
        try (HttpResponseFor<ImagesResponse> r = clients.get(replica).images().withRawResponse().edit(params)) {
            r.parse();
            return new Answer(replica, r.statusCode(), r.headers().values("x-easel-response-cost").stream()
                    .findFirst().map(BigDecimal::new), Optional.empty(), Optional.empty());
        } catch (OpenAIServiceException e) {
            return new Answer(replica, e.statusCode(), Optional.empty(),
                    e.headers().values("retry-after").stream().findFirst(),
                    Optional.of(String.valueOf(e.body())));
        }
    }

    /** What the fleet's spend rows say an end user spent. */
    private static BigDecimal spendOf(String endUser) throws Exception {
        try (Connection c = fleet.postgres().connect();
             PreparedStatement q = c.prepareStatement(
                     "SELECT COALESCE(SUM(spend), 0) FROM easel_spend_logs WHERE end_user = ?")) {
            q.setString(1, endUser);
            try (ResultSet rs = q.executeQuery()) {
                rs.next();
                return rs.getBigDecimal(1);
            }
        }
    }

    /**
     * rpm windows are calendar minutes on every replica's clock: a burst that straddles a minute's end would be
     * counted in two windows. Waits (at most 35 s) until at least 30 s of the current minute are left.
     */
    private static void awayFromTheMinutesEnd() {
        Await.until("at least 30 s left in this minute", Duration.ofSeconds(35),
                () -> LocalTime.now(ZoneOffset.UTC).getSecond() < 30);
    }

    private static String group(String name, FakeOpenAi fake, String apiKey, String extra) {
        return """
                - model_name: %s
                  litellm_params: {model: openai/gpt-image-2, api_key: "%s", api_base: "%s", %s}
                """.formatted(name, apiKey, fake.baseUrl(), extra);
    }

    private static byte[] png() throws IOException {
        BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_INT_ARGB);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }
}
