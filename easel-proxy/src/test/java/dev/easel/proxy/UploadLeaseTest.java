package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.TimeoutException;
import dev.easel.http.HttpTransport;
import dev.easel.http.Multipart;
import dev.easel.internal.Blob;
import dev.easel.internal.ChunkLease;
import dev.easel.internal.ChunkPool;
import dev.easel.testkit.Await;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * An upload's pooled chunks go back to the pool only once the upstream client is done writing them: not when the
 * provider has answered (it may answer before it read the body, and the client goes on sending it), not when the call
 * was aborted while a write was stuck on a full socket. A watcher overwrites the chunks the moment the lease says they
 * are free (what the next upload would do with them); a slow server then reads the whole body and must find none of
 * those bytes in it. The JDK's client, which cannot tell when it released a buffer, poisons the lease.
 */
class UploadLeaseTest {

    private static final int CHUNK = ChunkPool.MAX_SIZE;
    private static final int CHUNKS = 64; // 16 MiB: far more than the loopback socket buffers hold
    private static final byte SENT = (byte) 0xAA;
    private static final byte REUSED = (byte) 0xBB;

    /** One upload in pooled chunks, all {@link #SENT}. */
    private record Upload(ChunkLease lease, List<byte[]> chunks, Multipart body) {
        static Upload create() {
            ChunkLease lease = new ChunkLease();
            List<byte[]> chunks = new ArrayList<>();
            for (int i = 0; i < CHUNKS; i++) {
                byte[] c = lease.take(CHUNK);
                Arrays.fill(c, SENT);
                chunks.add(c);
            }
            Multipart body = Multipart.create().text("model", "gpt-image-1").text("prompt", "p")
                    .file("image", "a.png", "image/png", Blob.ofChunks(chunks, CHUNK, lease));
            return new Upload(lease, chunks, body);
        }

        /** Overwrites the chunks as soon as the lease gives them back, on its own thread. */
        CompletableFuture<Void> watch() {
            return CompletableFuture.runAsync(() -> {
                while (!lease.released()) {
                    LockSupport.parkNanos(50_000);
                }
                if (!lease.poisoned()) {
                    chunks.forEach(c -> Arrays.fill(c, REUSED));
                }
            });
        }
    }

    /**
     * A server that reads a request's headers, may answer at once, then reads its body only when let go (and answers
     * after it when it did not before).
     */
    private static final class SlowServer implements AutoCloseable {
        final ServerSocket socket;
        final CountDownLatch go = new CountDownLatch(1);
        final CompletableFuture<byte[]> body = new CompletableFuture<>();

        SlowServer(boolean answerEarly) throws Exception {
            socket = new ServerSocket();
            socket.setReceiveBufferSize(16 * 1024);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread.ofPlatform().daemon().start(() -> {
                try (Socket s = socket.accept()) {
                    InputStream in = s.getInputStream();
                    ByteArrayOutputStream head = new ByteArrayOutputStream();
                    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                        int b = in.read();
                        if (b < 0) {
                            throw new java.io.EOFException("no request headers");
                        }
                        head.write(b);
                    }
                    if (answerEarly) {
                        OutputStream out = s.getOutputStream();
                        out.write(("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 2"
                                + "\r\n\r\n{}").getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    }
                    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)")
                            .matcher(head.toString(StandardCharsets.ISO_8859_1));
                    long length = m.find() ? Long.parseLong(m.group(1)) : Long.MAX_VALUE;
                    go.await();
                    ByteArrayOutputStream got = new ByteArrayOutputStream();
                    byte[] buf = new byte[64 * 1024];
                    try {
                        // the whole body (the connection stays open after it), or what came before an abort
                        for (int n; got.size() < length
                                && (n = in.read(buf, 0, (int) Math.min(buf.length, length - got.size()))) > 0; ) {
                            got.write(buf, 0, n);
                        }
                    } catch (java.net.SocketException e) {
                        // reset by the client after an abort: what arrived before is what counts
                    }
                    if (!answerEarly) {
                        s.getOutputStream().write(("HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}")
                                .getBytes(StandardCharsets.US_ASCII));
                        s.getOutputStream().flush();
                    }
                    body.complete(got.toByteArray());
                } catch (Exception e) {
                    body.completeExceptionally(e);
                }
            });
        }

