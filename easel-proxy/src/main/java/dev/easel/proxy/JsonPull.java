package dev.easel.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.Writer;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A strict streaming JSON reader (RFC 8259, UTF-8) for edit bodies. Unlike Jackson, which buffers every string
 * value whole before handing it out (a 50 MB image as a data URL would sit in memory as 67 million chars), a
 * string can be {@linkplain #stream streamed} to a {@link Writer} while it arrives. Nesting depth, the number of
 * tokens and the length of names are limited while reading; a byte {@linkplain #limit limit} bounds what one value
 * may take.
 *
 * <pre>{@code
 * JsonPull p = new JsonPull(in, 32, 10_000, 256);
 * if (p.next() == Token.START_OBJECT) {
 *     while (p.next() == Token.NAME) {
 *         String name = p.name();
 *         Object value = p.value(p.next());
 *     }
 * }
 * p.end();
 * }</pre>
 */
final class JsonPull {

    /** What {@link #next()} found. */
    enum Token { START_OBJECT, END_OBJECT, START_ARRAY, END_ARRAY, NAME, STRING, NUMBER, TRUE, FALSE, NULL }

    private static final int BUF = 16 * 1024;
    private static final int MAX_NUMBER_CHARS = 1000;
    private static final int CHAR_BATCH = 8 * 1024;
    private static final byte FIRST = 0;
    private static final byte AFTER_NAME = 1;
    private static final byte AFTER_VALUE = 2;

    private final InputStream in;
    private final int maxDepth;
    private final int maxTokens;
    private final int maxNameBytes;
    private final byte[] buf = new byte[BUF];
    private int start;
    private int end;
    private long base; // stream position of buf[0]
    private boolean eof;

    private final boolean[] isObject;
    private final byte[] state;
    private int depth;
    private boolean rootDone;
    private int tokens;
    private boolean pendingString;
    private String name;
    private String number;
    private long tokenStart;
    private long limitPos = Long.MAX_VALUE;
    private Supplier<RuntimeException> limitError;

    /**
     * @param maxDepth     deepest nesting allowed ({@code max_json_depth})
     * @param maxTokens    most tokens (names and values) allowed ({@code max_json_tokens})
     * @param maxNameBytes longest name in UTF-8 bytes ({@code max_field_name_bytes})
     */
    JsonPull(InputStream in, int maxDepth, int maxTokens, int maxNameBytes) {
        this.in = in;
        this.maxDepth = maxDepth;
        this.maxTokens = maxTokens;
        this.maxNameBytes = maxNameBytes;
        this.isObject = new boolean[maxDepth];
        this.state = new byte[maxDepth];
    }

    /** Bytes consumed so far. */
    long position() {
        return base + start;
    }

    /** Where the last value token began (its opening quote, bracket or first digit). */
    long tokenStart() {
        return tokenStart;
    }

    /**
     * Fails reading with {@code error} once the position passes {@code maxPosition} (checked as the input is
     * refilled and by {@link #checkLimit()}), so one value cannot make the reader hold more than about that.
     */
    void limit(long maxPosition, Supplier<RuntimeException> error) {
        this.limitPos = maxPosition;
        this.limitError = error;
    }

    /** Checks the limit exactly and removes it. */
    void checkLimit() {
        long max = limitPos;
        limitPos = Long.MAX_VALUE;
        if (position() > max) {
            throw limitError.get();
        }
    }

    /**
     * The next token, or null at the end of the input after the one top-level value. A {@link Token#STRING}'s
     * text is read by {@link #string}, {@link #stream} or skipped by the next call.
     */
    Token next() throws IOException {
        if (pendingString) {
            readString(null, Long.MAX_VALUE);
        }
        if (position() == 0 && !rootDone) {
            skipByteOrderMark();
        }
        skipWhitespace();
        if (depth == 0) {
            if (rootDone) {
                if (available()) {
                    throw syntax("unexpected content after the JSON value");
                }
                return null;
            }
            if (!available()) {
                throw syntax("unexpected end of input (no JSON value)");
            }
            return value();
        }
        int top = depth - 1;
        if (!available()) {
            throw syntax("unexpected end of input (expected " + (isObject[top] ? "'}'" : "']'") + ")");
        }
        byte c = buf[start];
        if (isObject[top]) {
            switch (state[top]) {
                case FIRST, AFTER_VALUE -> {
                    if (c == '}') {
                        start++;
                        return close();
                    }
                    if (state[top] == AFTER_VALUE) {
                        if (c != ',') {
                            throw syntax("expected ',' or '}' but found " + describe(c));
                        }
                        start++;
                        skipWhitespace();
                        if (!available()) {
                            throw syntax("unexpected end of input (expected a field name)");
                        }
                        c = buf[start];
                    }
                    if (c != '"') {
                        throw syntax("expected a field name but found " + describe(c));
                    }
                    start++;
                    count();
                    name = readName();
                    state[top] = AFTER_NAME;
                    return Token.NAME;
                }
                default -> {
                    if (c != ':') {
                        throw syntax("expected ':' but found " + describe(c));
                    }
                    start++;
                    skipWhitespace();
                    if (!available()) {
                        throw syntax("unexpected end of input (expected a value)");
                    }
                    state[top] = AFTER_VALUE;
                    return value();
                }
            }
        }
        if (c == ']' && state[top] == FIRST) {
            start++;
            return close();
        }
        if (state[top] == AFTER_VALUE) {
            if (c == ']') {
                start++;
                return close();
            }
            if (c != ',') {
                throw syntax("expected ',' or ']' but found " + describe(c));
            }
            start++;
            skipWhitespace();
            if (!available()) {
                throw syntax("unexpected end of input (expected a value)");
            }
        }
        state[top] = AFTER_VALUE;
        return value();
    }

    /** The name of the last {@link Token#NAME}. */
    String name() {
        return name;
    }

    /** The text of the last {@link Token#NUMBER}. */
    String numberText() {
        return number;
    }

    /** Reads the pending string value whole; {@code maxChars} bounds it (the error comes from {@code tooLong}). */
    String string(long maxChars, Supplier<RuntimeException> tooLong) throws IOException {
        requirePendingString();
        StringBuilder sb = new StringBuilder();
        readString(new Appender(sb, maxChars, tooLong), Long.MAX_VALUE);
        return sb.toString();
    }

    /** Streams the pending string value's characters to {@code sink} in batches, as they arrive. */
    void stream(Writer sink) throws IOException {
        requirePendingString();
        readString(sink, Long.MAX_VALUE);
        sink.flush();
    }

    private void requirePendingString() {
        if (!pendingString) {
            throw new IllegalStateException("no string value to read: call next() and check for Token.STRING");
        }
    }

    /**
     * Reads the value that starts with {@code t} (the token just returned by {@link #next()}) as plain Java:
     * {@code Map} (order kept), {@code List}, {@code String}, {@code Integer}/{@code Long}/{@code BigInteger},
     * {@code Double}, {@code Boolean} or null, as Jackson's {@code Object} binding does.
     */
    Object value(Token t) throws IOException {
        return switch (t) {
            case START_OBJECT -> {
                Map<String, Object> map = new LinkedHashMap<>();
                for (Token k = next(); k == Token.NAME; k = next()) {
                    String key = name;
                    map.put(key, value(next()));
                }
                yield map;
            }
            case START_ARRAY -> {
                List<Object> list = new ArrayList<>();
                for (Token v = next(); v != Token.END_ARRAY; v = next()) {
                    list.add(value(v));
                }
                yield list;
            }
            case STRING -> string(Long.MAX_VALUE, null);
            case NUMBER -> number(number);
            case TRUE -> Boolean.TRUE;
            case FALSE -> Boolean.FALSE;
            case NULL -> null;
            case END_OBJECT, END_ARRAY, NAME -> throw new IllegalStateException("not the start of a value: " + t);
        };
    }

    /** Skips the value that starts with {@code t}. */
    void skip(Token t) throws IOException {
        if (t != Token.START_OBJECT && t != Token.START_ARRAY) {
            return; // a pending string is skipped by the next call
        }
        int level = 1;
        while (level > 0) {
            Token n = next();
            if (n == Token.START_OBJECT || n == Token.START_ARRAY) {
                level++;
            } else if (n == Token.END_OBJECT || n == Token.END_ARRAY) {
                level--;
            }
        }
    }

    /** Checks that nothing but whitespace follows the top-level value. */
    void end() throws IOException {
        if (next() != null) {
            throw syntax("unexpected content after the JSON value");
        }
    }

    // ---------------------------------------------------------------- tokens

    private Token value() throws IOException {
        tokenStart = position();
        count();
        byte c = buf[start];
        Token t;
        switch (c) {
            case '{' -> {
                start++;
                open(true);
                return Token.START_OBJECT;
            }
            case '[' -> {
                start++;
                open(false);
                return Token.START_ARRAY;
            }
            case '"' -> {
                start++;
                pendingString = true;
                t = Token.STRING;
            }
            case 't' -> t = literal("true", Token.TRUE);
            case 'f' -> t = literal("false", Token.FALSE);
            case 'n' -> t = literal("null", Token.NULL);
            default -> {
                if (c != '-' && (c < '0' || c > '9')) {
                    throw syntax("unexpected " + describe(c));
                }
                number = readNumber();
                t = Token.NUMBER;
            }
        }
        if (depth == 0) {
            rootDone = true;
        }
        return t;
    }

    private void open(boolean object) {
        if (depth == maxDepth) {
            throw ProxyException.tooLarge(null, "the JSON body is nested deeper than " + maxDepth
                    + " levels (general_settings.max_json_depth)");
        }
        isObject[depth] = object;
        state[depth] = FIRST;
        depth++;
    }

    private Token close() {
        boolean object = isObject[--depth];
        if (depth == 0) {
            rootDone = true;
        }
        return object ? Token.END_OBJECT : Token.END_ARRAY;
    }

    private void count() {
        if (++tokens > maxTokens) {
            throw ProxyException.tooLarge(null, "the JSON body has more than " + maxTokens
                    + " tokens (general_settings.max_json_tokens)");
        }
    }

    private Token literal(String word, Token t) throws IOException {
        for (int i = 0; i < word.length(); i++) {
            if (!available() || buf[start] != word.charAt(i)) {
                throw syntax("invalid literal (expected '" + word + "')");
            }
            start++;
        }
        if (available() && isWordChar(buf[start])) {
            throw syntax("invalid literal (expected '" + word + "')");
        }
        return t;
    }

    private static boolean isWordChar(byte c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
                || c == '+' || c == '.';
    }

    private String readName() throws IOException {
        StringBuilder sb = new StringBuilder();
        // an escaped character takes at most 6 bytes for 3 UTF-8 bytes: bounded before decoding, exact after
        readString(new Appender(sb, maxNameBytes, this::nameTooLong), 6L * maxNameBytes + 6);
        String s = sb.toString();
        int bytes = s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > maxNameBytes) {
            throw nameTooLong();
        }
        return s;
    }

    private ProxyException nameTooLong() {
        return IntakeCounter.nameTooLong(maxNameBytes);
    }

    private String readNumber() throws IOException {
        long at = position();
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (!available()) {
                break;
            }
            byte c = buf[start];
            if (!(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')) {
                break;
            }
            if (sb.length() == MAX_NUMBER_CHARS) {
                throw syntax("number longer than " + MAX_NUMBER_CHARS + " characters", at);
            }
            sb.append((char) c);
            start++;
        }
        String s = sb.toString();
        if (!isJsonNumber(s)) {
            throw syntax("invalid number '" + (s.length() > 40 ? s.substring(0, 40) + "…" : s) + "'", at);
        }
        return s;
    }

    /** RFC 8259: {@code -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?}. */
    static boolean isJsonNumber(String s) {
        int i = 0;
        int n = s.length();
        if (i < n && s.charAt(i) == '-') {
            i++;
        }
        if (i == n) {
            return false;
        }
        if (s.charAt(i) == '0') {
            i++;
        } else if (s.charAt(i) >= '1' && s.charAt(i) <= '9') {
            while (i < n && Character.isDigit(s.charAt(i))) {
                i++;
            }
        } else {
            return false;
        }
        if (i < n && s.charAt(i) == '.') {
            int digits = ++i;
            while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                i++;
            }
            if (i == digits) {
                return false;
            }
        }
        if (i < n && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
            i++;
            if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
                i++;
            }
            int digits = i;
            while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                i++;
            }
            if (i == digits) {
                return false;
            }
        }
        return i == n;
    }

    /** Like Jackson's {@code Object} binding: the smallest integer type that fits, else a double. */
    static Object number(String s) {
        boolean integral = s.indexOf('.') < 0 && s.indexOf('e') < 0 && s.indexOf('E') < 0;
        if (!integral) {
            return Double.parseDouble(s);
        }
        if (s.length() <= 18) {
            long v = Long.parseLong(s);
            return v == (int) v ? (Object) (int) v : (Object) v;
        }
        BigInteger b = new BigInteger(s);
        return b.bitLength() < 64 ? (Object) b.longValue() : b;
    }

    // ---------------------------------------------------------------- strings

    /**
     * Reads string content after the opening quote up to the closing one, decoding escapes and UTF-8, into
     * {@code sink} (null: discard); at most {@code maxRawBytes} bytes of input.
     */
    private void readString(Writer sink, long maxRawBytes) throws IOException {
        pendingString = false;
        long startPos = position();
        char[] out = sink == null ? null : new char[Math.min(CHAR_BATCH, 256)];
        int len = 0;
        while (true) {
            if (start == end) {
                if (position() - startPos > maxRawBytes && sink instanceof Appender a) {
                    throw a.tooLong.get();
                }
                fill();
                if (start == end) {
                    throw syntax("unexpected end of input inside a string");
                }
            }
            int b = buf[start] & 0xff;
            int cp;
            if (b == '"') {
                start++;
                break;
            } else if (b == '\\') {
                start++;
                cp = escape();
            } else if (b < 0x20) {
                throw syntax("unescaped control character in a string");
            } else if (b < 0x80) {
                start++;
                cp = b;
            } else {
                cp = utf8(b);
            }
            if (out != null) {
                if (len + 2 > out.length) {
                    if (out.length < CHAR_BATCH) {
                        out = java.util.Arrays.copyOf(out, CHAR_BATCH);
                    } else {
                        sink.write(out, 0, len);
                        len = 0;
                    }
                }
                if (cp >= 0x10000) {
                    out[len++] = Character.highSurrogate(cp);
                    out[len++] = Character.lowSurrogate(cp);
                } else {
                    out[len++] = (char) cp;
                }
            }
        }
        if (out != null && len > 0) {
            sink.write(out, 0, len);
        }
    }

    private int escape() throws IOException {
        if (!available()) {
            throw syntax("unexpected end of input inside a string");
        }
        byte c = buf[start];
        int at = start++;
        return switch (c) {
            case '"' -> '"';
            case '\\' -> '\\';
            case '/' -> '/';
            case 'b' -> '\b';
            case 'f' -> '\f';
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case 'u' -> {
                int v = 0;
                for (int i = 0; i < 4; i++) {
                    if (!available()) {
                        throw syntax("unexpected end of input inside a string");
                    }
                    int d = Character.digit(buf[start], 16);
                    if (d < 0) {
                        throw syntax("invalid \\u escape");
                    }
                    start++;
                    v = v << 4 | d;
                }
                yield v; // surrogates pass through as the UTF-16 units they are
            }
            default -> {
                start = at; // the error names the offending byte
                throw syntax("invalid escape '\\" + (char) (c & 0xff) + "'");
            }
        };
    }

    private int utf8(int b) throws IOException {
        int need;
        int cp;
        int min;
        if (b >= 0xc2 && b <= 0xdf) {
            need = 1;
            cp = b & 0x1f;
            min = 0x80;
        } else if (b >= 0xe0 && b <= 0xef) {
            need = 2;
            cp = b & 0x0f;
            min = 0x800;
        } else if (b >= 0xf0 && b <= 0xf4) {
            need = 3;
            cp = b & 0x07;
            min = 0x10000;
        } else {
            throw syntax("invalid UTF-8");
        }
        start++;
        for (int i = 0; i < need; i++) {
            if (!available()) {
                throw syntax("unexpected end of input inside a string");
            }
            int c = buf[start] & 0xff;
            if ((c & 0xc0) != 0x80) {
                throw syntax("invalid UTF-8");
            }
            start++;
            cp = cp << 6 | (c & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            throw syntax("invalid UTF-8");
        }
        return cp;
    }

    /** Collects characters, failing past {@code max}. */
    private static final class Appender extends Writer {
        private final StringBuilder sb;
        private final long max;
        private final Supplier<RuntimeException> tooLong;

        Appender(StringBuilder sb, long max, Supplier<RuntimeException> tooLong) {
            this.sb = sb;
            this.max = max;
            this.tooLong = tooLong;
        }

        @Override
        public void write(char[] cbuf, int off, int len) {
            if (sb.length() + (long) len > max) {
                throw tooLong.get();
            }
            sb.append(cbuf, off, len);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }

    // ---------------------------------------------------------------- input

    /** RFC 8259 lets a parser ignore a UTF-8 byte order mark; some Windows tools write one. */
    private void skipByteOrderMark() throws IOException {
        if (available() && (buf[start] & 0xff) == 0xef) {
            while (end - start < 3 && !eof) {
                // the first read may return fewer than 3 bytes: keep what is there and read on
                int n = in.read(buf, end, buf.length - end);
                if (n < 0) {
                    eof = true;
                } else {
                    end += n;
                }
            }
            if (end - start >= 3 && (buf[start + 1] & 0xff) == 0xbb && (buf[start + 2] & 0xff) == 0xbf) {
                start += 3;
            }
        }
    }

    private void skipWhitespace() throws IOException {
        while (available()) {
            byte c = buf[start];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            start++;
        }
    }

    /** Whether a byte is buffered (reading more when needed). */
    private boolean available() throws IOException {
        if (start < end) {
            return true;
        }
        fill();
        return start < end;
    }

    private void fill() throws IOException {
        if (position() > limitPos) {
            limitPos = Long.MAX_VALUE;
            throw limitError.get();
        }
        if (eof) {
            return;
        }
        base += start;
        start = 0;
        end = 0;
        int n = in.read(buf, 0, buf.length);
        if (n < 0) {
            eof = true;
        } else {
            end = n;
        }
    }

    private ProxyException syntax(String what) {
        return syntax(what, position());
    }

    private static ProxyException syntax(String what, long at) {
        return ProxyException.badRequest("invalid_json", null, "invalid JSON body: " + what + " at byte " + at);
    }

    private static String describe(byte c) {
        return c >= 0x20 && c < 0x7f ? "'" + (char) c + "'" : String.format("byte 0x%02x", c & 0xff);
    }
}
