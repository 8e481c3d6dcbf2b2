package dev.easel.cli.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.testkit.Await;
import dev.easel.testkit.FakeOpenAi;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three proxy processes on one real PostgreSQL, driven concurrently through OpenAI's Java client: every request a
 * client got an answer for is exactly one spend row (none lost, none doubled, each with the id, status, end user
 * and cost the client was told), across a replica's SIGTERM mid-run and across a 30-second database outage. One
 * fleet serves both tests; each brings it back to full strength first.
 */
class FleetSpendTest {

    private static final String UPSTREAM_KEY = "sk-fleet-upstream-0014";
    private static final Duration OUTAGE = Duration.ofSeconds(30);
    private static final int GRACE_SECONDS = 20;

    @TempDir
    static Path dir;

    private static FakeOpenAi fake;
    private static Fleet fleet;
    private static byte[] png;

    @BeforeAll
    static void startFleet() throws IOException {
        png = png();
        // a little upstream latency, so each replica always has requests in flight
        fake = FakeOpenAi.builder().apiKey(UPSTREAM_KEY).defaultLatency(Duration.ofMillis(40)).start();
        fleet = Fleet.builder(dir).replicas(3).postgres()
                .modelList(Fleet.openAiGroup("edit", fake, UPSTREAM_KEY))
                // every call of this group is refused upstream (401): failures are spend rows too
                .modelList(Fleet.openAiGroup("refused", fake, "sk-not-the-fake-key"))
                // the 401 group must answer 401 every time, not rest and answer 429
                .routerSettings("num_retries: 0\nallowed_fails: 1000000\ndisable_cooldowns: true")
                .generalSettings("grace_period: " + GRACE_SECONDS)
                .start();
    }

