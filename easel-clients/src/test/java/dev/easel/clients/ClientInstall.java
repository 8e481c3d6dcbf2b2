package dev.easel.clients;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Installs one official OpenAI client (npm {@code openai} or PyPI {@code openai}) into
 * {@code target/clients/<lang>}, once: a later run finds the marker written after a verified install and reuses
 * it. Every step has a deadline ({@link #INSTALL_TIMEOUT} for the package install), and nothing runs unless a
 * test class that needs the client starts.
 *
 * <p>The outcome is one of three: {@link Ready}; {@link Skipped} (the runtime is missing, or — for Python only —
 * pip cannot get the package from the index it is configured with), which the tests turn into JUnit
 * assumptions; or {@link Broken}, which fails them.
 */
final class ClientInstall {

    /** Bound on one package install (npm install / pip install). */
    static final Duration INSTALL_TIMEOUT = Duration.ofMinutes(3);
    /** Bound on the quick probes: {@code node --version}, creating the venv, importing the installed client. */
    static final Duration PROBE_TIMEOUT = Duration.ofSeconds(60);

    private static final String MARKER = ".easel-installed";
    private static final Pattern NODE_VERSION = Pattern.compile("v(\\d+)\\.(\\d+)\\.(\\d+)");
    private static final boolean WINDOWS = System.getProperty("os.name").startsWith("Windows");

    /** What a test class gets: a runnable client, a reason to skip, or a reason to fail. */
    sealed interface Outcome permits Ready, Skipped, Broken {
    }

    /**
     * An installed client: run {@code launcher + [script, args…]} with {@code home} as working directory; the
     * case script has been copied to {@code script} (Node resolves {@code import 'openai'} from the script's own
     * directory, so it must sit beside {@code node_modules}).
     */
    record Ready(String client, String version, Path home, List<String> launcher, Path script) implements Outcome {
    }

    /** The client cannot run on this machine, for a reason the tests report as a skipped assumption. */
    record Skipped(String reason) implements Outcome {
    }

    /** The install went wrong where it must not (e.g. npm could not install the package). */
    record Broken(String details) implements Outcome {
    }

    private static Outcome node;
    private static Outcome python;

    private ClientInstall() {
    }

    /** The Node client {@code openai@<easel.clients.node.openai>}, installed with npm on first use. */
    static synchronized Outcome node() {
        if (node == null) {
            node = installNode(root().resolve("node"), property("easel.clients.node.openai", "7.57.0"));
        }
        return node;
    }

    /** The Python client {@code openai==<easel.clients.python.openai>}, installed with pip in a venv on first use. */
    static synchronized Outcome python() {
        if (python == null) {
            python = installPython(root().resolve("py"), property("easel.clients.python.openai", "3.22.1"));
        }
        return python;
    }

    private static Outcome installNode(Path home, String version) {
        String label = "openai@" + version;
        Processes.Result probe;
        try {
            probe = Processes.run(List.of("node", "--version"), root(), Map.of(), PROBE_TIMEOUT);
        } catch (IOException e) {
            return new Skipped("node is not on the PATH: the Node client cases need node 20 or newer ("
                    + e.getMessage().strip() + ")");
        }
        Matcher m = NODE_VERSION.matcher(probe.stdout().strip());
        if (!probe.ok() || !m.matches()) {
            return new Skipped("node --version did not answer a version: " + probe.lastLine());
        }
        if (Integer.parseInt(m.group(1)) < 20) {
            return new Skipped("node " + probe.stdout().strip() + " is older than 20, the oldest that " + label
                    + " runs on (it needs the global File class)");
        }
        List<String> launcher = List.of("node");
        Path script = home.resolve("cases.mjs");
        if (isMarked(home, label) && installedNodeVersion(home).equals(Optional.of(version))) {
            return ready(label, version, home, launcher, "cases.mjs", script);
        }
        try {
            wipe(home);
            Files.createDirectories(home);
            // a package.json of its own, so npm installs here and not into a parent project it might find
            Files.writeString(home.resolve("package.json"),
                    "{\"name\":\"easel-client-cases\",\"private\":true,\"version\":\"0.0.0\"}\n");
            List<String> command = List.of(WINDOWS ? "npm.cmd" : "npm", "install", "--no-audit", "--no-fund",
                    "--no-update-notifier", "--loglevel=error", "--fetch-retries=1", label);
            Processes.Result install = Processes.run(command, home, Map.of(), INSTALL_TIMEOUT);
            if (!install.ok()) {
                return new Broken("npm could not install " + label + ": " + (install.timedOut()
                        ? "timed out after " + INSTALL_TIMEOUT : install.lastLine()) + "\n" + install.describe());
            }
            Optional<String> installed = installedNodeVersion(home);
            if (!installed.equals(Optional.of(version))) {
                return new Broken("npm install " + label + " left " + installed.orElse("no openai package")
                        + " in " + home.resolve("node_modules"));
            }
            mark(home, label);
            return ready(label, version, home, launcher, "cases.mjs", script);
        } catch (IOException e) {
            return new Broken("cannot install " + label + " into " + home + ": " + e);
        }
    }

    private static Outcome installPython(Path home, String version) {
        String label = "openai==" + version;
        Path python = home.resolve(WINDOWS ? "Scripts/python.exe" : "bin/python");
        List<String> launcher = List.of(python.toString());
        Path script = home.resolve("cases.py");
        try {
            if (isMarked(home, label) && importsVersion(python, version, home)) {
                return ready(label, version, home, launcher, "cases.py", script);
            }
            wipe(home);
            Files.createDirectories(home.getParent());
            Processes.Result venv;
            try {
                venv = Processes.run(List.of(WINDOWS ? "python" : "python3", "-m", "venv", home.toString()),
                        home.getParent(), Map.of(), PROBE_TIMEOUT);
            } catch (IOException e) {
                return new Skipped("python3 is not on the PATH: the Python client cases need it ("
                        + e.getMessage().strip() + ")");
            }
            if (!venv.ok()) {
                return new Skipped("python3 -m venv failed: " + venv.lastLine());
            }
            // --retries 1: without it pip spends minutes retrying an index it cannot reach
            List<String> command = List.of(python.toString(), "-m", "pip", "install", "--retries", "1",
                    "--timeout", "30", "--disable-pip-version-check", "--no-input", label);
            Processes.Result install = Processes.run(command, home, Map.of(), INSTALL_TIMEOUT);
            if (!install.ok()) {
                return new Skipped("pip could not install " + label + " from its configured index: "
                        + (install.timedOut() ? "timed out after " + INSTALL_TIMEOUT : install.lastLine()));
            }
            if (!importsVersion(python, version, home)) {
                return new Broken("pip installed " + label + " into " + home + " but it does not import as "
                        + version);
            }
            mark(home, label);
            return ready(label, version, home, launcher, "cases.py", script);
        } catch (IOException e) {
            return new Broken("cannot install " + label + " into " + home + ": " + e);
        }
    }

    private static Ready ready(String label, String version, Path home, List<String> launcher, String resource,
                               Path script) {
        // copied on every run, so an edited script is never shadowed by a cached copy
        try (InputStream in = ClientInstall.class.getResourceAsStream("/clients/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("test resource /clients/" + resource + " is missing");
            }
            Files.write(script, in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Ready(label, version, home, launcher, script);
    }

    private static boolean importsVersion(Path python, String version, Path home) throws IOException {
        if (!Files.isExecutable(python)) {
            return false;
        }
        Processes.Result r = Processes.run(List.of(python.toString(), "-c", "import openai; print(openai.__version__)"),
                home, Map.of(), PROBE_TIMEOUT);
        return r.ok() && r.stdout().strip().equals(version);
    }

    private static Optional<String> installedNodeVersion(Path home) {
        Path pkg = home.resolve("node_modules/openai/package.json");
        if (!Files.isRegularFile(pkg)) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(new ObjectMapper().readTree(pkg.toFile()).path("version").textValue());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static boolean isMarked(Path home, String label) {
        try {
            return Files.readString(home.resolve(MARKER), StandardCharsets.UTF_8).strip().equals(label);
        } catch (IOException e) {
            return false;
        }
    }

    private static void mark(Path home, String label) throws IOException {
        Files.writeString(home.resolve(MARKER), label + "\n");
    }

    /** Removes a partial or outdated install (the marker is written last, so its absence means partial). */
    private static void wipe(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        List<Path> paths = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(paths::add);
        }
        for (Path p : paths) {
            Files.deleteIfExists(p);
        }
    }

    private static Path root() {
        Path dir = Path.of(property("easel.clients.dir", "target/clients")).toAbsolutePath();
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir, e);
        }
    }

    private static String property(String name, String fallback) {
        String value = System.getProperty(name);
        return value == null || value.isBlank() ? fallback : value;
    }
}
