package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.http.Multipart;
import dev.easel.internal.Blob;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.Flow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Upload parts in memory chunks within the budget, in temp files beyond it; nothing held after close. */
class SpoolTest {

    @TempDir
    Path dir;

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Writes in uneven slices, like a socket delivers them. */
    static Blob write(Spool spool, byte[] data) throws Exception {
        Spool.Writer w = spool.writer("image");
        int off = 0;
        Random r = new Random(data.length);
        while (off < data.length) {
            int n = Math.min(data.length - off, 1 + r.nextInt(70_000));
            w.write(data, off, n);
            off += n;
        }
        return w.finish();
    }

    static byte[] read(Blob b) throws Exception {
        try (var in = b.open()) {
            return in.readAllBytes();
        }
    }

    @Test
    void withinTheBudget_partStaysInMemory_andReadsBackWhole() throws Exception {
        UploadLimits limits = new UploadLimits(100 << 20, 200 << 20, 400 << 20, 8 << 20);
        byte[] data = random(3_000_001, 1);
        try (Spool spool = new Spool(dir, limits.open())) {
            Blob b = write(spool, data);

            assertThat(b.path()).isEmpty();
            assertThat(spool.files()).isEmpty();
            assertThat(b.size()).isEqualTo(data.length);
            assertThat(read(b)).isEqualTo(data);
            assertThat(read(b)).as("replayable").isEqualTo(data);
            assertThat(b.head(10)).isEqualTo(java.util.Arrays.copyOf(data, 10));
            assertThat(b.tail(300_000)).isEqualTo(java.util.Arrays.copyOfRange(data, data.length - 300_000,
                    data.length));
            assertThat(limits.inMemoryBytes()).isGreaterThanOrEqualTo(data.length);
        }
        assertThat(limits.inMemoryBytes()).as("given back at close").isZero();
        assertThat(limits.inflightBytes()).isZero();
    }

    @Test
    void pastTheBudget_partMovesToATempFile_withEveryByte_andTheMemoryIsGivenBack() throws Exception {
        UploadLimits limits = new UploadLimits(100 << 20, 200 << 20, 400 << 20, 1 << 20);
        byte[] small = random(500_000, 2);
        byte[] big = random(2_500_000, 3);
        try (Spool spool = new Spool(dir, limits.open())) {
            Blob a = write(spool, small);
            long afterSmall = limits.inMemoryBytes();
            Blob b = write(spool, big);

            assertThat(a.path()).isEmpty();
            assertThat(b.path()).isPresent();
            assertThat(Files.readAllBytes(b.path().get())).isEqualTo(big);
            assertThat(limits.inMemoryBytes()).as("the spilled part holds no memory").isEqualTo(afterSmall);
            assertThat(read(a)).isEqualTo(small);
        }
        assertThat(limits.inMemoryBytes()).isZero();
        try (var files = Files.list(dir)) {
            assertThat(files).as("temp file deleted").isEmpty();
        }
    }

    @Test
    void budgetExhausted_smallPartGoesToDisk_andHoldsNoMemory() throws Exception {
        // regression: the first 64 KiB of every part used to stay in memory whatever the budget said
        UploadLimits limits = new UploadLimits(100 << 20, 200 << 20, 400 << 20, 1);
        byte[] icon = random(40_000, 4);
        try (Spool spool = new Spool(dir, limits.open())) {
            Blob b = write(spool, icon);

            assertThat(b.path()).isPresent();
            assertThat(read(b)).isEqualTo(icon);
            assertThat(limits.inMemoryBytes()).isZero();
        }
        assertThat(limits.peakInMemoryBytes()).isZero();
        try (var files = Files.list(dir)) {
            assertThat(files).as("temp file deleted").isEmpty();
        }
    }

    @Test
    void tinyParts_reserveA256ByteChunkEach_notASixteenKiBOne() throws Exception {
        // regression: every part took a 16 KiB first chunk, so 100,000 one-byte parts held 1.6 GB
        UploadLimits limits = new UploadLimits(100 << 20, 200 << 20, 400 << 20, 8 << 20);
        try (Spool spool = new Spool(dir, limits.open())) {
            for (int i = 0; i < 1000; i++) {
                Spool.Writer w = spool.writer("image");
                w.write(new byte[] {'x'}, 0, 1);
                assertThat(read(w.finish())).containsExactly('x');
            }

            assertThat(limits.inMemoryBytes()).isEqualTo(1000 * 256);
            assertThat(spool.files()).isEmpty();
        }
        assertThat(limits.inMemoryBytes()).isZero();
    }

    @Test
    void manyParts_pastTheBudget_neverHoldMoreThanTheBudget() throws Exception {
        long budget = 16 * 1024;
        UploadLimits limits = new UploadLimits(100 << 20, 200 << 20, 400 << 20, budget);
        byte[] part = random(300, 6);
        try (Spool spool = new Spool(dir, limits.open())) {
            for (int i = 0; i < 200; i++) {
                assertThat(read(write(spool, part))).isEqualTo(part);
            }

            assertThat(limits.peakInMemoryBytes()).isLessThanOrEqualTo(budget);
            assertThat(spool.files()).as("the parts past the budget went to disk").hasSize(200 - 32);
        }
        assertThat(limits.inMemoryBytes()).isZero();
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void chunkCapacity_isReservedBeforeItIsFilled() throws Exception {
        UploadLimits limits = new UploadLimits(100 << 20, 200 << 20, 400 << 20, 8 << 20);
        try (Spool spool = new Spool(dir, limits.open())) {
            Spool.Writer w = spool.writer("image");
            w.write(random(20_000, 7), 0, 20_000);

            // a 16 KiB first chunk, then a 32 KiB one of which 3,616 bytes are used: all 48 KiB are held
            assertThat(limits.inMemoryBytes()).isEqualTo(16 * 1024 + 32 * 1024);
            assertThat(w.finish().size()).isEqualTo(20_000);
        }
    }

    @Test
    void chunks_areSentUpstreamAsTheyAre() throws Exception {
        UploadLimits limits = new UploadLimits(100 << 20, 200 << 20, 400 << 20, 8 << 20);
        byte[] data = random(1_234_567, 5);
        try (Spool spool = new Spool(dir, limits.open())) {
            Blob b = write(spool, data);
            assertThat(b).isInstanceOf(Blob.ChunksBlob.class);
            Multipart m = Multipart.create().file("image", "a.png", "image/png", b);

            var publisher = m.publisher();
            ByteArrayOutputStream sent = new ByteArrayOutputStream();
            var done = new java.util.concurrent.CompletableFuture<Void>();
            publisher.subscribe(new Flow.Subscriber<ByteBuffer>() {
                @Override
                public void onSubscribe(Flow.Subscription s) {
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(ByteBuffer item) {
                    byte[] chunk = new byte[item.remaining()];
                    item.get(chunk);
                    sent.writeBytes(chunk);
                }

                @Override
                public void onError(Throwable t) {
                    done.completeExceptionally(t);
                }

                @Override
                public void onComplete() {
                    done.complete(null);
                }
            });
            done.get();

            assertThat(publisher.contentLength()).isEqualTo(sent.size());
            assertThat(sent.toByteArray()).isEqualTo(m.toByteArray());
        }
    }
}
