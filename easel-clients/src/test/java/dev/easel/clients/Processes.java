package dev.easel.clients;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs an external program (npm, pip, python, node) with a deadline. Output goes to files, not pipes, so a
 * chatty program can never block on a full pipe; on the deadline the program and everything it started are
 * killed, so no process outlives the test that started it.
 */
final class Processes {

    private Processes() {
    }

    /** What a finished (or killed) program left behind. */
    record Result(List<String> command, int exitCode, boolean timedOut, String stdout, String stderr) {

        boolean ok() {
            return !timedOut && exitCode == 0;
        }

        /**
         * The last telling line of stderr, else of stdout: where pip, npm and venv say what went wrong (npm's
         * closing pointer to its debug log is passed over).
         */
        String lastLine() {
            return lastNonBlank(stderr).or(() -> lastNonBlank(stdout)).orElse("(no output)");
        }

        /** A one-paragraph account for an assertion or assumption message. */
        String describe() {
            String how = timedOut ? "timed out" : "exited with " + exitCode;
            return String.join(" ", command) + " " + how + "\n--- stdout ---\n" + tail(stdout)
                    + "\n--- stderr ---\n" + tail(stderr);
        }

        private static Optional<String> lastNonBlank(String text) {
            List<String> lines = text.lines().filter(l -> !l.isBlank())
                    .filter(l -> !l.contains("A complete log of this run can be found in")).toList();
            return lines.isEmpty() ? Optional.empty() : Optional.of(lines.getLast().strip());
        }

        private static String tail(String text) {
            List<String> lines = text.lines().toList();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        }
    }

    /**
     * Runs {@code command} in {@code dir} with this JVM's environment minus its {@code OPENAI_*} variables, plus
     * {@code env}; past {@code timeout} the program and its descendants are killed and the result says so.
     *
     * @throws IOException when the program cannot be started at all (for example, it is not installed)
     */
    static Result run(List<String> command, Path dir, Map<String, String> env, Duration timeout) throws IOException {
        Path out = Files.createTempFile("easel-proc-", ".out");
        Path err = Files.createTempFile("easel-proc-", ".err");
        try {
            ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(nullDevice()))
                    .redirectOutput(out.toFile()).redirectError(err.toFile());
            withoutOpenAiVariables(builder.environment());
            builder.environment().putAll(env);
            Process process = builder.start();
            // a build stopped mid-install (Ctrl-C, surefire killing its fork) must not leave npm or pip running
            Thread reaper = new Thread(() -> kill(process), "kill-" + command.getFirst());
            Runtime.getRuntime().addShutdownHook(reaper);
            boolean finished;
            try {
                finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                finished = false;
            } finally {
                removeHook(reaper);
            }
            if (!finished) {
                kill(process);
            }
            return new Result(command, finished ? process.exitValue() : -1, !finished, read(out), read(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Removes inherited {@code OPENAI_*} variables, so a developer's own key or base URL cannot leak in. */
    static void withoutOpenAiVariables(Map<String, String> env) {
        env.keySet().removeIf(k -> k.toUpperCase(java.util.Locale.ROOT).startsWith("OPENAI_"));
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or about to: it kills the process itself
        }
    }

    private static void kill(Process process) {
        // descendants first: once the parent is gone its children are re-parented and no longer found
        List<ProcessHandle> children = process.descendants().toList();
        process.destroyForcibly();
        children.forEach(ProcessHandle::destroyForcibly);
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static java.io.File nullDevice() {
        return new java.io.File(System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
    }

    private static String read(Path file) {
        try {
            return new String(Files.readAllBytes(file), StandardCharsets.UTF_8); // malformed bytes become U+FFFD
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
