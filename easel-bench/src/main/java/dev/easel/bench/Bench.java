package dev.easel.bench;

import redis.embedded.RedisServer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * The benchmark harness ({@code bench/run}): starts the fast fake upstream and the real proxy (the CLI jar)
 * in their own JVMs, and nginx when the machine has one, runs each scenario on three paths — direct (client → fake),
 * nginx (client → nginx → fake: what a plain reverse proxy costs) and proxied (client → Easel → fake) — in interleaved
 * rounds, and prints a table plus {@code bench/results/<date>.json}.
 *
 * <pre>{@code
 * java -jar easel-bench/target/easel-bench.jar --proxy-jar easel-cli/target/easel.jar --out bench/results [--quick] [--jfr]
 * }</pre>
 */
public final class Bench {

    static final String MASTER_KEY = "sk-bench-master";
    static final String UPSTREAM_KEY = "sk-bench";
    /** The proxy's heap is sized for S4's target of RSS ≤ 1 GB: resident memory is the heap plus ~200 MB. */
    static final List<String> PROXY_JVM = List.of("-Xms256m", "-Xmx768m", "-XX:+UseG1GC");
    static final List<String> FAKE_JVM = List.of("-Xms256m", "-Xmx1g", "-XX:+UseParallelGC");

    private final boolean quick;
    private final boolean jfr;
    /** How long a fresh proxy JVM is loaded before its first measured scenario (full runs). */
    private static final Duration PROXY_WARMUP = Duration.ofSeconds(Long.getLong("bench.proxyWarmupSeconds", 20));
    private boolean proxyWarm;
    private final Path proxyJar;
    private final Path out;
    private final Path work;
    private final String java;
    private final List<Map<String, Object>> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private Process fake;
    private int fakePort;
    private Process proxy;
    private int proxyPort;
    private Process nginx;
    private int nginxPort;
    private String nginxMissing;
    private Path proxyGcLog;

    private Bench(boolean quick, boolean jfr, Path proxyJar, Path out) throws IOException {
        this.quick = quick;
        this.jfr = jfr;
        this.proxyJar = proxyJar;
        this.out = out;
        this.work = Files.createTempDirectory("easel-bench-");
        this.java = ProcessHandle.current().info().command().orElse("java");
    }

