package dev.easel.engine;

import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/** W3C trace and span ids of Easel's own, for edits traced without an OpenTelemetry SDK. */
final class Trace {

    private Trace() {
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
