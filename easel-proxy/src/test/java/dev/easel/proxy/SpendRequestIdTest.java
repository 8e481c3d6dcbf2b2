package dev.easel.proxy;

import static dev.easel.proxy.SpendE2eFixture.costHeader;
import static dev.easel.proxy.SpendE2eFixture.form;
import static dev.easel.proxy.SpendE2eFixture.json;
import static dev.easel.proxy.SpendE2eFixture.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 point 5: a client's {@code x-request-id} is a correlation field, never the spend row's key. Before, the
 * client id became the row key and later rows with the same id were dropped ({@code ON CONFLICT DO NOTHING}): on
 * a $0.10 budget, 8 edits sent with one fixed id were all served while the budget saw one.
 */
class SpendRequestIdTest {

    @TempDir
    static Path dataDir;
    static SpendE2eFixture f;

    @BeforeAll
    static void start() {
        f = SpendE2eFixture.start(dataDir, "end_user_budgets: {dup-user: 0.1}\n");
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void reusedClientRequestId_everyRequestIsOneRowAndCountsAgainstTheBudget() {
        f.fake.reset();
        List<HttpResponse<byte[]>> answers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            answers.add(f.edit(form("gpt-image-1", Map.of()), "x-request-id", "fixed-id-1",
                    "x-easel-end-user-id", "dup-user"));
        }

        BigDecimal served = BigDecimal.ZERO;
        int ok = 0;
        Set<String> ids = new HashSet<>();
        for (HttpResponse<byte[]> r : answers) {
            String id = r.headers().firstValue("x-request-id").orElseThrow();
            assertThat(id).as("Easel's own id, never the client's").matches("req_[0-9a-f]{24}");
            ids.add(id);
            assertThat(r.headers().allValues("x-client-request-id")).containsExactly("fixed-id-1");
            if (r.statusCode() == 200) {
                ok++;
                served = served.add(costHeader(r));
            } else {
                assertThat(r.statusCode()).as(text(r)).isEqualTo(400);
                assertThat(json(r).path("error").path("code").asText()).isEqualTo("budget_exceeded");
            }
        }
        assertThat(ids).as("one id per request").hasSize(8);
        assertThat(ok).as("the budget holds: 0.04443 per edit, 0.1 budget").isEqualTo(2);
        assertThat(f.fake.requestCount()).isEqualTo(2);

        JsonNode rows = f.logsWhenFlushed("end_user=dup-user", 8);
        assertThat(rows.size()).isEqualTo(8);
        Set<String> rowIds = new HashSet<>();
        for (JsonNode row : rows) {
            rowIds.add(row.path("request_id").asText());
            assertThat(row.path("client_request_id").asText()).isEqualTo("fixed-id-1");
        }
        assertThat(rowIds).isEqualTo(ids);

        JsonNode info = json(f.get("/end_user/info?end_user_id=dup-user"));
        assertThat(info.path("spend").decimalValue()).isEqualByComparingTo(served);
        assertThat(info.path("requests").asLong()).isEqualTo(8);

        JsonNode byClientId = json(f.get("/spend/logs?client_request_id=fixed-id-1"));
        assertThat(byClientId.size()).as("the client id still finds its rows").isEqualTo(8);
    }

    @Test
    void unsafeClientRequestId_isNotEchoed() {
        HttpResponse<byte[]> r = f.edit(form("gpt-image-1", Map.of()), "x-request-id", "bad id <script>");

        assertThat(r.headers().firstValue("x-request-id")).hasValueSatisfying(v -> assertThat(v)
                .matches("req_[0-9a-f]{24}"));
        assertThat(r.headers().firstValue("x-client-request-id")).isEmpty();
    }
}
