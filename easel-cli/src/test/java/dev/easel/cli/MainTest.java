package dev.easel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.image.ImageFormat;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {

    @TempDir
    Path dir;

    private Path image;
    private String out;
    private String err;
    // no progress line unless a test asks for one: on a busy machine any edit can outlast a short interval
    private Duration progressInterval = Duration.ofHours(1);

    @BeforeEach
    void makeImage() throws IOException {
        BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.DARK_GRAY);
        g.fillRect(0, 0, 64, 64);
        g.dispose();
        image = dir.resolve("in.png");
        ImageIO.write(img, "png", image.toFile());
    }

    private int run(Map<String, String> env, String... args) {
        return run(env, false, args);
    }

    /** Runs the CLI as if stderr were a terminal (progress drawn) or not. */
    private int run(Map<String, String> env, boolean terminal, String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code;
        try (PrintStream po = new PrintStream(o, true, StandardCharsets.UTF_8);
             PrintStream pe = new PrintStream(e, true, StandardCharsets.UTF_8)) {
            code = Main.run(args, po, pe, env, terminal, progressInterval);
        }
        out = o.toString(StandardCharsets.UTF_8);
        err = e.toString(StandardCharsets.UTF_8);
        return code;
    }

    private int run(String... args) {
        return run(Map.of(), args);
    }

    private String[] edit(String... more) {
        List<String> args = new ArrayList<>(List.of("edit", "--model", "mock/edit", "--image", image.toString(),
                "--prompt", "add a red hat", "--out", dir.resolve("out").toString()));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    // ---- usage ----

    @Test
    void run_noArguments_printsUsage() {
        assertThat(run()).isZero();
        assertThat(out).contains("Usage: easel").contains("edit");
        assertThat(err).isEmpty();
    }

    @Test
    void edit_help_printsFlagsAndExitCodes() {
        assertThat(run("edit", "--help")).isZero();
        assertThat(out).contains("--model", "--image", "--mask", "--prompt", "--output-format", "--api-key",
                "--extra", "--out", "Exit codes");
    }

    @Test
    void edit_missingRequiredFlags_exitsTwoWithOneLine() {
        assertThat(run("edit", "--image", image.toString())).isEqualTo(2);
        assertThat(err).startsWith("easel: Missing required options: '--model=MODEL', '--prompt=TEXT'")
                .endsWith("(see easel edit --help)" + System.lineSeparator());
        assertThat(err.lines()).hasSize(1);
        assertThat(out).isEmpty();
    }

    @Test
    void edit_unknownFlag_exitsTwoWithOneLine() {
        assertThat(run(edit("--colour", "red"))).isEqualTo(2);
        assertThat(err.lines()).hasSize(1);
        assertThat(err).startsWith("easel: Unknown options: '--colour', 'red'");
    }

    @Test
    void unknownCommand_exitsTwo() {
        assertThat(run("paint")).isEqualTo(2);
        assertThat(err.lines()).hasSize(1);
        assertThat(err).startsWith("easel: Unmatched argument at index 0: 'paint'");
    }

    @Test
    void edit_mistypedKeyFlag_doesNotEchoTheKey() {
        assertThat(run(edit("--api-kye", "sk-secret-value-42"))).isEqualTo(2);
        assertThat(err).startsWith("easel: Unknown options: '--api-kye', '****'").doesNotContain("sk-secret");

        assertThat(run(Map.of("OPENAI_API_KEY", "sk-from-env-77"), edit("sk-from-env-77"))).isEqualTo(2);
        assertThat(err).doesNotContain("sk-from-env-77");
    }

    @Test
    void edit_badNumber_exitsTwoNamingTheFlag() {
        assertThat(run(edit("--n", "many"))).isEqualTo(2);
        assertThat(err).isEqualTo("easel: Invalid value for option '--n': 'many' is not an int"
                + " (see easel edit --help)" + System.lineSeparator());
    }

    @Test
    void edit_missingImageFile_exitsTwoNamingTheFile() {
        Path missing = dir.resolve("nope.png");
        assertThat(run("edit", "--model", "mock/edit", "--image", missing.toString(), "--prompt", "p")).isEqualTo(2);
        assertThat(err).isEqualTo("easel: --image: no such file: " + missing + " (see easel edit --help)"
                + System.lineSeparator());
    }

    @Test
    void edit_extraWithoutValue_exitsTwo() {
        assertThat(run(edit("--extra", "moderation"))).isEqualTo(2);
        assertThat(err.lines()).hasSize(1);
        assertThat(err).contains("--extra").contains("moderation");
    }

    @Test
    void edit_baseUrlNotAUrl_exitsTwoNamingWhereItCameFrom() {
        assertThat(run(Map.of("OPENAI_BASE_URL", "gw:4000"), edit())).isEqualTo(2);
        assertThat(err).startsWith("easel: OPENAI_BASE_URL must be an http(s) URL (was 'gw:4000')");

        assertThat(run(edit("--api-base", "http://bad host/v1"))).isEqualTo(2);
        assertThat(err).startsWith("easel: --api-base must be an http(s) URL (was 'http://bad host/v1')");
    }

    @Test
    void edit_zeroTimeout_exitsTwo() {
        assertThat(run(edit("--timeout", "0"))).isEqualTo(2);
        assertThat(err).startsWith("easel: --timeout must be more than 0 seconds (was 0.0)");
    }

    @Test
    void extension_prefersTheBytesThenTheReportedFormat() {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0};
        assertThat(EditCommand.extension(png, "jpeg")).isEqualTo("png");
        assertThat(EditCommand.extension(new byte[] {1, 2, 3}, "jpeg")).isEqualTo("jpg");
        assertThat(EditCommand.extension(new byte[] {1, 2, 3}, "gif")).isEqualTo("gif");
        assertThat(EditCommand.extension(new byte[] {1, 2, 3}, null)).isEqualTo("bin");
    }

    @Test
    void redact_removesTheKey() {
        assertThat(EditCommand.redact("bad key sk-abc123 given", "sk-abc123")).isEqualTo("bad key **** given");
        assertThat(EditCommand.redact("no key here", null)).isEqualTo("no key here");
    }

    // ---- edits through the real pipeline with the bundled mock provider ----

    @Test
    void edit_mockModel_writesPngOfRequestedSize() throws IOException {
        assertThat(run(edit("--size", "96x48"))).as(err).isZero();

        Path file = dir.resolve("out").resolve("image-0.png");
        assertThat(file).exists();
        byte[] bytes = Files.readAllBytes(file);
        assertThat(ImageFormat.sniff(bytes)).contains(ImageFormat.PNG);
        BufferedImage img = ImageIO.read(file.toFile());
        assertThat(img.getWidth()).isEqualTo(96);
        assertThat(img.getHeight()).isEqualTo(48);
        assertThat(out).contains("wrote " + file + " (96x48").contains("usage: ").contains("output tokens");
    }

    @Test
    void edit_mockJpegWithN_writesOneFilePerImage() throws IOException {
        assertThat(run(edit("--n", "2", "--output-format", "jpeg", "-q"))).as(err).isZero();

        Path o = dir.resolve("out");
        assertThat(out.lines()).containsExactly(o.resolve("image-0.jpg").toString(), o.resolve("image-1.jpg").toString());
        try (Stream<Path> files = Files.list(o)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("image-0.jpg",
                    "image-1.jpg");
        }
        assertThat(ImageIO.read(o.resolve("image-1.jpg").toFile()).getWidth()).isEqualTo(64);
        assertThat(err).isEmpty();
    }

    @Test
    void edit_mockStream_savesPartialsThenTheImage() throws IOException {
        assertThat(run(edit("--stream", "--partial-images", "2"))).as(err).isZero();

        Path o = dir.resolve("out");
        assertThat(o.resolve("partial-0.png")).exists();
        assertThat(o.resolve("partial-1.png")).exists();
        assertThat(ImageIO.read(o.resolve("image-0.png").toFile()).getWidth()).isEqualTo(64);
        List<String> lines = out.lines().toList();
        assertThat(lines.get(0)).startsWith("wrote " + o.resolve("partial-0.png") + " (partial image 0");
        assertThat(lines.get(1)).startsWith("wrote " + o.resolve("partial-1.png"));
        assertThat(lines.get(2)).startsWith("wrote " + o.resolve("image-0.png"));
        assertThat(lines.get(3)).startsWith("usage: ");
        assertThat(lines.get(4)).isEqualTo("served by mock/edit · cost unknown (model not priced)");
    }

    @Test
    void edit_mockLatencyOnTerminal_redrawsElapsedTimeThenClearsIt() {
        progressInterval = Duration.ofMillis(200); // ticks at 0.2 s, 0.4 s…: the mock's 900 ms leaves room for 4
        assertThat(run(Map.of(), true, edit("--setting", "latency_ms=900"))).as(err).isZero();
        assertThat(err).contains("\rwaiting for mock/edit… 0.").endsWith("\r\033[K");
        assertThat(out).contains("wrote ");
    }

    @Test
    void edit_mockLatencyNotOnTerminal_printsNoProgress() {
        progressInterval = Duration.ofMillis(200); // would draw while the 700 ms mock answers
        assertThat(run(Map.of(), false, edit("--setting", "latency_ms=700"))).as(err).isZero();
        assertThat(err).isEmpty();
    }

    @Test
    void edit_quietOnTerminal_printsNoProgress() {
        progressInterval = Duration.ofMillis(200); // would draw while the 700 ms mock answers
        assertThat(run(Map.of(), true, edit("--setting", "latency_ms=700", "-q"))).as(err).isZero();
        assertThat(err).isEmpty();
        assertThat(out.lines()).containsExactly(dir.resolve("out").resolve("image-0.png").toString());
    }

    @Test
    void edit_fallbackOnTerminal_progressNamesTheAttemptTheFallbackAndWhyTheLastFailed() throws IOException {
        progressInterval = Duration.ofMillis(200); // would draw while the 700 ms mock answers
        assertThat(run(Map.of(), true, configEdit(fallbackConfig(700), "primary"))).as(err).isZero();
        assertThat(err).contains("\rwaiting for primary… ")
                .contains(" · attempt 3 on fallback backup (attempt 2: 503 service_unavailable)");
    }

    @Test
    void edit_mockRateLimited_exitsFourWithTypedError() {
        assertThat(run(edit("--max-retries", "0", "--setting", "failure_rate=1", "--setting", "failure_status=429"))).isEqualTo(4);
        assertThat(err.lines()).hasSize(1);
        assertThat(err).startsWith("easel: error: ").contains("simulated failure")
                .endsWith("(rate_limit_error, rate_limit_exceeded)" + System.lineSeparator());
    }

    @Test
    void edit_mockServerError_exitsFour() {
        assertThat(run(edit("--max-retries", "0", "--setting", "failure_rate=1", "--setting", "failure_status=503"))).isEqualTo(4);
        assertThat(err).startsWith("easel: error: ").endsWith("(api_error, service_unavailable)" + System.lineSeparator());
    }

    @Test
    void edit_mockTimeout_exitsFive() {
        assertThat(run(edit("--max-retries", "0", "--setting", "latency_ms=5000", "--timeout", "0.3"))).isEqualTo(5);
        assertThat(err).startsWith("easel: error: mock/edit did not answer within 300 ms");
    }

    @Test
    void edit_webpFromMock_exitsThreeNamingTheParameter() {
        assertThat(run(edit("--output-format", "webp"))).isEqualTo(3);
        assertThat(err).contains("webp").contains("output_format");
        assertThat(dir.resolve("out")).doesNotExist();
    }

    @Test
    void edit_unreachableProvider_neverPrintsTheApiKey() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String key = "sk-test-secret-key-0123456789";
        int code = run(Map.of("OPENAI_API_KEY", key), "edit", "--max-retries", "0", "--model", "openai/gpt-image-1", "--image",
                image.toString(), "--prompt", "p", "--api-base", "http://127.0.0.1:" + port + "/v1", "--out",
                dir.resolve("out").toString(), "--timeout", "10");
        assertThat(code).isEqualTo(5);
        assertThat(err).startsWith("easel: error: ");
        assertThat(out + err).doesNotContain(key);
    }

    // ---- served by, cost ----

    @Test
    void edit_unpricedMock_saysWhoServedItAndThatTheCostIsUnknown() {
        assertThat(run(edit())).as(err).isZero();
        assertThat(out.lines().toList().getLast()).isEqualTo("served by mock/edit · cost unknown (model not priced)");
    }

    @Test
    void edit_pricedModel_printsItsCost() {
        assertThat(run("edit", "--model", "mock/gpt-image-1", "--image", image.toString(), "--prompt", "add a red hat",
                "--out", dir.resolve("out").toString())).as(err).isZero();
        // the mock's usage (4 text + 194 image input tokens, 1056 image output tokens) at gpt-image-1's rates
        assertThat(out.lines().toList().getLast()).isEqualTo("served by mock/gpt-image-1 · cost $0.0442");
    }

    @Test
    void edit_configWithFallback_namesTheGroupTheFallbackAndTheAttempts() throws IOException {
        assertThat(run(configEdit(fallbackConfig(0), "primary"))).as(err).isZero();
        assertThat(out.lines().toList().getLast()).isEqualTo("served by mock/gpt-image-1 (model group backup, a "
                + "fallback for primary, after 3 attempts) · cost $0.0442");
    }

    @Test
    void edit_configUnknownGroup_exitsThreeNamingTheGroups() throws IOException {
        assertThat(run(configEdit(fallbackConfig(0), "nope"))).isEqualTo(3);
        assertThat(err).isEqualTo("easel: error: model 'nope' is not served here (available: backup, primary) "
                + "(invalid_request_error, model_not_found, model)" + System.lineSeparator());
    }

    @Test
    void edit_configWithApiBase_exitsTwo() throws IOException {
        String[] args = configEdit(fallbackConfig(0), "primary");
        List<String> more = new ArrayList<>(List.of(args));
        more.addAll(List.of("--api-base", "http://127.0.0.1:1/v1"));
        assertThat(run(more.toArray(String[]::new))).isEqualTo(2);
        assertThat(err).startsWith("easel: --api-base cannot be used with --config: the config's deployments set "
                + "their own");
    }

    @Test
    void edit_missingConfig_exitsTwo() {
        Path missing = dir.resolve("missing.yaml");
        assertThat(run(edit("--config", missing.toString()))).isEqualTo(2);
        assertThat(err).startsWith("easel: --config: no such file: " + missing);
    }

    @Test
    void edit_invalidConfig_exitsTwoNamingTheYamlPath() throws IOException {
        Path bad = Files.writeString(dir.resolve("bad.yaml"), "router_settings:\n  num_retries: many\n");
        assertThat(run(edit("--config", bad.toString()))).isEqualTo(2);
        assertThat(err).startsWith("easel: --config: ").contains("router_settings.num_retries");
    }

    @Test
    void money_fourPlacesButNeverZeroForAPositiveAmount() {
        assertThat(EditCommand.money(new java.math.BigDecimal("0.04425"))).isEqualTo("0.0443");
        assertThat(EditCommand.money(new java.math.BigDecimal("0"))).isEqualTo("0.0000");
        assertThat(EditCommand.money(new java.math.BigDecimal("0.0000125"))).isEqualTo("0.0000125");
    }

    /** Group 'primary' always fails with 503 (after {@code latencyMs}), 'backup' serves it; one retry first. */
    private Path fallbackConfig(int latencyMs) throws IOException {
        return Files.writeString(dir.resolve("config.yaml"), """
                model_list:
                  - model_name: primary
                    litellm_params: {model: mock/edit, failure_rate: 1, failure_status: 503}
                  - model_name: backup
                    litellm_params: {model: mock/gpt-image-1, latency_ms: %d}
                router_settings:
                  num_retries: 1
                  retry_after: 0
                  fallbacks: [{"primary": ["backup"]}]
                """.formatted(latencyMs));
    }

    private String[] configEdit(Path config, String model) {
        return new String[] {"edit", "--config", config.toString(), "--model", model, "--image", image.toString(),
                "--prompt", "add a red hat", "--out", dir.resolve("out").toString()};
    }

    // ---- output files ----

    @Test
    void edit_outputFileExists_exitsTwoBeforeAnythingIsSent() throws IOException {
        try (FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-force-test-1").start()) {
            Path existing = Files.createDirectories(dir.resolve("out")).resolve("image-0.png");
            Files.writeString(existing, "an earlier result");

            assertThat(run(openAiEdit(fake))).isEqualTo(2);

            assertThat(err).isEqualTo("easel: --out: " + existing + " already exists; use --force to overwrite it"
                    + " (see easel edit --help)" + System.lineSeparator());
            assertThat(fake.requestCount()).isZero();
            assertThat(Files.readString(existing)).isEqualTo("an earlier result");
        }
    }

    @Test
    void edit_outputFileExistsWithForce_overwritesIt() throws IOException {
        try (FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-force-test-1").start()) {
            Path existing = Files.createDirectories(dir.resolve("out")).resolve("image-0.png");
            Files.writeString(existing, "an earlier result");

            assertThat(run(openAiEdit(fake, "--force"))).as(err).isZero();

            assertThat(ImageFormat.sniff(Files.readAllBytes(existing))).contains(ImageFormat.PNG);
            assertThat(fake.requestCount()).isOne();
        }
    }

    @Test
    void edit_otherExtensionOfAnOutputName_isRefusedToo() throws IOException {
        // the extension follows the answer's bytes, unknown before the edit: any image-1.* may be overwritten
        Path existing = Files.createDirectories(dir.resolve("out")).resolve("image-1.jpg");
        Files.writeString(existing, "x");
        assertThat(run(edit("--n", "2"))).isEqualTo(2);
        assertThat(err).startsWith("easel: --out: " + existing + " already exists");
    }

    @Test
    void edit_filesBeyondTheImagesAsked_areLeftAlone() throws IOException {
        Path out = Files.createDirectories(dir.resolve("out"));
        Files.writeString(out.resolve("image-2.png"), "kept");
        Files.writeString(out.resolve("partial-0.png"), "kept");
        Files.writeString(out.resolve("notes.txt"), "kept");

        assertThat(run(edit("--n", "2"))).as(err).isZero();

        assertThat(Files.readString(out.resolve("image-2.png"))).isEqualTo("kept");
        assertThat(Files.readString(out.resolve("partial-0.png"))).isEqualTo("kept");
    }

    @Test
    void edit_streamWouldOverwriteAPartialImage_exitsTwo() throws IOException {
        Path existing = Files.createDirectories(dir.resolve("out")).resolve("partial-1.png");
        Files.writeString(existing, "x");
        assertThat(run(edit("--stream", "--partial-images", "2"))).isEqualTo(2);
        assertThat(err).startsWith("easel: --out: " + existing + " already exists; use --force to overwrite it");
    }

    @Test
    void edit_outUnderAFile_exitsTwoBeforeSending() throws IOException {
        Path file = Files.writeString(dir.resolve("plain-file"), "x");
        assertThat(run("edit", "--model", "mock/edit", "--image", image.toString(), "--prompt", "p", "--out",
                file.resolve("sub").toString())).isEqualTo(2);
        assertThat(err).startsWith("easel: --out: cannot create " + file.resolve("sub") + ": " + file
                + " is not a directory");
    }

    @Test
    void edit_outputCannotBeWritten_exitsOne() throws IOException {
        // --force lets the run start; the name is taken by a directory, so the write fails after the edit
        Path blocking = Files.createDirectories(dir.resolve("out").resolve("image-0.png").resolve("child"));
        assertThat(run(edit("--force"))).isEqualTo(1);
        assertThat(err).startsWith("easel: error: could not write " + blocking.getParent());
    }

    private String[] openAiEdit(FakeOpenAi fake, String... more) {
        List<String> args = new ArrayList<>(List.of("edit", "--model", "openai/gpt-image-1", "--image",
                image.toString(), "--prompt", "p", "--api-key", "sk-force-test-1", "--api-base", fake.baseUrl(),
                "--max-retries", "0", "--out", dir.resolve("out").toString()));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    // ---- exit codes from the provider ----

    @Test
    void edit_providerRefusesTheRequest_exitsThree() {
        try (FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-force-test-1").start()) {
            fake.enqueue(FakeResponse.error(400, "invalid_request_error", "invalid_value", "prompt", "bad prompt"));
            assertThat(run(openAiEdit(fake))).isEqualTo(3);
            assertThat(err).isEqualTo("easel: error: bad prompt (invalid_request_error, invalid_value, prompt)"
                    + System.lineSeparator());
        }
    }

    @Test
    void edit_wrongKey_exitsThree() {
        try (FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-the-right-key-1").start()) {
            assertThat(run(openAiEdit(fake))).isEqualTo(3);
            assertThat(err).startsWith("easel: error: Incorrect API key provided")
                    .endsWith("(invalid_request_error, invalid_api_key)" + System.lineSeparator());
        }
    }

    @Test
    void edit_providerServerError_exitsFour() {
        try (FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-force-test-1").start()) {
            fake.enqueue(FakeResponse.serverError());
            assertThat(run(openAiEdit(fake))).isEqualTo(4);
        }
    }

    @Test
    void edit_providerDropsTheConnection_exitsFive() {
        try (FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-force-test-1").start()) {
            fake.enqueue(FakeResponse.dropConnection());
            assertThat(run(openAiEdit(fake))).isEqualTo(5);
        }
    }

    // ---- version, help, proxy ----

    @Test
    void version_everyCommand_printsTheBuildsVersion() {
        String expected = "easel " + System.getProperty("easel.expectedVersion") + " (java " + Runtime.version() + ")"
                + System.lineSeparator();
        assertThat(System.getProperty("easel.expectedVersion")).isNotBlank().doesNotContain("${");
        for (String[] args : List.of(new String[] {"--version"}, new String[] {"-V"}, new String[] {"edit", "--version"},
                new String[] {"proxy", "--version"})) {
            assertThat(run(args)).as(String.join(" ", args)).isZero();
            assertThat(out).as(String.join(" ", args)).isEqualTo(expected);
        }
    }

    @Test
    void help_everyCommand_printsTheSameExitCodeTable() {
        String table = String.join(System.lineSeparator(), "Exit codes (the same for every command):",
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
                "     later");
        for (String[] args : List.of(new String[] {"--help"}, new String[] {"edit", "--help"},
                new String[] {"proxy", "--help"})) {
            assertThat(run(args)).isZero();
            assertThat(out).as(String.join(" ", args)).contains(table);
        }
    }

    @Test
    void proxy_missingConfig_exitsTwo() {
        Path missing = dir.resolve("missing.yaml");
        assertThat(run("proxy", "--config", missing.toString())).isEqualTo(2);
        assertThat(err).isEqualTo("easel: config file not found: " + missing + System.lineSeparator());
    }

    @Test
    void proxy_portInUse_exitsOne() throws IOException {
        Path config = Files.writeString(dir.resolve("proxy.yaml"), """
                model_list:
                  - model_name: edit
                    litellm_params: {model: mock/edit}
                """);
        try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            assertThat(run("proxy", "--config", config.toString(), "--host", "127.0.0.1", "--port",
                    Integer.toString(taken.getLocalPort()), "--data-dir", dir.resolve("data").toString())).isEqualTo(1);
            assertThat(err).startsWith("easel: error: ");
        }
    }
}
