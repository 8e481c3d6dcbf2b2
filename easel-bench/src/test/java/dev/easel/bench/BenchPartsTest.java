package dev.easel.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.image.ImageFormat;
import dev.easel.image.ImageInfo;
import dev.easel.image.ImageInspector;
import dev.easel.internal.Blob;
import java.nio.charset.StandardCharsets;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/** The bench's own pieces (no load runs here): generated PNGs and the SSE latency scanner. */
class BenchPartsTest {

    @Test
    void png_ofSize_validPngOfRequestedDimensionsAndAboutThatSize() {
        byte[] png = Png.ofSize(2L << 20, true, 1);

        ImageInfo info = ImageInspector.inspect(Blob.ofBytes(png));

        assertThat(info.format()).isEqualTo(ImageFormat.PNG);
        assertThat(info.hasAlpha()).isTrue();
        assertThat(info.width()).isEqualTo(info.height()).isEqualTo(724);
        assertThat((double) png.length).isBetween(2.0 * (1 << 20) * 0.98, 2.0 * (1 << 20) * 1.02);
    }

    @Test
    void sseScanner_eventsSplitAcrossReads_recordsPartialsOnlyAndSeesCompletion() {
        Histogram h = new Histogram(1, 3_600_000_000L, 3);
        Load.SseScanner scanner = new Load.SseScanner(h);
        long emitted = FastUpstream.nowMicros() - 5_000; // written 5 ms ago
        String body = "event: image_edit.partial_image\ndata: {\"type\":\"image_edit.partial_image\",\"bench_emit_us\":"
                + emitted + ",\"b64_json\":\"QUJD\"}\n\n"
                + "event: image_edit.completed\ndata: {\"type\":\"image_edit.completed\",\"bench_emit_us\":"
                + emitted + ",\"b64_json\":\"QUJD\"}\n\n";
        byte[] bytes = body.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < bytes.length; i += 7) {
            scanner.onBytes(bytes, i, Math.min(7, bytes.length - i));
        }

        assertThat(h.getTotalCount()).isEqualTo(1);
        assertThat(h.getMaxValue()).isBetween(5_000L, 5_000_000L);
        assertThat(scanner.completed).isTrue();
    }
}
