package dev.easel.proxy.spend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.testkit.Await;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What every spend store must do; run against a real SQLite file and a real PostgreSQL. */
abstract class SpendServiceContract {

    static final Instant T0 = Instant.parse("2026-11-01T10:00:00.123456Z");

    @TempDir
    Path dir;

    final MutableClock clock = new MutableClock(T0.plus(Duration.ofDays(1)));
    final List<SpendService> started = new ArrayList<>();
    SpendOptions options;

    /** Options on a fresh, empty database. */
    abstract SpendOptions freshOptions(Path dataDir) throws Exception;

    @BeforeEach
    void setUpStore() throws Exception {
        options = freshOptions(dir).withFlushInterval(Duration.ofHours(1)).withClock(clock);
    }

    @AfterEach
    void closeAll() {
        started.forEach(SpendService::close);
    }

    SpendService start(SpendOptions o) {
        SpendService s = SpendService.start(o);
        started.add(s);
        return s;
    }

    static SpendRecord row(String id, String endUser, String model, String spend, Instant start) {
        return SpendRecord.builder().requestId(id).startTime(start).endTime(start.plusMillis(1500))
                .modelGroup(model).deploymentId(model + "-dep").provider("openai").model(model)
                .endUser(endUser).spend(spend == null ? null : new BigDecimal(spend)).promptTokens(244)
                .completionTokens(1056).totalTokens(1300).build();
    }

    static long count(SpendService s) {
        return s.logs(SpendQuery.all().withPaging(0, 1)).total();
    }

    @Test
    void record_flush_readsBackEveryField() {
        SpendService s = start(options);
        SpendRecord full = new SpendRecord("req-full", T0, T0.plusNanos(1_234_567_891L), "gpt-image-1", "dep-a",
                "azure", "gpt-image-1-2025", "https://x.openai.azure.com", "alice", "ab".repeat(32), "failure", 429,
                "rate_limit_error", "rate_limit_exceeded", new BigDecimal("0.044430000001"), 244, 1056, 1300, 50,
                194, 1000, 56, 2, 1, 123_456, 789_012, 2345, 2100, 3, true, "client-7");
        SpendRecord minimal = SpendRecord.builder().requestId("req-min").startTime(T0).endTime(T0).build();
        s.record(full);
        s.record(minimal);
        s.flush();

        assertThat(s.logs(SpendQuery.all().withRequestId("req-full")).rows()).containsExactly(full);
        SpendRecord readMin = s.logs(SpendQuery.all().withRequestId("req-min")).rows().getFirst();
        assertThat(readMin).isEqualTo(minimal);
        assertThat(readMin.spend()).isNull();
        assertThat(readMin.endUser()).isNull();
        assertThat(full.endTime()).isEqualTo(Instant.parse("2026-11-01T10:00:01.358023Z"));
    }

    @Test
    void restart_keepsRows() {
        SpendService s = start(options);
        for (int i = 0; i < 30; i++) {
            s.record(row("r" + i, "alice", "gpt-image-1", "0.01", T0.plusSeconds(i)));
        }
        s.close();
        SpendService again = start(options);
        assertThat(count(again)).isEqualTo(30);
        assertThat(again.endUserSpend("alice")).isEqualByComparingTo("0.30");
    }

    @Test
    void close_afterConcurrentLoad_flushesEveryRow() throws Exception {
        SpendService s = start(options.withBatchSize(64).withFlushInterval(Duration.ofMillis(20)));
        runThreads(s, 8, 200, null);
        s.close();
        // another journal: only what close() wrote to the database counts
        SpendService check = start(options.withJournalPath(dir.resolve("other.journal")));
        assertThat(count(check)).isEqualTo(1600);
    }

