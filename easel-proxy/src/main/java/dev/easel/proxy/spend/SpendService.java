package dev.easel.proxy.spend;

import dev.easel.EaselException;
import dev.easel.config.ConfigException;
import dev.easel.routing.BudgetLedger;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable spend log: one row per request, written off the request path, never lost.
 *
 * <p>{@link #record} appends the row to a local journal (one JSON line, no fsync) and queues it; a writer
 * thread inserts queued rows in batches every flush interval, idempotently on the request id, then deletes
 * the journal segment that held them. At start the journal is replayed, so rows of a killed process are
 * written exactly once. While the database is down rows wait, in memory up to a bound and in the journal
 * beyond it; {@link #close()} writes everything that can be written.
 *
 * <pre>{@code
 * try (SpendService spend = SpendService.start(SpendOptions.of(config.generalSettings(), dataDir))) {
 *     spend.checkBudget(endUser).ifPresent(r -> { throw refuse(r); });
 *     spend.record(row);
 * }
 * }</pre>
 */
public final class SpendService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SpendService.class);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
    private static final Duration PING_EVERY = Duration.ofSeconds(5);
    private static final Duration BUDGET_REFRESH = Duration.ofSeconds(10);
    /** How long the request path trusts a window total read from the database (kept up with own inserts). */
    static final Duration KNOWN_FRESH = Duration.ofSeconds(10);

    /**
     * The store's state for {@code /health/readiness}.
     *
     * @param reachable    the last database operation succeeded
     * @param store        where rows go (no password)
     * @param backlog      rows recorded but not yet in the database
     * @param journalBytes bytes in the journal files
     * @param lastError    the last database error, if the store is not reachable
     * @param lastFlush    when rows were last written
     * @param lostRows     rows that could be kept neither in memory nor in the journal (disk failure)
     */
    public record Health(boolean reachable, String store, long backlog, long journalBytes,
                        Optional<String> lastError, Optional<Instant> lastFlush, long lostRows) {
    }

    /** Rows of one journal segment; {@code rows} null means "read them from the file". */
    private static final class Segment {
        final Path path;
        final List<SpendRecord> rows;
        int done;

        Segment(Path path, List<SpendRecord> rows) {
            this.path = path;
            this.rows = rows;
        }
    }

    private record Pending(BigDecimal spend, long requests) {
    }

    /**
     * A window's database total as last read ({@code loaded}), kept up with this process's own inserts. The request
     * path uses it for {@link #KNOWN_FRESH} instead of reading the database per request; other replicas' rows reach
     * it when it is read again (a fleet that needs them at once shares a Redis budget ledger).
     */
    private record Known(Instant from, SpendStore.Totals totals, Instant loaded) {
    }

    private final SpendOptions options;
    private final SpendStore store;
    private final Journal journal;

    // journalLock guards the active segment's rows, the orphans and the memory count
    private final Object journalLock = new Object();
    private List<SpendRecord> activeRows = new ArrayList<>();
    private int activeCount;
    private int inMemory;
    private boolean journalClosed;
    private final List<SpendRecord> orphans = new ArrayList<>();
    private boolean overflowWarned;

    // flushLock guards segments
    private final ReentrantLock flushLock = new ReentrantLock();
    private final Deque<Segment> segments = new ArrayDeque<>();
    private volatile boolean schemaReady;
    private Instant budgetsLoaded = Instant.MIN;

    // the write lock covers "commit + forget pending", so a reader never counts a row twice or not at all
    private final ReentrantReadWriteLock accounting = new ReentrantReadWriteLock();
    /** Rows recorded but not yet committed, per subject and start time (a window counts only its own). */
    private final Map<Subject, java.util.concurrent.ConcurrentSkipListMap<Instant, Pending>> pending =
            new ConcurrentHashMap<>();
    private final Map<Subject, Known> known = new ConcurrentHashMap<>();
    private final Map<String, Budget> budgets = new ConcurrentHashMap<>();
    private final Map<String, Budget> configured;
    /** End users whose requests are refused: read with the budgets, kept current by this process's writes. */
    private final Set<String> blockedEndUsers = ConcurrentHashMap.newKeySet();
    /**
     * Held across "write the end-user table + update the maps" and across a refresh's "read the table + replace the
     * maps", so a refresh that read the table before a write cannot undo that write in memory.
     */
    private final Object endUsersLock = new Object();

    private final AtomicLong backlog = new AtomicLong();
    private final AtomicLong lost = new AtomicLong();
    private volatile boolean reachable;
    private volatile String lastError;
    private volatile Instant lastFlush;
    private volatile Instant lastOk = Instant.MIN;

    private final AtomicBoolean closed = new AtomicBoolean();
    private final Semaphore wake = new Semaphore(0);
    private final Thread writer;
    private volatile Runnable afterJournalLock = () -> { };

    private SpendService(SpendOptions options, DatabaseTarget target) throws IOException {
        this.options = options;
        this.configured = parseBudgets(options.endUserBudgets(), options.clock().instant());
        for (Budget b : configured.values()) {
            tooLarge(b.maxBudget()).ifPresent(why -> {
                throw new ConfigException("general_settings.end_user_budgets." + b.endUser() + ".max_budget: " + why);
            });
        }
        this.budgets.putAll(configured);
        this.store = new SpendStore(target);
        this.journal = new Journal(options.journalPath());
        this.writer = Thread.ofPlatform().daemon().name("easel-spend-writer").unstarted(this::writeLoop);
    }

    /**
     * Opens the store, migrates its schema, replays the journal and starts the writer. A database that cannot
     * be reached does not stop the start: rows wait in the journal and {@link #health()} says why.
     *
     * @throws ConfigException for a bad {@code database_url} or {@code end_user_budgets}
     * @throws EaselException  when the journal cannot be opened
     */
    public static SpendService start(SpendOptions options) {
        DatabaseTarget target = options.databaseUrl().map(DatabaseTarget::parse)
                .orElseGet(() -> DatabaseTarget.sqlite(options.sqlitePath()));
        SpendService s;
        try {
            s = new SpendService(options, target);
            s.replay();
        } catch (IOException e) {
            throw new EaselException("cannot open the spend journal " + options.journalPath() + ": " + e.getMessage(),
                    "config_error");
        }
        try {
            s.flush();
        } catch (EaselException e) {
            LOG.error("spend store {} not available at start ({}); rows wait in the journal {}", target,
                    e.getMessage(), options.journalPath());
        }
        s.writer.start();
        return s;
    }

    /** Sealed segments left by an earlier run: counted as backlog and pending spend, written by the next flush. */
    private void replay() throws IOException {
        long rows = 0;
        for (Path p : journal.sealed()) {
            Journal.Contents c = Journal.read(p);
            for (SpendRecord r : c.rows()) {
                addPending(r);
            }
            rows += c.rows().size();
            segments.add(new Segment(p, null));
        }
        backlog.addAndGet(rows);
        if (rows > 0) {
            LOG.info("replaying {} spend rows from the journal {}", rows, journal.path());
        }
    }

    // ---------------------------------------------------------------- recording

    /**
     * Records one request. Never blocks on the database and never throws: the row is in the journal when
     * this returns (or, if the disk fails, in memory), and in the database within a flush interval.
     */
    public void record(SpendRecord row) {
        if (row == null) {
            return;
        }
        noteHeldCost(row);
        try {
            String json = SpendJson.toJson(row);
            boolean wakeWriter;
            synchronized (journalLock) {
                boolean journaled;
                try {
                    journal.append(json);
                    journaled = true;
                } catch (IOException | RuntimeException e) {
                    journaled = false;
                    lastError = "journal write failed: " + e.getMessage();
                    LOG.error("cannot append to the spend journal {}: {}", journal.path(), e.toString());
                }
                if (journalClosed) {
                    if (!journaled) {
                        lost.incrementAndGet();
                        LOG.error("spend row lost (service closed, journal not writable): {}", json);
                    }
                    return; // the next start replays it from the journal
                }
                if (!journaled) {
                    if (inMemory >= options.maxQueuedRows()) {
                        lost.incrementAndGet();
                        LOG.error("spend row lost (journal not writable, memory full): {}", json);
                        return;
                    }
                    orphans.add(row);
                    inMemory++;
                } else if (activeRows != null && inMemory < options.maxQueuedRows()) {
                    activeRows.add(row);
                    inMemory++;
                } else if (activeRows != null) {
                    inMemory -= activeRows.size(); // the file has them all; read it back when it is written
                    activeRows = null;
                    if (!overflowWarned) {
                        overflowWarned = true;
                        LOG.warn("spend backlog over {} rows: further rows wait in the journal only",
                                options.maxQueuedRows());
                    }
                }
                activeCount++;
                wakeWriter = activeCount == options.batchSize();
                // counted before the lock is released: from then on a flush may seal, write and forget the row,
                // and forgetting a count not yet added would leave it counted twice for good
                backlog.incrementAndGet();
                addPending(row);
            }
            afterJournalLock.run();
            if (wakeWriter) {
                wake.release();
            }
        } catch (RuntimeException e) {
            LOG.error("spend row not recorded: {}", e.toString());
        }
    }

    /** The database the spend log lives in, for the stores beside it (keys, teams, users). */
    public Database database() {
        return new Database(store, this::ensureSchemaLocked);
    }

    /** The store, for tests and checks in this package. */
    SpendStore store() {
        return store;
    }

    /**
     * Tests only: runs in {@link #record} right after the journal lock is released, the point where the writer
     * may seal, write and forget the row before {@code record} returns.
     */
    void afterJournalLock(Runnable hook) {
        this.afterJournalLock = hook;
    }

    private void addPending(SpendRecord r) {
        BigDecimal spend = r.spend() == null ? BigDecimal.ZERO : r.spend();
        for (Subject s : Subject.of(r)) {
            pending.compute(s, (k, m) -> {
                var map = m != null ? m : new java.util.concurrent.ConcurrentSkipListMap<Instant, Pending>();
                map.merge(r.startTime(), new Pending(spend, 1),
                        (a, b) -> new Pending(a.spend().add(b.spend()), a.requests() + b.requests()));
                return map;
            });
        }
    }

    private void forgetPending(List<SpendRecord> rows) {
        for (SpendRecord r : rows) {
            BigDecimal spend = r.spend() == null ? BigDecimal.ZERO : r.spend();
            for (Subject s : Subject.of(r)) {
                pending.computeIfPresent(s, (k, m) -> {
                    m.computeIfPresent(r.startTime(), (t, p) -> p.requests() <= 1 ? null
                            : new Pending(p.spend().subtract(spend), p.requests() - 1));
                    return m.isEmpty() ? null : m;
                });
            }
        }
    }

    /** Keeps the last known database totals in step with what was just committed (new rows only). */
    private void advanceKnown(List<SpendRecord> rows, boolean[] inserted) {
        for (int i = 0; i < rows.size(); i++) {
            SpendRecord r = rows.get(i);
            if (!inserted[i]) {
                continue;
            }
            BigDecimal spend = r.spend() == null ? BigDecimal.ZERO : r.spend();
            for (Subject s : Subject.of(r)) {
                known.computeIfPresent(s, (k, kn) -> r.startTime().isBefore(kn.from()) ? kn
                        : new Known(kn.from(), new SpendStore.Totals(kn.totals().spend().add(spend),
                                kn.totals().requests() + 1), kn.loaded()));
            }
        }
    }

    // ---------------------------------------------------------------- writing

    /**
     * Writes every row recorded so far to the database now.
     *
     * @throws EaselException (status 503, code {@code spend_store_unavailable}) when the database cannot be
     *                        reached; the rows keep waiting
     */
    public void flush() {
        flushLock.lock();
        try {
            for (int pass = 0; pass < 3; pass++) {
                if (!flushOnce()) {
                    break;
                }
            }
        } catch (SQLException | IOException | RuntimeException | Error e) {
            if (e instanceof EaselException ee) {
                throw ee;
            }
            noteFailure(e);
            throw unavailable(e);
        } finally {
            flushLock.unlock();
        }
    }

    /** One pass: older segments, then the active one, then orphans. Returns whether the active file had rows. */
    private boolean flushOnce() throws SQLException, IOException {
        ensureSchema();
        writeSegments();
        boolean sealed;
        synchronized (journalLock) {
            Path p = journal.seal();
            sealed = p != null;
            if (sealed) {
                segments.add(new Segment(p, activeRows));
                activeRows = new ArrayList<>();
                activeCount = 0;
                overflowWarned = false;
            }
        }
        writeSegments();
        List<SpendRecord> taken;
        synchronized (journalLock) {
            taken = List.copyOf(orphans);
        }
        if (!taken.isEmpty()) {
            write(taken);
            synchronized (journalLock) {
                orphans.subList(0, taken.size()).clear();
                inMemory -= taken.size();
            }
        }
        reachable = true;
        lastOk = options.clock().instant();
        return sealed;
    }

    private void writeSegments() throws SQLException, IOException {
        while (!segments.isEmpty()) {
            Segment seg = segments.peekFirst();
            List<SpendRecord> rows = seg.rows;
            int bad = 0;
            if (rows == null) {
                Journal.Contents c = Journal.read(seg.path);
                rows = c.rows();
                bad = c.badLines();
            }
            while (seg.done < rows.size()) {
                List<SpendRecord> batch = rows.subList(seg.done, Math.min(rows.size(),
                        seg.done + options.batchSize()));
                write(batch);
                seg.done += batch.size();
            }
            if (bad > 0) {
                Path kept = seg.path.resolveSibling(seg.path.getFileName() + ".corrupt");
                Files.move(seg.path, kept, StandardCopyOption.REPLACE_EXISTING);
                LOG.error("{} lines of {} could not be read; the file is kept as {}", bad, seg.path, kept);
            } else {
                Journal.delete(seg.path);
            }
            segments.removeFirst();
            if (seg.rows != null) {
                synchronized (journalLock) {
                    inMemory -= seg.rows.size();
                }
            }
            lastFlush = options.clock().instant();
        }
    }

    /**
     * One transaction (rows, counters, budget windows); the commit and forgetting the pending spend happen
     * together, under the accounting lock, so a budget read never counts a row twice or not at all.
     */
    private void write(List<SpendRecord> batch) throws SQLException {
        store.write(batch, (commit, inserted) -> {
            accounting.writeLock().lock();
            try {
                commit.run();
                forgetPending(batch);
                advanceKnown(batch, inserted);
            } finally {
                accounting.writeLock().unlock();
            }
        });
        backlog.addAndGet(-batch.size());
    }

    private void ensureSchema() throws SQLException {
        if (!schemaReady) {
            store.migrate();
            for (Budget b : configured.values()) {
                Budget stored = store.budgets().get(b.endUser());
                if (!b.sameTerms(stored)) {
                    store.upsert(b, options.clock().instant());
                }
            }
            schemaReady = true;
            refreshBudgets();
        }
    }

    private void refreshBudgets() throws SQLException {
        synchronized (endUsersLock) {
            Map<String, Budget> fresh = store.budgets();
            Set<String> blocked = store.blockedEndUsers();
            budgets.putAll(fresh);
            budgets.keySet().retainAll(fresh.keySet());
            blockedEndUsers.addAll(blocked);
            blockedEndUsers.retainAll(blocked);
        }
        Instant now = options.clock().instant();
        budgetsLoaded = now;
        // what the request path falls back on while the database is down
        for (Budget b : budgets.values()) {
            if (b.maxBudget() != null) {
                Instant from = b.windowStart(now);
                accounting.readLock().lock();
                try {
                    known.put(Subject.endUser(b.endUser()), new Known(from, store.totals(b.endUser(), from,
                            windowEnd(b, from)), now));
                } finally {
                    accounting.readLock().unlock();
                }
            }
        }
    }

    private void writeLoop() {
        Duration delay = options.flushInterval();
        while (!closed.get()) {
            try {
                wake.tryAcquire(delay.toMillis(), TimeUnit.MILLISECONDS);
                wake.drainPermits();
            } catch (InterruptedException e) {
                break;
            }
            if (closed.get()) {
                break;
            }
            flushLock.lock();
            try {
                flushOnce();
                delay = options.flushInterval();
                Instant now = options.clock().instant();
                if (Duration.between(budgetsLoaded, now).compareTo(BUDGET_REFRESH) > 0) {
                    refreshBudgets();
                }
                if (Duration.between(lastOk, now).compareTo(PING_EVERY) > 0) {
                    reachable = store.ping();
                    if (reachable) {
                        lastOk = now;
                    }
                }
            } catch (Exception | Error e) { // the writer must outlive any failure
                noteFailure(e);
                Duration doubled = delay.multipliedBy(2);
                delay = doubled.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : doubled;
            } finally {
                flushLock.unlock();
            }
        }
    }

    private void noteFailure(Throwable e) {
        boolean was = reachable;
        reachable = false;
        lastError = SpendStore.rootMessage(e);
        if (was || LOG.isDebugEnabled()) {
            LOG.warn("spend store {} unavailable, {} rows wait: {}", store.target(), backlog.get(), lastError);
        }
    }

    private EaselException unavailable(Throwable e) {
        return new EaselException("spend store unavailable: " + SpendStore.rootMessage(e), 503, "api_error",
                "spend_store_unavailable", null, null, null, e);
    }

    // ---------------------------------------------------------------- health

    /** The store's state; cheap (no database call). */
    public Health health() {
        return new Health(reachable, store.target().display(), backlog.get(), journal.totalBytes(),
                reachable ? Optional.empty() : Optional.ofNullable(lastError), Optional.ofNullable(lastFlush),
                lost.get());
    }

    // ---------------------------------------------------------------- budgets

    /**
     * Refuses an end user who has used up the budget (spend in the current window, unflushed rows included,
     * at or over {@code max_budget}). No budget, no end user: empty. When the database is down the last known
     * total plus the rows recorded since is used.
     */
    public Optional<BudgetRefusal> checkBudget(String endUser) {
        return checkBudget(endUser, null);
    }

    /**
     * Like {@link #checkBudget(String)}, and also refuses the request that would exceed the budget: spend plus
     * {@code estimate} (the request's estimated cost, null when unknown) above {@code max_budget}.
     */
    public Optional<BudgetRefusal> checkBudget(String endUser, BigDecimal estimate) {
        if (endUser == null || endUser.isBlank()) {
            return Optional.empty();
        }
        Budget b = budgets.get(endUser);
        if (b == null || b.maxBudget() == null) {
            return Optional.empty();
        }
        return refusal(endUser, b, windowTotals(endUser, b.windowStart(options.clock().instant()), true).spend(),
                estimate);
    }

    /** Why a request of {@code estimate} (null: unknown) is refused on top of {@code spend}, if it is. */
    private static Optional<BudgetRefusal> refusal(String endUser, Budget b, BigDecimal spend, BigDecimal estimate) {
        if (spend.compareTo(b.maxBudget()) >= 0) {
            return Optional.of(new BudgetRefusal(endUser, spend, b.maxBudget()));
        }
        if (estimate != null && spend.add(estimate).compareTo(b.maxBudget()) > 0) {
            return Optional.of(new BudgetRefusal(endUser, spend, BigDecimal.ZERO, b.maxBudget(), estimate));
        }
        return Optional.empty();
    }

    /**
     * A budget taken before the call: the request's estimated cost held against one or more budgets until the
     * request has ended. Close it on every exit path, after the request's spend row is recorded: each hold is then
     * settled with the cost of the rows recorded under its request id (or released when none was), so a shared
     * ledger counts the cost at once. Closing is idempotent.
     */
    public interface BudgetHold extends AutoCloseable {
        /** Settles the holds with what their request's rows cost, or releases them. */
        @Override
        void close();
    }

    private static final BudgetHold NO_HOLD = () -> { };

    /**
     * What one request's spend rows add up to while it runs: {@link #record} adds each row recorded under its
     * request id. Holds and rate-limit leases read it when they end. {@link #close()} stops the tracking.
     */
    public final class Tally implements AutoCloseable {
        private final String requestId;
        private BigDecimal cost;
        private long tokens;
        private boolean closed;

        private Tally(String requestId) {
            this.requestId = requestId;
        }

        synchronized void add(SpendRecord row) {
            if (!closed) {
                cost = (cost == null ? BigDecimal.ZERO : cost).add(row.spend() == null ? BigDecimal.ZERO
                        : row.spend());
                tokens += row.totalTokens();
            }
        }

        /** The cost of the rows recorded so far; empty when none was. */
        public synchronized Optional<BigDecimal> cost() {
            return Optional.ofNullable(cost);
        }

        /** Tokens of the rows recorded so far. */
        public synchronized long tokens() {
            return tokens;
        }

        @Override
        public void close() {
            synchronized (this) {
                closed = true;
            }
            if (requestId != null) {
                tallies.remove(requestId, this);
            }
        }
    }

    /** Tallies open on this process by request id, so {@link #record} can tell a request what its rows cost. */
    private final Map<String, Tally> tallies = new ConcurrentHashMap<>();

    /** Starts tallying the rows recorded under {@code requestId} (null: a tally nothing is added to). */
    public Tally track(String requestId) {
        Tally t = new Tally(requestId);
        if (requestId != null) {
            tallies.put(requestId, t);
        }
        return t;
    }

    /** Tells the tally of the row's request (if open here) what the row cost. */
    private void noteHeldCost(SpendRecord row) {
        Tally t = tallies.get(row.requestId());
        if (t != null) {
            t.add(row);
        }
    }

    /**
     * One budget a request must fit in.
     *
     * @param subject     whose budget
     * @param who         how a refusal names it ({@code key 'mobile-app'}: never key material)
     * @param max         USD
     * @param windowStart the start of the current window ({@link Instant#EPOCH}: all time)
     * @param resetAt     the end of the current window; empty for all time
     */
    public record Allowance(Subject subject, String who, BigDecimal max, Instant windowStart,
                            Optional<Instant> resetAt) {
    }

    /** The granted holds of one request; closing settles or releases each. */
    private final class OpenHold implements BudgetHold {
        private final List<BudgetLedger.Hold> holds;
        private final Tally tally;
        private final boolean ownsTally;
        private boolean closed;

        OpenHold(List<BudgetLedger.Hold> holds, Tally tally, boolean ownsTally) {
            this.holds = holds;
            this.tally = tally;
            this.ownsTally = ownsTally;
        }

        @Override
        public void close() {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
            }
            Optional<BigDecimal> actual = tally.cost();
            if (ownsTally) {
                tally.close();
            }
            endAll(holds, actual);
        }
    }

    private void endAll(List<BudgetLedger.Hold> holds, Optional<BigDecimal> actual) {
        Instant now = options.clock().instant();
        for (BudgetLedger.Hold hold : holds) {
            try {
                if (actual.isEmpty()) {
                    options.budgetLedger().release(hold, now);
                } else {
                    options.budgetLedger().settle(hold, actual.get(), now);
                }
            } catch (RuntimeException e) { // an exit path: the hold frees itself at its expiry
                LOG.warn("budget hold of {} not ended ({}); it frees itself at {}", hold.window().key(),
                        e.toString(), hold.expiresAt());
            }
        }
    }

    /**
     * Checks the end user's budget and holds {@code estimate} against it in one step, through the configured
     * {@link BudgetLedger}: refused when the window's spend plus what requests in flight hold plus {@code estimate}
     * would exceed {@code max_budget} (or nothing of it is left), so concurrent requests, on this replica or (with a
     * shared ledger) on any, cannot together overspend by more than the estimates undershoot the actual costs.
     * {@code estimate} null (an unpriced model): only some budget must be left, and nothing is held.
     *
     * @param requestId the request's id, as its spend rows carry it (their cost settles the hold); null if none
     * @param refuse    called with the refusal (the proxy throws from it); the hold is then empty
     * @throws dev.easel.routing.LedgerUnavailableException (503) when a shared ledger cannot be reached and its
     *                                                      policy is to refuse
     */
    public BudgetHold holdBudget(String endUser, String requestId, BigDecimal estimate,
                                 java.util.function.Consumer<BudgetRefusal> refuse) {
        Optional<Allowance> a = endUserAllowance(endUser);
        if (a.isEmpty()) {
            return NO_HOLD;
        }
        Tally tally = track(requestId);
        BudgetHold h = holdBudgets(tally, List.of(a.get()), estimate, refuse, true);
        if (h == NO_HOLD) {
            tally.close();
        }
        return h;
    }

    /** The end user's budget as an allowance; empty without one. */
    public Optional<Allowance> endUserAllowance(String endUser) {
        if (endUser == null || endUser.isBlank()) {
            return Optional.empty();
        }
        Budget b = budgets.get(endUser);
        if (b == null || b.maxBudget() == null) {
            return Optional.empty();
        }
        Instant now = options.clock().instant();
        return Optional.of(new Allowance(Subject.endUser(endUser), Subject.endUser(endUser).describe(),
                b.maxBudget(), b.windowStart(now), Optional.ofNullable(b.resetAt(now))));
    }

    /**
     * Holds {@code estimate} against every budget of {@code allowances}, in order, each in one atomic step of the
     * ledger (as {@link #holdBudget}). When one refuses, the holds already taken are released and {@code refuse}
     * is called with that budget's refusal. The holds end (settled with {@code tally}'s cost, or released when it
     * has no row) when the returned hold is closed; the caller closes {@code tally} after that.
     *
     * @throws dev.easel.routing.LedgerUnavailableException (503) when a shared ledger cannot be reached and its
     *                                                      policy is to refuse (the holds already taken released)
     */
    public BudgetHold holdBudgets(Tally tally, List<Allowance> allowances, BigDecimal estimate,
                                  java.util.function.Consumer<BudgetRefusal> refuse) {
        return holdBudgets(tally, allowances, estimate, refuse, false);
    }

    /** {@code ownsTally}: closing the hold closes the tally too (the one-call {@link #holdBudget}). */
    private BudgetHold holdBudgets(Tally tally, List<Allowance> allowances, BigDecimal estimate,
                                   java.util.function.Consumer<BudgetRefusal> refuse, boolean ownsTally) {
        if (allowances.isEmpty()) {
            return NO_HOLD;
        }
        Instant now = options.clock().instant();
        List<BudgetLedger.Hold> taken = new ArrayList<>(allowances.size());
        try {
            for (Allowance a : allowances) {
                BudgetLedger.Window window = new BudgetLedger.Window(a.subject().ledgerKey(), a.windowStart(),
                        a.resetAt());
                Optional<Instant> to = a.windowStart().equals(Instant.EPOCH) ? Optional.empty() : a.resetAt();
                BudgetLedger.Reservation r = options.budgetLedger().hold(window, a.max(),
                        estimate == null ? BigDecimal.ZERO : estimate,
                        () -> windowTotals(a.subject(), a.windowStart(), to, true, true).spend(), now,
                        now.plus(options.budgetHoldExpiry()));
                if (r instanceof BudgetLedger.Reservation.Refused f) {
                    endAll(taken, Optional.empty());
                    taken.clear();
                    refuse.accept(new BudgetRefusal(a.who(), f.spent(), f.held(), a.max(), estimate,
                            a.resetAt().orElse(null)));
                    return NO_HOLD;
                }
                taken.add(((BudgetLedger.Reservation.Granted) r).hold());
            }
        } catch (RuntimeException | Error e) {
            endAll(taken, Optional.empty());
            throw e;
        }
        return new OpenHold(List.copyOf(taken), tally, ownsTally);
    }

    /**
     * A subject's spend in the window starting at {@code from} (the epoch: all time) and ending at {@code to},
     * unflushed rows included, for the request path: from memory (the window's database total as read within
     * the last {@link #KNOWN_FRESH}, kept up with this process's rows), tolerant of a database outage (the last
     * known total is used).
     */
    public BigDecimal spend(Subject subject, Instant from, Optional<Instant> to) {
        return windowTotals(subject, from, from.equals(Instant.EPOCH) ? Optional.empty() : to, true, true).spend();
    }

    /**
     * Like {@link #spend}, read from the database now (every replica's rows that are written), for the management
     * endpoints; the last known total while the database is down.
     */
    public BigDecimal spendNow(Subject subject, Instant from, Optional<Instant> to) {
        return windowTotals(subject, from, from.equals(Instant.EPOCH) ? Optional.empty() : to, true, false).spend();
    }

    /**
     * What requests in flight hold against a subject's budget window now (on every replica, with a shared ledger).
     *
     * @throws dev.easel.routing.LedgerUnavailableException when a shared ledger cannot be reached
     */
    public BigDecimal held(Subject subject, Instant from, Optional<Instant> to) {
        Instant now = options.clock().instant();
        return options.budgetLedger().usage(new BudgetLedger.Window(subject.ledgerKey(), from, to),
                () -> spend(subject, from, to), now).held();
    }

    /**
     * What requests in flight hold against the end user's budget now (on every replica, with a shared ledger).
     *
     * @throws dev.easel.routing.LedgerUnavailableException when a shared ledger cannot be reached
     */
    public BigDecimal heldBudget(String endUser) {
        if (endUser == null || endUser.isBlank()) {
            return BigDecimal.ZERO;
        }
        Budget b = budgets.get(endUser);
        if (b == null || b.maxBudget() == null) {
            return BigDecimal.ZERO;
        }
        Instant now = options.clock().instant();
        Instant from = b.windowStart(now);
        return options.budgetLedger().usage(new BudgetLedger.Window(Subject.endUser(endUser).ledgerKey(), from,
                Optional.ofNullable(b.resetAt(now))), () -> windowTotals(endUser, from, true).spend(), now).held();
    }

    /** The end user's spend in the current budget window (all time without one), unflushed rows included. */
    public BigDecimal endUserSpend(String endUser) {
        if (endUser == null || endUser.isBlank()) {
            return BigDecimal.ZERO;
        }
        Budget b = budgets.get(endUser);
        Instant from = b == null ? Instant.EPOCH : b.windowStart(options.clock().instant());
        return windowTotals(endUser, from, true).spend();
    }

    /**
     * Database totals since {@code from} plus the rows not yet written. Tolerant (the request path): while the
     * store is unreachable the last known total is used instead of waiting for a connect time-out. Otherwise a
     * database failure is thrown.
     */
    private SpendStore.Totals windowTotals(String endUser, Instant from, boolean tolerant) {
        return windowTotals(Subject.endUser(endUser), from, windowEnd(budgets.get(endUser), from), tolerant, false);
    }

    /** {@link #windowTotals(String, Instant, boolean)} of any subject, for the window {@code [from, to)}. */
    private SpendStore.Totals windowTotals(Subject subject, Instant from, Optional<Instant> to, boolean tolerant,
                                           boolean cached) {
        if (!tolerant) {
            try {
                ensureSchemaLocked();
            } catch (SQLException e) {
                noteFailure(e);
                throw unavailable(e);
            }
        }
        accounting.readLock().lock();
        try {
            SpendStore.Totals db;
            Known fresh = tolerant && cached ? known.get(subject) : null;
            Instant now = options.clock().instant();
            if (fresh != null && fresh.from().equals(from)
                    && Duration.between(fresh.loaded(), now).compareTo(KNOWN_FRESH) < 0) {
                db = fresh.totals(); // the request path: no database read per request
            } else if (!tolerant || (schemaReady && reachable)) {
                try {
                    db = store.totals(subject, from, to);
                    known.put(subject, new Known(from, db, now));
                } catch (SQLException e) {
                    noteFailure(e);
                    if (!tolerant) {
                        throw unavailable(e);
                    }
                    db = lastKnown(subject, from);
                }
            } else {
                db = lastKnown(subject, from);
            }
            Pending p = pendingSince(subject, from, to);
            return p == null ? db : new SpendStore.Totals(db.spend().add(p.spend()), db.requests() + p.requests());
        } finally {
            accounting.readLock().unlock();
        }
    }

    /**
     * The end of the budget window that starts at {@code from}: empty for all time (the epoch), and for a budget
     * without a duration (replaced since {@code from} was computed: the store then sums the log since it).
     */
    private static Optional<Instant> windowEnd(Budget b, Instant from) {
        if (from.equals(Instant.EPOCH) || b == null || b.duration() == null) {
            return Optional.empty();
        }
        return Optional.of(b.duration().windowEnd(from));
    }

    /** The uncommitted rows of {@code subject} that started in {@code [from, to)}. */
    private Pending pendingSince(Subject subject, Instant from, Optional<Instant> to) {
        var m = pending.get(subject);
        if (m == null) {
            return null;
        }
        var window = to.isPresent() ? m.subMap(from, true, to.get(), false) : m.tailMap(from, true);
        BigDecimal spend = BigDecimal.ZERO;
        long requests = 0;
        for (Pending p : window.values()) {
            spend = spend.add(p.spend());
            requests += p.requests();
        }
        return requests == 0 ? null : new Pending(spend, requests);
    }

    private SpendStore.Totals lastKnown(Subject subject, Instant from) {
        Known k = known.get(subject);
        return k != null && k.from().equals(from) ? k.totals() : new SpendStore.Totals(BigDecimal.ZERO, 0);
    }

    /**
     * What {@code /end_user/info} shows; empty for an end user with neither a budget nor any request.
     *
     * @throws EaselException (503) when the database cannot be reached
     */
    public Optional<EndUserInfo> endUserInfo(String endUser) {
        if (endUser == null || endUser.isBlank()) {
            return Optional.empty();
        }
        Budget b = budgets.get(endUser);
        Instant now = options.clock().instant();
        SpendStore.Totals all = windowTotals(endUser, Instant.EPOCH, false);
        if (b == null && all.requests() == 0) {
            return Optional.empty();
        }
        SpendStore.Totals window = b == null || b.duration() == null ? all
                : windowTotals(endUser, b.windowStart(now), false);
        return Optional.of(new EndUserInfo(endUser, window.spend(), window.requests(), all.spend(), all.requests(),
                b == null ? Optional.empty() : Optional.ofNullable(b.maxBudget()),
                b == null || b.duration() == null ? Optional.empty() : Optional.of(b.duration().text()),
                b == null ? Optional.empty() : Optional.ofNullable(b.resetAt(now)),
                blockedEndUsers.contains(endUser)));
    }

    /** Why {@code max} cannot be a budget of this service's ledger, if it cannot. */
    private Optional<String> tooLarge(BigDecimal max) {
        return max == null ? Optional.empty() : options.budgetLedger().largestBudget()
                .filter(largest -> max.compareTo(largest) > 0)
                .map(largest -> max.toPlainString() + " USD is more than the shared budget ledger (Redis) counts "
                        + "exactly, at most " + largest.toPlainString() + " USD; leave max_budget out for no budget");
    }

    /**
     * Creates or replaces an end user's budget ({@code POST /end_user/new}). The window starts now.
     *
     * @param maxBudget      USD, empty for "tracked, no limit"
     * @param budgetDuration {@code 30d}, {@code 1h}, {@code 1mo}…, empty for all time
     * @throws IllegalArgumentException for a negative budget or a bad duration
     * @throws EaselException           (503) when the database cannot be reached
     */
    public EndUserInfo createEndUser(String endUser, Optional<BigDecimal> maxBudget, Optional<String> budgetDuration) {
        if (endUser == null || endUser.isBlank()) {
            throw new IllegalArgumentException("end_user_id must not be empty");
        }
        checkBudget(maxBudget);
        BudgetDuration d = budgetDuration.map(SpendService::duration).orElse(null);
        Instant now = options.clock().instant();
        Budget b = new Budget(endUser, maxBudget.orElse(null), d, now);
        synchronized (endUsersLock) {
            try {
                ensureSchemaLocked();
                store.upsert(b, now);
            } catch (SQLException e) {
                noteFailure(e);
                throw unavailable(e);
            }
            budgets.put(endUser, b);
        }
        return endUserInfo(endUser).orElseThrow();
    }

    /** The most end users one call of {@link #deleteEndUsers}, {@link #blockEndUsers} or {@link #unblockEndUsers} takes. */
    public static final int MAX_END_USERS_PER_CALL = 1000;

    /**
     * Why the end user's requests are refused, if they are: blocked with {@code POST /customer/block}. Cheap (a
     * lookup in memory, no database call): the set is read with the budgets at start and every refresh, and kept
     * current by this process's own writes; another replica's block is seen at its next refresh.
     */
    public Optional<String> blocked(String endUser) {
        if (endUser == null || !blockedEndUsers.contains(endUser)) {
            return Optional.empty();
        }
        // LiteLLM's words, so tooling that matches on them keeps working
        return Optional.of("User blocked from making LLM API Calls. User=" + endUser);
    }

    /**
     * Changes an end user ({@code POST /customer/update}): each present value replaces the stored one, absent ones
     * are kept. A new {@code budgetDuration} starts a new window now; a new {@code maxBudget} alone keeps the window.
     * Empty when the end user is unknown (neither a row nor a request).
     *
     * @throws IllegalArgumentException for a negative budget or a bad duration
     * @throws EaselException           (503) when the database cannot be reached
     */
    public Optional<EndUserInfo> updateEndUser(String endUser, Optional<BigDecimal> maxBudget,
                                               Optional<String> budgetDuration, Optional<Boolean> blocked) {
        if (endUser == null || endUser.isBlank()) {
            throw new IllegalArgumentException("user_id must not be empty");
        }
        checkBudget(maxBudget);
        BudgetDuration d = budgetDuration.map(SpendService::duration).orElse(null);
        Instant now = options.clock().instant();
        synchronized (endUsersLock) {
            try {
                ensureSchemaLocked();
                Optional<Budget> stored = store.budget(endUser);
                if (stored.isEmpty() && !seen(endUser)) {
                    return Optional.empty();
                }
                if (maxBudget.isPresent() || d != null) {
                    Budget old = stored.orElse(new Budget(endUser, null, null, now));
                    Budget b = new Budget(endUser, maxBudget.orElse(old.maxBudget()), d != null ? d : old.duration(),
                            d != null ? now : old.anchor());
                    store.upsert(b, now);
                    budgets.put(endUser, b);
                }
                if (blocked.isPresent()) {
                    store.setBlocked(List.of(endUser), blocked.get(), now);
                    stored.ifPresentOrElse(s -> { }, () -> budgets.putIfAbsent(endUser,
                            new Budget(endUser, null, null, now)));
                    if (blocked.get()) {
                        blockedEndUsers.add(endUser);
                    } else {
                        blockedEndUsers.remove(endUser);
                    }
                }
            } catch (SQLException e) {
                noteFailure(e);
                throw unavailable(e);
            }
        }
        return endUserInfo(endUser);
    }

    /**
     * Deletes end users ({@code POST /customer/delete}): their budgets and blocked flags; their spend rows stay, so
     * {@code /customer/info} still shows what they spent. Nothing is deleted when one of them is unknown (neither a
     * row nor a request): the answer names those. An end user of {@code general_settings.end_user_budgets} gets its
     * configured budget back at the next start.
     *
     * @return the rows deleted, or the unknown end users (in the order given) when there are any
     * @throws IllegalArgumentException for an empty list or one longer than {@link #MAX_END_USERS_PER_CALL}
     * @throws EaselException           (503) when the database cannot be reached
     */
    public DeleteResult deleteEndUsers(Collection<String> endUsers) {
        List<String> ids = ids(endUsers);
        synchronized (endUsersLock) {
            try {
                ensureSchemaLocked();
                List<String> unknown = new ArrayList<>();
                for (String id : ids) {
                    if (store.budget(id).isEmpty() && !seen(id)) {
                        unknown.add(id);
                    }
                }
                if (!unknown.isEmpty()) {
                    return new DeleteResult(0, unknown);
                }
                int deleted = store.deleteEndUsers(ids);
                for (String id : ids) {
                    budgets.remove(id);
                    blockedEndUsers.remove(id);
                }
                return new DeleteResult(deleted, List.of());
            } catch (SQLException e) {
                noteFailure(e);
                throw unavailable(e);
            }
        }
    }

    /**
     * What {@link #deleteEndUsers} did.
     *
     * @param deleted rows deleted
     * @param unknown end users neither stored nor seen in a request; when any, nothing was deleted
     */
    public record DeleteResult(int deleted, List<String> unknown) {
        /** Copies the list. */
        public DeleteResult {
            unknown = List.copyOf(unknown);
        }
    }

    /**
     * Blocks end users ({@code POST /customer/block}): their requests are refused from now on (on this replica at
     * once, on the others at their next refresh). An end user not stored yet is created, without a budget.
     *
     * @throws IllegalArgumentException for an empty list or one longer than {@link #MAX_END_USERS_PER_CALL}
     * @throws EaselException           (503) when the database cannot be reached
     */
    public List<EndUserInfo> blockEndUsers(Collection<String> endUsers) {
        List<String> ids = ids(endUsers);
        Instant now = options.clock().instant();
        synchronized (endUsersLock) {
            try {
                ensureSchemaLocked();
                store.setBlocked(ids, true, now);
            } catch (SQLException e) {
                noteFailure(e);
                throw unavailable(e);
            }
            for (String id : ids) {
                budgets.putIfAbsent(id, new Budget(id, null, null, now));
                blockedEndUsers.add(id);
            }
        }
        return ids.stream().map(id -> endUserInfo(id).orElseThrow()).toList();
    }

    /**
     * Unblocks end users ({@code POST /customer/unblock}). Nothing changes when one of them has no stored row: the
     * answer is then empty and {@link #unstored} names them.
     *
     * @return the end users as they are now, or empty when some are not stored
     * @throws IllegalArgumentException for an empty list or one longer than {@link #MAX_END_USERS_PER_CALL}
     * @throws EaselException           (503) when the database cannot be reached
     */
    public Optional<List<EndUserInfo>> unblockEndUsers(Collection<String> endUsers) {
        List<String> ids = ids(endUsers);
        Instant now = options.clock().instant();
        synchronized (endUsersLock) {
            try {
                ensureSchemaLocked();
                if (!unstored(ids).isEmpty()) {
                    return Optional.empty();
                }
                store.setBlocked(ids, false, now);
            } catch (SQLException e) {
                noteFailure(e);
                throw unavailable(e);
            }
            ids.forEach(blockedEndUsers::remove);
        }
        return Optional.of(ids.stream().map(id -> endUserInfo(id).orElseThrow()).toList());
    }

    /**
     * The end users of {@code endUsers} without a stored row (in the order given).
     *
     * @throws EaselException (503) when the database cannot be reached
     */
    public List<String> unstored(Collection<String> endUsers) {
        List<String> out = new ArrayList<>();
        try {
            ensureSchemaLocked();
            for (String id : endUsers) {
                if (store.budget(id).isEmpty()) {
                    out.add(id);
                }
            }
        } catch (SQLException e) {
            noteFailure(e);
            throw unavailable(e);
        }
        return out;
    }

    private static List<String> ids(Collection<String> endUsers) {
        if (endUsers.isEmpty()) {
            throw new IllegalArgumentException("user_ids must not be empty");
        }
        if (endUsers.size() > MAX_END_USERS_PER_CALL) {
            throw new IllegalArgumentException("user_ids: at most " + MAX_END_USERS_PER_CALL + " end users per call "
                    + "(was " + endUsers.size() + ")");
        }
        Set<String> ids = new java.util.LinkedHashSet<>();
        for (String id : endUsers) {
            if (id == null || id.isBlank()) {
                throw new IllegalArgumentException("user_ids must not contain an empty id");
            }
            ids.add(id);
        }
        return List.copyOf(ids);
    }

    /** Whether a request of the end user was ever recorded (written or still pending). */
    private boolean seen(String endUser) throws SQLException {
        return pending.containsKey(Subject.endUser(endUser)) || store.totals(endUser, Instant.EPOCH, Optional.empty()).requests() > 0;
    }

    private void checkBudget(Optional<BigDecimal> maxBudget) {
        if (maxBudget.isPresent() && maxBudget.get().signum() < 0) {
            throw new IllegalArgumentException("max_budget must not be negative (was "
                    + maxBudget.get().toPlainString() + ")");
        }
        if (maxBudget.isPresent()) {
            tooLarge(maxBudget.get()).ifPresent(why -> {
                throw new IllegalArgumentException("max_budget: " + why);
            });
        }
    }

    private static BudgetDuration duration(String text) {
        BudgetDuration d = BudgetDuration.parse(text);
        if (d == null) {
            throw new IllegalArgumentException("budget_duration: expected a duration like 30s, 30m, 24h, 30d, "
                    + "1w or 1mo (was '" + text + "')");
        }
        return d;
    }

    private void ensureSchemaLocked() throws SQLException {
        if (!schemaReady) {
            flushLock.lock();
            try {
                ensureSchema();
            } finally {
                flushLock.unlock();
            }
        }
    }

    // ---------------------------------------------------------------- queries

    /**
     * Rows in the database (rows recorded within the last flush interval may not be there yet), newest first.
     *
     * @throws EaselException (503) when the database cannot be reached
     */
    public SpendPage logs(SpendQuery query) {
        try {
            ensureSchemaLocked();
            return store.logs(query);
        } catch (SQLException e) {
            noteFailure(e);
            throw unavailable(e);
        }
    }

    /**
     * Spend grouped by model group, end user or day (UTC), ordered by the group key.
     *
     * @throws EaselException (503) when the database cannot be reached
     */
    public List<SpendReportRow> report(SpendGroupBy groupBy, Optional<Instant> from, Optional<Instant> to) {
        try {
            ensureSchemaLocked();
            return store.report(groupBy, from, to);
        } catch (SQLException e) {
            noteFailure(e);
            throw unavailable(e);
        }
    }

    // ---------------------------------------------------------------- config

    /** Parses {@code end_user_budgets}: {@code {alice: 1.0}} or {@code {alice: {max_budget, budget_duration}}}. */
    static Map<String, Budget> parseBudgets(Map<String, Object> raw, Instant now) {
        Map<String, Budget> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : raw.entrySet()) {
            String path = "general_settings.end_user_budgets." + e.getKey();
            Object v = e.getValue();
            BigDecimal max;
            BudgetDuration duration = null;
            if (v instanceof Map<?, ?> m) {
                for (Object k : m.keySet()) {
                    if (!"max_budget".equals(k) && !"budget_duration".equals(k)) {
                        throw new ConfigException(path + ": unknown key '" + k
                                + "' (expected max_budget, budget_duration)");
                    }
                }
                max = m.containsKey("max_budget") ? money(m.get("max_budget"), path + ".max_budget") : null;
                if (m.containsKey("budget_duration")) {
                    Object d = m.get("budget_duration");
                    duration = BudgetDuration.parse(d);
                    if (duration == null) {
                        throw new ConfigException(path + ".budget_duration: expected a duration like 30s, 30m, 24h, "
                                + "30d, 1w or 1mo (was '" + d + "')");
                    }
                }
            } else {
                max = money(v, path);
            }
            out.put(e.getKey(), new Budget(e.getKey(), max, duration, now));
        }
        return out;
    }

    private static BigDecimal money(Object v, String path) {
        BigDecimal d = null;
        if (v instanceof Number || v instanceof String) {
            try {
                d = new BigDecimal(v.toString().strip());
            } catch (NumberFormatException ignored) {
                d = null;
            }
        }
        if (d == null || d.signum() < 0) {
            throw new ConfigException(path + ": expected a budget in USD, a number >= 0 (was '" + v + "')");
        }
        return d;
    }

    // ---------------------------------------------------------------- close

    /**
     * Stops the writer and writes every row recorded so far (on SIGTERM). Rows that cannot be written (database
     * down) stay in the journal and are written by the next start. Rows recorded after this still go to the
     * journal.
     */
    @Override
    public void close() {
        if (closed.getAndSet(true)) {
            return;
        }
        wake.release();
        try {
            writer.join(Duration.ofSeconds(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flushLock.lock();
        try {
            for (int pass = 0; pass < 5; pass++) {
                if (!flushOnce()) {
                    break;
                }
            }
        } catch (Exception | Error e) {
            noteFailure(e);
        } finally {
            int memoryOnly;
            synchronized (journalLock) {
                journalClosed = true;
                memoryOnly = orphans.size();
                try {
                    journal.close();
                } catch (IOException e) {
                    LOG.warn("closing the spend journal: {}", e.toString());
                }
            }
            flushLock.unlock();
            store.close();
            reportUndelivered(memoryOnly);
        }
    }

    /**
     * The shutdown report, one log line: rows not delivered to the database, where they wait and why. Rows held
     * only in memory (the journal could not be written) die with the process and are counted as lost.
     */
    private void reportUndelivered(int memoryOnly) {
        long left = backlog.get();
        if (memoryOnly > 0) {
            lost.addAndGet(memoryOnly);
        }
        if (left == 0 && lost.get() == 0) {
            LOG.info("spend: every row delivered to {}", store.target());
            return;
        }
        LOG.warn("spend: {} rows not delivered to {} (database {}); {} wait in the journal {} ({} bytes) for the next"
                        + " start; {} rows lost in all (held only in memory, the journal not writable)",
                left, store.target(), reachable ? "reachable" : "unreachable: " + lastError, left - memoryOnly,
                journal.path(), journal.totalBytes(), lost.get());
    }

    /**
     * Publishes the spend log's state on {@code registry}: {@code easel_spend_backlog_rows} (rows not yet in the
     * database), {@code easel_spend_journal_bytes}, {@code easel_spend_lost_rows_total}, {@code easel_spend_store_up}
     * and the connection pool's {@code hikaricp_connections_*{pool="easel-spend"}}.
     */
    public void bindMetrics(MeterRegistry registry) {
        Gauge.builder("easel.spend.backlog.rows", backlog, AtomicLong::get)
                .description("Spend rows recorded but not yet in the database (waiting in memory or the journal)")
                .register(registry);
        Gauge.builder("easel.spend.journal.bytes", journal, Journal::totalBytes)
                .description("Bytes in the local spend journal files").register(registry);
        FunctionCounter.builder("easel.spend.lost.rows", lost, AtomicLong::get)
                .description("Spend rows that could be kept neither in the journal nor in memory").register(registry);
        Gauge.builder("easel.spend.store.up", this, s -> s.reachable ? 1 : 0)
                .description("1 when the last spend-store operation succeeded, else 0").register(registry);
        store.bindMetrics(registry);
    }
}
