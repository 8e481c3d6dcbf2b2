package dev.easel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code general_settings.image_store}: what is read, the defaults, and every refusal with its exact message. */
class ImageStoreConfigTest {

    private static final String MODEL = """
            model_list:
              - model_name: m
                litellm_params:
                  model: mock/m
            """;

    private static final Map<String, String> ENV = Map.of("S3_KEY_ID", "AKIDEXAMPLE", "S3_SECRET",
            "wJalrXUtnFEMI-do-not-print", "S3_BUCKET", "from-env");

    private static EaselConfig parse(String yaml) {
        return ConfigLoader.parse(MODEL + yaml, ENV, "config.yaml");
    }

    @Test
    void imageStore_absent_isTheLocalStore() {
        ImageStoreSettings store = parse("general_settings: {}\n").generalSettings().imageStore();

        assertThat(store.type()).isEqualTo(ImageStoreSettings.Type.LOCAL);
        assertThat(store.urlMode()).isEqualTo(ImageStoreSettings.UrlMode.PROXY);
        assertThat(store.s3()).isEmpty();
        assertThat(GeneralSettings.defaults().imageStore()).isEqualTo(ImageStoreSettings.local());
    }

    @Test
    void imageStore_s3_readsEveryKeyWithEnvReplacement() {
        EaselConfig config = parse("""
                general_settings:
                  image_store:
                    type: s3
                    url_mode: presigned
                    s3_bucket_name: os.environ/S3_BUCKET
                    s3_region_name: eu-west-1
                    s3_endpoint_url: http://127.0.0.1:9000
                    s3_aws_access_key_id: os.environ/S3_KEY_ID
                    s3_aws_secret_access_key: os.environ/S3_SECRET
                    s3_aws_session_token: token-1
                    s3_path: /easel/images/
                    s3_use_virtual_hosted_style: true
                """);

        ImageStoreSettings store = config.generalSettings().imageStore();
        assertThat(store.type()).isEqualTo(ImageStoreSettings.Type.S3);
        assertThat(store.urlMode()).isEqualTo(ImageStoreSettings.UrlMode.PRESIGNED);
        ImageStoreSettings.S3 s3 = store.s3().orElseThrow();
        assertThat(s3.bucket()).isEqualTo("from-env");
        assertThat(s3.region()).contains("eu-west-1");
        assertThat(s3.endpoint()).contains(URI.create("http://127.0.0.1:9000"));
        assertThat(s3.accessKeyId()).contains("AKIDEXAMPLE");
        assertThat(s3.secretAccessKey()).contains("wJalrXUtnFEMI-do-not-print");
        assertThat(s3.sessionToken()).contains("token-1");
        assertThat(s3.prefix()).as("slashes at either end dropped").isEqualTo("easel/images");
        assertThat(s3.virtualHostedStyle()).isTrue();
        assertThat(config.warnings()).isEmpty();
        assertThat(config.generalSettings().toString()).doesNotContain("wJalrXUtnFEMI").doesNotContain("token-1")
                .contains("bucket=from-env");
    }

    @Test
    void imageStore_s3_defaults() {
        ImageStoreSettings.S3 aws = parse("general_settings: {image_store: {type: s3, s3_bucket_name: b}}\n")
                .generalSettings().imageStore().s3().orElseThrow();
        ImageStoreSettings.S3 minio = parse("general_settings: {image_store: {type: s3, s3_bucket_name: b, "
                + "s3_endpoint_url: 'http://minio:9000'}}\n").generalSettings().imageStore().s3().orElseThrow();

        assertThat(aws.region()).as("the AWS default region chain decides").isEmpty();
        assertThat(aws.accessKeyId()).as("the default credential chain").isEmpty();
        assertThat(aws.prefix()).isEqualTo("easel-images");
        assertThat(aws.virtualHostedStyle()).as("AWS: virtual-hosted").isTrue();
        assertThat(minio.virtualHostedStyle()).as("an endpoint override: path-style, as LiteLLM").isFalse();
    }

