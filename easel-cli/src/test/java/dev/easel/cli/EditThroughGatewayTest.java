package dev.easel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.config.ConfigLoader;
import dev.easel.image.ImageFormat;
import dev.easel.proxy.ProxyOptions;
import dev.easel.proxy.ProxyServer;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.FakeResponse;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code easel edit} against a gateway (a real Easel proxy in front of the fake OpenAI): the gateway's group
 * names work, its URLs are downloaded into {@code --out}, the cost shown is the one the gateway charged, and
 * the gateway's refusals and failures give the documented exit codes.
 */
class EditThroughGatewayTest {

    private static final String MASTER_KEY = "sk-cli-gateway-master-1";
    private static final String UPSTREAM_KEY = "sk-cli-gateway-upstream-2";

    @TempDir
    static Path dataDir;
    @TempDir
    Path dir;

    static FakeOpenAi fake;
    static ProxyServer gateway;

    private Path image;
    private String out;
    private String err;

    @BeforeAll
    static void start() {
        fake = FakeOpenAi.builder().apiKey(UPSTREAM_KEY).start();
        String yaml = """
                model_list:
                  - model_name: edit
                    litellm_params: {model: openai/gpt-image-1, api_key: %1$s, api_base: "%2$s"}
                general_settings:
                  master_key: %3$s
                router_settings:
                  num_retries: 0
                """.formatted(UPSTREAM_KEY, fake.baseUrl(), MASTER_KEY);
        gateway = ProxyServer.start(ProxyOptions.of(ConfigLoader.parse(yaml, Map.of(), "gateway.yaml"))
                .listen("127.0.0.1", 0).withDataDir(dataDir));
    }

    @AfterAll
    static void stop() {
        try {
            if (gateway != null) {
                gateway.close();
            }
        } finally {
            if (fake != null) {
                fake.close();
            }
        }
    }

    @BeforeEach
    void reset() throws IOException {
        fake.reset();
        image = dir.resolve("in.png");
        ImageIO.write(new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB), "png", image.toFile());
    }

    private String base() {
        return gateway.baseUri() + "/v1";
    }

    private int run(String... more) {
        return runModel("edit", more);
    }

    private int runModel(String model, String... more) {
        List<String> args = new ArrayList<>(List.of("edit", "--model", model, "--image", image.toString(),
                "--prompt", "add a red hat", "--out", dir.resolve("out").toString(), "--max-retries", "0"));
        args.addAll(List.of(more));
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code;
        try (PrintStream po = new PrintStream(o, true, StandardCharsets.UTF_8);
             PrintStream pe = new PrintStream(e, true, StandardCharsets.UTF_8)) {
            code = Main.run(args.toArray(String[]::new), po, pe,
                    Map.of("OPENAI_API_KEY", MASTER_KEY, "OPENAI_BASE_URL", base()), false, Duration.ofMillis(50));
        }
        out = o.toString(StandardCharsets.UTF_8);
        err = e.toString(StandardCharsets.UTF_8);
        return code;
    }

    @Test
    void edit_gatewayGroupWithUrlAnswers_writesTheImagesAndTheGatewaysCost() throws IOException {
        byte[] png = png();
        fake.enqueue(FakeResponse.json(200, """
                {"created": 1, "data": [{"b64_json": "%s"}], "output_format": "png",
                 "usage": {"input_tokens": 100, "input_tokens_details": {"text_tokens": 100, "image_tokens": 0},
                           "output_tokens": 1000, "total_tokens": 1100}}
                """.formatted(Base64.getEncoder().encodeToString(png))));

        assertThat(run("--response-format", "url")).as(err).isZero();

        Path written = dir.resolve("out").resolve("image-0.png");
        // fetched from the gateway's own image URL: the upstream's bytes
        assertThat(Files.readAllBytes(written)).isEqualTo(png);
        assertThat(ImageFormat.sniff(Files.readAllBytes(written))).contains(ImageFormat.PNG);
        // 100 text tokens at $5/M + 1000 image output tokens at $40/M, as the gateway computed it
        assertThat(out.lines().toList().getLast()).isEqualTo("served by openai/edit (at " + base() + ") · cost $0.0405");
        assertThat(fake.takeRequest().textField("model")).contains("gpt-image-1");
    }

    @Test
    void edit_groupTheGatewayDoesNotServe_exitsThree() {
        assertThat(runModel("no-such-group")).isEqualTo(3);
        assertThat(err).startsWith("easel: error: model 'no-such-group' is not served here (available: edit)");
        assertThat(fake.requestCount()).isZero();
    }

    @Test
    void edit_gatewaysUpstreamFails_exitsFour() {
        fake.enqueue(FakeResponse.serverError());
        assertThat(run()).isEqualTo(4);
        assertThat(err).startsWith("easel: error: ");
    }

    @Test
    void edit_wrongGatewayKey_exitsThree() {
        assertThat(run("--api-key", "sk-not-the-master-key")).isEqualTo(3);
        assertThat(err).startsWith("easel: error: ").doesNotContain("sk-not-the-master-key");
        assertThat(fake.requestCount()).isZero();
    }

    private static byte[] png() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(16, 16, BufferedImage.TYPE_INT_ARGB), "png", b);
        return b.toByteArray();
    }
}
