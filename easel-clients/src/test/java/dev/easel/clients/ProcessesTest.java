package dev.easel.clients;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner behind every install and client case: deadlines, output capture, environment. */
class ProcessesTest {

    @TempDir
    Path dir;

    @BeforeEach
    void unixShell() {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/sh")), "needs /bin/sh");
    }

    @Test
    void run_pastDeadline_killsProgramAndTheChildItStarted() throws Exception {
        Path pidFile = dir.resolve("child.pid");
        Instant start = Instant.now();

        Processes.Result r = Processes.run(List.of("/bin/sh", "-c",
                "sleep 60 & echo $! > child.pid; wait"), dir, Map.of(), Duration.ofMillis(1500));

        assertThat(r.timedOut()).isTrue();
        assertThat(r.ok()).isFalse();
        assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(20));
        long childPid = Long.parseLong(Files.readString(pidFile).strip());
        assertThat(awaitGone(childPid, Duration.ofSeconds(10))).as("child %d still alive", childPid).isTrue();
    }

    @Test
    void run_failingProgram_reportsExitCodeAndLastTellingLine() throws IOException {
        Processes.Result r = Processes.run(List.of("/bin/sh", "-c",
                "echo out; echo 'npm error notarget No matching version' >&2; "
                        + "echo 'npm error A complete log of this run can be found in: /x.log' >&2; exit 3"),
                dir, Map.of(), Duration.ofSeconds(20));

        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.timedOut()).isFalse();
        assertThat(r.stdout()).isEqualTo("out\n");
        assertThat(r.lastLine()).isEqualTo("npm error notarget No matching version");
        assertThat(r.describe()).contains("exited with 3", "--- stdout ---\nout", "No matching version");
    }

    @Test
    void run_inheritedOpenAiVariables_areDroppedAndGivenOnesSet() throws IOException {
        // the module's surefire configuration gives this JVM OPENAI_API_KEY and OPENAI_ORG_ID, as a developer's
        // shell might: a client case must not pick them up
        assertThat(System.getenv("OPENAI_ORG_ID")).isEqualTo("org-inherited-from-the-build");
        Processes.Result r = Processes.run(List.of("/bin/sh", "-c", "env"), dir,
                Map.of("OPENAI_BASE_URL", "http://127.0.0.1:1/v1", "EASEL_CASE", "{}"), Duration.ofSeconds(20));

        assertThat(r.ok()).isTrue();
        List<String> openAi = r.stdout().lines().filter(l -> l.startsWith("OPENAI_")).toList();
        assertThat(openAi).containsExactly("OPENAI_BASE_URL=http://127.0.0.1:1/v1");
        assertThat(r.stdout().lines()).contains("EASEL_CASE={}");
    }

    @Test
    void run_missingProgram_throwsIoException() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Processes.run(
                        List.of("easel-no-such-program-" + ProcessHandle.current().pid()), dir, Map.of(),
                        Duration.ofSeconds(5)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("easel-no-such-program-");
    }

    private static boolean awaitGone(long pid, Duration within) throws InterruptedException {
        Instant deadline = Instant.now().plus(within);
        while (Instant.now().isBefore(deadline)) {
            Optional<ProcessHandle> handle = ProcessHandle.of(pid);
            if (handle.isEmpty() || !handle.get().isAlive()) {
                return true;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(20_000_000);
        }
        return false;
    }
}
