package dev.easel.engine;

import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/** W3C trace context ids: parsing an incoming {@code traceparent}, making new trace and span ids. */
final class Trace {

    private static final Pattern TRACEPARENT = Pattern.compile("00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}");

    private Trace() {
    }

    /** {@code [traceId, parentSpanId]} of a valid {@code traceparent}, else null. */
    static String[] parse(String traceparent) {
        if (traceparent == null) {
            return null;
        }
        var m = TRACEPARENT.matcher(traceparent.trim());
        if (!m.matches() || m.group(1).chars().allMatch(c -> c == '0') || m.group(2).chars().allMatch(c -> c == '0')) {
            return null;
        }
        return new String[] {m.group(1), m.group(2)};
    }

    static String newTraceId() {
        return random(16);
    }

    static String newSpanId() {
        return random(8);
    }

    private static String random(int bytes) {
        byte[] b = new byte[bytes];
        do {
            ThreadLocalRandom.current().nextBytes(b);
        } while (allZero(b));
        return HexFormat.of().formatHex(b);
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }
}