    @Test
    void close_duringConcurrentLoad_losesNone() throws Exception {
        SpendService s = start(options.withBatchSize(64).withFlushInterval(Duration.ofMillis(20)));
        CountDownLatch halfway = new CountDownLatch(8);
        Thread closer = Thread.ofPlatform().start(() -> {
            try {
                halfway.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            s.close();
        });
        runThreads(s, 8, 200, halfway);
        closer.join();
        // rows recorded after close() are in the journal; the next start writes them
        SpendService again = start(options);
        assertThat(count(again)).isEqualTo(1600);
    }

    /**
     * Regression (SpendBudgetE2eTest saw {@code requests} 6 instead of 5 on a loaded machine): a row became
     * "pending" only after the journal lock was released. A flush in between wrote the row and forgot a pending
     * count that was not there yet; the count added afterwards then stayed for good, so {@code /end_user/info}
     * and every budget check counted the row twice. The hook runs that flush at exactly that point.
     */
    @Test
    void record_flushedBeforeRecordReturns_isCountedOnce() {
        SpendService s = start(options.withEndUserBudgets(Map.of("pia", new BigDecimal("0.05"))));
        s.record(row("p1", "pia", "gpt-image-1", "0.02", clock.instant()));
        s.flush();
        s.afterJournalLock(s::flush);
        s.record(row("p2", "pia", "gpt-image-1", "0.02", clock.instant()));
        s.afterJournalLock(() -> { });

        assertThat(count(s)).isEqualTo(2);
        EndUserInfo info = s.endUserInfo("pia").orElseThrow();
        assertThat(info.requests()).isEqualTo(2);
        assertThat(info.spend()).isEqualByComparingTo("0.04");
        // counted twice, 0.06 would be over the 0.05 budget
        assertThat(s.checkBudget("pia")).isEmpty();
        assertThat(s.health().backlog()).isZero();
    }

    /**
     * The same under real concurrency: recording threads (more than cores, each its own end user) and a flusher
     * that never stops; every row is counted once in the end.
     */
    @Test
    void record_concurrentWithFlushes_countsEachRowOnce() throws Exception {
        SpendService s = start(options.withBatchSize(8));
        int threads = 16;
        int each = 300;
        java.util.concurrent.atomic.AtomicBoolean recording = new java.util.concurrent.atomic.AtomicBoolean(true);
        AtomicReference<Throwable> flushFailure = new AtomicReference<>();
        Thread flusher = Thread.ofPlatform().start(() -> {
            try {
                while (recording.get()) {
                    s.flush();
                }
            } catch (Throwable t) {
                flushFailure.set(t);
            }
        });
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int tt = t;
            ts.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < each; i++) {
                    s.record(row("once-" + tt + "-" + i, "once-" + tt, "gpt-image-1", "0.001", T0.plusMillis(i)));
                }
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
        recording.set(false);
        flusher.join();
        assertThat(flushFailure.get()).isNull();
        s.flush();

        assertThat(count(s)).isEqualTo(threads * each);
        List<String> wrong = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            EndUserInfo info = s.endUserInfo("once-" + t).orElseThrow();
            if (info.requests() != each || info.spend().compareTo(new BigDecimal("0.001").multiply(
                    BigDecimal.valueOf(each))) != 0) {
                wrong.add("once-" + t + ": " + info.requests() + " requests, " + info.spend().toPlainString() + " USD");
            }
        }
        assertThat(wrong).as("end users not counted %s requests, %s USD each", each, "0.3").isEmpty();
        assertThat(s.health().backlog()).isZero();
    }

    static void runThreads(SpendService s, int threads, int each, CountDownLatch halfway) throws Exception {
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int tt = t;
            ts.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < each; i++) {
                    s.record(row("t" + tt + "-" + i, "u" + (i % 5), "gpt-image-1", "0.04443", T0.plusMillis(i)));
                    if (i == each / 2 && halfway != null) {
                        halfway.countDown();
                    }
                }
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
    }

    @Test
    void journalReplay_afterCrash_writesEachRowOnce() throws Exception {
        SpendService first = start(options);
        for (int i = 0; i < 20; i++) {
            first.record(row("c" + i, "bob", "gpt-image-1", "0.5", T0.plusSeconds(i)));
        }
        first.flush();
        first.close();
        // a process killed after journaling 50 rows (20 of them already stored) and halfway through a 51st
        try (Journal j = new Journal(options.journalPath())) {
            for (int i = 0; i < 50; i++) {
                j.append(SpendJson.toJson(row("c" + i, "bob", "gpt-image-1", "0.5", T0.plusSeconds(i))));
            }
        }
        Files.writeString(options.journalPath(), "{\"request_id\":\"c50\",\"startT",
                java.nio.file.StandardOpenOption.APPEND);

        SpendService second = start(options);
        assertThat(count(second)).isEqualTo(50);
        assertThat(second.endUserSpend("bob")).isEqualByComparingTo("25");
        assertThat(second.health().backlog()).isZero();
        second.close();
        SpendService third = start(options);
        assertThat(count(third)).isEqualTo(50);
        assertThat(third.health().journalBytes()).isZero();
    }

    @Test
    void backlogBeyondMemoryBound_waitsInJournal_andIsWritten() {
        SpendService s = start(options.withMaxQueuedRows(10).withBatchSize(7));
        for (int i = 0; i < 100; i++) {
            s.record(row("m" + i, "carol", "gpt-image-1", "0.001", T0.plusSeconds(i)));
        }
        // full batches wake the writer early, so part may be written already; the sum is exact either way
        assertThat(s.endUserSpend("carol")).isEqualByComparingTo("0.1");
        s.flush();
        assertThat(count(s)).isEqualTo(100);
        assertThat(s.health().backlog()).isZero();
        assertThat(s.endUserSpend("carol")).isEqualByComparingTo("0.1");
    }

    @Test
    void backgroundWriter_flushesWithinTheInterval() throws Exception {
        SpendService s = start(options.withFlushInterval(Duration.ofMillis(30)));
        s.record(row("bg", "dave", "gpt-image-1", "0.02", T0));
        Await.until("the writer to flush on its own", () -> s.health().backlog() == 0);
        assertThat(count(s)).isEqualTo(1);
        assertThat(s.health().reachable()).isTrue();
        assertThat(s.health().lastFlush()).isPresent();
    }

    @Test
    void money_isSummedExactly() {
        SpendService s = start(options);
        for (int i = 0; i < 3; i++) {
            s.record(row("x" + i, "erin", "gpt-image-1", "0.04443", T0.plusSeconds(i)));
        }
        s.record(row("tiny", "erin", "gpt-image-1", "0.000000000001", T0.plusSeconds(9)));
        s.record(row("free", "erin", "gpt-image-1", null, T0.plusSeconds(10)));
        s.flush();
        assertThat(s.endUserInfo("erin").orElseThrow().spend()).isEqualByComparingTo("0.133290000001");
        assertThat(s.report(SpendGroupBy.END_USER, Optional.empty(), Optional.empty()).getFirst().spend())
                .isEqualByComparingTo("0.133290000001");
    }

    @Test
    void logs_filterByDateEndUserModelStatus_andPage() {
        SpendService s = start(options);
        for (int i = 0; i < 10; i++) {
            s.record(row("a" + i, "alice", "gpt-image-1", "0.01", T0.plus(Duration.ofHours(i))));
            s.record(row("b" + i, "bob", "dall-e-2", "0.02", T0.plus(Duration.ofDays(i))));
        }
        s.record(row("f", "bob", "dall-e-2", null, T0).toBuilder().status("failure").httpStatus(500).build());
        s.flush();

        assertThat(count(s)).isEqualTo(21);
        assertThat(s.logs(SpendQuery.all().withEndUser("alice")).total()).isEqualTo(10);
        assertThat(s.logs(SpendQuery.all().withModel("dall-e-2")).total()).isEqualTo(11);
        assertThat(s.logs(SpendQuery.all().withStatus("failure")).rows()).extracting(SpendRecord::requestId)
                .containsExactly("f");
        // 2026-11-01 is T0's day: a0..a9 (10:00 to 19:00), b0 and f
        Instant day = Instant.parse("2026-11-01T00:00:00Z");
        assertThat(s.logs(SpendQuery.all().withRange(Optional.of(day), Optional.of(day.plus(Duration.ofDays(1)))))
                .total()).isEqualTo(12);
        assertThat(s.logs(SpendQuery.all().withRange(Optional.of(T0.plus(Duration.ofDays(2))), Optional.empty()))
                .total()).isEqualTo(8);

        SpendPage first = s.logs(SpendQuery.all().withEndUser("bob").withPaging(0, 4));
        SpendPage third = s.logs(SpendQuery.all().withEndUser("bob").withPaging(8, 4));
        assertThat(first.total()).isEqualTo(11);
        assertThat(first.rows()).extracting(SpendRecord::requestId).containsExactly("b9", "b8", "b7", "b6");
        assertThat(third.rows()).extracting(SpendRecord::requestId).containsExactly("b1", "f", "b0");
    }

    @Test
    void report_groupsByModelEndUserAndDay() {
        SpendService s = start(options);
        s.record(row("1", "alice", "gpt-image-1", "0.04443", T0));
        s.record(row("2", "alice", "gpt-image-1", "0.04443", T0.plus(Duration.ofDays(1))));
        s.record(row("3", "bob", "dall-e-2", "0.02", T0.plus(Duration.ofDays(1))));
        s.record(row("4", null, "dall-e-2", null, T0).toBuilder().status("failure").build());
        s.flush();

        var byModel = s.report(SpendGroupBy.MODEL, Optional.empty(), Optional.empty());
        assertThat(byModel).extracting(r -> r.key().orElseThrow()).containsExactly("dall-e-2", "gpt-image-1");
        assertThat(byModel.get(1).spend()).isEqualByComparingTo("0.08886");
        assertThat(byModel.get(1).requests()).isEqualTo(2);
        assertThat(byModel.get(1).totalTokens()).isEqualTo(2600);
        assertThat(byModel.get(0).failures()).isEqualTo(1);

        var byDay = s.report(SpendGroupBy.DAY, Optional.empty(), Optional.empty());
        assertThat(byDay).extracting(r -> r.key().orElseThrow()).containsExactly("2026-11-01", "2026-11-02");
        assertThat(byDay.get(1).spend()).isEqualByComparingTo("0.06443");

        var byUser = s.report(SpendGroupBy.END_USER, Optional.of(T0.plusSeconds(1)), Optional.empty());
        assertThat(byUser).extracting(r -> r.key().orElse("-")).containsExactlyInAnyOrder("alice", "bob");
    }

    @Test
    void keyTeamUser_attribution_filtersReportsAndWindowsPerSubject() {
        SpendService s = start(options);
        s.record(row("k1", "alice", "gpt-image-1", "0.04443", T0).toBuilder().keyHash("aaa").keyAlias("app")
                .teamId("design").userId("ana").build());
        s.record(row("k2", "bob", "gpt-image-1", "0.02", T0.plus(Duration.ofDays(1))).toBuilder().keyHash("aaa")
                .keyAlias("app").teamId("design").userId("ana").build());
        s.record(row("k3", null, "dall-e-2", "0.016", T0.plus(Duration.ofDays(1))).toBuilder().keyHash("bbb")
                .keyAlias("cli").teamId("ops").build());
        s.record(row("k4", null, "dall-e-2", "0.5", T0)); // no key at all
        // unflushed rows count in the subject's window, and only rows that started in it
        assertThat(s.spend(Subject.key("aaa"), Instant.EPOCH, Optional.empty())).isEqualByComparingTo("0.06443");
        assertThat(s.spend(Subject.key("aaa"), T0.plus(Duration.ofHours(1)), Optional.of(T0.plus(Duration.ofDays(2)))))
                .isEqualByComparingTo("0.02");
        s.flush();
        assertThat(s.spend(Subject.team("design"), Instant.EPOCH, Optional.empty())).isEqualByComparingTo("0.06443");
        assertThat(s.spend(Subject.user("ana"), T0.plus(Duration.ofHours(1)), Optional.of(T0.plus(Duration.ofDays(2)))))
                .isEqualByComparingTo("0.02");

        SpendRecord back = s.logs(SpendQuery.all().withRequestId("k1")).rows().getFirst();
        assertThat(back.keyAlias()).isEqualTo("app");
        assertThat(back.teamId()).isEqualTo("design");
        assertThat(back.userId()).isEqualTo("ana");
        assertThat(s.logs(SpendQuery.all().withKeyHash("aaa")).rows()).extracting(SpendRecord::requestId)
                .containsExactlyInAnyOrder("k1", "k2");
        assertThat(s.logs(SpendQuery.all().withTeamId("ops")).rows()).extracting(SpendRecord::requestId)
                .containsExactly("k3");
        assertThat(s.logs(SpendQuery.all().withUserId("ana")).total()).isEqualTo(2);

        // from the counters (no range) and from the log (a range cutting a day) they agree
        var byTeam = s.report(SpendGroupBy.TEAM, Optional.empty(), Optional.empty());
        assertThat(byTeam).extracting(r -> r.key().orElseThrow()).containsExactly("design", "ops");
        assertThat(byTeam.get(0).spend()).isEqualByComparingTo("0.06443");
        var byKeyLog = s.report(SpendGroupBy.API_KEY, Optional.of(T0.minusSeconds(1)), Optional.empty());
        assertThat(byKeyLog).extracting(r -> r.key().orElseThrow()).containsExactly("aaa", "bbb");
        assertThat(byKeyLog.get(0).spend()).isEqualByComparingTo("0.06443");
        assertThat(s.report(SpendGroupBy.USER, Optional.empty(), Optional.empty()))
                .extracting(r -> r.key().orElseThrow()).containsExactly("ana");
    }

    @Test
    void endUserInfo_countsUnflushedRows_andUnknownIsEmpty() {
        SpendService s = start(options);
        s.record(row("1", "alice", "gpt-image-1", "0.04443", T0));
        s.flush();
        s.record(row("2", "alice", "gpt-image-1", "0.04443", T0.plusSeconds(5)));

        EndUserInfo info = s.endUserInfo("alice").orElseThrow();
        assertThat(info.spend()).isEqualByComparingTo("0.08886");
        assertThat(info.requests()).isEqualTo(2);
        assertThat(info.maxBudget()).isEmpty();
        assertThat(s.endUserInfo("nobody")).isEmpty();
        s.flush();
        assertThat(s.endUserInfo("alice").orElseThrow().spend()).isEqualByComparingTo("0.08886");
    }

    @Test
    void checkBudget_refusesOnceSpent_fromConfig() {
        SpendService s = start(options.withEndUserBudgets(Map.of("alice", new BigDecimal("0.1"))));
        assertThat(s.checkBudget("alice")).isEmpty();
        s.record(row("1", "alice", "gpt-image-1", "0.06", T0));
        assertThat(s.checkBudget("alice")).isEmpty();
        s.record(row("2", "alice", "gpt-image-1", "0.06", T0)); // not flushed yet: still counted
        BudgetRefusal r = s.checkBudget("alice").orElseThrow();
        assertThat(r.message()).isEqualTo("end user 'alice' is over budget: spend 0.12 USD, max_budget 0.1 USD");
        assertThat(r.code()).isEqualTo("budget_exceeded");
        assertThat(r.status()).isEqualTo(400);
        assertThat(s.checkBudget("bob")).isEmpty();
        assertThat(s.checkBudget(null)).isEmpty();
    }

    @Test
    void checkBudget_durationResetsTheWindow() {
        SpendService s = start(options.withEndUserBudgets(Map.of("alice",
                Map.of("max_budget", new BigDecimal("0.05"), "budget_duration", "1d"))));
        Instant now = clock.instant();
        s.record(row("1", "alice", "gpt-image-1", "0.05", now));
        s.flush();
        assertThat(s.checkBudget("alice")).isPresent();
        EndUserInfo info = s.endUserInfo("alice").orElseThrow();
        assertThat(info.budgetResetAt()).contains(now.plus(Duration.ofDays(1)));
        assertThat(info.budgetDuration()).contains("1d");

        clock.set(now.plus(Duration.ofDays(1)).plusSeconds(1));
        assertThat(s.checkBudget("alice")).isEmpty();
        EndUserInfo next = s.endUserInfo("alice").orElseThrow();
        assertThat(next.spend()).isEqualByComparingTo("0");
        assertThat(next.totalSpend()).isEqualByComparingTo("0.05");
        assertThat(next.budgetResetAt()).contains(now.plus(Duration.ofDays(2)));
    }

    @Test
    void createEndUser_setsABudget_thatSurvivesRestart() {
        SpendService s = start(options);
        EndUserInfo created = s.createEndUser("zoe", Optional.of(new BigDecimal("0.02")), Optional.of("30d"));
        assertThat(created.maxBudget()).hasValueSatisfying(v -> assertThat(v).isEqualByComparingTo("0.02"));
        assertThat(created.requests()).isZero();
        s.record(row("1", "zoe", "gpt-image-1", "0.02", clock.instant()));
        assertThat(s.checkBudget("zoe")).isPresent();
        s.close();
        SpendService again = start(options);
        assertThat(again.checkBudget("zoe")).isPresent();
        assertThat(again.endUserInfo("zoe").orElseThrow().budgetDuration()).contains("30d");
    }

    /** The database target of {@code o}, as {@link SpendService#start} picks it. */
    static DatabaseTarget targetOf(SpendOptions o) {
        return o.databaseUrl().map(DatabaseTarget::parse).orElseGet(() -> DatabaseTarget.sqlite(o.sqlitePath()));
    }

    /** The counters as the rows {@code rows} (distinct request ids) make them, computed here from scratch. */
    static Map<List<String>, SpendStore.Totals> expectedCounters(java.util.Collection<SpendRecord> rows) {
        Map<List<String>, SpendStore.Totals> out = new java.util.TreeMap<>(
                java.util.Comparator.comparing((List<String> k) -> k.get(0)).thenComparing(k -> k.get(1))
                        .thenComparing(k -> k.get(2)));
        for (SpendRecord r : rows) {
            for (String[] k : SpendStore.counterKeys(r)) {
                out.merge(List.of(k), new SpendStore.Totals(r.spend() == null ? BigDecimal.ZERO : r.spend(), 1),
                        (a, b) -> new SpendStore.Totals(a.spend().add(b.spend()), a.requests() + b.requests()));
            }
        }
        return out;
    }

    /** Compares money by value (scale aside): {@code 0.10} equals {@code 0.1}. */
    static Map<List<String>, String> plain(Map<List<String>, SpendStore.Totals> m) {
        Map<List<String>, String> out = new java.util.LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, v.spend().stripTrailingZeros().toPlainString() + " / " + v.requests()));
        return out;
    }

    private static List<SpendRecord> mixedRows(String prefix, int n) {
        List<SpendRecord> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            SpendRecord r = row(prefix + i, i % 4 == 3 ? null : "user-" + (i % 4), i % 2 == 0 ? "gpt-image-1" : "dall-e-2",
                    i % 5 == 4 ? null : "0.0" + (i % 9 + 1) + "443", T0.plus(Duration.ofHours(7L * i)));
            SpendRecord.Builder b = r.toBuilder().deploymentId("dep-" + (i % 3))
                    .status(i % 6 == 5 ? "failure" : "success").imagesOut(i % 2);
            if (i % 3 != 2) { // most rows made with a virtual key: its hash, alias, team and (some) user
                b.keyHash("hash-" + (i % 2)).keyAlias("alias-" + (i % 2)).teamId("team-" + (i % 3))
                        .userId(i % 3 == 0 ? "u-1" : null);
            }
            rows.add(b.build());
        }
        return rows;
    }

    @Test
    void counters_equalTheLog_andAJournalReplayAddsNothing() throws Exception {
        SpendService s = start(options.withBatchSize(7));
        List<SpendRecord> rows = mixedRows("k", 40);
        rows.forEach(s::record);
        s.flush();
        Map<List<String>, String> expected = plain(expectedCounters(rows));
        assertThat(plain(s.store().counters())).isEqualTo(expected);
        s.close();

        // a process killed after journaling rows, some of them already stored: the replay skips those
        try (Journal j = new Journal(options.journalPath())) {
            for (SpendRecord r : rows.subList(10, 40)) {
                j.append(SpendJson.toJson(r));
            }
            for (SpendRecord r : mixedRows("late", 3)) {
                j.append(SpendJson.toJson(r));
            }
        }
        SpendService again = start(options);
        List<SpendRecord> all = new ArrayList<>(rows);
        all.addAll(mixedRows("late", 3));
        assertThat(count(again)).isEqualTo(43);
        assertThat(plain(again.store().counters())).isEqualTo(plain(expectedCounters(all)));
        assertThat(again.endUserInfo("user-1").orElseThrow().totalRequests())
                .isEqualTo(all.stream().filter(r -> "user-1".equals(r.endUser())).count());
    }

    /** Rows written before the counters existed (schema version 2) are counted by the migration itself. */
    @Test
    void migration_backfillsCountersFromRowsWrittenBefore() throws Exception {
        DatabaseTarget target = targetOf(options);
        if (options.databaseUrl().isEmpty()) {
            Files.createDirectories(options.sqlitePath().getParent());
        }
        // version 2 rows had the key's hash, not its alias, team or user
        List<SpendRecord> rows = mixedRows("old", 25).stream()
                .map(r -> r.toBuilder().keyAlias(null).teamId(null).userId(null).build()).toList();
        try (SpendStore old = new SpendStore(target)) {
            old.flyway(Optional.of("2")).migrate();
            old.inTransaction(c -> {
                old.insertBeforeV5(c, rows);
                c.commit();
                return null;
            });
        }
        SpendService s = start(options);
        assertThat(plain(s.store().counters())).isEqualTo(plain(expectedCounters(rows)));
        assertThat(s.report(SpendGroupBy.DEPLOYMENT, Optional.empty(), Optional.empty()))
                .extracting(r -> r.key().orElseThrow()).containsExactly("dep-0", "dep-1", "dep-2");
    }

    /**
     * A budget window is summed from the log the first time it is read (rows written before the budget existed or
     * before the window was first asked for), then kept up by each insert, late rows of a replay included; a window
     * row deleted is made again, equal.
     */
    @Test
    void budgetWindow_madeFromTheLogOnce_thenKeptUpByInserts() throws Exception {
        SpendService s = start(options);
        SpendStore store = s.store();
        Instant start = T0.minus(Duration.ofHours(1));
        Instant end = start.plus(Duration.ofDays(1));
        s.record(row("w1", "wendy", "m", "0.10", T0));
        s.record(row("w2", "wendy", "m", "0.20", T0.plus(Duration.ofHours(2))));
        s.record(row("w-before", "wendy", "m", "5", start.minusMillis(1)));
        s.record(row("w-after", "wendy", "m", "7", end));
        s.flush();
        SpendStore.Totals first = store.totals("wendy", start, Optional.of(end));
        assertThat(first.spend()).isEqualByComparingTo("0.30");
        assertThat(first.requests()).isEqualTo(2);

        s.record(row("w3", "wendy", "m", "0.04", T0.plus(Duration.ofHours(3))));
        s.record(row("w2", "wendy", "m", "0.20", T0.plus(Duration.ofHours(2)))); // replayed: not again
        s.record(row("w-late", "wendy", "m", "0.01", start)); // arrives late, inside the window
        s.flush();
        SpendStore.Totals kept = store.totals("wendy", start, Optional.of(end));
        assertThat(kept.spend()).isEqualByComparingTo("0.35");
        assertThat(kept.requests()).isEqualTo(4);

        store.with(c -> c.createStatement().executeUpdate("DELETE FROM " + SpendStore.WINDOWS));
        assertThat(store.totals("wendy", start, Optional.of(end))).isEqualTo(kept);
        SpendStore.Totals allTime = store.totals("wendy", Instant.EPOCH, Optional.empty());
        assertThat(allTime.spend()).isEqualByComparingTo("12.35");
        assertThat(allTime.requests()).isEqualTo(6);
    }

    /** Cursor pages walk every row once, in the order of offset pages, ties on start_time included. */
    @Test
    void logs_cursorPages_walkEveryRowOnce_inOrder() {
        SpendService s = start(options);
        for (int i = 0; i < 23; i++) {
            // three rows per start time: the request id breaks the tie
            s.record(row(String.format("c%02d", i), i % 2 == 0 ? "even" : "odd", "gpt-image-1", "0.01",
                    T0.plusSeconds(i / 3)));
        }
        s.flush();
        List<String> byOffset = s.logs(SpendQuery.all().withPaging(0, 100)).rows().stream()
                .map(SpendRecord::requestId).toList();
        assertThat(byOffset).hasSize(23).startsWith("c22", "c21", "c20", "c19");

        List<String> walked = new ArrayList<>();
        SpendPage page = s.logs(SpendQuery.all().withPaging(0, 4));
        int pages = 1;
        walked.addAll(page.rows().stream().map(SpendRecord::requestId).toList());
        while (page.next().isPresent()) {
            SpendCursor next = SpendCursor.parse(page.next().get().token()); // as a client sends it back
            page = s.logs(SpendQuery.all().withCursor(next, 4));
            assertThat(page.total()).isEqualTo(23);
            walked.addAll(page.rows().stream().map(SpendRecord::requestId).toList());
            pages++;
        }
        assertThat(walked).isEqualTo(byOffset);
        assertThat(pages).isEqualTo(6);

        SpendPage odd = s.logs(SpendQuery.all().withEndUser("odd").withPaging(0, 5));
        SpendPage oddNext = s.logs(SpendQuery.all().withEndUser("odd").withCursor(odd.next().orElseThrow(), 50));
        assertThat(odd.total()).isEqualTo(11);
        assertThat(oddNext.rows()).hasSize(6).allMatch(r -> r.endUser().equals("odd"));
        assertThat(oddNext.next()).isEmpty();
    }

    /** The report from the counters (whole days) answers what the scan of the log (an arbitrary time) answers. */
    @Test
    void report_fromCounters_equalsTheScanOfTheLog() {
        SpendService s = start(options);
        mixedRows("r", 60).forEach(s::record);
        s.flush();
        Instant day = Instant.parse("2026-11-03T00:00:00Z");
        Instant to = Instant.parse("2026-11-09T00:00:00Z");
        for (SpendGroupBy g : SpendGroupBy.values()) {
            assertThat(s.store().reportSql(g, Optional.of(day), Optional.of(to)).text())
                    .contains(SpendStore.COUNTERS);
            assertThat(s.store().reportSql(g, Optional.of(day.minusNanos(1000)), Optional.of(to)).text())
                    .contains(SpendStore.LOGS);
            // no row starts in the microsecond before midnight, so both ranges hold the same rows
            assertThat(shown(s.report(g, Optional.of(day), Optional.of(to)))).as("group by %s", g)
                    .isNotEmpty().isEqualTo(shown(s.report(g, Optional.of(day.minusNanos(1000)), Optional.of(to))));
            assertThat(shown(s.report(g, Optional.empty(), Optional.empty()))).as("group by %s", g)
                    .isEqualTo(shown(s.report(g, Optional.empty(), Optional.of(Instant.parse("2030-01-01T00:00:01Z")))));
        }
        // totals of /spend/logs from the counters equal a count of the rows
        for (SpendQuery q : List.of(SpendQuery.all(), SpendQuery.all().withEndUser("user-2"),
                SpendQuery.all().withModel("dall-e-2").withStatus("failure"),
                SpendQuery.all().withDeploymentId("dep-1").withStatus("success")
                        .withRange(Optional.of(day), Optional.of(to)))) {
            assertThat(s.store().counterCountSql(q)).isPresent();
            assertThat(s.logs(q).total()).as("%s", q).isPositive().isEqualTo(countByScan(s, q));
        }
    }

    private static List<String> shown(List<SpendReportRow> rows) {
        return rows.stream().map(r -> r.key().orElse("-") + " " + r.spend().stripTrailingZeros().toPlainString() + " "
                + r.requests() + " " + r.failures() + " " + r.promptTokens() + " " + r.completionTokens() + " "
                + r.totalTokens() + " " + r.imagesOut()).toList();
    }

    private static long countByScan(SpendService s, SpendQuery q) {
        try {
            SpendStore.Sql sql = s.store().countSql(q);
            return s.store().with(c -> {
                try (var ps = c.prepareStatement(sql.text())) {
                    s.store().bind(ps, sql.args());
                    try (var rs = ps.executeQuery()) {
                        rs.next();
                        return rs.getLong(1);
                    }
                }
            });
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- blocked end users (migration V7)

    @Test
    void blockedEndUser_isRefusedAtOnce_keepsItsBudget_survivesARestart_untilUnblocked() {
        SpendService s = start(options.withEndUserBudgets(Map.of("alice", new BigDecimal("0.10"))));
        assertThat(s.blocked("alice")).isEmpty();
        assertThat(s.blocked(null)).isEmpty();

        List<EndUserInfo> blocked = s.blockEndUsers(List.of("alice", "mallory", "alice"));
        assertThat(blocked).extracting(EndUserInfo::endUserId).containsExactly("alice", "mallory");
        assertThat(blocked).allSatisfy(i -> assertThat(i.blocked()).isTrue());
        assertThat(s.blocked("alice")).contains("User blocked from making LLM API Calls. User=alice");
        assertThat(s.blocked("mallory")).isPresent();
        assertThat(s.endUserInfo("alice").orElseThrow().maxBudget()).hasValueSatisfying(
                m -> assertThat(m).isEqualByComparingTo("0.10"));
        s.close();

        // read back from the table: the configured budget is applied again, the block is kept
        SpendService again = start(options.withEndUserBudgets(Map.of("alice", new BigDecimal("0.20"))));
        again.flush();
        assertThat(again.blocked("alice")).isPresent();
        assertThat(again.blocked("mallory")).isPresent();
        assertThat(again.endUserInfo("alice").orElseThrow().maxBudget()).hasValueSatisfying(
                m -> assertThat(m).isEqualByComparingTo("0.20"));

        assertThat(again.unstored(List.of("alice", "nobody"))).containsExactly("nobody");
        assertThat(again.unblockEndUsers(List.of("alice", "nobody"))).isEmpty();
        assertThat(again.blocked("alice")).as("nothing unblocked while one is unknown").isPresent();
        assertThat(again.unblockEndUsers(List.of("alice")).orElseThrow()).singleElement()
                .satisfies(i -> assertThat(i.blocked()).isFalse());
        assertThat(again.blocked("alice")).isEmpty();
        again.close();
        SpendService third = start(options);
        third.flush();
        assertThat(third.blocked("alice")).isEmpty();
        assertThat(third.blocked("mallory")).isPresent();
    }

    @Test
    void updateEndUser_keepsWhatIsNotGiven_andDeleteKeepsTheSpendRows() {
        SpendService s = start(options);
        s.createEndUser("pat", Optional.of(new BigDecimal("1")), Optional.of("30d"));
        Instant reset = s.endUserInfo("pat").orElseThrow().budgetResetAt().orElseThrow();
        clock.set(clock.instant().plus(Duration.ofDays(2)));

        EndUserInfo raised = s.updateEndUser("pat", Optional.of(new BigDecimal("2")), Optional.empty(),
                Optional.empty()).orElseThrow();
        assertThat(raised.maxBudget()).hasValueSatisfying(m -> assertThat(m).isEqualByComparingTo("2"));
        assertThat(raised.budgetResetAt()).as("the window is kept").contains(reset);
        EndUserInfo blocked = s.updateEndUser("pat", Optional.empty(), Optional.empty(), Optional.of(true))
                .orElseThrow();
        assertThat(blocked.blocked()).isTrue();
        assertThat(blocked.maxBudget()).hasValueSatisfying(m -> assertThat(m).isEqualByComparingTo("2"));
        assertThat(s.blocked("pat")).isPresent();
        assertThat(s.updateEndUser("ghost", Optional.of(BigDecimal.ONE), Optional.empty(), Optional.empty()))
                .isEmpty();

        s.record(row("p1", "pat", "gpt-image-1", "0.04", clock.instant()));
        assertThat(s.deleteEndUsers(List.of("pat", "ghost")).unknown()).containsExactly("ghost");
        assertThat(s.blocked("pat")).isPresent();
        assertThat(s.deleteEndUsers(List.of("pat")).deleted()).isEqualTo(1);
        assertThat(s.blocked("pat")).isEmpty();
        s.flush();
        EndUserInfo after = s.endUserInfo("pat").orElseThrow();
        assertThat(after.maxBudget()).isEmpty();
        assertThat(after.totalRequests()).isEqualTo(1);
        // seen in the spend log only: still updatable, deleting it again deletes no row
        assertThat(s.deleteEndUsers(List.of("pat")).deleted()).isZero();
    }

    @Test
    void blockOnAnotherReplica_isSeenAtTheNextRefresh() {
        SpendService a = start(options);
        // another process on the same database: its own journal
        SpendService b = start(options.withFlushInterval(Duration.ofMillis(20))
                .withJournalPath(dir.resolve("replica-b/spend.journal")));
        b.flush();
        a.blockEndUsers(List.of("eve"));
        assertThat(b.blocked("eve")).as("not before b reads the table again").isEmpty();

        clock.set(clock.instant().plusSeconds(11)); // past the 10 s refresh
        Await.until("replica b sees eve blocked", () -> b.blocked("eve").isPresent());
        a.unblockEndUsers(List.of("eve"));
        clock.set(clock.instant().plusSeconds(11));
        Await.until("replica b sees eve unblocked", () -> b.blocked("eve").isEmpty());
    }

    @Test
    void concurrentBlocksAndUnblocks_whileTheTableIsReadAgainAndAgain_endAsWritten() throws Exception {
        SpendService s = start(options.withFlushInterval(Duration.ofMillis(1)));
        int threads = 8;
        int perThread = 25;
        AtomicReference<Throwable> failure = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        // keeps the writer's refresh due: every loop of it reads the table again while the threads write
        Thread ticker = Thread.ofPlatform().start(() -> {
            while (!done.get()) {
                clock.set(clock.instant().plusSeconds(11));
                Thread.yield();
            }
        });
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    for (int i = 0; i < perThread; i++) {
                        String u = "u" + id + "-" + i;
                        s.blockEndUsers(List.of(u));
                        if (i % 2 == 0) {
                            s.unblockEndUsers(List.of(u)).orElseThrow();
                        }
                        // what this process wrote, it sees at once, whatever the refresh read meanwhile
                        if ((i % 2 == 0) == s.blocked(u).isPresent()) {
                            throw new AssertionError(u + " seen " + (i % 2 == 0 ? "blocked" : "unblocked"));
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        go.countDown();
        for (Thread w : workers) {
            w.join();
        }
        done.set(true);
        ticker.join();
        assertThat(failure.get()).isNull();
        for (int t = 0; t < threads; t++) {
            for (int i = 0; i < perThread; i++) {
                assertThat(s.blocked("u" + t + "-" + i).isPresent()).as("u%d-%d", t, i).isEqualTo(i % 2 == 1);
            }
        }
    }

    /** A clock tests move by hand. */
    static final class MutableClock extends Clock {
        private final AtomicReference<Instant> now;

        MutableClock(Instant start) {
            now = new AtomicReference<>(start);
        }

        void set(Instant t) {
            now.set(t);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now.get();
        }
    }
}