        URI uri() {
            return URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/v1/images/edits");
        }

        @Override
        public void close() throws Exception {
            go.countDown();
            socket.close();
        }
    }

    private static long count(byte[] b, byte v) {
        long n = 0;
        for (byte x : b) {
            n += x == v ? 1 : 0;
        }
        return n;
    }

    private static HttpRequest.Builder post(URI uri, Multipart body) {
        return HttpRequest.newBuilder(uri).header("Content-Type", body.contentType());
    }

    @Test
    void anAnswerBeforeTheBodyWasRead_keepsTheChunksLent_untilTheClientHasWrittenAllOfThem() throws Exception {
        Upload up = Upload.create();
        try (SlowServer server = new SlowServer(true);
             HttpTransport transport = new HttpTransport(new JettyUpstream())) {
            CompletableFuture<Void> watcher = up.watch();
            HttpResponse<InputStream> r = transport.send(post(server.uri(), up.body()), up.body().publisher(),
                    Duration.ofSeconds(30), "openai");
            assertThat(r.statusCode()).isEqualTo(400);
            try (InputStream in = r.body()) {
                assertThat(in.readAllBytes()).asString().isEqualTo("{}");
            }
            up.lease().close(); // the request that owns the upload is over
            // the server reads nothing yet: most of the 16 MiB is still to be written, so the chunks stay lent
            assertThat(up.lease().released()).isFalse();
            server.go.countDown();
            byte[] got = server.body.get(30, TimeUnit.SECONDS);
            assertThat(count(got, REUSED)).as("bytes of a chunk given back while it was written").isZero();
            assertThat(count(got, SENT)).isEqualTo((long) CHUNK * CHUNKS);
            Await.until("the chunks go back once written", up.lease()::released);
            watcher.get(30, TimeUnit.SECONDS);
            assertThat(up.lease().poisoned()).isFalse();
        }
    }

    @Test
    void aCallAbortedWhileAWriteIsStuck_givesTheChunksBackOnlyAfterThatWrite_andNothingOfThemLater() throws Exception {
        Upload up = Upload.create();
        try (SlowServer server = new SlowServer(false);
             HttpTransport transport = new HttpTransport(new JettyUpstream())) {
            CompletableFuture<Void> watcher = up.watch();
            assertThatThrownBy(() -> transport.send(post(server.uri(), up.body()), up.body().publisher(),
                    Duration.ofMillis(300), "openai")).isInstanceOf(TimeoutException.class);
            up.lease().close();
            Await.until("the chunks go back once the aborted write has ended", up.lease()::released);
            watcher.get(30, TimeUnit.SECONDS);
            server.go.countDown();
            byte[] got = server.body.get(30, TimeUnit.SECONDS);
            assertThat(count(got, REUSED)).as("bytes of a chunk given back while it was written").isZero();
            assertThat(count(got, SENT)).isLessThan((long) CHUNK * CHUNKS); // the abort cut the body short
            assertThat(up.lease().poisoned()).isFalse();
        }
    }

    @Test
    void theJdkClient_cannotTellWhenItReleasedABuffer_soTheLeaseIsPoisoned() throws Exception {
        Upload up = Upload.create();
        try (SlowServer server = new SlowServer(false); HttpTransport transport = new HttpTransport()) {
            server.go.countDown();
            HttpResponse<InputStream> r = transport.send(post(server.uri(), up.body()), up.body().publisher(),
                    Duration.ofSeconds(30), "openai");
            try (InputStream in = r.body()) {
                in.readAllBytes();
            }
            assertThat(up.lease().poisoned()).isTrue();
            up.lease().close();
            assertThat(up.lease().released()).isTrue();
        }
    }
}
