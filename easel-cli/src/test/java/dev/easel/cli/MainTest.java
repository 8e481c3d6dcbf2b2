package dev.easel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.image.ImageFormat;
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
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code;
        try (PrintStream po = new PrintStream(o, true, StandardCharsets.UTF_8);
             PrintStream pe = new PrintStream(e, true, StandardCharsets.UTF_8)) {
            code = Main.run(args, po, pe, env, false, progressInterval);
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
    }

    @Test
    void edit_mockLatency_showsProgressWhileWaiting() {
        progressInterval = Duration.ofMillis(200); // ticks at 0.2 s, 0.4 s…: the mock's 900 ms leaves room for 4
        assertThat(run(edit("--setting", "latency_ms=900"))).as(err).isZero();
        assertThat(err).containsPattern("easel: waiting for mock/edit… \\d+\\.\\ds");
    }

    @Test
    void edit_mockFailure_exitsOneWithTypedError() {
        assertThat(run(edit("--max-retries", "0", "--setting", "failure_rate=1", "--setting", "failure_status=429"))).isEqualTo(1);
        assertThat(err.lines()).hasSize(1);
        assertThat(err).startsWith("easel: error: ").contains("simulated failure")
                .endsWith("(rate_limit_error, rate_limit_exceeded)" + System.lineSeparator());
    }

    @Test
    void edit_webpFromMock_exitsOneNamingTheParameter() {
        assertThat(run(edit("--output-format", "webp"))).isEqualTo(1);
        assertThat(err).contains("webp").contains("output_format");
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
        assertThat(code).isEqualTo(1);
        assertThat(err).startsWith("easel: error: ");
        assertThat(out + err).doesNotContain(key);
    }
}
