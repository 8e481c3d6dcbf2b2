package dev.easel.cli;

import dev.easel.callback.AttemptEvent;
import dev.easel.callback.AttemptStartEvent;
import dev.easel.callback.EaselListener;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * Shows on a terminal how long the CLI has been waiting, redrawn in place: the elapsed time, and once the router
 * retries or falls back, the attempt number, the fallback group in use and why the last attempt failed. Silent
 * when stderr is not a terminal or with {@code --quiet}, so scripts and logs get no noise.
 *
 * <p>It listens to the SDK's attempt events ({@link #listener()}); those arrive on the listener thread.
 */
final class Progress implements AutoCloseable {

    private final PrintStream err;
    private final boolean enabled;
    private final String label;
    private final Duration tick;
    private final long start = System.nanoTime();
    private final Thread ticker;
    private volatile boolean running = true;
    private volatile String status = "";
    private volatile String lastFailure;
    private boolean lineShown;

    /**
     * @param enabled whether to draw at all (stderr is a terminal and not {@code --quiet})
     * @param label   what is awaited, e.g. {@code waiting for gpt-image-1…}
     * @param tick    how often the line is redrawn
     */
    Progress(PrintStream err, boolean enabled, String label, Duration tick) {
        this.err = err;
        this.enabled = enabled;
        this.label = label;
        this.tick = tick;
        this.ticker = enabled ? Thread.ofPlatform().daemon().name("easel-progress").unstarted(this::tick) : null;
        if (ticker != null) {
            ticker.start();
        }
    }

    /** Seconds since the start, e.g. {@code 1.4s}. */
    String elapsed() {
        return String.format(Locale.ROOT, "%.1fs", (System.nanoTime() - start) / 1e9);
    }

    /** The SDK listener that feeds the attempt part of the line. */
    EaselListener listener() {
        return new EaselListener() {
            @Override
            public String name() {
                return "cli-progress";
            }

            @Override
            public void onAttemptStart(AttemptStartEvent e) {
                if (e.number() == 1 && !e.fallback()) {
                    return; // the plain case: the elapsed time says it all
                }
                String failure = lastFailure;
                status = " · attempt " + e.number() + (e.fallback() ? " on fallback " + e.modelGroup() : "")
                        + (failure == null ? "" : " (" + failure + ")");
            }

            @Override
            public void onAttempt(AttemptEvent e) {
                if (!e.ok()) {
                    lastFailure = "attempt " + e.number() + ": " + e.outcome();
                }
            }
        };
    }

    /** The line as drawn now (without the terminal control characters). */
    String line() {
        return label + " " + elapsed() + status;
    }

    private void tick() {
        while (running) {
            try {
                Thread.sleep(tick.toMillis()); // the redraw rate, not a wait for something
            } catch (InterruptedException e) {
                return;
            }
            synchronized (this) {
                if (!running) {
                    return;
                }
                err.print("\r" + line() + "\033[K");
                err.flush();
                lineShown = true;
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
