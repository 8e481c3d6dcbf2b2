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
    void budgetExhausted_smallPartsStillStayInMemory() throws Exception {
        UploadLimits limits = new UploadLimits(100 << 20, 200 << 20, 400 << 20, 1);
        byte[] icon = random(Spool.MEMORY_THRESHOLD, 4);
        try (Spool spool = new Spool(dir, limits.open())) {
            Blob b = write(spool, icon);

            assertThat(b.path()).isEmpty();
            assertThat(read(b)).isEqualTo(icon);
        }
        assertThat(limits.inMemoryBytes()).isZero();
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
