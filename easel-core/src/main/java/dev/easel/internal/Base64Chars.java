package dev.easel.internal;

/**
 * Which characters are base64 ({@code A-Z a-z 0-9 + / =}). A table lookup or-ed into a flag, not a
 * chain of range comparisons: over random base64 text those comparisons' branches mispredict about once a
 * character, which once made this check most of a proxied edit's CPU (docs/benchmarks.md).
 *
 * <p>Internal API: public only so that other Easel modules can use it.
 */
public final class Base64Chars {

    private static final byte[] NOT_BASE64 = new byte[128];

    static {
        java.util.Arrays.fill(NOT_BASE64, (byte) 1);
        for (char ch = 'A'; ch <= 'Z'; ch++) {
            NOT_BASE64[ch] = 0;
            NOT_BASE64[ch + ('a' - 'A')] = 0;
        }
        for (char ch = '0'; ch <= '9'; ch++) {
            NOT_BASE64[ch] = 0;
        }
        NOT_BASE64['+'] = 0;
        NOT_BASE64['/'] = 0;
        NOT_BASE64['='] = 0;
    }

    private Base64Chars() {
    }

    /** 0 for a base64 character, non-zero otherwise; or the results over a run and test once. */
    public static int notBase64(char ch) {
        return NOT_BASE64[ch & 0x7f] | (ch >>> 7);
    }

    /** Whether every character of {@code s} is base64 (an empty string is). */
    public static boolean isBase64(CharSequence s) {
        int bad = 0;
        for (int i = 0, n = s.length(); i < n; i++) {
            bad |= notBase64(s.charAt(i));
        }
        return bad == 0;
    }
}
