package dev.easel.proxy.spend;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Objects;

/**
 * A position in the spend log's order (newest first: {@code start_time} descending, then {@code request_id}
 * descending): the last row of a page. The next page is the rows after it, read from the index where it stopped
 * rather than by skipping an offset. Clients see it as an opaque {@link #token()}.
 *
 * @param startTime the row's start time
 * @param requestId the row's request id
 */
public record SpendCursor(Instant startTime, String requestId) {

    private static final String VERSION = "1";

    /** Checks the values; the time is kept to the microsecond, as rows are. */
    public SpendCursor {
        startTime = Objects.requireNonNull(startTime, "startTime").truncatedTo(ChronoUnit.MICROS);
        Objects.requireNonNull(requestId, "requestId");
    }

    /** The cursor after {@code row}. */
    public static SpendCursor after(SpendRecord row) {
        return new SpendCursor(row.startTime(), row.requestId());
    }

    /** The opaque token a client sends back as {@code cursor}: URL-safe base64, no padding. */
    public String token() {
        long micros = ChronoUnit.MICROS.between(Instant.EPOCH, startTime);
        return Base64.getUrlEncoder().withoutPadding()
                .encodeToString((VERSION + ":" + micros + ":" + requestId).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Reads a token made by {@link #token()}.
     *
     * @throws IllegalArgumentException {@code cursor: not a cursor from /spend/logs (was '…')}
     */
    public static SpendCursor parse(String token) {
        Objects.requireNonNull(token, "token");
        try {
            String text = new String(Base64.getUrlDecoder().decode(token.strip()), StandardCharsets.UTF_8);
            int first = text.indexOf(':');
            int second = first < 0 ? -1 : text.indexOf(':', first + 1);
            if (second < 0 || !text.substring(0, first).equals(VERSION) || second == text.length() - 1) {
                throw new IllegalArgumentException("bad form");
            }
            long micros = Long.parseLong(text.substring(first + 1, second));
            return new SpendCursor(Instant.EPOCH.plus(micros, ChronoUnit.MICROS), text.substring(second + 1));
        } catch (IllegalArgumentException | ArithmeticException | java.time.DateTimeException e) {
            String shown = token.length() > 80 ? token.substring(0, 80) + "…" : token;
            throw new IllegalArgumentException("cursor: not a cursor from /spend/logs (was '" + shown + "')", e);
        }
    }
}
