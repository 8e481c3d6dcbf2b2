package dev.easel.cli;

/** SIGTERM / SIGINT handling through {@code sun.misc.Signal} (module jdk.unsupported), when available. */
final class Signals {

    private Signals() {
    }

    /** Runs {@code action} on SIGTERM or SIGINT instead of exiting; false if signals cannot be handled. */
    @SuppressWarnings("removal")
    static boolean onTermination(Runnable action) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("TERM"), s -> action.run());
            sun.misc.Signal.handle(new sun.misc.Signal("INT"), s -> action.run());
            return true;
        } catch (IllegalArgumentException | LinkageError e) {
            return false;
        }
    }
}
