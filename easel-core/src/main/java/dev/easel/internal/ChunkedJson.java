package dev.easel.internal;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A strict JSON pull parser (RFC 8259, one value, nothing but whitespace after it) over a {@link ByteChunks} body,
 * also one {@linkplain ByteChunks#reading being read} (chunks are pulled as the parser reaches them, and scanned
 * while they are in the CPU's cache), made for providers' answers: a string is found where it is, eight bytes at a time
 * ({@link JsonBytes#plainStringEnd}), and decoded only when asked for ({@link #text()}), so a megabyte of
 * {@code b64_json} costs one pass over its bytes and is then handed on as {@linkplain #stringFrom() positions} in
 * the body. Jackson skipping such a string scans it byte by byte after the scan that found it (the two hottest
 * Java methods of a proxied edit before this, docs/benchmarks.md); Jackson also wants the body in one array.
 *
 * <pre>{@code
 * ChunkedJson p = new ChunkedJson(body, 64);
 * if (p.next() == Token.START_OBJECT) {
 *     while (p.next() == Token.NAME) {
 *         String name = p.text();
 *         Token value = p.next();
 *         p.skipChildren(); // or read it
 *     }
 * }
 * p.end();
 * }</pre>
 *
 * <p>The read errors of a body being read are thrown as they are ({@link java.io.IOException}); a body that is
 * not JSON gets a {@link MalformedJsonException}. Escapes are checked while scanning; the UTF-8 of a string is checked when it is decoded. Internal API:
 * public only so that other Easel modules can use it.
 */
public final class ChunkedJson {

    /** What {@link #next()} found. */
    public enum Token { START_OBJECT, END_OBJECT, START_ARRAY, END_ARRAY, NAME, STRING, NUMBER, TRUE, FALSE, NULL }

    /** The bytes are not one JSON value; the message says what is wrong and at which byte. */
    public static final class MalformedJsonException extends java.io.IOException {
        MalformedJsonException(String message) {
            super(message);
        }
    }

    private static final int MAX_NUMBER_CHARS = 1000;
    private static final byte FIRST = 0;
    private static final byte AFTER_NAME = 1;
    private static final byte AFTER_VALUE = 2;
    private static final byte[] NONE = new byte[0];

    private final ByteChunks src;
    private final int maxDepth;
    private int chunk = -1;
    private byte[] buf = NONE;
    private int pos;
    private int lim;
    private long base;

    private final boolean[] isObject;
    private final byte[] state;
    private int depth;
    private boolean rootDone;
    private Token token;
    private long tokenStart = -1;
    private long strFrom;
    private long strTo;
    private boolean strPlain;
    private String number;

    /**
     * @param src      the body
     * @param maxDepth deepest nesting allowed
     */
    public ChunkedJson(ByteChunks src, int maxDepth) {
        this.src = src;
        this.maxDepth = maxDepth;
        this.isObject = new boolean[maxDepth];
        this.state = new byte[maxDepth];
    }

    /** The body read. */
    public ByteChunks source() {
        return src;
    }

    /** The token {@link #next()} returned last. */
    public Token token() {
        return token;
    }

    /** Where the current token starts in the body (its quote, its bracket, its first digit). */
    public long tokenStart() {
        return tokenStart;
    }

    /** Where the parser stands: just after the current token. */
    public long position() {
        return base + pos;
    }

    /** Where the current string's (or name's) characters start: after its opening quote. */
    public long stringFrom() {
        return strFrom;
    }

    /** Where the current string's characters end: at its closing quote. */
    public long stringTo() {
        return strTo;
    }

    /**
     * Whether the current string's bytes are its characters exactly: no escapes, only ASCII (base64 always is),
     * so they can be copied into JSON as they are.
     */
    public boolean plainAscii() {
        return strPlain;
    }

    /** The current number as written. */
    public String numberText() {
        if (token != Token.NUMBER) {
            throw new IllegalStateException("not on a number but on " + token);
        }
        return number;
    }

    /**
     * The next token; {@code null} at the end of the body after the value (and an error if anything but whitespace
     * follows it).
     */
    public Token next() throws java.io.IOException {
        int c = skipWhitespace();
        if (depth == 0) {
            if (rootDone) {
                if (c >= 0) {
                    throw malformed("content after the end of the JSON value");
                }
                return token = null;
            }
            if (c < 0) {
                throw malformed("no JSON value");
            }
            return value(c);
        }
        int level = depth - 1;
        if (isObject[level]) {
            switch (state[level]) {
                case FIRST -> {
                    if (c == '}') {
                        return end(Token.END_OBJECT);
                    }
                    return name(c, level);
                }
                case AFTER_NAME -> {
                    if (c != ':') {
                        throw malformed(c < 0 ? "the body ends after a name" : "expected ':' after a name");
                    }
                    pos++;
                    state[level] = AFTER_VALUE;
                    return value(skipWhitespace());
                }
                default -> {
                    if (c == '}') {
                        return end(Token.END_OBJECT);
                    }
                    if (c != ',') {
                        throw malformed(c < 0 ? "the body ends inside an object" : "expected ',' or '}'");
                    }
                    pos++;
                    return name(skipWhitespace(), level);
                }
            }
        }
        if (state[level] == FIRST) {
            if (c == ']') {
                return end(Token.END_ARRAY);
            }
        } else {
            if (c == ']') {
                return end(Token.END_ARRAY);
            }
            if (c != ',') {
                throw malformed(c < 0 ? "the body ends inside an array" : "expected ',' or ']'");
            }
            pos++;
            c = skipWhitespace();
        }
        state[level] = AFTER_VALUE;
        return value(c);
    }

    /** Skips the object or array the parser stands on (to its end token); nothing for any other token. */
    public void skipChildren() throws java.io.IOException {
        if (token != Token.START_OBJECT && token != Token.START_ARRAY) {
            return;
        }
        int target = depth - 1;
        while (depth > target) {
            next();
        }
    }

    /** Checks that nothing but whitespace follows the value that was read. */
    public void end() throws java.io.IOException {
        if (depth != 0 || !rootDone) {
            throw malformed("the JSON value was not read to its end");
        }
        if (next() != null) {
            throw malformed("content after the end of the JSON value");
        }
    }

    /** The current string or name, decoded (escapes, UTF-8: malformed UTF-8 is an error). */
    public String text() throws MalformedJsonException {
        if (token != Token.STRING && token != Token.NAME) {
            throw new IllegalStateException("not on a string but on " + token);
        }
        byte[] raw = src.copy(strFrom, strTo);
        if (strPlain) {
            return new String(raw, StandardCharsets.ISO_8859_1);
        }
        StringBuilder out = new StringBuilder(raw.length);
        int run = 0;
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] != '\\') {
                continue;
            }
            utf8(raw, run, i, out);
            char e = (char) raw[++i];
            switch (e) {
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'u' -> {
                    out.append((char) Integer.parseInt(new String(raw, i + 1, 4, StandardCharsets.ISO_8859_1), 16));
                    i += 4;
                }
                default -> out.append(e); // '"', '\\', '/' (checked while scanning)
            }
            run = i + 1;
        }
        utf8(raw, run, raw.length, out);
        return out.toString();
    }

    private void utf8(byte[] raw, int from, int to, StringBuilder out) throws MalformedJsonException {
        if (from == to) {
            return;
        }
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw, from, to - from));
            out.append(chars);
        } catch (CharacterCodingException e) {
            throw new MalformedJsonException("a string of the JSON body is not valid UTF-8 (at byte " + strFrom + ")");
        }
    }

    private Token name(int c, int level) throws java.io.IOException {
        if (c != '"') {
            throw malformed(c < 0 ? "the body ends inside an object" : "expected a name in quotes");
        }
        tokenStart = position();
        pos++;
        scanString();
        state[level] = AFTER_NAME;
        return token = Token.NAME;
    }

    private Token value(int c) throws java.io.IOException {
        tokenStart = position();
        switch (c) {
            case '{' -> {
                pos++;
                push(true);
                return token = Token.START_OBJECT;
            }
            case '[' -> {
                pos++;
                push(false);
                return token = Token.START_ARRAY;
            }
            case '"' -> {
                pos++;
                scanString();
                return scalar(Token.STRING);
            }
            case 't' -> {
                literal("true");
                return scalar(Token.TRUE);
            }
            case 'f' -> {
                literal("false");
                return scalar(Token.FALSE);
            }
            case 'n' -> {
                literal("null");
                return scalar(Token.NULL);
            }
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) {
                    number();
                    return scalar(Token.NUMBER);
                }
                throw malformed(c < 0 ? "the body ends where a value was expected" : "unexpected character "
                        + describe(c));
            }
        }
    }

    private Token scalar(Token t) {
        if (depth == 0) {
            rootDone = true;
        }
        return token = t;
    }

    private Token end(Token t) {
        tokenStart = position();
        pos++;
        depth--;
        if (depth == 0) {
            rootDone = true;
        }
        return token = t;
    }

    private void push(boolean object) throws MalformedJsonException {
        if (depth == maxDepth) {
            throw malformed("nested deeper than " + maxDepth + " levels");
        }
        isObject[depth] = object;
        state[depth] = FIRST;
        depth++;
    }

    /** After the opening quote: to just after the closing one. */
    private void scanString() throws java.io.IOException {
        strFrom = position();
        boolean plain = true;
        while (true) {
            if (pos == lim && !nextChunk()) {
                throw malformed("the body ends inside a string");
            }
            int i = JsonBytes.plainStringEnd(buf, pos, lim);
            pos = i;
            if (i == lim) {
                continue;
            }
            byte b = buf[i];
            if (b == '"') {
                strTo = position();
                pos++;
                strPlain = plain;
                return;
            }
            if (b == '\\') {
                plain = false;
                pos++;
                int e = read();
                switch (e) {
                    case '"', '\\', '/', 'b', 'f', 'n', 'r', 't' -> { }
                    case 'u' -> {
                        for (int k = 0; k < 4; k++) {
                            int h = read();
                            if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) {
                                throw malformed("a \\u escape without four hex digits");
                            }
                        }
                    }
                    default -> throw malformed(e < 0 ? "the body ends inside a string" : "invalid escape \\"
                            + describe(e));
                }
            } else if (b >= 0) {
                throw malformed("a control character (" + describe(b) + ") inside a string");
            } else {
                plain = false; // non-ASCII: UTF-8, checked when decoded
                pos++;
            }
        }
    }

    private void number() throws java.io.IOException {
        StringBuilder s = new StringBuilder(16);
        if (peek() == '-') {
            s.append((char) read());
        }
        int c = peek();
        if (c == '0') {
            s.append((char) read());
        } else if (c >= '1' && c <= '9') {
            digits(s);
        } else {
            throw malformed("a number without digits");
        }
        if (peek() == '.') {
            s.append((char) read());
            if (!isDigit(peek())) {
                throw malformed("a number without digits after '.'");
            }
            digits(s);
        }
        c = peek();
        if (c == 'e' || c == 'E') {
            s.append((char) read());
            c = peek();
            if (c == '+' || c == '-') {
                s.append((char) read());
            }
            if (!isDigit(peek())) {
                throw malformed("a number without digits in its exponent");
            }
            digits(s);
        }
        delimiter("number");
        number = s.toString();
    }

    private void digits(StringBuilder s) throws java.io.IOException {
        while (isDigit(peek())) {
            if (s.length() == MAX_NUMBER_CHARS) {
                throw malformed("a number longer than " + MAX_NUMBER_CHARS + " characters");
            }
            s.append((char) read());
        }
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    private void literal(String word) throws java.io.IOException {
        for (int i = 0; i < word.length(); i++) {
            if (read() != word.charAt(i)) {
                throw malformed("invalid literal (expected '" + word + "')");
            }
        }
        delimiter("'" + word + "'");
    }

    /** A number or literal must be followed by whitespace, a separator, a closing bracket or the end. */
    private void delimiter(String what) throws java.io.IOException {
        int c = peek();
        if (!(c < 0 || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ']' || c == '}')) {
            throw malformed("unexpected character " + describe(c) + " after a " + what);
        }
    }

    private int skipWhitespace() throws java.io.IOException {
        while (true) {
            int c = peek();
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return c;
            }
            pos++;
        }
    }

    private int peek() throws java.io.IOException {
        if (pos == lim && !nextChunk()) {
            return -1;
        }
        return buf[pos] & 0xff;
    }

    private int read() throws java.io.IOException {
        int c = peek();
        if (c >= 0) {
            pos++;
        }
        return c;
    }

    private boolean nextChunk() throws java.io.IOException {
        while (chunk + 1 < src.count() || src.pull()) {
            chunk++;
            buf = src.chunk(chunk);
            lim = src.chunkLength(chunk);
            base = src.chunkStart(chunk);
            pos = 0;
            if (lim > 0) {
                return true;
            }
        }
        buf = NONE; // the end (for now: a body being read may have more once pulled)
        pos = 0;
        lim = 0;
        base = src.length();
        return false;
    }

    private static String describe(int c) {
        return c >= 0x20 && c < 0x7f ? "'" + (char) c + "'" : String.format("0x%02x", c & 0xff);
    }

    private MalformedJsonException malformed(String what) {
        return new MalformedJsonException(what + " (at byte " + position() + ")");
    }
}
