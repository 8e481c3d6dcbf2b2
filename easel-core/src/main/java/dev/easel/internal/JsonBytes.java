package dev.easel.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Byte-level help for JSON: finding where a string's plain run ends without decoding it, eight bytes at a
 * time. A provider's {@code b64_json} is megabytes of plain ASCII; decoding it into characters (and checking
 * each one) was the largest Java cost of a proxied edit (docs/benchmarks.md).
 *
 * <p>Internal API: public only so that other Easel modules can use it.
 */
public final class JsonBytes {

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class,
            ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGH = 0x8080808080808080L;
    private static final long QUOTES = ONES * '"';
    private static final long BACKSLASHES = ONES * '\\';
    private static final long SPACES = ONES * 0x20;

    private JsonBytes() {
    }

    /**
     * The index of the first byte in {@code a[from, to)} that a JSON string cannot hold as is: {@code "},
     * {@code \}, a control character (below 0x20) or a non-ASCII byte; {@code to} when there is none. The
     * bytes before it are the string's characters exactly, and can be copied into JSON output unescaped.
     */
    public static int plainStringEnd(byte[] a, int from, int to) {
        java.util.Objects.checkFromToIndex(from, to, a.length);
        int i = from;
        while (i + Long.BYTES <= to) {
            long w = (long) LONGS.get(a, i);
            long q = w ^ QUOTES;
            long b = w ^ BACKSLASHES;
            // per byte: below 0x20, equal to '"', equal to '\', or high bit set (the "has less than" bit trick:
            // exact as a yes/no answer for the whole word)
            long hit = ((w - SPACES) & ~w) | ((q - ONES) & ~q) | ((b - ONES) & ~b) | w;
            if ((hit & HIGH) != 0) {
                break; // the byte loop below finds which one
            }
            i += Long.BYTES;
        }
        for (; i < to; i++) {
            byte c = a[i];
            if (c < 0x20 || c == '"' || c == '\\') { // c < 0: non-ASCII
                return i;
            }
        }
        return to;
    }

    /**
     * Where the JSON string that opens at {@code quote} (the offset of its {@code "}, as a byte parser reports a
     * token's location) closes, when it holds plain ASCII only: the index of the closing quote, so the characters
     * are {@code body[quote + 1, end)} exactly, without decoding them. -1 when {@code quote} is not the start of a
     * string in {@code body}, or the string has escapes or other characters (then read it decoded).
     */
    public static int plainStringClose(byte[] body, long quote) {
        if (quote < 0 || quote >= body.length || body[(int) quote] != '"') {
            return -1;
        }
        int end = plainStringEnd(body, (int) quote + 1, body.length);
        return end < body.length && body[end] == '"' ? end : -1;
    }
}
