package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.images.ImageEditParams;
import dev.easel.EaselException;
import dev.easel.testkit.ManualClock;
import dev.easel.testkit.S3ProxyServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Two proxies on one S3-compatible bucket (s3proxy in a JVM of its own: its Jetty 11 cannot share this classpath):
 * a {@code url} answer made by one replica is served by the other, presigned URLs are fetched from the bucket, and a
 * bucket that cannot be used is a clear error at start or in the edit's answer.
 */
class S3ImageStoreProxyTest {

    private static S3ProxyServer s3;

    @TempDir
    Path dirA;
    @TempDir
    Path dirB;

    private String bucket;

    @BeforeAll
    static void startS3() {
        s3 = S3ProxyServer.start();
    }

    @AfterAll
    static void stopS3() {
        if (s3 != null) {
            s3.close();
        }
    }

    @BeforeEach
    void newBucket() {
        bucket = "easel-" + UUID.randomUUID().toString().substring(0, 8);
        createBucket(s3, bucket);
    }

    @Test
    void urlAnswer_madeByOneReplica_isServedByTheOther() throws Exception {
        ManualClock clock = new ManualClock(Instant.now());
        try (WireFixture a = WireFixture.start(dirA, imageStore(s3, bucket, "proxy"), o -> o, clock);
             WireFixture b = WireFixture.start(dirB, imageStore(s3, bucket, "proxy"), o -> o, clock)) {
            byte[] image = fakeImage(a);
            OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(a.proxy.baseUri() + "/v1")
                    .apiKey(WireFixture.MASTER_KEY).maxRetries(0).build();
            String url;
            try {
                url = client.images().edit(ImageEditParams.builder().image(WireImages.png(32, 32, 5)).prompt("p")
                        .model("gpt-image-1").responseFormat(ImageEditParams.ResponseFormat.URL).build())
                        .data().orElseThrow().getFirst().url().orElseThrow();
            } finally {
                client.close();
            }
            String prefix = a.proxy.baseUri() + "/v1/images/files/";
            assertThat(url).startsWith(prefix);
            String path = url.substring(a.proxy.baseUri().toString().length());

            HttpResponse<byte[]> fromB = get(b, b.uri(path));
            assertThat(fromB.statusCode()).isEqualTo(200);
            assertThat(fromB.headers().firstValue("Content-Type")).hasValue("image/png");
            assertThat(fromB.headers().firstValue("Cache-Control")).hasValue("private, max-age=3600");
            assertThat(fromB.body()).isEqualTo(image);
            HttpResponse<byte[]> head = b.send(HttpRequest.newBuilder(b.uri(path))
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
            assertThat(head.statusCode()).isEqualTo(200);
            assertThat(head.headers().firstValue("Content-Length")).hasValue(Integer.toString(image.length));
            assertThat(head.headers().firstValue("Content-Type")).hasValue("image/png");
            assertThat(head.body()).isEmpty();
            // the data directories hold no image: the bucket is the one copy
            assertThat(dirA.resolve("images")).doesNotExist();

            clock.advance(Duration.ofHours(1)); // image_url_ttl's default
            for (WireFixture replica : List.of(a, b)) {
                HttpResponse<byte[]> expired = get(replica, replica.uri(path));
                assertThat(expired.statusCode()).isEqualTo(404);
                assertThat(WireFixture.error(expired).path("code").asText()).isEqualTo("image_not_found");
            }
        }
    }

    @Test
    void urlAnswers_madeConcurrentlyByBothReplicas_areEachServedByTheOther() throws Exception {
        ManualClock clock = new ManualClock(Instant.now());
        try (WireFixture a = WireFixture.start(dirA, imageStore(s3, bucket, "proxy"), o -> o, clock);
             WireFixture b = WireFixture.start(dirB, imageStore(s3, bucket, "proxy"), o -> o, clock)) {
            byte[] image = fakeImage(a);
            ExecutorService pool = Executors.newFixedThreadPool(16);
            try {
                List<Future<String>> paths = new ArrayList<>();
                for (int i = 0; i < 32; i++) {
                    WireFixture maker = i % 2 == 0 ? a : b;
                    paths.add(pool.submit(() -> {
                        HttpResponse<byte[]> r = maker.postMultipart(edit().text("response_format", "url"));
                        assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
                        return URI.create(WireFixture.json(r).path("data").get(0).path("url").asText()).getPath();
                    }));
                }
                List<String> seen = new ArrayList<>();
                for (int i = 0; i < paths.size(); i++) {
                    String path = paths.get(i).get();
                    WireFixture other = i % 2 == 0 ? b : a;
                    HttpResponse<byte[]> served = get(other, other.uri(path));
                    assertThat(served.statusCode()).as(path).isEqualTo(200);
                    assertThat(served.body()).isEqualTo(image);
                    seen.add(path);
                }
                assertThat(seen).doesNotHaveDuplicates();
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void urlAnswer_presigned_isFetchedFromTheBucketWithAPlainClient() {
        try (WireFixture a = WireFixture.start(dirA, imageStore(s3, bucket, "presigned"), o -> o)) {
            byte[] image = fakeImage(a);

            HttpResponse<byte[]> r = a.postMultipart(edit().text("response_format", "url"));

            assertThat(r.statusCode()).as(() -> new String(r.body())).isEqualTo(200);
            String url = WireFixture.json(r).path("data").get(0).path("url").asText();
            assertThat(url).startsWith(s3.endpoint() + "/" + bucket + "/easel-images/").contains("X-Amz-Expires=3600")
                    .contains("X-Amz-Signature=");
            HttpResponse<byte[]> fetched = get(a, URI.create(url));
            assertThat(fetched.statusCode()).isEqualTo(200);
            assertThat(fetched.headers().firstValue("Content-Type")).hasValue("image/png");
            assertThat(fetched.body()).isEqualTo(image);
        }
    }

    @Test
    void start_missingBucket_isRefusedNamingTheBucket_andFreesTheDataDirectory() {
        assertThatThrownBy(() -> WireFixture.start(dirA, imageStore(s3, "no-such-bucket", "proxy"), o -> o))
                .isInstanceOf(EaselException.class)
                .hasMessage("general_settings.image_store: bucket 'no-such-bucket' at " + s3.endpoint()
                        + " does not exist");

        // nothing of the refused start holds the directory
        try (WireFixture local = WireFixture.start(dirA)) {
            assertThat(local.proxy.state()).isEqualTo(ProxyServer.State.READY);
        }
    }

    @Test
    void urlAnswer_whileS3IsDown_saysTheImageCouldNotBeStored_andReadsAre503() {
        try (S3ProxyServer own = S3ProxyServer.start()) {
            createBucket(own, bucket);
            try (WireFixture a = WireFixture.start(dirA, imageStore(own, bucket, "proxy"), o -> o)) {
                own.stop();

                HttpResponse<byte[]> r = a.postMultipart(edit().text("response_format", "url"));

                assertThat(r.statusCode()).isEqualTo(502);
                JsonNode error = WireFixture.error(r);
                assertThat(error.path("code").asText()).isEqualTo("response_conversion_failed");
                assertThat(error.path("message").asText()).startsWith("the edit succeeded but its images could not "
                        + "be converted to the requested response_format: could not store image in bucket '" + bucket
                        + "' at " + own.endpoint() + ": ").doesNotContain(S3ProxyServer.SECRET_KEY);

                HttpResponse<byte[]> read = get(a, a.uri("/v1/images/files/0123456789abcdef0123456789abcdef.png"));
                assertThat(read.statusCode()).isEqualTo(503);
                assertThat(WireFixture.error(read).path("code").asText()).isEqualTo("image_store_unavailable");
            }
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------

    /** The {@code general_settings} lines of an S3 image store on {@code server}. */
    private static String imageStore(S3ProxyServer server, String bucket, String urlMode) {
        return """
                image_store:
                  type: s3
                  url_mode: %s
                  s3_bucket_name: %s
                  s3_endpoint_url: %s
                  s3_aws_access_key_id: %s
                  s3_aws_secret_access_key: %s
                """.formatted(urlMode, bucket, server.endpoint(), S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY);
    }

    /** What the fake answers as base64 (the URLs must serve exactly these bytes). */
    private static byte[] fakeImage(WireFixture w) {
        HttpResponse<byte[]> r = w.postMultipart(edit());
        assertThat(r.statusCode()).isEqualTo(200);
        return Base64.getDecoder().decode(WireFixture.json(r).path("data").get(0).path("b64_json").asText());
    }

    private static RawMultipart edit() {
        return new RawMultipart().text("model", "gpt-image-1").text("prompt", "p")
                .file("image", "i.png", "image/png", WireImages.png(32, 32, 3));
    }

    private static HttpResponse<byte[]> get(WireFixture w, URI uri) {
        return w.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).GET().build());
    }

    private static void createBucket(S3ProxyServer on, String bucket) {
        try (S3Client c = S3Client.builder().httpClient(Apache5HttpClient.create()).region(Region.US_EAST_1)
                .endpointOverride(on.endpoint()).forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
                        S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)))
                .build()) {
            c.createBucket(r -> r.bucket(bucket));
        }
    }
}
