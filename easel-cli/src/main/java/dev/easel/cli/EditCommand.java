package dev.easel.cli;

import dev.easel.Easel;
import dev.easel.EaselException;
import dev.easel.ImageData;
import dev.easel.ImageEditEvent;
import dev.easel.ImageEditRequest;
import dev.easel.ImageEditStream;
import dev.easel.ImageInput;
import dev.easel.ImageResponse;
import dev.easel.Usage;
import dev.easel.callback.EditLogRecord;
import dev.easel.config.ConfigException;
import dev.easel.config.ConfigLoader;
import dev.easel.config.EaselConfig;
import dev.easel.image.ImageFormat;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code easel edit}: one image edit, images written to {@code --out}; with {@code --config}, through a
 * LiteLLM-format config's model groups (routing, retries, fallbacks as in the proxy).
 */
@Command(name = "edit", sortOptions = false, usageHelpAutoWidth = true, abbreviateSynopsis = true,
        versionProvider = Main.Version.class,
        description = {"Edit images with a prompt and write the results to a directory.%n"},
        footer = {"%nExamples:",
                "  easel edit --model mock/edit --image photo.png --prompt \"add a hat\"",
                "  easel edit --model gpt-image-2 --image a.png --image b.png \\",
                "      --mask mask.png --prompt \"one scene\" --size 1536x1024 --out shots/",
                "  easel edit --config config.yaml --model edit --image photo.png --prompt \"add a hat\""})