    /** Runs the benchmark; see the class comment for the options. */
    public static void main(String[] args) throws Exception {
        boolean quick = false;
        boolean jfr = false;
        Path proxyJar = Path.of("easel-cli/target/easel.jar");
        Path out = Path.of("bench/results");
        List<String> only = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--jfr" -> jfr = true;
                case "--proxy-jar" -> proxyJar = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--only" -> only.addAll(List.of(args[++i].split(",")));
                default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
            }
        }
        if (!Files.isRegularFile(proxyJar)) {
            throw new IllegalArgumentException("proxy jar not found: " + proxyJar);
        }
        Bench b = new Bench(quick, jfr, proxyJar, out);
        try {
            b.run(only);
        } finally {
            b.stopAll();
        }
    }

    private void run(List<String> only) throws Exception {
        long t0 = System.nanoTime();
        System.out.printf("easel bench (%s): %d cpus, java %s; proxy %s; work dir %s%n", quick ? "quick" : "full",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), PROXY_JVM, work);
        startFake();
        startNginx();
        startProxy();
        boolean all = only.isEmpty();
        int round = quick ? 2 : 5;
        // S1: 1 × 256 KB PNG in, 1 × ~1 MB PNG (b64) out
        byte[] small = Png.ofSize(256 << 10, true, 1);
        if (all || only.contains("S1")) {
            for (int c : new int[] {1, 16, 64}) {
                scenario("S1", "small c=" + c, "d0-n1", parts(small, null, 0), c, Integer.MAX_VALUE,
                        Duration.ofSeconds(round), quick ? 2 : 4, 0, false, quick ? 50 : 300);
            }
            if (!quick) {
                scenario("S1", "small open 50/s", "d0-n1", parts(small, null, 0), 0, Integer.MAX_VALUE,
                        Duration.ofSeconds(round), 4, 50, false, 100);
            }
        }
        if (!quick && (all || only.contains("S2"))) {
            byte[][] four = new byte[4][];
            for (int i = 0; i < 4; i++) {
                four[i] = Png.of(724, 724, true, 10 + i); // 2 MB each, RGBA
            }
            byte[] mask = Png.of(724, 724, true, 20);
            for (int c : new int[] {1, 8}) {
                scenario("S2", "multi 4x2MB+mask c=" + c, "d0-n2", parts(four, mask), c, Integer.MAX_VALUE,
                        Duration.ofSeconds(round), 4, 0, false, 30);
            }
        }
        if (!quick && (all || only.contains("S3"))) {
            byte[] big = Png.ofSize(20L << 20, true, 30);
            scenario("S3", "large 1x20MB c=1", "d0-n1", parts(new byte[][] {big}, null), 1, 15,
                    Duration.ofSeconds(round * 2), 4, 0, true, 5);
            byte[][] sixteen = new byte[16][];
            for (int i = 0; i < 16; i++) {
                sixteen[i] = Png.ofSize(8L << 20, true, 40 + i);
            }
            scenario("S3", "large 16x8MB c=1", "d0-n1", parts(sixteen, null), 1, 4,
                    Duration.ofSeconds(round * 3), 4, 0, true, 2);
        }
        // S7: the 4 MB upload of issue 17's table, where the cost per edit moved with concurrency
        if (!quick && (all || only.contains("S7"))) {
            byte[] four = Png.ofSize(4L << 20, true, 70);
            for (int c : new int[] {1, 16, 64}) {
                scenario("S7", "4MB c=" + c, "d0-n1", parts(four, null, 0), c, Integer.MAX_VALUE,
                        Duration.ofSeconds(round), 4, 0, false, 20);
            }
        }
        // S9: S7 under pressure, so the sensitivity stays measured (issue 17): a process spinning on one of the cores
        // the three paths share, and a proxy with half the heap (upload memory and answer budgets follow it)
        if (!quick && (all || only.contains("S9"))) {
            byte[] four = Png.ofSize(4L << 20, true, 70);
            stopProxy();
            startProxy(List.of("-Xmx384m"));
            Process hog = new ProcessBuilder("sh", "-c", "while :; do :; done").redirectErrorStream(true).start();
            try {
                for (int c : new int[] {16, 64}) {
                    scenario("S9", "4MB c=" + c + " hog+384m", "d0-n1", parts(four, null, 0), c, Integer.MAX_VALUE,
                            Duration.ofSeconds(round), 4, 0, false, 20);
                }
            } finally {
                hog.destroyForcibly().waitFor();
                stopProxy();
                startProxy(List.of());
            }
        }
        // S5 before S4: S4 can drive the proxy out of memory, and a JVM after an OutOfMemoryError is no
        // longer a fair subject (its HttpClient selector threads may have died)
        if (!quick && (all || only.contains("S5"))) {
            for (int c : new int[] {1, 16}) {
                scenario("S5", "stream c=" + c, "d200-n1-sse", parts(small, null, 3), c, Integer.MAX_VALUE,
                        Duration.ofSeconds(round), 4, 0, false, 20);
            }
        }
        if (all || only.contains("S4")) {
            int[] levels = quick ? new int[] {1000} : new int[] {1000, 10_000};
            for (int c : levels) {
                long limit = ProcStats.maxOpenFiles(proxy.pid());
                long needed = 2L * c + 2_000; // a client socket and an upstream socket per request, plus spool files
                if (limit < needed) {
                    String why = "S4 c=" + c + " skipped: the proxy's open-file limit is " + limit
                            + " and it needs about " + needed + " (2 sockets per request + spool files)";
                    notes.add(why);
                    System.out.println(why);
                    continue;
                }
                scenario("S4", "slow 5s c=" + c, "d5000-n1", parts(small, null, 0), c, quick ? c : 2 * c,
                        Duration.ofSeconds(60), 1, 0, false, 20);
            }
        }
        if (all || only.contains("S8")) {
            ledger(small, quick ? 2 : 4, quick ? 100 : 300);
        }
        stopProxy();
        if (all || only.contains("S6")) {
            startup(quick ? 3 : 6);
        }
        printTable();
        write(Duration.ofNanos(System.nanoTime() - t0));
    }

    // ---- bodies -------------------------------------------------------------------------------------

    /** A multipart body template: the model field is filled per path. */
    record Body(byte[][] images, byte[] mask, int partials) {
    }

    private static Body parts(byte[] image, byte[] mask, int partials) {
        return new Body(new byte[][] {image}, mask, partials);
    }

    private static Body parts(byte[][] images, byte[] mask) {
        return new Body(images, mask, 0);
    }

    static final String BOUNDARY = "----easel-bench-7f3a9c";

    static byte[] multipart(Body b, String model) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        field(o, "model", model);
        field(o, "prompt", "Add a beautiful sunset in the background");
        field(o, "n", "1");
        field(o, "size", "1024x1024");
        if (b.partials() > 0) {
            field(o, "stream", "true");
            field(o, "partial_images", Integer.toString(b.partials()));
        }
        for (int i = 0; i < b.images().length; i++) {
            file(o, b.images().length == 1 ? "image" : "image[]", "image" + i + ".png", b.images()[i]);
        }
        if (b.mask() != null) {
            file(o, "mask", "mask.png", b.mask());
        }
        o.writeBytes(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.ISO_8859_1));
        return o.toByteArray();
    }

    private static void field(ByteArrayOutputStream o, String name, String value) {
        o.writeBytes(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value
                + "\r\n").getBytes(StandardCharsets.UTF_8));
    }

    private static void file(ByteArrayOutputStream o, String name, String fileName, byte[] bytes) {
        o.writeBytes(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\""
                + fileName + "\"\r\nContent-Type: image/png\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        o.writeBytes(bytes);
        o.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
    }

    // ---- one scenario -------------------------------------------------------------------------------

    /**
     * Warm-up on both paths, then {@code rounds} pairs of rounds in ABBA order (direct, proxied, proxied,
     * direct, …) so that drift on a noisy machine falls on both paths alike.
     */
    private void scenario(String id, String label, String profile, Body body, int concurrency, int countPerRound,
                          Duration roundTime, int rounds, double rate, boolean ingest, int warmup) throws Exception {
        String ct = "multipart/form-data; boundary=" + BOUNDARY;
        boolean sse = profile.endsWith("-sse");
        Load.Target direct = Load.Target.of(fakePort, "/" + profile + "/v1/images/edits", ct, UPSTREAM_KEY,
                multipart(body, "gpt-image-1.5"), sse);
        Load.Target proxied = Load.Target.of(proxyPort, "/v1/images/edits", ct, MASTER_KEY,
                multipart(body, profile), sse);
        Load.Target viaNginx = nginx == null ? null : Load.Target.of(nginxPort, "/" + profile + "/v1/images/edits", ct,
                UPSTREAM_KEY, direct.body(), sse);
        System.out.printf("%s %s: warm-up…%n", id, label);
        int wc = Math.max(1, Math.min(concurrency == 0 ? 4 : concurrency, 16));
        Load.closed(direct, wc, warmup, Duration.ofSeconds(30), new Load.Stats());
        if (viaNginx != null) {
            Load.closed(viaNginx, wc, warmup, Duration.ofSeconds(30), new Load.Stats());
        }
        Load.Stats warm = new Load.Stats();
        Load.closed(proxied, wc, warmup, Duration.ofSeconds(30), warm);
        if (!proxyWarm && !quick) {
            // the first load a proxy JVM sees: the JIT is still compiling the request path for tens of seconds (S1's
            // c=1 rounds climbed 145 -> 256 edits/s within one scenario), so it is warmed by time before anything is
            // measured, at 4 in parallel (the rounds at c=1 then measure compiled code)
            long until = System.nanoTime() + PROXY_WARMUP.toNanos();
            while (System.nanoTime() < until) {
                Load.closed(proxied, Math.max(wc, 4), 200, Duration.ofSeconds(30), warm);
            }
        }
        proxyWarm = true;
        if (warm.errors.get() > 0) {
            System.out.println("  warm-up errors on the proxied path: " + warm.errorKinds);
        }
        if (warm.ok.get() == 0 && warm.errors.get() > 0) {
            notes.add(id + " " + label + ": every proxied warm-up request failed " + warm.errorKinds);
        }
        Load.Stats d = new Load.Stats();
        Load.Stats n = new Load.Stats();
        Load.Stats p = new Load.Stats();
        ProcStats.Window proxyWin = new ProcStats.Window(proxy.pid(), proxyGcLog).start();
        ProcStats.Window fakeWin = new ProcStats.Window(fake.pid(), null).start();
        ProcStats.Window nginxWin = nginx == null ? null : new ProcStats.Window(nginx.pid(), null, true).start();
        long clientCpu0 = ProcStats.cpuTicks(ProcessHandle.current().pid());
        List<Load.Target> order = new ArrayList<>(List.of(direct));
        List<Load.Stats> stats = new ArrayList<>(List.of(d));
        if (viaNginx != null) {
            order.add(viaNginx);
            stats.add(n);
        }
        order.add(proxied);
        stats.add(p);
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < order.size(); k++) {
                int i = r % 2 == 0 ? k : order.size() - 1 - k; // ABC CBA ABC …: drift falls on every path alike
                Load.Stats st = stats.get(i);
                long ok0 = st.ok.get();
                long active0 = st.activeNanos;
                if (rate > 0) {
                    Load.open(order.get(i), rate, countPerRound, roundTime, st);
                } else {
                    Load.closed(order.get(i), concurrency, countPerRound, roundTime, st);
                }
                st.roundRps.add(round((st.ok.get() - ok0) / Math.max(1e-9, (st.activeNanos - active0) / 1e9)));
            }
        }
        proxyWin.stop();
        fakeWin.stop();
        if (nginxWin != null) {
            nginxWin.stop();
        }
        noteOutOfMemory(id + " " + label);
        double clientCpu = (ProcStats.cpuTicks(ProcessHandle.current().pid()) - clientCpu0) / 100.0;
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("scenario", id);
        row.put("label", label);
        row.put("mode", rate > 0 ? "open-loop " + rate + "/s" : "closed-loop c=" + concurrency);
        row.put("request_bytes", proxied.body().length);
        row.put("direct", pathJson(d, ingest, sse));
        if (nginx != null) {
            row.put("nginx", pathJson(n, ingest, sse));
        } else {
            row.put("nginx_missing", nginxMissing);
        }
        row.put("proxied", pathJson(p, ingest, sse));
        Histogram dh = sse ? d.events : d.latency;
        Histogram ph = sse ? p.events : p.latency;
        row.put("added_p50_ms", ms(pct(ph, 50)) - ms(pct(dh, 50)));
        row.put("added_p99_ms", ms(pct(ph, 99)) - ms(pct(dh, 99)));
        row.put("ratio_p50", ratio(pct(ph, 50), pct(dh, 50)));
        row.put("ratio_p99", ratio(pct(ph, 99), pct(dh, 99)));
        Map<String, Object> pr = new LinkedHashMap<>();
        pr.put("rss_hwm_mb", proxyWin.rssHwmKb / 1024);
        pr.put("rss_end_mb", proxyWin.rssKb / 1024);
        pr.put("heap_hwm_mb", proxyWin.heapHwmMb);
        pr.put("gc_pauses", proxyWin.gcPauses);
        pr.put("gc_pause_total_ms", round(proxyWin.gcPauseMs));
        pr.put("cpu_s", round(proxyWin.cpuSeconds));
        double proxyCpuPerEdit = perEditMs(proxyWin.cpuSeconds, p);
        pr.put("cpu_ms_per_edit", proxyCpuPerEdit);
        pr.put("page_faults", proxyWin.pageFaults);
        pr.put("page_faults_per_edit", round(proxyWin.pageFaults / (double) Math.max(1, p.ok.get())));
        row.put("proxy", pr);
        if (nginxWin != null) {
            Histogram nh = sse ? n.events : n.latency;
            Map<String, Object> ng = new LinkedHashMap<>();
            ng.put("cpu_s", round(nginxWin.cpuSeconds));
            double nginxCpuPerEdit = perEditMs(nginxWin.cpuSeconds, n);
            ng.put("cpu_ms_per_edit", nginxCpuPerEdit);
            ng.put("rss_end_mb", nginxWin.rssKb / 1024);
            ng.put("added_p50_ms", ms(pct(nh, 50)) - ms(pct(dh, 50)));
            ng.put("added_p99_ms", ms(pct(nh, 99)) - ms(pct(dh, 99)));
            row.put("nginx_proc", ng);
            // the figures issue 17 holds Easel to: CPU per edit and throughput against nginx's in the same run
            row.put("cpu_ratio_vs_nginx", nginxCpuPerEdit == 0 ? 0 : round(proxyCpuPerEdit / nginxCpuPerEdit));
            double nThr = n.ok.get() / Math.max(1e-9, n.seconds());
            double pThr = p.ok.get() / Math.max(1e-9, p.seconds());
            row.put("throughput_ratio_vs_nginx", nThr == 0 ? 0 : round(pThr / nThr));
        }
        row.put("fake_cpu_s", round(fakeWin.cpuSeconds));
        row.put("client_cpu_s", round(clientCpu));
        rows.add(row);
        System.out.println("  " + line(row));
    }

    /** CPU milliseconds per answered edit of a path. */
    private static double perEditMs(double cpuSeconds, Load.Stats s) {
        return s.ok.get() == 0 ? 0 : round(cpuSeconds * 1000 / s.ok.get());
    }

    private static Map<String, Object> pathJson(Load.Stats s, boolean ingest, boolean sse) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ok", s.ok.get());
        m.put("errors", s.errors.get());
        if (!s.errorKinds.isEmpty()) {
            Map<String, Long> kinds = new LinkedHashMap<>();
            s.errorKinds.forEach((k, v) -> kinds.put(k, v.get()));
            m.put("error_kinds", kinds);
        }
        m.put("p50_ms", ms(pct(s.latency, 50)));
        m.put("p99_ms", ms(pct(s.latency, 99)));
        m.put("max_ms", ms(s.latency.getMaxValue()));
        m.put("mean_ms", round(s.latency.getMean() / 1000.0));
        if (!s.roundRps.isEmpty()) { // the rounds' spread: issue 17 asks for ±15% between rounds
            double lo = s.roundRps.stream().mapToDouble(Double::doubleValue).min().orElse(0);
            double hi = s.roundRps.stream().mapToDouble(Double::doubleValue).max().orElse(0);
            double mid = (lo + hi) / 2;
            m.put("round_throughput_rps", List.copyOf(s.roundRps));
            m.put("round_spread_pct", round(mid == 0 ? 0 : (hi - lo) / 2 / mid * 100));
        }
        m.put("throughput_rps", round(s.ok.get() / Math.max(1e-9, s.seconds())));
        m.put("up_mb_s", round(s.bytesUp.get() / 1e6 / Math.max(1e-9, s.seconds())));
        m.put("down_mb_s", round(s.bytesDown.get() / 1e6 / Math.max(1e-9, s.seconds())));
        if (ingest) {
            // one request at a time: upload bytes over the time the requests took
            double busy = s.latency.getMean() * s.latency.getTotalCount() / 1e6;
            m.put("ingest_mb_s", round(s.bytesUp.get() / 1e6 / Math.max(1e-9, busy)));
        }
        if (sse) {
            m.put("events", s.events.getTotalCount());
            m.put("event_p50_ms", ms(pct(s.events, 50)));
            m.put("event_p99_ms", ms(pct(s.events, 99)));
            m.put("event_max_ms", ms(s.events.getMaxValue()));
        }
        return m;
    }

    // ---- S6: start-up ---------------------------------------------------------------------------------

    /** Process start → first answer: the bare fake (any HTTP answer) vs the proxy ({@code /health/readiness} 200). */
    private void startup(int runs) throws Exception {
        Histogram d = new Histogram(1, 600_000_000L, 3);
        Histogram p = new Histogram(1, 600_000_000L, 3);
        // the proxy starts as ./easel starts it: with its class-data-sharing archive, which the first start after
        // a build writes when it exits; that first start is made here untimed
        List<String> proxyJvm = new ArrayList<>(PROXY_JVM);
        proxyJvm.addAll(List.of("-XX:+AutoCreateSharedArchive", "-XX:SharedArchiveFile=" + work.resolve("s6-proxy.jsa"),
                "-Xlog:cds=off", "-Xlog:cds+dynamic=off"));
        {
            int port = freePort();
            long t0 = System.nanoTime();
            Process pr = new ProcessBuilder(cmd(proxyJvm, List.of("-jar", proxyJar.toString(), "proxy", "--config",
                    writeConfig().toString(), "--host", "127.0.0.1", "--port", Integer.toString(port), "--data-dir",
                    work.resolve("s6-data-archive").toString())))
                    .redirectErrorStream(true).redirectOutput(work.resolve("s6-proxy-archive.log").toFile()).start();
            waitHttp(port, "GET /health/readiness", true, t0);
            stop(pr);
        }
        for (int i = 0; i < runs; i++) {
            int port = freePort();
            long t0 = System.nanoTime();
            Process f = new ProcessBuilder(cmd(FAKE_JVM, List.of("-cp", System.getProperty("java.class.path"),
                    FastUpstream.class.getName(), "--port", Integer.toString(port))))
                    .redirectErrorStream(true).redirectOutput(work.resolve("s6-fake.log").toFile()).start();
            waitHttp(port, "GET /health/readiness", false, t0);
            d.recordValue((System.nanoTime() - t0) / 1_000);
            stop(f);
            port = freePort();
            Path cfg = writeConfig();
            t0 = System.nanoTime();
            Process pr = new ProcessBuilder(cmd(proxyJvm, List.of("-jar", proxyJar.toString(), "proxy", "--config",
                    cfg.toString(), "--host", "127.0.0.1", "--port", Integer.toString(port), "--data-dir",
                    work.resolve("s6-data-" + i).toString())))
                    .redirectErrorStream(true).redirectOutput(work.resolve("s6-proxy.log").toFile()).start();
            waitHttp(port, "GET /health/readiness", true, t0);
            p.recordValue((System.nanoTime() - t0) / 1_000);
            stop(pr);
        }
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("scenario", "S6");
        row.put("label", "start-up x" + runs);
        row.put("mode", "process start to first answer");
        row.put("direct", Map.of("what", "fake upstream JVM: start to any HTTP answer", "p50_ms",
                ms(d.getValueAtPercentile(50)), "p99_ms", ms(d.getValueAtPercentile(99)), "max_ms", ms(d.getMaxValue()),
                "ok", d.getTotalCount(), "errors", 0));
        row.put("proxied", Map.of("what", "proxy JVM: start to /health/readiness 200", "p50_ms",
                ms(p.getValueAtPercentile(50)), "p99_ms", ms(p.getValueAtPercentile(99)), "max_ms", ms(p.getMaxValue()),
                "ok", p.getTotalCount(), "errors", 0));
        row.put("added_p50_ms", ms(p.getValueAtPercentile(50)) - ms(d.getValueAtPercentile(50)));
        row.put("added_p99_ms", ms(p.getValueAtPercentile(99)) - ms(d.getValueAtPercentile(99)));
        row.put("ratio_p50", ratio(p.getValueAtPercentile(50), d.getValueAtPercentile(50)));
        row.put("ratio_p99", ratio(p.getValueAtPercentile(99), d.getValueAtPercentile(99)));
        rows.add(row);
        System.out.println("  " + line(row));
    }

    // ---- S8: the ledger ------------------------------------------------------------------------------

    /**
     * What the shared ledger adds per edit: two proxies on the same fake and the same config with deployment limits
     * that every request passes through but none reaches ({@code rpm}, {@code max_parallel_requests}, an end-user
     * budget), one keeping its router state and budget holds in process, the other in a Redis (a real
     * {@code redis-server} from the embedded-redis artifact, on loopback). Interleaved rounds at c=1 and c=16; the
     * row's "direct" path is the in-process proxy, "proxied" the Redis one, so +p50 is what Redis adds.
     */
    private void ledger(byte[] image, int rounds, int countPerRound) throws Exception {
        int redisPort = freePort();
        RedisServer redisServer = RedisServer.newRedisServer().bind("127.0.0.1")
                .port(redisPort).setting("save \"\"").setting("appendonly no").build();
        redisServer.start();
        Process local = null;
        Process shared = null;
        try {
            local = startLedgerProxy("s8-local", null);
            shared = startLedgerProxy("s8-redis", redisPort);
            int localPort = ledgerPorts.get("s8-local");
            int sharedPort = ledgerPorts.get("s8-redis");
            String ct = "multipart/form-data; boundary=" + BOUNDARY;
            byte[] body = multipart(parts(image, null, 0), "limited");
            // the end user with a budget: every request takes and settles a budget hold
            byte[] withUser = withField(body, "user", "bench-user");
            Load.Target a = Load.Target.of(localPort, "/v1/images/edits", ct, MASTER_KEY, withUser, false);
            Load.Target b = Load.Target.of(sharedPort, "/v1/images/edits", ct, MASTER_KEY, withUser, false);
            for (int c : new int[] {1, 16}) {
                System.out.printf("S8 ledger c=%d: warm-up…%n", c);
                Load.closed(a, c, 100, Duration.ofSeconds(30), new Load.Stats());
                Load.closed(b, c, 100, Duration.ofSeconds(30), new Load.Stats());
                Load.Stats sa = new Load.Stats();
                Load.Stats sb = new Load.Stats();
                ProcStats.Window winA = new ProcStats.Window(local.pid(), null).start();
                ProcStats.Window winB = new ProcStats.Window(shared.pid(), null).start();
                for (int r = 0; r < rounds; r++) {
                    if (r % 2 == 0) {
                        Load.closed(a, c, countPerRound, Duration.ofSeconds(60), sa);
                        Load.closed(b, c, countPerRound, Duration.ofSeconds(60), sb);
                    } else {
                        Load.closed(b, c, countPerRound, Duration.ofSeconds(60), sb);
                        Load.closed(a, c, countPerRound, Duration.ofSeconds(60), sa);
                    }
                }
                winA.stop();
                winB.stop();
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("scenario", "S8");
                row.put("label", "ledger c=" + c);
                row.put("mode", "closed-loop c=" + c + "; direct = in-process ledger, proxied = Redis ledger");
                row.put("request_bytes", withUser.length);
                Map<String, Object> ja = pathJson(sa, false, false);
                ja.put("what", "proxy, router state and budget holds in process");
                Map<String, Object> jb = pathJson(sb, false, false);
                jb.put("what", "proxy, router state and budget holds in Redis (loopback)");
                row.put("direct", ja);
                row.put("proxied", jb);
                row.put("added_p50_ms", round(ms(pct(sb.latency, 50)) - ms(pct(sa.latency, 50))));
                row.put("added_p99_ms", round(ms(pct(sb.latency, 99)) - ms(pct(sa.latency, 99))));
                row.put("ratio_p50", ratio(pct(sb.latency, 50), pct(sa.latency, 50)));
                row.put("ratio_p99", ratio(pct(sb.latency, 99), pct(sa.latency, 99)));
                row.put("cpu_ms_per_edit_in_process", round(winA.cpuSeconds * 1000 / Math.max(1, sa.ok.get())));
                row.put("cpu_ms_per_edit_redis", round(winB.cpuSeconds * 1000 / Math.max(1, sb.ok.get())));
                rows.add(row);
                System.out.println("  " + line(row));
            }
        } finally {
            if (shared != null) {
                stop(shared);
            }
            if (local != null) {
                stop(local);
            }
            redisServer.stop();
        }
    }

    private final Map<String, Integer> ledgerPorts = new LinkedHashMap<>();

    /** A proxy for S8: one group "limited" on the fake with limits it never reaches, Redis when a port is given. */
    private Process startLedgerProxy(String name, Integer redisPort) throws Exception {
        StringBuilder y = new StringBuilder("model_list:\n  - model_name: limited\n")
                .append("    litellm_params: {model: openai/gpt-image-1.5, api_key: ").append(UPSTREAM_KEY)
                .append(", api_base: \"http://127.0.0.1:").append(fakePort)
                .append("/d0-n1/v1\", rpm: 100000000, max_parallel_requests: 100000}\n");
        y.append("router_settings:\n  num_retries: 0\n");
        if (redisPort != null) {
            y.append("  redis_host: 127.0.0.1\n  redis_port: ").append(redisPort).append('\n');
        }
        y.append("general_settings:\n  master_key: ").append(MASTER_KEY).append('\n')
                .append("  end_user_budgets:\n    bench-user: {max_budget: 1000000, budget_duration: 30d}\n");
        Path cfg = work.resolve(name + ".yaml");
        Files.writeString(cfg, y.toString());
        Process p = new ProcessBuilder(cmd(PROXY_JVM, List.of("-jar", proxyJar.toString(), "proxy", "--config",
                cfg.toString(), "--host", "127.0.0.1", "--port", "0", "--data-dir", work.resolve(name + "-data").toString())))
                .redirectErrorStream(true).start();
        String line = awaitLine(p, "Easel proxy listening on http://", work.resolve(name + ".log"));
        ledgerPorts.put(name, Integer.parseInt(line.replaceAll(".*127\\.0\\.0\\.1:(\\d+).*", "$1")));
        return p;
    }

    /** The multipart {@code body} with one more text field before its closing delimiter. */
    static byte[] withField(byte[] body, String name, String value) {
        byte[] end = ("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(body, 0, body.length - end.length);
        field(o, name, value);
        o.writeBytes(end);
        return o.toByteArray();
    }

    /** Polls every 2 ms until the port answers (200 only, when {@code need200}). */
    private static void waitHttp(int port, String requestLine, boolean need200, long t0) throws Exception {
        long deadline = t0 + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                s.setSoTimeout(5000);
                OutputStream o = s.getOutputStream();
                o.write((requestLine + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
                o.flush();
                String status = new BufferedReader(new InputStreamReader(s.getInputStream(),
                        StandardCharsets.ISO_8859_1)).readLine();
                if (status != null && (!need200 || status.startsWith("HTTP/1.1 200"))) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(2);
        }
        throw new IllegalStateException("nothing answered on port " + port + " within 30 s");
    }

    private static int freePort() throws IOException {
        try (var s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    // ---- processes ----------------------------------------------------------------------------------

    private List<String> cmd(List<String> jvm, List<String> rest) {
        List<String> c = new ArrayList<>();
        c.add(java);
        c.addAll(jvm);
        c.addAll(rest);
        return c;
    }

    private void startFake() throws Exception {
        fake = new ProcessBuilder(cmd(FAKE_JVM, List.of("-cp", System.getProperty("java.class.path"),
                FastUpstream.class.getName(), "--port", "0", "--image-bytes", Integer.toString(1 << 20),
                "--partial-bytes", Integer.toString(256 << 10)))).redirectErrorStream(true).start();
        String line = awaitLine(fake, "FastUpstream listening on http://127.0.0.1:", work.resolve("fake.log"));
        fakePort = Integer.parseInt(line.replaceAll(".*127\\.0\\.0\\.1:(\\d+).*", "$1"));
        System.out.println(line);
    }

    /** nginx on a free port in front of the fake, or a note saying why the nginx rows are missing. */
    private void startNginx() throws Exception {
        java.util.Optional<Path> bin = Nginx.find();
        if (bin.isEmpty()) {
            nginxMissing = "no nginx on this machine (PATH, /usr/sbin; or -Dbench.nginx=/path): the nginx rows are missing";
            notes.add(nginxMissing);
            System.out.println(nginxMissing);
            return;
        }
        nginxPort = freePort();
        int workers = Runtime.getRuntime().availableProcessors();
        nginx = new ProcessBuilder(Nginx.command(bin.get(), work, nginxPort, fakePort, workers))
                .redirectErrorStream(true).redirectOutput(work.resolve("nginx.log").toFile()).start();
        waitHttp(nginxPort, "GET /", false, System.nanoTime());
        System.out.println("nginx " + bin.get() + " listening on http://127.0.0.1:" + nginxPort + " (" + workers
                + " workers)");
    }

    private Path writeConfig() throws IOException {
        StringBuilder y = new StringBuilder("model_list:\n");
        for (String profile : List.of("d0-n1", "d0-n2", "d5000-n1", "d200-n1-sse")) {
            y.append("  - model_name: ").append(profile).append('\n')
                    .append("    litellm_params: {model: openai/gpt-image-1.5, api_key: ").append(UPSTREAM_KEY)
                    .append(", api_base: \"http://127.0.0.1:").append(fakePort).append('/').append(profile)
                    .append("/v1\", timeout: 600}\n");
        }
        y.append("router_settings: {num_retries: 0}\n");
        y.append("general_settings:\n  master_key: ").append(MASTER_KEY).append('\n')
                .append("  max_request_bytes: 4294967296\n  max_inflight_upload_bytes: 68719476736\n");
        Path cfg = work.resolve("bench-config.yaml");
        Files.writeString(cfg, y.toString());
        return cfg;
    }

    private void startProxy() throws Exception {
        startProxy(List.of());
    }

    /** Starts the proxy; {@code heap} (say {@code -Xmx384m}) replaces the default heap cap when given. */
    private void startProxy(List<String> heap) throws Exception {
        proxyWarm = false;
        Path cfg = writeConfig();
        proxyGcLog = work.resolve("proxy-gc-" + (++proxyStarts) + ".log");
        List<String> jvm = new ArrayList<>(PROXY_JVM);
        if (!heap.isEmpty()) {
            jvm.removeIf(f -> f.startsWith("-Xmx"));
            jvm.addAll(heap);
            System.out.println("proxy restarted with " + heap);
        }
        jvm.add("-Xlog:gc:file=" + proxyGcLog);
        String extra = System.getProperty("bench.proxyJvmExtra", "").strip();
        if (!extra.isEmpty()) { // experiments: another collector, a perf map for `perf`, …
            List<String> flags = List.of(extra.split("\\s+"));
            if (flags.stream().anyMatch(f -> f.matches("-XX:\\+Use\\w+GC"))) {
                jvm.remove("-XX:+UseG1GC"); // the JVM refuses two collectors
            }
            jvm.addAll(flags);
            notes.add("proxy JVM flags added with -Dbench.proxyJvmExtra: " + extra);
        }
        if (jfr) {
            Path rec = work.resolve("proxy-" + proxyStarts + ".jfr");
            jvm.add("-XX:StartFlightRecording=filename=" + rec + ",settings=profile,dumponexit=true");
            notes.add("JFR recording of the proxy: " + rec);
        }
        proxy = new ProcessBuilder(cmd(jvm, List.of("-jar", proxyJar.toString(), "proxy", "--config", cfg.toString(),
                "--host", "127.0.0.1", "--port", "0", "--data-dir", work.resolve("proxy-data").toString())))
                .redirectErrorStream(true).start();
        proxyLog = work.resolve(proxyStarts == 1 ? "proxy.log" : "proxy-" + proxyStarts + ".log");
        String line = awaitLine(proxy, "Easel proxy listening on http://", proxyLog);
        proxyPort = Integer.parseInt(line.replaceAll(".*127\\.0\\.0\\.1:(\\d+).*", "$1"));
        System.out.println(line);
    }

    private int proxyStarts;
    private Path proxyLog;

    private boolean oomNoted;

    /** Adds a note the first time the proxy's output shows an {@code OutOfMemoryError}. */
    private void noteOutOfMemory(String during) {
        if (oomNoted) {
            return;
        }
        try {
            if (Files.readString(proxyLog, StandardCharsets.UTF_8).contains("OutOfMemoryError")) {
                oomNoted = true;
                String n = "the proxy threw OutOfMemoryError by the end of " + during
                        + "; later proxied figures in this run are not trustworthy (see " + proxyLog + ")";
                notes.add(n);
                System.out.println("  " + n);
            }
        } catch (IOException e) {
            // no log to read: nothing to note
        }
    }

    /** Copies the process output to {@code log} and returns the first line containing {@code marker}. */
    private static String awaitLine(Process p, String marker, Path log) throws Exception {
        CompletableFuture<String> found = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (var r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                 var w = Files.newBufferedWriter(log)) {
                for (String l; (l = r.readLine()) != null; ) {
                    w.write(l);
                    w.newLine();
                    w.flush();
                    if (!found.isDone() && l.contains(marker)) {
                        found.complete(l);
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
            found.completeExceptionally(new IllegalStateException("process ended before '" + marker + "'; see " + log));
        });
        return found.get(60, TimeUnit.SECONDS);
    }

    private void stopProxy() throws Exception {
        if (proxy != null) {
            stop(proxy); // SIGTERM: graceful drain, and the JFR recording is dumped
            proxy = null;
        }
    }

    private void stopAll() throws Exception {
        stopProxy();
        if (nginx != null) {
            stop(nginx); // SIGTERM: nginx's fast shutdown
            nginx = null;
        }
        if (fake != null) {
            stop(fake);
        }
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(40, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
        }
    }

    // ---- output -------------------------------------------------------------------------------------

    /** A percentile, or 0 for an empty histogram (HdrHistogram 2.2.2 returns 0 too; the guard keeps it explicit). */
    static long pct(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile);
    }

    static double ms(long micros) {
        return round(micros / 1000.0);
    }

    static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    static double ratio(long a, long b) {
        return b == 0 ? 0 : Math.round(a * 1000.0 / b) / 1000.0;
    }

    private static final String HEADER = String.format("%-3s %-24s %-8s %8s %6s %9s %9s %9s %10s %9s %9s %6s %6s "
                    + "%7s %7s %7s %6s",
            "id", "scenario", "path", "ok", "err", "p50 ms", "p99 ms", "max ms", "thr", "+p50 ms", "+p99 ms", "x p50",
            "x p99", "RSS MB", "heap MB", "GC ms", "CPU s") + String.format("%9s %6s %8s", "CPU/edit", "x ngx", "flt/edit");

    @SuppressWarnings("unchecked")
    static String line(Map<String, Object> row) {
        StringBuilder sb = new StringBuilder();
        boolean sse = row.get("label").toString().startsWith("stream");
        boolean ingest = ((Map<String, Object>) row.get("direct")).containsKey("ingest_mb_s");
        List<String> paths = row.containsKey("nginx") ? List.of("direct", "nginx", "proxied") : List.of("direct", "proxied");
        for (String path : paths) {
            Map<String, Object> m = (Map<String, Object>) row.get(path);
            String thr = m.containsKey("ingest_mb_s") ? m.get("ingest_mb_s") + " MB/s"
                    : m.containsKey("throughput_rps") ? m.get("throughput_rps") + "/s" : "";
            Object p50 = sse ? m.get("event_p50_ms") : m.get("p50_ms");
            Object p99 = sse ? m.get("event_p99_ms") : m.get("p99_ms");
            Object max = sse ? m.get("event_max_ms") : m.get("max_ms");
            sb.append(String.format(Locale.ROOT, "%-3s %-24s %-8s %8s %6s %9s %9s %9s %10s", row.get("scenario"),
                    row.get("label"), path, m.get("ok"), m.get("errors"), p50, p99, max, thr));
            if (path.equals("proxied")) {
                Map<String, Object> pr = (Map<String, Object>) row.getOrDefault("proxy", Map.of());
                sb.append(String.format(Locale.ROOT, " %9.2f %9.2f %6.2f %6.2f %7s %7s %7s %6s",
                        (double) row.get("added_p50_ms"), (double) row.get("added_p99_ms"), (double) row.get("ratio_p50"),
                        (double) row.get("ratio_p99"), pr.getOrDefault("rss_hwm_mb", ""), pr.getOrDefault("heap_hwm_mb", ""),
                        pr.getOrDefault("gc_pause_total_ms", ""), pr.getOrDefault("cpu_s", "")));
                if (pr.containsKey("cpu_ms_per_edit")) {
                    sb.append(String.format(Locale.ROOT, " %9s %6s %8s", pr.get("cpu_ms_per_edit"),
                            row.getOrDefault("cpu_ratio_vs_nginx", ""), pr.getOrDefault("page_faults_per_edit", "")));
                }
            } else if (path.equals("nginx")) {
                Map<String, Object> ng = (Map<String, Object>) row.get("nginx_proc");
                sb.append(String.format(Locale.ROOT, " %9.2f %9.2f %6s %6s %7s %7s %7s %6s %9s", (double) ng.get("added_p50_ms"),
                        (double) ng.get("added_p99_ms"), "", "", ng.get("rss_end_mb"), "", "", ng.get("cpu_s"),
                        ng.get("cpu_ms_per_edit")));
                sb.append('\n').append("  ");
            } else {
                sb.append('\n').append("  ");
            }
        }
        if (ingest) {
            sb.append("   (thr = ingest MB/s)");
        }
        if (sse) {
            sb.append("   (latency = partial event emit -> receive)");
        }
        return sb.toString();
    }

    private void printTable() {
        System.out.println();
        System.out.println(HEADER);
        for (Map<String, Object> row : rows) {
            System.out.println(line(row).replace("\n  ", "\n"));
        }
        notes.forEach(n -> System.out.println("note: " + n));
    }

    private void write(Duration took) throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("date", LocalDateTime.now().toString());
        doc.put("mode", quick ? "quick" : "full");
        doc.put("took_s", took.toSeconds());
        doc.put("git_commit", System.getenv().getOrDefault("BENCH_GIT_COMMIT", "unknown"));
        Map<String, Object> machine = new LinkedHashMap<>();
        machine.put("cpus", Runtime.getRuntime().availableProcessors());
        machine.put("cpu_model", cpuModel());
        machine.put("mem_total_mb", memTotalMb());
        machine.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        machine.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        doc.put("machine", machine);
        doc.put("proxy_jvm", PROXY_JVM);
        doc.put("fake_jvm", FAKE_JVM);
        doc.put("client_jvm", ProcessHandle.current().info().arguments().map(a -> {
            List<String> l = new ArrayList<>();
            for (String s : a) {
                if (s.startsWith("-X")) {
                    l.add(s);
                }
            }
            return l;
        }).orElse(List.of()));
        doc.put("rows", rows);
        doc.put("notes", notes);
        Files.createDirectories(out);
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HHmm"));
        Path file = out.resolve(stamp + (quick ? "-quick" : "") + ".json");
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), doc);
        System.out.println("results: " + file);
    }

    private static String cpuModel() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) {
                    return l.substring(l.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return "unknown";
    }

    private static long memTotalMb() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (l.startsWith("MemTotal:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return 0;
    }
}
