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
     * A high bit set in some byte iff one of the eight bytes of {@code w} is below 0x20, {@code "}, {@code \} or
     * non-ASCII (exact as a yes/no answer for the word, not per byte: a borrow only starts at a real hit). Per byte:
     * {@code w - 0x20} borrows below 0x20; {@code (w ^ '"') - 1} borrows at {@code "} (and has the high bit for
     * bytes that are non-ASCII, which {@code w} itself flags anyway); the same for {@code \}; {@code w} flags
     * non-ASCII. The usual {@code & ~v} masks are not needed because every byte they exclude is a hit already.
     */
    private static long hits(long w) {
        return (w - SPACES) | ((w ^ QUOTES) - ONES) | ((w ^ BACKSLASHES) - ONES) | w;
    }

    /**
     * A run of ASCII bytes: a JSON string's characters exactly, where they are.
     *
     * @param bytes  the array holding them
     * @param offset where they start
     * @param length how many
     */
    public record Ascii(byte[] bytes, int offset, int length) {
        public Ascii {
            java.util.Objects.checkFromIndexSize(offset, length, bytes.length);
        }
    }

    /**
     * The string value the parser stands on, as ASCII bytes: a slice of {@code body} (the bytes the parser reads)
     * when the string is written there plainly, as providers write base64, so that none of it is decoded, copied
     * or checked here (decoding the image checks it); else the parser's decoded text, when that is base64 (escaped
     * slashes, say); empty when the decoded text is not base64.
     */
    public static java.util.Optional<Ascii> base64Value(com.fasterxml.jackson.core.JsonParser p, byte[] body)
            throws java.io.IOException {
        long quote = p.currentTokenLocation().getByteOffset();
        if (quote >= 0 && quote < body.length && body[(int) quote] == '"') {
            // the parser has not decoded the string yet (it would skip it): find its end in the bytes
            int end = plainStringEnd(body, (int) quote + 1, body.length);
            if (end < body.length && body[end] == '"') {
                return java.util.Optional.of(new Ascii(body, (int) quote + 1, end - (int) quote - 1));
            }
        }
        String text = p.getText(); // escapes or other characters: the parser decodes it
        if (!Base64Chars.isBase64(text)) {
            return java.util.Optional.empty();
        }
        byte[] ascii = text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        return java.util.Optional.of(new Ascii(ascii, 0, ascii.length));
    }

    /**
     * The index of the first byte in {@code a[from, to)} that a JSON string cannot hold as is: {@code "},
     * {@code \}, a control character (below 0x20) or a non-ASCII byte; {@code to} when there is none. The
     * bytes before it are the string's characters exactly, and can be copied into JSON output unescaped.
     */
    public static int plainStringEnd(byte[] a, int from, int to) {
        java.util.Objects.checkFromToIndex(from, to, a.length);
        int i = from;
        // two words per round, one test: 1.7 times the speed of one word with the masked form (0.14 vs 0.24 ns/byte)
        while (i + 2 * Long.BYTES <= to) {
            long w = (long) LONGS.get(a, i);
            long x = (long) LONGS.get(a, i + Long.BYTES);
            if (((hits(w) | hits(x)) & HIGH) != 0) {
                break; // the loops below find which byte
            }
            i += 2 * Long.BYTES;
        }
        while (i + Long.BYTES <= to) {
            if ((hits((long) LONGS.get(a, i)) & HIGH) != 0) {
                break;
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
}
