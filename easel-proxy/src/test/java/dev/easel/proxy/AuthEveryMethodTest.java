package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 12 point 6: the master key guards every method of a protected route, not only GET and POST. */
class AuthEveryMethodTest {

    private static final List<String> PROTECTED_GETS = List.of("/v1/models", "/models", "/spend/logs",
            "/spend/logs/v2", "/end_user/info?end_user_id=u", "/customer/info?end_user_id=u", "/global/spend/report");

    @TempDir
    static Path dataDir;

    static WireFixture wire;

    @BeforeAll
    static void start() {
        wire = WireFixture.start(dataDir);
    }

    @AfterAll
    static void stop() {
        if (wire != null) {
            wire.close();
        }
    }

    @Test
    void head_onProtectedGetRoutes_withoutKey_is401() {
        for (String path : PROTECTED_GETS) {
            HttpResponse<byte[]> r = wire.send(HttpRequest.newBuilder(wire.uri(path))
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());

            assertThat(r.statusCode()).as("HEAD " + path).isEqualTo(401);
            assertThat(r.body()).as("HEAD has no body").isEmpty();
        }
    }

    @Test
    void head_onProtectedGetRoutes_withKey_isTheGetStatusWithoutBody() {
        for (String path : PROTECTED_GETS) {
            HttpResponse<byte[]> get = wire.get(path);
            HttpResponse<byte[]> head = wire.send(wire.request(path)
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());

            assertThat(head.statusCode()).as("HEAD " + path).isEqualTo(get.statusCode());
            assertThat(head.body()).isEmpty();
        }
    }

    @Test
    void head_onHealth_isOpen() {
        for (String path : List.of("/health/liveliness", "/health/liveness", "/health/readiness")) {
            HttpResponse<byte[]> r = wire.send(HttpRequest.newBuilder(wire.uri(path))
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());

            assertThat(r.statusCode()).as("HEAD " + path).isEqualTo(200);
        }
    }

    @Test
    void otherMethods_onProtectedRoutes_withoutKey_areRefused() {
        for (String method : List.of("PUT", "DELETE", "PATCH", "OPTIONS")) {
            for (String path : List.of("/v1/models", "/spend/logs", "/v1/images/edits")) {
                HttpResponse<byte[]> r = wire.send(HttpRequest.newBuilder(wire.uri(path))
                        .method(method, HttpRequest.BodyPublishers.noBody()).build());

                assertThat(r.statusCode()).as(method + " " + path).isIn(401, 404, 405);
                assertThat(r.body().length == 0 || WireFixture.error(r) != null).isTrue();
            }
        }
    }
}