    @AfterAll
    static void stopFleet() {
        if (fleet != null) {
            fleet.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    @BeforeEach
    void fullStrength() {
        fleet.ensureRunning();
        fake.reset(); // what the last test recorded is not needed, and would only hold memory
    }

    @AfterEach
    void letGo() {
        fake.releaseAnswers(); // a test that failed while holding answers must not stall the next
    }

    @Test
    void spendRows_oneReplicaSigtermedMidRunThenRestarted_everyAnswerIsExactlyOneRow() throws Exception {
        Replica target = fleet.replica(1);
        List<FleetLoad.Outcome> outcomes;
        long signalled;
        long restarted;
        try (FleetLoad load = FleetLoad.builder(fleet, "sigterm").clients(6)
                .models("edit", "edit", "edit", "refused").image(png).start()) {
            load.await("60 answers before the SIGTERM", FleetLoad.Outcome::answered, 60, Duration.ofSeconds(60));

            // requests are in flight on the replica when the signal arrives: held upstream until it has stopped
            // listening, so they can only be answered by its drain
            fake.holdAnswers();
            Await.until("requests in flight on replica 1", () -> target.readiness().inflight() >= 1);
            signalled = System.nanoTime();
            target.sigterm();
            Await.until("replica 1 stops listening (draining)", () -> !Ports.accepting(target.port()));
            fake.releaseAnswers();
            assertThat(target.awaitExit(Duration.ofSeconds(GRACE_SECONDS + 20))).as(target.describe()).isZero();
            long exited = System.nanoTime();
            assertThat(target.stderr()).as(target.describe())
                    .anyMatch(l -> l.matches("easel: stopping; waiting up to " + GRACE_SECONDS
                            + " s for [1-9][0-9]* request\\(s\\) in flight"))
                    .contains("easel: stopped");
            assertJournalEmpty(target.dataDir());

            // the two others carry the load meanwhile; requests sent to the stopped one move on to the next
            load.await("30 answers while replica 1 is down", o -> o.answered() && o.sentNanos() > exited, 30,
                    Duration.ofSeconds(60));
            target.start();
            restarted = System.nanoTime();
            load.await("30 answers from the restarted replica 1", o -> o.answered() && o.replica() == 1
                    && o.sentNanos() > restarted, 30, Duration.ofSeconds(60));
            outcomes = load.stop();
        }

        fleet.awaitSpendWritten(Duration.ofSeconds(60));
        SpendRows.Reconciliation rec = SpendRows.reconcile(outcomes, SpendRows.read(fleet.postgres(), "sigterm"));
        long drained = outcomes.stream().filter(o -> o.replica() == 1 && o.inFlightAt(signalled)).count();
        long movedOn = outcomes.stream().filter(o -> o.refusedConnections() > 0).count();
        System.out.println("fleet sigterm: " + rec.summary() + "; " + drained + " answered by replica 1's drain, "
                + movedOn + " moved on from the stopped replica; per replica " + perReplica(outcomes)
                + "; mismatches " + rec.mismatches() + "; unanswered "
                + outcomes.stream().filter(o -> !o.answered()).toList() + "; cut off " + rec.cutOff() + " "
                + logged(rec.cutOff()));

        assertReconciled(rec, outcomes);
        assertThat(drained).as("requests of replica 1 in flight at SIGTERM, answered by its drain").isPositive();
        assertThat(outcomes).filteredOn(o -> o.replica() == 1 && o.inFlightAt(signalled))
                .allSatisfy(o -> assertThat(o.status()).as(o.toString()).isIn(200, 401));
        assertThat(movedOn).as("requests refused by the stopped replica and sent to the next").isPositive();
        assertThat(outcomes).extracting(FleetLoad.Outcome::status).contains(200, 401);
    }

    @Test
    void spendRows_postgresDownThirtySecondsUnderLoad_replicasKeepAnsweringAndEveryRowLandsOnce() {
        List<FleetLoad.Outcome> outcomes;
        long down;
        long up;
        Map<Integer, Replica.Readiness> atEnd = new LinkedHashMap<>();
        try (FleetLoad load = FleetLoad.builder(fleet, "outage").clients(6)
                .models("edit", "edit", "edit", "refused").image(png).start()) {
            load.await("60 answers before the outage", FleetLoad.Outcome::answered, 60, Duration.ofSeconds(60));
            fleet.postgres().stop();
            down = System.nanoTime();

            // readiness today: the proxy stays ready (200, "healthy") and says the store is unreachable, because
            // rows wait in the journal and edits keep being answered
            for (Replica r : fleet.replicas()) {
                Replica.Readiness seen = Await.value("replica " + r.index() + " to report the store unreachable",
                        Duration.ofSeconds(30), r::readiness, x -> x.db().equals("unreachable"));
                assertThat(seen.status()).as(seen.body().toString()).isEqualTo(200);
                assertThat(seen.body().path("status").asText()).isEqualTo("healthy");
                assertThat(seen.body().path("db").path("last_error").asText()).as(seen.body().toString())
                        .isNotBlank();
            }
            // the outage lasts its full length while the clients keep sending (the scenario, not a wait for a result)
            Await.until("the outage to last " + OUTAGE.toSeconds() + " s", OUTAGE.plusSeconds(30),
                    () -> System.nanoTime() - down >= OUTAGE.toNanos());
            for (Replica r : fleet.replicas()) {
                Replica.Readiness before = r.readiness();
                atEnd.put(r.index(), before);
                assertThat(before.status()).isEqualTo(200);
                assertThat(before.db()).as(before.body().toString()).isEqualTo("unreachable");
                assertThat(before.backlog()).as("rows waiting on replica %s", r.index()).isPositive();
                assertThat(before.journalBytes()).as("journal of replica %s", r.index()).isPositive();
            }
            fleet.postgres().start();
            up = System.nanoTime();
            load.await("60 answers after the database is back", o -> o.answered() && o.sentNanos() > up, 60,
                    Duration.ofSeconds(60));
            outcomes = load.stop();
        }

        fleet.awaitSpendWritten(Duration.ofSeconds(60));
        SpendRows.Reconciliation rec = SpendRows.reconcile(outcomes, SpendRows.read(fleet.postgres(), "outage"));
        List<FleetLoad.Outcome> during = outcomes.stream()
                .filter(o -> o.sentNanos() > down && o.doneNanos() < up).toList();
        System.out.println("fleet outage: " + rec.summary() + "; database down "
                + Duration.ofNanos(up - down).toMillis() + " ms, " + during.size() + " answered during it, per replica "
                + perReplica(during) + "; backlog at the end of the outage " + backlogs(atEnd));

        assertReconciled(rec, outcomes);
        for (Replica r : fleet.replicas()) {
            assertThat(during).as("edits answered by replica %s during the outage", r.index())
                    .anyMatch(o -> o.replica() == r.index() && o.status() == 200);
        }
        assertThat(during).filteredOn(o -> o.model().equals("edit"))
                .allSatisfy(o -> assertThat(o.status()).as(o.toString()).isEqualTo(200));
        assertThat(Duration.ofNanos(up - down)).isGreaterThanOrEqualTo(OUTAGE);
    }

    /** None lost, none doubled, none unexplained, each row as the client was told; and every request answered. */
    private static void assertReconciled(SpendRows.Reconciliation rec, List<FleetLoad.Outcome> outcomes) {
        assertThat(outcomes).as("requests without an answer").filteredOn(o -> !o.answered()).isEmpty();
        assertThat(outcomes).as("answers that were not what the client expected")
                .filteredOn(o -> o.failure().isPresent()).isEmpty();
        assertThat(rec.lost()).as("answered requests without a spend row").isEmpty();
        assertThat(rec.doubled()).as("requests with more than one spend row; what the replicas logged of them: %s",
                logged(rec.doubled())).isEmpty();
        assertThat(rec.unexplained()).as("spend rows no answered request explains").isEmpty();
        assertThat(rec.mismatches()).as("spend rows that disagree with the answer").isEmpty();
        assertThat(rec.rows()).isEqualTo(rec.answered() + rec.cutOff().size()).isEqualTo(outcomes.size()
                + rec.cutOff().size());
        // rare: a request refused by a replica in its last moment, on a connection it closed before the answer left
        assertThat(rec.cutOff()).as("requests cut off by a stopping replica and sent again; what the replicas "
                + "logged of them: %s", logged(rec.cutOff())).hasSizeLessThanOrEqualTo(3);
    }

    /** The replicas' log lines naming any of the proxy request ids ({@code req_…}) in {@code findings}. */
    private static List<String> logged(List<String> findings) {
        List<String> lines = new ArrayList<>();
        for (String f : findings) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("req_[0-9a-f]{24}").matcher(f);
            while (m.find()) {
                for (Replica r : fleet.replicas()) {
                    r.linesWith(m.group()).forEach(l -> lines.add("replica " + r.index() + ": " + l));
                }
            }
        }
        return lines;
    }

    /** Nothing waits in the journal of a replica that stopped cleanly: its rows are in the database. */
    private static void assertJournalEmpty(Path data) throws IOException {
        try (Stream<Path> files = Files.list(data)) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("spend.journal."))
                    .toList()).as("sealed journal segments left in %s", data).isEmpty();
        }
        Path journal = data.resolve("spend.journal");
        assertThat(!Files.exists(journal) || Files.size(journal) == 0).as("journal emptied").isTrue();
    }

    private static Map<Integer, Long> perReplica(List<FleetLoad.Outcome> outcomes) {
        Map<Integer, Long> counts = new LinkedHashMap<>();
        for (int i = 0; i < fleet.size(); i++) {
            int index = i;
            counts.put(i, outcomes.stream().filter(o -> o.answered() && o.replica() == index).count());
        }
        return counts;
    }

    private static List<String> backlogs(Map<Integer, Replica.Readiness> readiness) {
        List<String> out = new ArrayList<>();
        readiness.forEach((i, r) -> out.add(i + ": " + r.backlog() + " rows, " + r.journalBytes() + " journal bytes"));
        return out;
    }

    private static byte[] png() throws IOException {
        BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_INT_ARGB);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }
}
