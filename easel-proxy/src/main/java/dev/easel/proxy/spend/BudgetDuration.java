package dev.easel.proxy.spend;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A budget window as LiteLLM writes it: {@code 30s}, {@code 30m}, {@code 24h}, {@code 30d}, {@code 1w} or
 * {@code 1mo} (calendar months, UTC); a bare number is seconds.
 *
 * @param text   the canonical text ({@code 30d})
 * @param fixed  the window's length, null for calendar months
 * @param months calendar months per window, 0 for a fixed length
 */
public record BudgetDuration(String text, Duration fixed, int months) {

    private static final Pattern FORM = Pattern.compile("(\\d+)\\s*(s|m|h|d|w|mo)?");

    /** Parses; null when the text is not of that form or is zero. */
    public static BudgetDuration parse(String text) {
        Matcher m = FORM.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            return null;
        }
        long n;
        try {
            n = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            return null;
        }
        if (n <= 0 || n > 100_000) {
            return null;
        }
        String unit = m.group(2) == null ? "s" : m.group(2);
        String canonical = n + unit;
        return switch (unit) {
            case "s" -> new BudgetDuration(canonical, Duration.ofSeconds(n), 0);
            case "m" -> new BudgetDuration(canonical, Duration.ofMinutes(n), 0);
            case "h" -> new BudgetDuration(canonical, Duration.ofHours(n), 0);
            case "d" -> new BudgetDuration(canonical, Duration.ofDays(n), 0);
            case "w" -> new BudgetDuration(canonical, Duration.ofDays(7 * n), 0);
            default -> new BudgetDuration(canonical, null, Math.toIntExact(n));
        };
    }

    /** Parses a config value: text as above, or a whole number of seconds. */
    public static BudgetDuration parse(Object value) {
        if (value instanceof String s) {
            return parse(s);
        }
        if (value instanceof Number n) {
            BigDecimal d = new BigDecimal(n.toString());
            return d.signum() > 0 && d.stripTrailingZeros().scale() <= 0 ? parse(d.toBigInteger().toString()) : null;
        }
        return null;
    }

    /** The start of the window that holds {@code now}, for windows that began at {@code anchor}. */
    public Instant windowStart(Instant anchor, Instant now) {
        if (!now.isAfter(anchor)) {
            return anchor;
        }
        if (fixed != null) {
            long step = fixed.toMillis();
            long k = Duration.between(anchor, now).toMillis() / step;
            return anchor.plus(fixed.multipliedBy(k));
        }
        ZonedDateTime a = anchor.atZone(ZoneOffset.UTC);
        long k = ChronoUnit.MONTHS.between(a, now.atZone(ZoneOffset.UTC)) / months;
        ZonedDateTime start = a.plusMonths(k * months);
        while (start.toInstant().isAfter(now) && k > 0) { // month ends can make between() round up
            k--;
            start = a.plusMonths(k * months);
        }
        while (!a.plusMonths((k + 1) * months).toInstant().isAfter(now)) {
            k++;
            start = a.plusMonths(k * months);
        }
        return start.toInstant();
    }

    /** When a window that starts at {@code start} ends. */
    public Instant windowEnd(Instant start) {
        return fixed != null ? start.plus(fixed) : start.atZone(ZoneOffset.UTC).plusMonths(months).toInstant();
    }
}
