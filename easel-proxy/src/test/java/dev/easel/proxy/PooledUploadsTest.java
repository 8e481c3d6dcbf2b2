package dev.easel.proxy;

import static dev.easel.proxy.RoutingFixtures.config;
import static dev.easel.proxy.RoutingFixtures.deployment;
import static dev.easel.proxy.RoutingFixtures.post;
import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.internal.ChunkPool;
import dev.easel.proxy.RoutingFixtures.Form;
import dev.easel.testkit.FakeOpenAi;
import dev.easel.testkit.RecordedRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Uploads are spooled into pooled chunks that go back once the upstream client has written them: under concurrent
 * load, with uploads of different images and sizes, the provider receives every upload exactly as its client sent it
 * (a chunk given back too early would carry another upload's bytes), and the chunks are used again.
 */
class PooledUploadsTest {

    @TempDir
    Path dataDir;

    @Test
    void concurrentUploads_eachReachTheProviderIntact_andChunksAreReused() throws Exception {
        List<byte[]> images = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            images.add(RoutingFixtures.noisePng(120 + 30 * i, 120 + 20 * i, i)); // ~45 KB to ~750 KB
        }
        try (FakeOpenAi fake = FakeOpenAi.builder().apiKey("sk-u").start();
             ProxyServer proxy = RoutingFixtures.start(config(List.of(
                     deployment("img", "dep", "gpt-image-1.5", fake, "sk-u"))), dataDir);
             ExecutorService clients = Executors.newFixedThreadPool(8)) {
            // answers use 64 KiB chunks; 128 and 256 KiB ones are the uploads' (images above ~112 KB)
            long reusedBefore = ChunkPool.reused(128 * 1024) + ChunkPool.reused(256 * 1024);
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                done.add(clients.submit(() -> {
                    int sent = 0;
                    for (int i = 0; i < 20; i++) {
                        int image = (thread * 7 + i) % images.size();
                        HttpResponse<String> r = post(proxy, new Form().field("model", "img")
                                .field("prompt", "image " + image).file("image", "a.png", images.get(image)));
                        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                        sent++;
                    }
                    return sent;
                }));
            }
            int sent = 0;
            for (Future<Integer> f : done) {
                sent += f.get();
            }
            assertThat(sent).isEqualTo(160);
            for (int i = 0; i < sent; i++) {
                RecordedRequest seen = fake.takeRequest();
                int image = Integer.parseInt(seen.part("prompt").text().substring("image ".length()));
                assertThat(seen.part("image").bytes()).as("upload of image %d", image).isEqualTo(images.get(image));
            }
            // ~120 of the uploads take a 128 KiB chunk (and some 256 KiB ones), at most 8 at a time: most of those
            // came from the pool
            assertThat(ChunkPool.reused(128 * 1024) + ChunkPool.reused(256 * 1024) - reusedBefore)
                    .isGreaterThan(80);
        }
    }
}
