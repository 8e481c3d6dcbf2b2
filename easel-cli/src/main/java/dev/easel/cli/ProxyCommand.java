package dev.easel.cli;

import dev.easel.config.ConfigException;
import dev.easel.config.ConfigLoader;
import dev.easel.config.EaselConfig;
import dev.easel.proxy.ProxyOptions;
import dev.easel.proxy.ProxyServer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code easel proxy --config config.yaml}: runs the OpenAI-compatible proxy until SIGTERM / SIGINT,
 * then drains (requests in flight may finish within {@code general_settings.grace_period}) and exits 0.
 */
@Command(name = "proxy", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Run the OpenAI-compatible image-edit proxy (LiteLLM config.yaml format).")
final class ProxyCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "LiteLLM-format config.yaml.")
    Path config;

    @Option(names = "--host", defaultValue = "0.0.0.0", description = "Interface to bind (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "4000", description = "Port (default: ${DEFAULT-VALUE}; 0 = any free).")
    int port;

    @Option(names = "--data-dir", defaultValue = "easel-data", paramLabel = "DIR",
            description = "Spooled uploads and served images (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    private final PrintStream out;
    private final PrintStream err;

    ProxyCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() {
        return run(config, host, port, dataDir, out, err);
    }

    static int run(Path config, String host, int port, Path dataDir, PrintStream out, PrintStream err) {
        if (port < 0 || port > 65535) {
            err.println("easel: --port must be between 0 and 65535 (was " + port + ")");
            return Main.EXIT_USAGE;
        }
        if (!Files.isRegularFile(config)) {
            err.println("easel: config file not found: " + config);
            return Main.EXIT_USAGE;
        }
        EaselConfig cfg;
        try {
            cfg = ConfigLoader.load(config);
        } catch (ConfigException e) {
            err.println("easel: " + Main.oneLine(e.getMessage()));
            return Main.EXIT_USAGE;
        }
        cfg.warnings().forEach(w -> err.println("easel: warning: " + w));
        ProxyServer server = ProxyServer.start(ProxyOptions.of(cfg).listen(host, port).withDataDir(dataDir));
        // the heap bounds every large buffer (docs/limits.md): say what this process got, so an operator sees it
        out.println("Easel proxy listening on http://" + host + ":" + server.port() + "  (models: "
                + String.join(", ", server.models()) + "; heap max " + (Runtime.getRuntime().maxMemory() >> 20)
                + " MB)");
        out.flush();
        CountDownLatch stop = new CountDownLatch(1);
        Runnable onSignal = stop::countDown;
        boolean handled = Signals.onTermination(onSignal);
        if (!handled) {
            // no signal API: drain from a shutdown hook instead (the exit code is then the JVM's)
            Runtime.getRuntime().addShutdownHook(new Thread(() -> server.drain(server.gracePeriod())));
        }
        try {
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Duration grace = server.gracePeriod();
        err.println("easel: stopping; waiting up to " + grace.toSeconds() + " s for " + server.inflight()
                + " request(s) in flight");
        boolean clean = server.drain(grace);
        err.println(clean ? "easel: stopped" : "easel: stopped with requests cut off after the grace period");
        return 0;
    }
}
