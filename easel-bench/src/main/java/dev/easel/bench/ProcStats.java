package dev.easel.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a process used, read from Linux's {@code /proc} and from the JVM's own GC log:
 * CPU seconds ({@code /proc/<pid>/stat} utime + stime), resident memory high-water ({@code VmHWM}, reset
 * per scenario through {@code /proc/<pid>/clear_refs}), and from {@code -Xlog:gc} the total of GC pauses
 * and the heap high-water (the largest heap occupancy seen at the start of a collection).
 */
final class ProcStats {

    private static final long CLK_TCK = 100; // Linux USER_HZ on every mainstream kernel (getconf CLK_TCK)
    // [12.345s][info][gc] GC(7) Pause Young (Normal) (G1 Evacuation Pause) 123M->45M(256M) 3.456ms
    private static final Pattern PAUSE = Pattern.compile("Pause.*?(\\d+)M->(\\d+)M\\((\\d+)M\\) ([\\d.]+)ms");

    private ProcStats() {
    }

    /** A window over one process (and, with {@code tree}, its children: nginx's workers): {@link #start} to {@link #stop}. */
    static final class Window {
        private final long pid;
        private final Path gcLog;
        private final boolean tree;
        private long cpuTicks0;
        private long faults0;
        private long gcOffset;
        /** Page faults (minor + major) of the process over the window: fresh memory touched, or memory paged in. */
        long pageFaults;
        double cpuSeconds;
        long rssHwmKb;
        long rssKb;
        double gcPauseMs;
        int gcPauses;
        long heapHwmMb;

        Window(long pid, Path gcLog) {
            this(pid, gcLog, false);
        }

        Window(long pid, Path gcLog, boolean tree) {
            this.pid = pid;
            this.gcLog = gcLog;
            this.tree = tree;
        }

        private long ticks() {
            return tree ? treeCpuTicks(pid) : cpuTicks(pid);
        }

        Window start() {
            if (!tree) {
                resetPeak(pid);
            }
            cpuTicks0 = ticks();
            faults0 = tree ? 0 : pageFaults(pid);
            gcOffset = size(gcLog);
            return this;
        }

        Window stop() {
            cpuSeconds = (ticks() - cpuTicks0) / (double) CLK_TCK;
            pageFaults = tree ? 0 : pageFaults(pid) - faults0;
            long[] mem = tree ? treeMemoryKb(pid) : memoryKb(pid);
            rssHwmKb = mem[0];
            rssKb = mem[1];
            if (gcLog != null) {
                readGc();
            }
            return this;
        }

        private void readGc() {
            try (RandomAccessFile f = new RandomAccessFile(gcLog.toFile(), "r")) {
                f.seek(gcOffset);
                byte[] rest = new byte[(int) (f.length() - gcOffset)];
                f.readFully(rest);
                for (String line : new String(rest, StandardCharsets.UTF_8).split("\n")) {
                    Matcher m = PAUSE.matcher(line);
                    if (m.find()) {
                        gcPauses++;
                        gcPauseMs += Double.parseDouble(m.group(4));
                        heapHwmMb = Math.max(heapHwmMb, Long.parseLong(m.group(1)));
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + gcLog + ": " + e.getMessage(), e);
            }
        }
    }

    /** utime + stime in clock ticks. */
    static long cpuTicks(long pid) {
        String stat = read(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of proc(5)
    }

    /** minflt + majflt of a process (fields 10 and 12 of proc(5)). */
    static long pageFaults(long pid) {
        String stat = read(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[7]) + Long.parseLong(f[9]);
    }

    /**
     * utime + stime of a process and its live children, in clock ticks. nginx's workers live as long as the master, so
     * the sum over a window is theirs; a child that ended inside the window would be missed (none does here).
     */
    static long treeCpuTicks(long pid) {
        long t = cpuTicks(pid);
        for (ProcessHandle child : ProcessHandle.of(pid).map(h -> h.descendants().toList()).orElse(List.of())) {
            try {
                t += cpuTicks(child.pid());
            } catch (IllegalStateException gone) {
                // ended between listing and reading
            }
        }
        return t;
    }

    /** {VmRSS summed, VmRSS summed} in kB over a process and its children (no high-water reset for a tree). */
    static long[] treeMemoryKb(long pid) {
        long rss = memoryKb(pid)[1];
        for (ProcessHandle child : ProcessHandle.of(pid).map(h -> h.descendants().toList()).orElse(List.of())) {
            try {
                rss += memoryKb(child.pid())[1];
            } catch (IllegalStateException gone) {
                // ended between listing and reading
            }
        }
        return new long[] {rss, rss};
    }

    /** {VmHWM, VmRSS} in kB. */
    static long[] memoryKb(long pid) {
        long hwm = 0;
        long rss = 0;
        for (String line : read(Path.of("/proc/" + pid + "/status")).split("\n")) {
            if (line.startsWith("VmHWM:")) {
                hwm = kb(line);
            } else if (line.startsWith("VmRSS:")) {
                rss = kb(line);
            }
        }
        return new long[] {hwm, rss};
    }

    /** Open-file limit of a process ({@code Max open files} soft limit). */
    static long maxOpenFiles(long pid) {
        for (String line : read(Path.of("/proc/" + pid + "/limits")).split("\n")) {
            if (line.startsWith("Max open files")) {
                String[] f = line.substring("Max open files".length()).trim().split("\\s+");
                return f[0].equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(f[0]);
            }
        }
        return -1;
    }

    /** Resets VmHWM to the current RSS (Linux 4.0+: writing 5 to clear_refs). */
    static void resetPeak(long pid) {
        try {
            Files.writeString(Path.of("/proc/" + pid + "/clear_refs"), "5");
        } catch (IOException e) {
            throw new IllegalStateException("cannot reset the RSS peak of " + pid + ": " + e.getMessage(), e);
        }
    }

    private static long kb(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }

    private static long size(Path p) {
        try {
            return p == null || !Files.exists(p) ? 0 : Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }
}
