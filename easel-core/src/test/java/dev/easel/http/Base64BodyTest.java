package dev.easel.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.internal.Blob;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Base64BodyTest {

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 1, 2, 3, 4, 49_151, 49_152, 49_153, 100_000, 300_001})
    void base64OfABlob_isJavasPaddedBase64_atEveryChunkBoundary(int size, @TempDir Path dir) throws Exception {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        Path file = Files.write(dir.resolve("image.bin"), bytes);
        String expected = Base64.getEncoder().encodeToString(bytes);

        for (Blob blob : new Blob[] {Blob.ofFile(file), Blob.ofBytes(bytes)}) {
            Base64Body body = Base64Body.builder().base64(blob).build();
            assertThat(new String(body.toByteArray(), StandardCharsets.US_ASCII)).isEqualTo(expected);
            assertThat(body.contentLength()).isEqualTo(expected.length())
                    .isEqualTo(Base64Body.encodedLength(size));
            assertThat(new String(MultipartTest.drain(body.publisher()), StandardCharsets.US_ASCII))
                    .isEqualTo(expected);
        }
    }

    @Test
    void literalsAndBlobs_inOrder_replayable_withTheAnnouncedLength(@TempDir Path dir) throws Exception {
        Path file = Files.write(dir.resolve("a.png"), new byte[] {1, 2, 3, 4});
        Base64Body body = Base64Body.builder().text("{\"a\":\"").base64(Blob.ofFile(file)).text("\",\"p\":\"héllo\"")
                .bytes(new byte[] {'}'}).build();

        String expected = "{\"a\":\"AQIDBA==\",\"p\":\"héllo\"}";
        byte[] first = MultipartTest.drain(body.publisher());
        byte[] second = MultipartTest.drain(body.publisher());
        assertThat(new String(first, StandardCharsets.UTF_8)).isEqualTo(expected);
        assertThat(second).isEqualTo(first).isEqualTo(body.toByteArray());
        assertThat(body.contentLength()).isEqualTo(expected.getBytes(StandardCharsets.UTF_8).length);
        assertThat(body.publisher().contentLength()).isEqualTo(body.contentLength());
    }
}
