package dev.easel.proxy;

import static dev.easel.proxy.RoutingFixtures.config;
import static dev.easel.proxy.RoutingFixtures.deployment;
import static dev.easel.proxy.RoutingFixtures.post;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.internal.ChunkPool;
import dev.easel.proxy.RoutingFixtures.Form;
import dev.easel.testkit.FakeOpenAi;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Answers are read into pooled chunks that go back to the pool once the answer is written: under concurrent load,
 * with a different image for every request, every client still gets exactly its own image (a chunk given back too
 * early would show another request's bytes), and the pool's chunks are used again.
 */
class PooledAnswersTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dataDir;

    /** A different image for every prompt: 100–700 KB of noise (two to eleven chunks of base64). */
    static byte[] imageFor(String prompt) {
        SplittableRandom r = new SplittableRandom(prompt.hashCode());
        byte[] b = new byte[100_000 + r.nextInt(600_000)];
        r.nextBytes(b);
        return b;
    }

    private static String sha256(byte[] b) throws java.security.NoSuchAlgorithmException {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    void concurrentEdits_eachGetTheirOwnImage_andChunksAreReused() throws Exception {
        try (FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-p").imageForPrompt(PooledAnswersTest::imageFor).start();
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("img", "dep", "gpt-image-1.5", fake, "sk-p"))), dataDir);
             ExecutorService clients = Executors.newFixedThreadPool(8)) {
            long reusedBefore = ChunkPool.reused();
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                done.add(clients.submit(() -> {
                    int checked = 0;
                    for (int i = 0; i < 25; i++) {
                        String prompt = "edit " + thread + "-" + i;
                        HttpResponse<String> r = post(proxy, new Form().field("model", "img").field("prompt", prompt)
                                .file("image", "a.png", RoutingFixtures.smallPng()));
                        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                        JsonNode data = JSON.readTree(r.body().getBytes(StandardCharsets.UTF_8)).path("data");
                        assertThat(data.size()).isEqualTo(1);
                        assertThat(sha256(Base64.getDecoder().decode(data.get(0).path("b64_json").asText())))
                                .as(prompt).isEqualTo(sha256(imageFor(prompt)));
                        checked++;
                    }
                    return checked;
                }));
            }
            int checked = 0;
            for (Future<Integer> f : done) {
                checked += f.get();
            }
            assertThat(checked).isEqualTo(200);
            // 200 answers of 2-11 chunks each, at most 8 at a time: most chunks came from the pool
            assertThat(ChunkPool.reused() - reusedBefore).isGreaterThan(500);
            assertThat(ChunkPool.free()).isGreaterThan(0);
        }
    }
}
