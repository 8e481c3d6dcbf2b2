package dev.easel.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.image.ImageFormat;
import dev.easel.image.ImageInfo;
import dev.easel.image.ImageInspector;
import dev.easel.internal.Blob;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
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

    @Test
    @org.junit.jupiter.api.Timeout(20) // without the deadline, the write blocks forever
    void exchange_peerNeverReadsTheUpload_failsAtTheDeadlineInsteadOfBlocking() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread peer = Thread.ofVirtual().start(() -> {
                try (Socket s = server.accept()) {
                    Thread.sleep(10_000); // accepts, then neither reads nor answers
                } catch (Exception ignored) {
                    // closed by the test
                }
            });
            byte[] head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n\r\n"
                    .getBytes(StandardCharsets.ISO_8859_1);
            byte[] body = new byte[64 << 20]; // far more than the socket buffers hold
            long t0 = System.nanoTime();
            try (HttpConn conn = HttpConn.open(server.getLocalPort(), 300)) {
                assertThatThrownBy(() -> conn.exchange(head, body, null))
                        .isInstanceOf(HttpConn.ExchangeTimeoutException.class)
                        .hasMessage("exchange not finished after 300 ms (stuck while writing the request)");
            }
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(5_000);
            peer.interrupt();
        }
    }

    @Test
    void nginx_configForwardsToTheFakeAndStreamsBodies() {
        String conf = Nginx.config(java.nio.file.Path.of("/tmp/w"), 8081, 9091, 2);

        assertThat(conf).contains("listen 127.0.0.1:8081;", "server 127.0.0.1:9091;", "worker_processes 2;",
                "proxy_request_buffering off;", "proxy_buffering off;", "client_max_body_size 0;", "keepalive 256;");
    }

    @Test
    void nginx_whenInstalled_acceptsTheConfigAndItsWorkersAreCounted(@org.junit.jupiter.api.io.TempDir
                                                                      java.nio.file.Path work) throws Exception {
        java.util.Optional<java.nio.file.Path> bin = Nginx.find();
        org.junit.jupiter.api.Assumptions.assumeTrue(bin.isPresent(), "no nginx on this machine");
        java.util.List<String> cmd = new java.util.ArrayList<>(Nginx.command(bin.get(), work, 18081, 19091, 2));
        cmd.add("-t");
        Process check = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

        assertThat(check.waitFor()).as(out).isZero();
        // Our own ticks first: both counters only grow, so the tree read after it cannot be smaller.
        long self = ProcStats.cpuTicks(ProcessHandle.current().pid());
        assertThat(ProcStats.treeCpuTicks(ProcessHandle.current().pid())).isGreaterThanOrEqualTo(self);
    }
}
