package dev.easel.cli;

import java.io.Console;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code easel} command line: {@code easel edit ...} runs one image edit and writes the images to a
 * directory. Exit codes: 0 success, 1 the edit failed, 2 bad usage.
 */
public final class Main {

    /** The edit (or the command) failed. */
    static final int EXIT_FAILED = 1;
    /** Bad flags or arguments. */
    static final int EXIT_USAGE = 2;

    private Main() {
    }

    /** Runs the CLI and exits with its exit code. */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs the CLI in-process.
     *
     * @return the exit code: 0 success, 1 failure, 2 bad usage
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, System.getenv(), err == System.err && stderrIsTerminal(),
                Duration.ofSeconds(5));
    }

    static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env, boolean terminal,
                   Duration progressInterval) {
        CommandLine cl = new CommandLine(new Top(out, err));
        cl.addSubcommand("edit", new EditCommand(out, err, env, terminal, progressInterval));
        cl.addSubcommand("proxy", new ProxyCommand(out, err));
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
            return EXIT_FAILED;
        });
        return cl.execute(args);
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

    /** The top command: only prints usage; the work is in the subcommands. */
    @Command(name = "easel", synopsisSubcommandLabel = "COMMAND",
            description = "OpenAI-compatible image edits through any provider.%n",
            footer = {"Run 'easel COMMAND --help' for a command's flags.",
                    "Exit codes: 0 success, 1 the edit failed, 2 bad usage."})
    static final class Top implements java.util.concurrent.Callable<Integer> {

        @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
        boolean help;

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
