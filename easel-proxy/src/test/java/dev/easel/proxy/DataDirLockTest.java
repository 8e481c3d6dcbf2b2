package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.EaselException;
import dev.easel.config.ConfigLoader;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One proxy per data directory: a second one, in this process or another, is refused at start with who holds it. */
class DataDirLockTest {

    @TempDir
    Path dir;

    private static ProxyServer start(Path dataDir) {
        return ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(
                "model_list:\n  - {model_name: m, litellm_params: {model: mock/m}}\n", Map.of(), "lock.yaml"))
                .listen("127.0.0.1", 0).withDataDir(dataDir));
    }

    @Test
    void secondProxyInTheSameDirectory_isRefused_untilTheFirstHasStopped() {
        ProxyServer first = start(dir);
        try {
            assertThatThrownBy(() -> start(dir)).isInstanceOfSatisfying(EaselException.class, e ->
                            assertThat(e.type()).isEqualTo("config_error"))
                    .hasMessageContaining("data directory " + dir + " is in use by another Easel proxy (pid "
                            + ProcessHandle.current().pid() + ", started ")
                    .hasMessageContaining("give each proxy its own data directory");
        } finally {
            first.close();
        }
        start(dir).close(); // given back at close
    }

    /** Holds the lock of the directory in {@code args[0]} until its stdin closes (run in a second JVM). */
    public static void main(String[] args) throws Exception {
        try (DataDirLock lock = DataDirLock.acquire(Path.of(args[0]))) {
            System.out.println("locked");
            System.out.flush();
            System.in.read();
        }
    }

    @Test
    void anotherProcessHoldingTheDirectory_refusesThisProxy_andItsDeathFreesIt() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process other = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                DataDirLockTest.class.getName(), dir.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(other.getInputStream(),
                    StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("locked");

            assertThatThrownBy(() -> start(dir)).isInstanceOf(EaselException.class)
                    .hasMessageContaining("is in use by another Easel proxy (pid " + other.pid() + ", started ");
        } finally {
            other.destroyForcibly();
            assertThat(other.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        // the operating system released the dead process's lock: nothing to clean up
        start(dir).close();
    }
}
