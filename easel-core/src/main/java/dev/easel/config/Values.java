package dev.easel.config;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parsing of durations and sizes written as text; null means "not of that form". */
final class Values {

    private static final Pattern DURATION = Pattern.compile("([-+]?[0-9]*\\.?[0-9]+)\\s*(ms|s|m|h|d)?");
    private static final Pattern SIZE = Pattern.compile("([-+]?[0-9]*\\.?[0-9]+)\\s*([a-z]*)");
    private static final BigDecimal NANOS_PER_SECOND = BigDecimal.valueOf(1_000_000_000L);
    private static final Map<String, Long> UNIT_SECONDS = Map.of("ms", -1L, "s", 1L, "m", 60L, "h", 3600L,
            "d", 86400L);
    private static final Map<String, BigDecimal> SIZE_UNITS = Map.ofEntries(
            Map.entry("", BigDecimal.ONE), Map.entry("b", BigDecimal.ONE),
            Map.entry("k", pow(1000, 1)), Map.entry("kb", pow(1000, 1)),
            Map.entry("m", pow(1000, 2)), Map.entry("mb", pow(1000, 2)),
            Map.entry("g", pow(1000, 3)), Map.entry("gb", pow(1000, 3)),
            Map.entry("t", pow(1000, 4)), Map.entry("tb", pow(1000, 4)),
            Map.entry("ki", pow(1024, 1)), Map.entry("kib", pow(1024, 1)),
            Map.entry("mi", pow(1024, 2)), Map.entry("mib", pow(1024, 2)),
            Map.entry("gi", pow(1024, 3)), Map.entry("gib", pow(1024, 3)),
            Map.entry("ti", pow(1024, 4)), Map.entry("tib", pow(1024, 4)));
    private static final BigDecimal MAX_SECONDS = BigDecimal.valueOf(Long.MAX_VALUE / 1_000_000_000L);

    private Values() {
    }

    private static BigDecimal pow(int base, int exponent) {
        return BigDecimal.valueOf(base).pow(exponent);
    }

    /** A plain decimal number ({@code 600}, {@code 1.5}, {@code 5.0e-06}), or null. */
    static BigDecimal decimal(String text) {
        try {
            return new BigDecimal(text.strip().replace("_", ""));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * Seconds as a number ({@code 600}, {@code 1.5}), or a number with a unit {@code ms}, {@code s}, {@code m},
     * {@code h}, {@code d} ({@code 500ms}, {@code 2m}); returns the amount in seconds, or null.
     */
    static BigDecimal durationSeconds(String text) {
        BigDecimal plain = decimal(text);
        if (plain != null) {
            return plain;
        }
        Matcher m = DURATION.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            return null;
        }
        BigDecimal amount = new BigDecimal(m.group(1));
        long unit = UNIT_SECONDS.get(m.group(2) == null ? "s" : m.group(2));
        return unit < 0 ? amount.movePointLeft(3) : amount.multiply(BigDecimal.valueOf(unit));
    }

    /** Seconds (non-negative) as a Duration rounded to nanoseconds, or null when too large. */
    static Duration toDuration(BigDecimal seconds) {
        if (seconds.compareTo(MAX_SECONDS) > 0) {
            return null;
        }
        BigInteger nanos = seconds.multiply(NANOS_PER_SECOND).setScale(0, RoundingMode.HALF_UP).toBigIntegerExact();
        return Duration.ofNanos(nanos.longValueExact());
    }

    /**
     * A size in bytes: a number, or a number with a unit ({@code KB MB GB TB} = powers of 1000,
     * {@code KiB MiB GiB TiB} = powers of 1024, case-insensitive); returns bytes (maybe fractional), or null.
     */
    static BigDecimal sizeBytes(String text) {
        Matcher m = SIZE.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            return null;
        }
        BigDecimal unit = SIZE_UNITS.get(m.group(2));
        return unit == null ? null : new BigDecimal(m.group(1)).multiply(unit);
    }
}
