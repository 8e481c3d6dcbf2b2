package dev.easel.cli;

import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ConnectionException;
import dev.easel.EaselException;
import dev.easel.InternalServerException;
import dev.easel.NotFoundException;
import dev.easel.PermissionDeniedException;
import dev.easel.RateLimitException;
import dev.easel.TimeoutException;
import dev.easel.UnprocessableEntityException;
import dev.easel.config.ConfigException;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code easel} command line: {@code easel edit ...} runs one image edit and writes the images to a
 * directory; {@code easel proxy ...} runs the proxy. Every command exits with the codes of {@link #EXIT_CODES}.
 */
public final class Main {

    /** Success. */
    static final int EXIT_OK = 0;
    /** Anything else failed: an output file could not be written, an internal error, the proxy could not start. */
    static final int EXIT_FAILED = 1;
    /** Bad flags or arguments, a missing or invalid file named on the command line: nothing was sent. */
    static final int EXIT_USAGE = 2;
    /** The request was refused as the caller's fault (invalid for the model, 4xx, wrong key): retrying fails again. */
    static final int EXIT_REFUSED = 3;
    /** The provider failed or rate-limited the request (429, 5xx, an unreadable answer): retrying later may work. */
    static final int EXIT_PROVIDER = 4;
    /** The provider could not be reached or did not answer in time: retrying later may work. */
    static final int EXIT_NETWORK = 5;

    /** The exit-code table, as printed at the end of every command's {@code --help}. */
    static final String[] EXIT_CODES = {"%nExit codes (the same for every command):",
            "  0  success",
            "  1  other failure: an output file could not be written, internal error,",
            "     the proxy could not start",
            "  2  usage error: bad flags or arguments, a missing or invalid file, an",
            "     output file that exists (without --force); nothing was sent",
            "  3  refused: invalid for the model (checked before sending) or rejected",
            "     as the caller's fault (400, 401, 403, 404, 413, 422, content policy);",
            "     the same command will fail again",
            "  4  provider error: rate limited (429), server error (5xx) or unreadable",
            "     answer, after retries; try again later",
            "  5  network: could not connect, connection lost, or timed out; try again",
            "     later"};

    private Main() {
    }

    /** Runs the CLI and exits with its exit code. */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs the CLI in-process.
     *
     * @return the exit code (see {@link #EXIT_CODES})
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, System.getenv(), err == System.err && stderrIsTerminal(),
                Duration.ofMillis(100));
    }

    /**
     * Runs the CLI with an injected environment; {@code terminal} says whether stderr is a terminal (progress is
     * shown only then), redrawn every {@code progressTick}.
     */
    static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env, boolean terminal,
                   Duration progressTick) {
        CommandLine cl = new CommandLine(new Top(out, err));
        cl.addSubcommand("edit", new EditCommand(out, err, env, terminal, progressTick));
        cl.addSubcommand("proxy", new ProxyCommand(out, err));
        // one table for every command's help (annotations cannot share an array constant)
        for (CommandLine c : List.of(cl, cl.getSubcommands().get("edit"), cl.getSubcommands().get("proxy"))) {
            CommandLine.Model.UsageMessageSpec usage = c.getCommandSpec().usageMessage();
            List<String> footer = new ArrayList<>(List.of(usage.footer()));
            footer.addAll(List.of(EXIT_CODES));
            usage.footer(footer.toArray(String[]::new));
        }
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setParameterExceptionHandler((ex, badArgs) -> {
            String command = ex.getCommandLine().getCommandSpec().qualifiedName();
            String message = oneLine(ex.getMessage());
            for (String secret : secrets(badArgs, env, ex.getCommandLine().getCommandSpec())) {
                message = EditCommand.redact(message, secret);
            }
            err.println("easel: " + message + " (see " + command + " --help)");
            err.flush();
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            err.println("easel: error: " + oneLine(String.valueOf(ex.getMessage())));
            err.flush();
            return ex instanceof EaselException e ? exitCode(e) : EXIT_FAILED;
        });
        return cl.execute(args);
    }

    /**
     * The exit code for a failed edit, by what the caller should do: fix the request ({@link #EXIT_REFUSED}),
     * try again later ({@link #EXIT_PROVIDER}, {@link #EXIT_NETWORK}), or look closer ({@link #EXIT_FAILED}).
     */
    static int exitCode(EaselException e) {
        if (e instanceof ConfigException) {
            return EXIT_USAGE;
        }
        if (e instanceof TimeoutException || e instanceof ConnectionException) {
            return EXIT_NETWORK;
        }
        if (e instanceof RateLimitException || e instanceof InternalServerException) {
            return EXIT_PROVIDER;
        }
        if (e instanceof BadRequestException || e instanceof AuthenticationException
                || e instanceof PermissionDeniedException || e instanceof NotFoundException
                || e instanceof UnprocessableEntityException) {
            return EXIT_REFUSED;
        }
        // untyped failures: by status, an internal error is ours, not the provider's
        int status = e.httpStatus();
        if (status >= 400 && status < 500) {
            return EXIT_REFUSED;
        }
        return "internal_error".equals(e.code().orElse(null)) ? EXIT_FAILED : EXIT_PROVIDER;
    }

    /**
     * Values that may be keys, so that usage errors never echo them: {@code $OPENAI_API_KEY}, the value
     * of any flag with "key" in its name, and long values of unknown flags (a mistyped {@code --api-kye},
     * which picocli would echo as an unmatched argument).
     */
    static List<String> secrets(String[] args, Map<String, String> env, CommandSpec spec) {
        List<String> out = new ArrayList<>();
        String envKey = env.get("OPENAI_API_KEY");
        if (envKey != null && !envKey.isBlank()) {
            out.add(envKey);
        }
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("-")) {
                continue;
            }
            int eq = a.indexOf('=');
            String flag = eq >= 0 ? a.substring(0, eq) : a;
            String value = eq >= 0 ? a.substring(eq + 1) : i + 1 < args.length ? args[i + 1] : null;
            if (value == null) {
                continue;
            }
            boolean keyish = flag.toLowerCase(Locale.ROOT).contains("key");
            boolean unknown = spec.findOption(flag) == null;
            if (keyish || unknown && value.length() >= 16 && !value.contains(" ")) {
                out.add(value);
            }
        }
        return out;
    }

    static String oneLine(String message) {
        return message.strip().replaceAll("\\s*\\R\\s*", "; ");
    }

    /** Whether stderr is attached to a terminal (so progress can be redrawn in place). */
    private static boolean stderrIsTerminal() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            // Java 22+ returns a console even when redirected; isTerminal() tells the truth there.
            Method isTerminal = Console.class.getMethod("isTerminal");
            return (Boolean) isTerminal.invoke(console);
        } catch (ReflectiveOperationException e) {
            return true;
        }
    }

    /** The version line: {@code easel 0.1.0 (java 25.0.1)}, from the build's filtered {@code version.properties}. */
    static final class Version implements CommandLine.IVersionProvider {

        static final String RESOURCE = "/dev/easel/cli/version.properties";

        @Override
        public String[] getVersion() {
            return new String[] {"easel " + number() + " (java " + Runtime.version() + ")"};
        }

        /** The project version the jar was built from. */
        static String number() {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException(RESOURCE + " is missing from the classpath (a broken build)");
                }
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return p.getProperty("version", "unknown");
        }
    }

    /** The top command: only prints usage; the work is in the subcommands. */
    @Command(name = "easel", synopsisSubcommandLabel = "COMMAND", versionProvider = Version.class,
            description = "OpenAI-compatible image edits through any provider.%n",
            footer = {"Run 'easel COMMAND --help' for a command's flags."})
    static final class Top implements java.util.concurrent.Callable<Integer> {

        @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
        boolean help;

        @CommandLine.Option(names = {"-V", "--version"}, versionHelp = true, description = "Print the version.")
        boolean version;

        @CommandLine.Option(names = "--config", paramLabel = "FILE",
                description = "Run the proxy with this config (same as 'easel proxy --config FILE').")
        java.nio.file.Path config;

        @CommandLine.Option(names = "--host", defaultValue = "0.0.0.0", description = "Proxy interface.")
        String host;

        @CommandLine.Option(names = "--port", defaultValue = "4000", description = "Proxy port.")
        int port;

        @CommandLine.Option(names = "--data-dir", defaultValue = "easel-data", paramLabel = "DIR",
                description = "Proxy data directory.")
        java.nio.file.Path dataDir;

        @Spec
        CommandSpec spec;

        private final PrintStream out;
        private final PrintStream err;

        Top(PrintStream out, PrintStream err) {
            this.out = out;
            this.err = err;
        }

        @Override
        public Integer call() {
            if (config != null) {
                return ProxyCommand.run(config, host, port, dataDir, out, err);
            }
            spec.commandLine().usage(spec.commandLine().getOut());
            return 0;
        }
    }

    static ParameterException usage(CommandSpec spec, String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
