package dev.easel.cli;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * Shows how long the CLI has been waiting: redrawn in place on a terminal, else one line every
 * {@code interval} so logs of long runs are not flooded.
 */
final class Progress implements AutoCloseable {

    private static final long TERMINAL_TICK_MS = 100;

    private final PrintStream err;
    private final boolean terminal;
    private final boolean enabled;
    private final String label;
    private final Duration interval;
    private final long start = System.nanoTime();
    private final Thread ticker;
    private volatile boolean running = true;
    private boolean lineShown;

    Progress(PrintStream err, boolean terminal, boolean enabled, String label, Duration interval) {
        this.err = err;
        this.terminal = terminal;
        this.enabled = enabled;
        this.label = label;
        this.interval = interval;
        this.ticker = enabled ? Thread.ofPlatform().daemon().name("easel-progress").unstarted(this::tick) : null;
        if (ticker != null) {
            ticker.start();
        }
    }

    /** Seconds since the start, e.g. {@code 1.4s}. */
    String elapsed() {
        return String.format(Locale.ROOT, "%.1fs", (System.nanoTime() - start) / 1e9);
    }

    private void tick() {
        long sleepMs = terminal ? TERMINAL_TICK_MS : interval.toMillis();
        while (running) {
            try {
                Thread.sleep(sleepMs);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (this) {
                if (!running) {
                    return;
                }
                if (terminal) {
                    err.print("\r" + label + " " + elapsed() + "\033[K");
                    lineShown = true;
                } else {
                    err.println("easel: " + label + " " + elapsed());
                }
                err.flush();
            }
        }
    }

    /** Prints a line to {@code stream} without garbling the in-place progress line. */
    synchronized void println(PrintStream stream, String line) {
        clear();
        stream.println(line);
        stream.flush();
    }

    private void clear() {
        if (lineShown) {
            err.print("\r\033[K");
            err.flush();
            lineShown = false;
        }
    }

    @Override
    public void close() {
        stop();
    }

    /** Stops the ticker and clears the progress line; safe to call more than once. */
    void stop() {
        if (!enabled) {
            return;
        }
        running = false;
        ticker.interrupt();
        try {
            ticker.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            clear();
        }
    }
}
