package dev.easel.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpHeaders;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RetryAfterTest {

    private static HttpHeaders headers(Map<String, String> values) {
        Map<String, List<String>> map = new java.util.HashMap<>();
        values.forEach((k, v) -> map.put(k, List.of(v)));
        return HttpHeaders.of(map, (k, v) -> true);
    }

    @Test
    void milliseconds_thenSeconds_thenAnHttpDate() {
        assertThat(RetryAfter.of(headers(Map.of("retry-after-ms", "1500", "retry-after", "9"))))
                .contains(Duration.ofMillis(1500));
        assertThat(RetryAfter.of(headers(Map.of("Retry-After", "2")))).contains(Duration.ofSeconds(2));
        assertThat(RetryAfter.of(headers(Map.of("retry-after", "0.5")))).contains(Duration.ofMillis(500));
        String inAMinute = ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(60)
                .format(DateTimeFormatter.RFC_1123_DATE_TIME);
        assertThat(RetryAfter.of(headers(Map.of("retry-after", inAMinute)))).hasValueSatisfying(d ->
                assertThat(d).isBetween(Duration.ofSeconds(55), Duration.ofSeconds(60)));
    }

    @Test
    void aDateInThePastIsZero_andGarbageOrNothingIsEmpty() {
        String past = ZonedDateTime.now(ZoneOffset.UTC).minusHours(1).format(DateTimeFormatter.RFC_1123_DATE_TIME);
        assertThat(RetryAfter.of(headers(Map.of("retry-after", past)))).contains(Duration.ZERO);
        assertThat(RetryAfter.of(headers(Map.of("retry-after", "soon")))).isEmpty();
        assertThat(RetryAfter.of(headers(Map.of("retry-after-ms", "x")))).isEmpty();
        assertThat(RetryAfter.of(headers(Map.of()))).isEmpty();
    }
}
