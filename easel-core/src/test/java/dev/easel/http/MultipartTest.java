package dev.easel.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.internal.Blob;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MultipartTest {

    @Test
    void body_textAndFiles_exactBytes(@TempDir Path dir) throws Exception {
        Path file = Files.write(dir.resolve("a.png"), new byte[] {1, 2, 3});
        Multipart m = Multipart.withBoundary("B")
                .text("prompt", "héllo")
                .file("image[]", "a.png", "image/png", Blob.ofFile(file))
                .file("mask", "m.png", "image/png", Blob.ofBytes(new byte[] {9}));

        String expected = "--B\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nhéllo\r\n"
                + "--B\r\nContent-Disposition: form-data; name=\"image[]\"; filename=\"a.png\"\r\n"
                + "Content-Type: image/png\r\n\r\n\u0001\u0002\u0003\r\n"
                + "--B\r\nContent-Disposition: form-data; name=\"mask\"; filename=\"m.png\"\r\n"
                + "Content-Type: image/png\r\n\r\n\u0009\r\n"
                + "--B--\r\n";
        assertThat(new String(m.toByteArray(), StandardCharsets.UTF_8)).isEqualTo(expected);
        assertThat(m.contentLength()).isEqualTo(expected.getBytes(StandardCharsets.UTF_8).length);
        assertThat(m.contentType()).isEqualTo("multipart/form-data; boundary=B");
    }

    @Test
    void publisher_isReplayable_andMatchesBytes(@TempDir Path dir) throws Exception {
        Path file = Files.write(dir.resolve("big.bin"), new byte[300_000]);
        Multipart m = Multipart.create().text("n", "2").file("image", "big.png", "image/png", Blob.ofFile(file));
        byte[] first = drain(m.publisher());
        byte[] second = drain(m.publisher());
        assertThat(first).isEqualTo(m.toByteArray()).isEqualTo(second);
        assertThat(m.publisher().contentLength()).isEqualTo(first.length);
    }

    @Test
    void names_withQuotesOrNewlines_areEscaped() {
        Multipart m = Multipart.withBoundary("B").file("image", "a\"b\r\n.png", "image/png", Blob.ofBytes(new byte[0]));
        assertThat(new String(m.toByteArray(), StandardCharsets.UTF_8)).contains("filename=\"a%22b  .png\"");
    }

    static byte[] drain(java.net.http.HttpRequest.BodyPublisher p) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CompletableFuture<Void> done = new CompletableFuture<>();
        p.subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(ByteBuffer item) {
                byte[] b = new byte[item.remaining()];
                item.get(b);
                out.writeBytes(b);
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
        return out.toByteArray();
    }
}