    @Test
    void imageStore_unknownKey_isWarnedAbout() {
        EaselConfig config = parse("general_settings: {image_store: {type: s3, s3_bucket_name: b, s3_config: {}}}\n");

        assertThat(config.warnings()).containsExactly("unknown key 'general_settings.image_store.s3_config' (ignored)");
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("general_settings: {image_store: s3}\n",
                        "general_settings.image_store: expected a mapping (was 's3')"),
                Arguments.of("general_settings: {image_store: {type: gcs}}\n",
                        "general_settings.image_store.type: unknown image store type 'gcs' (known: local, s3)"),
                Arguments.of("general_settings: {image_store: {type: s3, s3_bucket_name: b, url_mode: signed}}\n",
                        "general_settings.image_store.url_mode: unknown url mode 'signed' (known: proxy, presigned)"),
                Arguments.of("general_settings: {image_store: {type: s3}}\n",
                        "general_settings.image_store: missing s3_bucket_name"),
                Arguments.of("general_settings: {image_store: {type: s3, s3_bucket_name: 's3://b/x'}}\n",
                        "general_settings.image_store.s3_bucket_name: expected a bucket name (letters, digits, '.', "
                                + "'-', '_'; no '/', no URL) (was 's3://b/x')"),
                Arguments.of("general_settings: {image_store: {s3_bucket_name: b}}\n",
                        "general_settings.image_store.s3_bucket_name: only used with type: s3 (the image store is "
                                + "local)"),
                Arguments.of("general_settings: {image_store: {type: local, url_mode: presigned}}\n",
                        "general_settings.image_store.url_mode: presigned needs type: s3 (the image store is local)"),
                Arguments.of("general_settings: {image_store: {type: s3, s3_bucket_name: b, "
                                + "s3_aws_access_key_id: os.environ/S3_KEY_ID}}\n",
                        "general_settings.image_store.s3_aws_secret_access_key: required when s3_aws_access_key_id "
                                + "is set"),
                Arguments.of("general_settings: {image_store: {type: s3, s3_bucket_name: b, "
                                + "s3_aws_secret_access_key: os.environ/S3_SECRET}}\n",
                        "general_settings.image_store.s3_aws_access_key_id: required when s3_aws_secret_access_key "
                                + "is set"),
                Arguments.of("general_settings: {image_store: {type: s3, s3_bucket_name: b, "
                                + "s3_aws_session_token: t}}\n",
                        "general_settings.image_store.s3_aws_session_token: needs s3_aws_access_key_id and "
                                + "s3_aws_secret_access_key"),
                Arguments.of("general_settings: {image_store: {type: s3, s3_bucket_name: b, "
                                + "s3_endpoint_url: 'minio:9000'}}\n",
                        "general_settings.image_store.s3_endpoint_url: expected an http or https URL (was "
                                + "'minio:9000')"),
                Arguments.of("general_settings: {image_store: {type: s3, s3_bucket_name: b, s3_region_name: ''}}\n",
                        "general_settings.image_store.s3_region_name: must not be empty"),
                Arguments.of("general_settings: {image_store: {type: s3, s3_bucket_name: b, s3_path: 'a//b'}}\n",
                        "general_settings.image_store.s3_path: expected a key prefix like 'easel/images' (no empty "
                                + "segments, no control characters)"),
                Arguments.of("general_settings: {image_store: {type: s3, s3_bucket_name: b, "
                                + "s3_use_virtual_hosted_style: sometimes}}\n",
                        "general_settings.image_store.s3_use_virtual_hosted_style: expected true or false (was "
                                + "'sometimes')"),
                Arguments.of("general_settings: {image_store: {type: s3, s3_bucket_nme: b}}\n",
                        "general_settings.image_store.s3_bucket_nme: unknown key; did you mean 's3_bucket_name'?"),
                Arguments.of("general_settings: {image_store: {type: s3, s3_bucket_name: b, s3_aws_access_key_id: "
                                + "os.environ/MISSING, s3_aws_secret_access_key: x}}\n",
                        "general_settings.image_store.s3_aws_access_key_id: environment variable 'MISSING' is not "
                                + "set"),
                Arguments.of("general_settings: {image_url_ttl: 8d, image_store: {type: s3, s3_bucket_name: b, "
                                + "url_mode: presigned}}\n",
                        "general_settings.image_store.url_mode: presigned URLs last at most 7 days (604800 s), but "
                                + "general_settings.image_url_ttl is 691200 s; use url_mode proxy or a shorter "
                                + "image_url_ttl"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void imageStore_invalid_failsNamingThePath(String yaml, String message) {
        assertThatThrownBy(() -> parse(yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessage("config.yaml: " + message)
                .message().doesNotContain("wJalrXUtnFEMI");
    }
}
