package dev.easel.routing;

import java.time.Duration;

/** Waits between retries; injected so router tests run without real waits. */
@FunctionalInterface
public interface Sleeper {

    /** Waits for {@code d}. */
    void sleep(Duration d) throws InterruptedException;

    /** {@link Thread#sleep(Duration)}. */
    static Sleeper system() {
        return Thread::sleep;
    }
}