final class EditCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = "Model or deployment, e.g. gpt-image-2, azure/my-deployment, mock/edit (offline).")
    String model;

    @Option(names = "--image", required = true, paramLabel = "FILE",
            description = "Image to edit (PNG, JPEG or WebP); repeat for several, in order.")
    List<Path> images = new ArrayList<>();

    @Option(names = "--mask", paramLabel = "FILE",
            description = "PNG mask: fully transparent pixels mark where to edit (applies to the first image).")
    Path mask;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "What to change.")
    String prompt;

    @Option(names = "--n", paramLabel = "N", description = "Number of images (1-10).")
    Integer n;

    @Option(names = "--size", paramLabel = "WxH", description = "Output size, e.g. 1024x1024, or auto.")
    String size;

    @Option(names = "--quality", paramLabel = "Q", description = "low, medium, high or auto.")
    String quality;

    @Option(names = "--background", paramLabel = "B", description = "transparent, opaque or auto.")
    String background;

    @Option(names = "--output-format", paramLabel = "FMT", description = "png, jpeg or webp.")
    String outputFormat;

    @Option(names = "--output-compression", paramLabel = "0-100", description = "Compression for jpeg/webp.")
    Integer outputCompression;

    @Option(names = "--input-fidelity", paramLabel = "F", description = "high or low.")
    String inputFidelity;

    @Option(names = "--response-format", paramLabel = "F", description = "url or b64_json.")
    String responseFormat;

    @Option(names = "--user", paramLabel = "ID", description = "End-user id.")
    String user;

    @Option(names = "--stream", description = "Stream the edit; partial images are saved as they arrive.")
    boolean stream;

    @Option(names = "--partial-images", paramLabel = "N", description = "Partial images to stream (0-3).")
    Integer partialImages;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "Time allowed for the call (default 600).")
    Double timeoutSeconds;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Serve --model from this LiteLLM-format config's model_list (its deployments, keys, "
                    + "retries and fallbacks), as the proxy would.")
    Path config;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Provider API key (default: $OPENAI_API_KEY).")
    String apiKey;

    @Option(names = "--api-base", paramLabel = "URL",
            description = "Provider base URL (default: $OPENAI_BASE_URL, else the provider's own).")
    String apiBase;

    @Option(names = "--api-version", paramLabel = "V", description = "API version (Azure).")
    String apiVersion;

    @Option(names = "--extra", paramLabel = "KEY=VALUE",
            description = "Extra request field forwarded unchanged, e.g. moderation=low; repeatable.")
    Map<String, String> extra = new LinkedHashMap<>();

    @Option(names = "--setting", paramLabel = "KEY=VALUE",
            description = "Provider setting, e.g. latency_ms=2000 or failure_rate=0.5 for mock/...; repeatable.")
    Map<String, String> settings = new LinkedHashMap<>();

    @Option(names = "--out", paramLabel = "DIR", description = "Directory for the images (default: out).")
    Path out = Path.of("out");

    @Option(names = "--force", description = "Overwrite image files that already exist in --out.")
    boolean force;

    @Option(names = "--drop-params", description = "Drop parameters the model does not take instead of failing.")
    boolean dropParams;

    @Option(names = "--max-retries", defaultValue = "2", paramLabel = "N",
            description = "Retries after 429, 5xx or connection failures, with backoff (default: ${DEFAULT-VALUE}).")
    int maxRetries;

    @Option(names = {"-q", "--quiet"}, description = "Print only the paths of the written files: no progress, "
            + "usage, cost or warnings.")
    boolean quiet;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Option(names = {"-V", "--version"}, versionHelp = true, description = "Print the version.")
    boolean version;

    /** Output files {@code image-<i>.<ext>} and {@code partial-<i>.<ext>} (the extension follows the bytes). */
    private static final Pattern OUTPUT_FILE = Pattern.compile("(image|partial)-(\\d{1,9})\\.[^.]+");

    private final PrintStream stdout;
    private final PrintStream stderr;
    private final Map<String, String> env;
    private final boolean terminal;
    private final Duration progressTick;

    EditCommand(PrintStream stdout, PrintStream stderr, Map<String, String> env, boolean terminal,
                Duration progressTick) {
        this.stdout = stdout;
        this.stderr = stderr;
        this.env = env;
        this.terminal = terminal;
        this.progressTick = progressTick;
    }

    @Override
    public Integer call() {
        checkFlags();
        String key = firstNonBlank(apiKey, env.get("OPENAI_API_KEY"));
        String base = firstNonBlank(apiBase, env.get("OPENAI_BASE_URL"));
        Easel.Builder builder = Easel.builder().dropParams(dropParams).maxRetries(maxRetries);
        if (config != null) {
            builder.config(loadConfig());
        } else {
            if (key != null) {
                builder.apiKey(key);
            }
            if (base != null) {
                builder.apiBase(checkedBase(base, apiBase != null ? "--api-base" : "OPENAI_BASE_URL"));
            }
            if (apiVersion != null) {
                builder.apiVersion(apiVersion);
            }
            settings.forEach(builder::providerSetting);
        }
        if (timeoutSeconds != null) {
            builder.timeout(timeout());
        }
        ImageEditRequest request = request();
        AtomicReference<EditLogRecord> served = new AtomicReference<>();
        builder.recordSink(served::set); // synchronous: set before imageEdit returns
        try (Progress progress = new Progress(stderr, terminal && !quiet, "waiting for " + model + "…",
                progressTick)) {
            Easel easel;
            try {
                easel = builder.listener(progress.listener()).build();
            } catch (EaselException e) {
                if (config == null) {
                    throw e;
                }
                throw Main.usage(spec, "--config: " + Main.oneLine(String.valueOf(e.getMessage())));
            }
            try {
                if (stream) {
                    runStream(easel, request, progress);
                } else {
                    ImageResponse response = easel.imageEdit(request);
                    written(progress, response, write(response));
                }
                if (served.get() != null) {
                    info(progress, servedLine(served.get(), config == null ? base : null));
                }
                return Main.EXIT_OK;
            } catch (EaselException e) {
                progress.stop();
                stderr.println("easel: error: " + redact(Main.oneLine(String.valueOf(e.getMessage())), key)
                        + " (" + details(e) + ")");
                return Main.exitCode(e);
            } catch (RuntimeException e) {
                progress.stop();
                stderr.println("easel: error: " + redact(Main.oneLine(String.valueOf(e.getMessage())), key));
                return Main.EXIT_FAILED;
            } finally {
                easel.close(); // delivers the progress listener's last events, closes the connections
            }
        }
    }

    /** The config of {@code --config}; its warnings go to stderr (unless quiet), its errors are usage errors. */
    private EaselConfig loadConfig() {
        if (!Files.isRegularFile(config)) {
            throw Main.usage(spec, "--config: no such file: " + config);
        }
        EaselConfig cfg;
        try {
            cfg = ConfigLoader.load(config, env);
        } catch (ConfigException e) {
            throw Main.usage(spec, "--config: " + Main.oneLine(e.getMessage()));
        }
        if (!quiet) {
            cfg.warnings().forEach(w -> stderr.println("easel: warning: " + w));
        }
        return cfg;
    }

    private String checkedBase(String base, String from) {
        try {
            URI uri = new URI(base);
            if (("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()))
                    && uri.getHost() != null) {
                return base;
            }
        } catch (URISyntaxException e) {
            // reported below
        }
        throw Main.usage(spec, from + " must be an http(s) URL (was '" + base + "')");
    }

    /**
     * Everything that can be refused before the edit is sent (and paid for): missing inputs, bad values, an
     * output directory that cannot be made, files that would be overwritten without {@code --force}.
     */
    private void checkFlags() {
        for (Path image : images) {
            if (!Files.isRegularFile(image)) {
                throw Main.usage(spec, "--image: no such file: " + image);
            }
        }
        if (mask != null && !Files.isRegularFile(mask)) {
            throw Main.usage(spec, "--mask: no such file: " + mask);
        }
        if (timeoutSeconds != null && !(timeoutSeconds > 0)) {
            throw Main.usage(spec, "--timeout must be more than 0 seconds (was " + timeoutSeconds + ")");
        }
        if (prompt.isBlank()) {
            throw Main.usage(spec, "--prompt must not be empty");
        }
        if (maxRetries < 0) {
            throw Main.usage(spec, "--max-retries must be at least 0 (was " + maxRetries + ")");
        }
        if (config != null) {
            for (var flag : List.of(Map.entry("--api-key", apiKey != null), Map.entry("--api-base", apiBase != null),
                    Map.entry("--api-version", apiVersion != null), Map.entry("--setting", !settings.isEmpty()))) {
                if (flag.getValue()) {
                    throw Main.usage(spec, flag.getKey() + " cannot be used with --config: the config's "
                            + "deployments set their own");
                }
            }
        }
        checkOut();
    }

    private void checkOut() {
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw Main.usage(spec, "--out: not a directory: " + out);
        }
        Path existing = out.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing != null && !Files.isDirectory(existing)) {
            throw Main.usage(spec, "--out: cannot create " + out + ": " + existing + " is not a directory");
        }
        if (existing != null && !Files.isWritable(existing)) {
            throw Main.usage(spec, "--out: cannot write to " + existing);
        }
        if (force || !Files.isDirectory(out)) {
            return;
        }
        try (Stream<Path> files = Files.list(out)) {
            files.filter(this::wouldOverwrite).sorted().findFirst().ifPresent(f -> {
                throw Main.usage(spec, "--out: " + f + " already exists; use --force to overwrite it");
            });
        } catch (IOException e) {
            throw Main.usage(spec, "--out: cannot read " + out + ": " + e.getMessage());
        }
    }

    /** Whether the edit may write {@code file}: {@code image-<i>} for i below n, a stream's partial images. */
    private boolean wouldOverwrite(Path file) {
        Matcher m = OUTPUT_FILE.matcher(file.getFileName().toString());
        if (!m.matches()) {
            return false;
        }
        long index = Long.parseLong(m.group(2));
        if (m.group(1).equals("image")) {
            return index < (stream || n == null ? 1 : n);
        }
        return stream && (partialImages == null || index < partialImages);
    }

    private Duration timeout() {
        return Duration.ofMillis(Math.round(timeoutSeconds * 1000));
    }

    private ImageEditRequest request() {
        ImageEditRequest.Builder b = ImageEditRequest.builder().model(model).prompt(prompt);
        images.forEach(p -> b.addImage(ImageInput.of(p)));
        if (mask != null) {
            b.mask(mask);
        }
        if (n != null) {
            b.n(n);
        }
        if (size != null) {
            b.size(size);
        }
        if (quality != null) {
            b.quality(quality);
        }
        if (background != null) {
            b.background(background);
        }
        if (outputFormat != null) {
            b.outputFormat(outputFormat);
        }
        if (outputCompression != null) {
            b.outputCompression(outputCompression);
        }
        if (inputFidelity != null) {
            b.inputFidelity(inputFidelity);
        }
        if (responseFormat != null) {
            b.responseFormat(responseFormat);
        }
        if (user != null) {
            b.user(user);
        }
        if (stream) {
            b.stream(true);
        }
        if (partialImages != null) {
            b.partialImages(partialImages);
        }
        if (timeoutSeconds != null) {
            b.timeout(timeout());
        }
        if (!extra.isEmpty()) {
            b.extraBody(extra);
        }
        return b.build();
    }

    private void runStream(Easel easel, ImageEditRequest request, Progress progress) {
        try (ImageEditStream events = easel.imageEditStream(request)) {
            boolean completed = false;
            for (ImageEditEvent event : events) {
                byte[] bytes = Base64.getDecoder().decode(event.b64Json());
                switch (event) {
                    case ImageEditEvent.PartialImage p -> {
                        Path file = save("partial-" + p.index(), bytes, p.outputFormat());
                        fileLine(progress, file, "partial image " + p.index() + ", " + progress.elapsed());
                    }
                    case ImageEditEvent.Completed c -> {
                        Path file = save("image-0", bytes, c.outputFormat());
                        fileLine(progress, file, c.size() + ", " + progress.elapsed());
                        c.usage().ifPresent(u -> info(progress, usageLine(u)));
                        completed = true;
                    }
                }
            }
            if (!completed) {
                throw new EaselException("the stream ended without a completed image", "api_error");
            }
        }
    }

    private List<Path> write(ImageResponse response) {
        List<Path> files = new ArrayList<>();
        List<ImageData> data = response.data();
        for (int i = 0; i < data.size(); i++) {
            files.add(save("image-" + i, data.get(i).bytes(), response.outputFormat().orElse(null)));
        }
        return files;
    }

    private void written(Progress progress, ImageResponse response, List<Path> files) {
        String detail = response.size().map(s -> s + ", ").orElse("") + progress.elapsed();
        for (Path f : files) {
            fileLine(progress, f, detail);
        }
        response.usage().ifPresent(u -> info(progress, usageLine(u)));
        for (String w : response.warnings()) {
            if (!quiet) {
                progress.println(stderr, "easel: warning: " + w);
            }
        }
        if (files.isEmpty()) {
            throw new EaselException("the provider returned no images", "api_error");
        }
    }

    private Path save(String stem, byte[] bytes, String outputFormat) {
        Path file = out.resolve(stem + "." + extension(bytes, outputFormat));
        try {
            Files.createDirectories(out);
            if (force) {
                Files.write(file, bytes);
            } else {
                // checked before the edit; a file that appeared since is still not overwritten
                Files.write(file, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            }
        } catch (FileAlreadyExistsException e) {
            throw new UncheckedIOException("could not write " + file + ": it was created while the edit ran; use "
                    + "--force to overwrite it", e);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    /**
     * Who served the edit and what it cost: {@code served by openai/gpt-image-1 (model group edit) · cost $0.0443}.
     * {@code base} is the client's base URL (a gateway's, say) when the edit was sent there without a config.
     */
    String servedLine(EditLogRecord r, String base) {
        List<String> about = new ArrayList<>();
        if (config != null && r.modelGroup() != null) {
            about.add("model group " + r.modelGroup() + (r.fallbacks() > 0 ? ", a fallback for " + model : ""));
        } else if (base != null) {
            about.add("at " + base);
        }
        if (r.attempts().size() > 1) {
            about.add("after " + r.attempts().size() + " attempts");
        }
        return "served by " + r.provider() + "/" + r.providerModel()
                + (about.isEmpty() ? "" : " (" + String.join(", ", about) + ")")
                + " · " + r.costUsd().map(c -> "cost $" + money(c)).orElse("cost unknown (model not priced)");
    }

    /** Dollars to four places ($0.0443); a smaller non-zero amount in full, so it never shows as zero. */
    static String money(BigDecimal usd) {
        BigDecimal rounded = usd.setScale(4, RoundingMode.HALF_UP);
        if (rounded.signum() == 0 && usd.signum() != 0) {
            return usd.stripTrailingZeros().toPlainString();
        }
        return rounded.toPlainString();
    }

    /** The extension of the bytes' real format; else of the reported format; else {@code bin}. */
    static String extension(byte[] bytes, String outputFormat) {
        Optional<ImageFormat> sniffed = ImageFormat.sniff(bytes.length > 16 ? java.util.Arrays.copyOf(bytes, 16)
                : bytes);
        if (sniffed.isPresent()) {
            return sniffed.get().extension();
        }
        if (outputFormat != null) {
            Optional<ImageFormat> named = ImageFormat.fromName(outputFormat);
            if (named.isPresent()) {
                return named.get().extension();
            }
            String f = outputFormat.toLowerCase(Locale.ROOT);
            if (f.matches("[a-z0-9]{1,5}")) {
                return f;
            }
        }
        return "bin";
    }

    private void fileLine(Progress progress, Path file, String detail) {
        progress.println(stdout, quiet ? file.toString() : "wrote " + file + " (" + detail + ")");
    }

    private void info(Progress progress, String line) {
        if (!quiet) {
            progress.println(stdout, line);
        }
    }

    private static String usageLine(Usage u) {
        return "usage: " + u.inputTokens() + " input tokens (" + u.inputTextTokens() + " text, "
                + u.inputImageTokens() + " image), " + u.outputTokens() + " output tokens, " + u.totalTokens()
                + " total";
    }

    private static String details(EaselException e) {
        StringBuilder sb = new StringBuilder(e.type());
        e.code().ifPresent(c -> sb.append(", ").append(c));
        e.param().ifPresent(p -> sb.append(", ").append(p));
        return sb.toString();
    }

    /** Removes the key from a message, should a provider ever echo it back. */
    static String redact(String message, String key) {
        if (key == null || key.length() < 4) {
            return message;
        }
        return message.replace(key, "****");
    }

    private static String firstNonBlank(String a, String b) {
        if (a != null && !a.isBlank()) {
            return a;
        }
        return b != null && !b.isBlank() ? b : null;
    }
}
