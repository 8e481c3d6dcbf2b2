package dev.easel.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.EaselException;
import dev.easel.ServableImageStore;
import dev.easel.StoredImage;
import dev.easel.config.ImageStoreSettings;
import dev.easel.image.ImageFormat;
import dev.easel.testkit.Await;
import dev.easel.testkit.ManualClock;
import dev.easel.testkit.S3ProxyServer;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Object;

/** {@link S3ImageStore} against a real S3-compatible server (s3proxy, in a JVM of its own), over real sockets. */
class S3ImageStoreTest {

    private static final Duration TTL = Duration.ofHours(1);
    private static final byte[] PNG = png(3000);

    private static S3ProxyServer server;
    private static S3Client admin;

    private final ManualClock clock = new ManualClock(Instant.now());
    private final List<AutoCloseable> open = new ArrayList<>();
    private String bucket;

    @BeforeAll
    static void startServer() {
        server = S3ProxyServer.start();
        admin = S3Client.builder().httpClient(Apache5HttpClient.create()).region(Region.US_EAST_1)
                .endpointOverride(server.endpoint()).forcePathStyle(true)
                // s3proxy does not implement the SDK's default checksum trailers (501)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
                        S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)))
                .build();
    }

    @AfterAll
    static void stopServer() {
        if (admin != null) {
            admin.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @BeforeEach
    void newBucket() {
        bucket = "easel-" + UUID.randomUUID().toString().substring(0, 8);
        admin.createBucket(b -> b.bucket(bucket));
    }

    @org.junit.jupiter.api.AfterEach
    void closeStores() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    @Test
    void store_thenOpen_returnsTheBytesAndContentType() throws Exception {
        S3ImageStore store = connect(settings(bucket, "easel/images", S3ProxyServer.SECRET_KEY),
                ImageStoreSettings.UrlMode.PROXY, TTL, clock);

        String ref = store.store(PNG, ImageFormat.PNG);

        assertThat(ref).matches("easel-image:[0-9a-f]{32}\\.png");
        String name = ref.substring(ServableImageStore.REFERENCE_PREFIX.length());
        try (StoredImage image = store.open(name).orElseThrow()) {
            assertThat(image.contentType()).isEqualTo("image/png");
            assertThat(image.length()).isEqualTo(PNG.length);
            assertThat(image.expiresAt()).isEqualTo(clock.instant().plus(TTL));
            assertThat(image.body().readAllBytes()).isEqualTo(PNG);
        }
        StoredImage described = store.stat(name).orElseThrow();
        assertThat(described.contentType()).isEqualTo("image/png");
        assertThat(described.length()).isEqualTo(PNG.length);
        // the object as any S3 client sees it: under the prefix, typed, its expiry in the metadata
        HeadObjectResponse head = admin.headObject(h -> h.bucket(bucket).key("easel/images/" + name));
        assertThat(head.contentType()).isEqualTo("image/png");
        assertThat(head.metadata()).containsEntry("easel-expires-at", clock.instant().plus(TTL).toString());
        // JPEG and WebP keep their own type
        String jpg = store.store(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 1}, ImageFormat.JPEG)
                .substring(ServableImageStore.REFERENCE_PREFIX.length());
        assertThat(jpg).endsWith(".jpg");
        assertThat(store.stat(jpg).orElseThrow().contentType()).isEqualTo("image/jpeg");
    }

    @Test
    void store_twice_givesDifferentUnguessableNames() {
        S3ImageStore store = connect(settings(bucket, "", S3ProxyServer.SECRET_KEY), ImageStoreSettings.UrlMode.PROXY,
                TTL, clock);

        Set<String> refs = IntStream.range(0, 20).mapToObj(i -> store.store(PNG, ImageFormat.PNG))
                .collect(Collectors.toSet());

        assertThat(refs).hasSize(20);
        // an empty s3_path puts the objects at the bucket's root
        assertThat(keys(bucket)).hasSize(20).allMatch(k -> k.matches("[0-9a-f]{32}\\.png"));
    }

    @Test
    void open_unknownOrMalformedName_isAbsent() {
        S3ImageStore store = connect(settings(bucket, "p", S3ProxyServer.SECRET_KEY), ImageStoreSettings.UrlMode.PROXY,
                TTL, clock);
        admin.putObject(p -> p.bucket(bucket).key("p/notes.txt"), RequestBody.fromString("not an image"));

        assertThat(store.open("0123456789abcdef0123456789abcdef.png")).isEmpty();
        assertThat(store.stat("0123456789abcdef0123456789abcdef.png")).isEmpty();
        assertThat(store.open("notes.txt")).isEmpty();
        assertThat(store.open("../p/notes.txt")).isEmpty();
        assertThat(store.stat("0123456789ABCDEF0123456789ABCDEF.png")).isEmpty();
    }

    @Test
    void open_pastItsExpiry_isRefused_andTheSweepDeletesOnlyExpiredImages() {
        S3ImageStore store = connect(settings(bucket, "imgs", S3ProxyServer.SECRET_KEY),
                ImageStoreSettings.UrlMode.PROXY, TTL, clock);
        String old = name(store.store(PNG, ImageFormat.PNG));
        admin.putObject(p -> p.bucket(bucket).key("imgs/readme.txt"), RequestBody.fromString("someone else's"));
        admin.putObject(p -> p.bucket(bucket).key("elsewhere/" + old), RequestBody.fromBytes(PNG));
        clock.advance(Duration.ofMinutes(30));
        String young = name(store.store(PNG, ImageFormat.PNG));

        clock.advance(Duration.ofMinutes(30)); // old is exactly at its expiry: no longer served

        assertThat(store.open(old)).isEmpty();
        assertThat(store.stat(old)).isEmpty();
        assertThat(store.open(young)).isPresent().get().satisfies(this::closeQuietly);
        assertThat(store.deleteExpired()).isEqualTo(1);
        assertThat(keys(bucket)).containsExactlyInAnyOrder("imgs/" + young, "imgs/readme.txt", "elsewhere/" + old);
        assertThat(store.deleteExpired()).isZero(); // idempotent

        clock.advance(Duration.ofMinutes(30));
        assertThat(store.deleteExpired()).isEqualTo(1);
        assertThat(keys(bucket)).containsExactlyInAnyOrder("imgs/readme.txt", "elsewhere/" + old);
    }

    @Test
    void deleteExpired_byManyReplicasAtOnce_deletesEveryExpiredImageAndNothingElse() throws Exception {
        List<S3ImageStore> replicas = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            replicas.add(connect(settings(bucket, "fleet", S3ProxyServer.SECRET_KEY),
                    ImageStoreSettings.UrlMode.PROXY, TTL, clock));
        }
        for (int i = 0; i < 40; i++) {
            replicas.get(i % replicas.size()).store(PNG, ImageFormat.PNG);
        }
        clock.advance(TTL.plusSeconds(1));
        Set<String> fresh = new java.util.HashSet<>();
        for (int i = 0; i < 8; i++) {
            fresh.add("fleet/" + name(replicas.get(i % replicas.size()).store(PNG, ImageFormat.PNG)));
        }

        ExecutorService pool = Executors.newFixedThreadPool(8);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Integer>> sweeps = new ArrayList<>();
        try {
            for (int t = 0; t < 8; t++) {
                S3ImageStore replica = replicas.get(t % replicas.size());
                sweeps.add(pool.submit(() -> {
                    go.await();
                    return replica.deleteExpired();
                }));
            }
            go.countDown();
            int deleted = 0;
            for (Future<Integer> f : sweeps) {
                deleted += f.get();
            }
            // a key two sweeps reached at once counts in both: never fewer than the expired images
            assertThat(deleted).isGreaterThanOrEqualTo(40);
        } finally {
            pool.shutdownNow();
        }
        assertThat(keys(bucket)).containsExactlyInAnyOrderElementsOf(fresh);
    }

    @Test
    void store_presigned_returnsAUrlAPlainClientFetchesUntilItExpires() throws Exception {
        // the signature's expiry is S3's, on the real clock: a short real TTL, waited out on the condition
        Duration ttl = Duration.ofSeconds(3);
        S3ImageStore store = connect(settings(bucket, "signed", S3ProxyServer.SECRET_KEY),
                ImageStoreSettings.UrlMode.PRESIGNED, ttl, Clock.systemUTC());

        String url = store.store(PNG, ImageFormat.PNG);

        assertThat(url).startsWith(server.endpoint() + "/" + bucket + "/signed/").contains("X-Amz-Expires=3")
                .contains("X-Amz-Signature=");
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<byte[]> ok = http.send(HttpRequest.newBuilder(URI.create(url)).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(ok.headers().firstValue("content-type")).hasValue("image/png");
            assertThat(ok.body()).isEqualTo(PNG);
            // a URL with its signature changed is refused: the URL is the signature, not a guessable key
            HttpResponse<byte[]> forged = http.send(HttpRequest.newBuilder(URI.create(forge(url))).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(forged.statusCode()).isEqualTo(403);
            Await.until("the presigned URL to expire", Duration.ofSeconds(30), () -> {
                try {
                    return http.send(HttpRequest.newBuilder(URI.create(url)).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode() == 403;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
        }
    }

    @Test
    void connect_missingBucket_failsAtStartNamingTheBucketAndEndpoint() {
        assertThatThrownBy(() -> connect(settings("no-such-bucket", "p", S3ProxyServer.SECRET_KEY),
                ImageStoreSettings.UrlMode.PROXY, TTL, clock))
                .isInstanceOf(EaselException.class)
                .hasMessage("general_settings.image_store: bucket 'no-such-bucket' at " + server.endpoint()
                        + " does not exist")
                .satisfies(e -> assertThat(((EaselException) e).type()).isEqualTo("config_error"));
    }

    @Test
    void connect_refusedKey_failsAtStartWithoutShowingTheSecret() {
        String wrong = "wrong-secret-do-not-print";

        assertThatThrownBy(() -> connect(settings(bucket, "p", wrong), ImageStoreSettings.UrlMode.PROXY, TTL, clock))
                .isInstanceOf(EaselException.class)
                .hasMessageStartingWith("general_settings.image_store: bucket '" + bucket + "' at "
                        + server.endpoint() + " refused the credentials (403: check s3_aws_access_key_id")
                .satisfies(e -> assertThat(messages(e)).doesNotContain(wrong));
    }

    @Test
    void connect_endpointDown_failsAtStartNamingTheEndpoint() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        ImageStoreSettings.S3 down = new ImageStoreSettings.S3(bucket, Optional.empty(),
                Optional.of(URI.create("http://127.0.0.1:" + closed)), Optional.of(S3ProxyServer.ACCESS_KEY),
                Optional.of(S3ProxyServer.SECRET_KEY), Optional.empty(), "p", false);

        assertThatThrownBy(() -> connect(down, ImageStoreSettings.UrlMode.PROXY, TTL, clock))
                .isInstanceOf(EaselException.class)
                .hasMessageStartingWith("general_settings.image_store: bucket '" + bucket + "' at http://127.0.0.1:"
                        + closed + " could not be reached: ")
                .satisfies(e -> assertThat(messages(e)).doesNotContain(S3ProxyServer.SECRET_KEY));
    }

    @Test
    void store_endpointDownAfterStart_failsWithAClearError_andWorksAgainWhenItIsBack() {
        try (S3ProxyServer own = S3ProxyServer.start()) {
            createBucket(own, bucket);
            ImageStoreSettings.S3 settings = new ImageStoreSettings.S3(bucket, Optional.empty(),
                    Optional.of(own.endpoint()), Optional.of(S3ProxyServer.ACCESS_KEY),
                    Optional.of(S3ProxyServer.SECRET_KEY), Optional.empty(), "p", false);
            S3ImageStore store = connect(settings, ImageStoreSettings.UrlMode.PROXY, TTL, clock);
            own.stop();

            assertThatThrownBy(() -> store.store(PNG, ImageFormat.PNG))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessageStartingWith("could not store image in bucket '" + bucket + "' at " + own.endpoint()
                            + ": Unable to execute HTTP request")
                    .satisfies(e -> assertThat(messages(e)).doesNotContain(S3ProxyServer.SECRET_KEY));
            assertThatThrownBy(() -> store.open("0123456789abcdef0123456789abcdef.png"))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessageStartingWith("could not read image 0123456789abcdef0123456789abcdef.png from bucket '"
                            + bucket + "' at " + own.endpoint() + ": ");
            assertThat(store.deleteExpired()).isZero(); // logged, never thrown: the next sweep tries again

            own.restart(); // in memory: the bucket is made again
            createBucket(own, bucket);
            String name = name(store.store(PNG, ImageFormat.PNG));
            assertThat(store.stat(name)).isPresent();
        }
    }

    @Test
    void open_closedBeforeTheEnd_releasesTheConnection() throws Exception {
        S3ImageStore store = connect(settings(bucket, "p", S3ProxyServer.SECRET_KEY), ImageStoreSettings.UrlMode.PROXY,
                TTL, clock);
        byte[] big = png(2 << 20);
        String name = name(store.store(big, ImageFormat.PNG));

        // far more partial reads than the pool has connections: each close must give its connection back
        for (int i = 0; i < 200; i++) {
            try (StoredImage image = store.open(name).orElseThrow()) {
                assertThat(image.body().readNBytes(16)).isEqualTo(Arrays.copyOf(big, 16));
            }
        }
        try (StoredImage image = store.open(name).orElseThrow()) {
            assertThat(image.body().readAllBytes()).isEqualTo(big);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private S3ImageStore connect(ImageStoreSettings.S3 settings, ImageStoreSettings.UrlMode mode, Duration ttl,
                                 Clock clock) {
        S3ImageStore store = S3ImageStore.connect(settings, mode, ttl, clock);
        open.add(store);
        return store;
    }

    private static ImageStoreSettings.S3 settings(String bucket, String prefix, String secret) {
        return new ImageStoreSettings.S3(bucket, Optional.empty(), Optional.of(server.endpoint()),
                Optional.of(S3ProxyServer.ACCESS_KEY), Optional.of(secret), Optional.empty(), prefix, false);
    }

    private static String name(String ref) {
        assertThat(ref).startsWith(ServableImageStore.REFERENCE_PREFIX);
        return ref.substring(ServableImageStore.REFERENCE_PREFIX.length());
    }

    private static void createBucket(S3ProxyServer on, String bucket) {
        try (S3Client c = S3Client.builder().httpClient(Apache5HttpClient.create()).region(Region.US_EAST_1)
                .endpointOverride(on.endpoint()).forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
                        S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)))
                .build()) {
            c.createBucket(b -> b.bucket(bucket));
        }
    }

    private static List<String> keys(String bucket) {
        return admin.listObjectsV2Paginator(b -> b.bucket(bucket)).contents().stream().map(S3Object::key).toList();
    }

    /** The URL with every hex digit of its signature changed. */
    private static String forge(String url) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("X-Amz-Signature=([0-9a-f]+)").matcher(url);
        assertThat(m.find()).isTrue();
        StringBuilder sig = new StringBuilder();
        for (char c : m.group(1).toCharArray()) {
            sig.append(Character.forDigit((Character.digit(c, 16) + 1) % 16, 16));
        }
        return url.substring(0, m.start(1)) + sig + url.substring(m.end(1));
    }

    private static String messages(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            sb.append(c).append('\n');
        }
        return sb.toString();
    }

    private void closeQuietly(StoredImage image) {
        try {
            image.close();
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A PNG signature followed by {@code size - 8} bytes of a pattern (the store never decodes it). */
    private static byte[] png(int size) {
        byte[] b = new byte[size];
        byte[] sig = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
        System.arraycopy(sig, 0, b, 0, sig.length);
        for (int i = sig.length; i < size; i++) {
            b[i] = (byte) (i * 31);
        }
        return b;
    }
}
