package dev.easel.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link ChunkedJson} against Jackson (the reference): for random JSON texts, and for the same texts damaged at
 * random, cut into random chunks, both must accept or both refuse, and when they accept, see the same tokens.
 */
class ChunkedJsonTest {

    private static final JsonFactory JACKSON = new JsonFactory();

    @Test
    void agreesWithJacksonOnRandomDocuments() throws Exception {
        SplittableRandom rnd = new SplittableRandom(20261207);
        for (int round = 0; round < 3000; round++) {
            String doc = value(rnd, 0);
            byte[] bytes = (ws(rnd) + doc + ws(rnd)).getBytes(StandardCharsets.UTF_8);
            List<String> expected = jackson(bytes);
            assertThat(expected).as("the generator writes valid JSON: %s", doc).isNotNull();
            assertThat(ours(split(bytes, rnd))).as(doc).isEqualTo(expected);
        }
    }

    @Test
    void refusesWhatJacksonRefusesOnDamagedDocuments() throws Exception {
        SplittableRandom rnd = new SplittableRandom(7);
        String damage = "{}[]:,\"\\ \tnul0123456789-+.eEtrufas\u000bx";
        int refused = 0;
        for (int round = 0; round < 6000; round++) {
            byte[] bytes = value(rnd, 0).getBytes(StandardCharsets.UTF_8);
            int edits = 1 + rnd.nextInt(2);
            for (int e = 0; e < edits && bytes.length > 0; e++) {
                int at = rnd.nextInt(bytes.length);
                byte c = (byte) damage.charAt(rnd.nextInt(damage.length()));
                bytes = switch (rnd.nextInt(3)) {
                    case 0 -> remove(bytes, at);
                    case 1 -> insert(bytes, at, c);
                    default -> {
                        byte[] b = bytes.clone();
                        b[at] = c;
                        yield b;
                    }
                };
            }
            List<String> expected = jackson(bytes);
            List<String> actual = ours(split(bytes, rnd));
            String shown = new String(bytes, StandardCharsets.UTF_8);
            assertThat(actual).as(shown).isEqualTo(expected);
            if (expected == null) {
                refused++;
            }
        }
        assertThat(refused).as("damage that breaks the JSON").isGreaterThan(1000);
    }

    @Test
    void findsLongPlainStringsWhereTheyAreAcrossChunks() throws Exception {
        byte[] image = new byte[300_000];
        new SplittableRandom(3).nextBytes(image);
        String b64 = java.util.Base64.getEncoder().encodeToString(image);
        byte[] doc = ("{\"data\":[{\"b64_json\":\"" + b64 + "\",\"revised_prompt\":\"caf\\u00e9 \u00fcber\"}]}")
                .getBytes(StandardCharsets.UTF_8);
        ByteChunks body = split(doc, 65_536);
        ChunkedJson p = new ChunkedJson(body, 8);
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.START_OBJECT);
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.NAME);
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.START_ARRAY);
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.START_OBJECT);
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.NAME);
        assertThat(p.text()).isEqualTo("b64_json");
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.STRING);
        assertThat(p.plainAscii()).isTrue();
        assertThat(body.slices(p.stringFrom(), p.stringTo())).hasSizeGreaterThan(1);
        assertThat(new String(body.copy(p.stringFrom(), p.stringTo()), StandardCharsets.ISO_8859_1)).isEqualTo(b64);
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.NAME);
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.STRING);
        assertThat(p.plainAscii()).isFalse();
        assertThat(p.text()).isEqualTo("café über");
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.END_OBJECT);
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.END_ARRAY);
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.END_OBJECT);
        p.end();
    }

    @Test
    void readsLoneSurrogateEscapesAsJacksonReadsValues() throws Exception {
        assertThat(ours("[\"\\ud800x\\udc00\"]")).containsExactly("START_ARRAY", "STRING:\ud800x\udc00", "END_ARRAY");
        assertThat(ours("[\"\\ud83d\\ude00\"]")).containsExactly("START_ARRAY", "STRING:\ud83d\ude00", "END_ARRAY");
    }

    @Test
    void bodyBeingRead_isPulledAsTheParserGoes_andReadFailuresAreNotMalformedJson() throws Exception {
        byte[] image = new byte[200_000];
        new SplittableRandom(9).nextBytes(image);
        byte[] doc = ("{\"b64_json\":\"" + java.util.Base64.getEncoder().encodeToString(image) + "\"}")
                .getBytes(StandardCharsets.US_ASCII);
        int[] served = {0};
        java.io.InputStream counting = new java.io.FilterInputStream(new java.io.ByteArrayInputStream(doc)) {
            @Override
            public int read(byte[] b, int off, int len) throws java.io.IOException {
                int n = super.read(b, off, Math.min(len, 1000)); // a trickle
                served[0] += Math.max(0, n);
                return n;
            }
        };
        ByteChunks body = ByteChunks.reading(counting, doc.length);
        ChunkedJson p = new ChunkedJson(body, 8);
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.START_OBJECT);
        assertThat(served[0]).as("only the first chunk read").isEqualTo(ByteChunks.MAX_CHUNK);
        p.next();
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.STRING);
        assertThat(body.count()).isEqualTo(5);
        assertThat(body.copy(p.stringFrom(), p.stringTo())).isEqualTo(java.util.Base64.getEncoder().encode(image));
        assertThat(p.next()).isEqualTo(ChunkedJson.Token.END_OBJECT);
        p.end();
        assertThat(body.length()).isEqualTo(doc.length);

        java.io.InputStream failing = new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(doc, 0, 100_000),
                new java.io.InputStream() {
                    @Override
                    public int read() throws java.io.IOException {
                        throw new java.io.IOException("connection reset");
                    }
                });
        ChunkedJson q = new ChunkedJson(ByteChunks.reading(failing, doc.length), 8);
        assertThatThrownBy(() -> tokens(q)).isExactlyInstanceOf(java.io.IOException.class)
                .hasMessage("connection reset");
    }

    @Test
    void namesWhatIsWrongAndWhere() {
        assertThatThrownBy(() -> ours("{\"a\":1,}")).hasMessage("expected a name in quotes (at byte 7)");
        assertThatThrownBy(() -> ours("{\"a\":\"x")).hasMessage("the body ends inside a string (at byte 7)");
        assertThatThrownBy(() -> ours("{\"a\":01}")).hasMessage("unexpected character '1' after a number (at byte 6)");
        assertThatThrownBy(() -> ours("{} {}")).hasMessage("content after the end of the JSON value (at byte 3)");
        assertThatThrownBy(() -> ours("[[[[1]]]]", 3)).hasMessage("nested deeper than 3 levels (at byte 4)");
        assertThatThrownBy(() -> ours("\"\\x\"")).hasMessage("invalid escape \\'x' (at byte 3)");
        assertThatThrownBy(() -> ours(new byte[] {'"', (byte) 0xc3, '"'}))
                .hasMessage("a string of the JSON body is not valid UTF-8 (at byte 1)");
    }

    private static List<String> ours(String doc) throws java.io.IOException {
        return ours(doc, 64);
    }

    private static List<String> ours(String doc, int depth) throws java.io.IOException {
        return tokens(new ChunkedJson(ByteChunks.of(doc.getBytes(StandardCharsets.UTF_8)), depth));
    }

    private static List<String> ours(byte[] doc) throws java.io.IOException {
        return tokens(new ChunkedJson(ByteChunks.of(doc), 64));
    }

    /** Our tokens, or null when refused. */
    private static List<String> ours(ByteChunks body) {
        try {
            return tokens(new ChunkedJson(body, 64));
        } catch (ChunkedJson.MalformedJsonException e) {
            return null;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> tokens(ChunkedJson p) throws java.io.IOException {
        List<String> out = new ArrayList<>();
        ChunkedJson.Token t;
        while ((t = p.next()) != null) {
            out.add(switch (t) {
                case NAME -> "NAME:" + p.text();
                case STRING -> "STRING:" + p.text();
                case NUMBER -> "NUMBER:" + p.numberText();
                default -> t.name();
            });
        }
        return out;
    }

    /** Jackson's tokens for exactly one JSON value, or null when it refuses (or finds more than one value). */
    private static List<String> jackson(byte[] doc) {
        List<String> out = new ArrayList<>();
        try (JsonParser p = JACKSON.createParser(doc)) {
            int depth = 0;
            JsonToken t;
            boolean done = false;
            while ((t = p.nextToken()) != null) {
                if (done) {
                    return null; // a second value
                }
                out.add(switch (t) {
                    case FIELD_NAME -> "NAME:" + p.currentName();
                    case VALUE_STRING -> "STRING:" + p.getText();
                    case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "NUMBER:" + p.getText();
                    case VALUE_TRUE -> "TRUE";
                    case VALUE_FALSE -> "FALSE";
                    case VALUE_NULL -> "NULL";
                    default -> t.name();
                });
                if (t.isStructStart()) {
                    depth++;
                } else if (t.isStructEnd()) {
                    depth--;
                }
                done = depth == 0;
            }
            return out.isEmpty() ? null : out;
        } catch (java.io.IOException e) {
            return null;
        }
    }

    private static ByteChunks split(byte[] bytes, SplittableRandom rnd) {
        switch (rnd.nextInt(4)) {
            case 0 -> {
                return ByteChunks.of(bytes);
            }
            case 1 -> { // being read, its length announced right, too short, too long or not at all
                long announced = List.of((long) bytes.length, bytes.length / 2L, bytes.length + 5L, -1L)
                        .get(rnd.nextInt(4));
                return ByteChunks.reading(new java.io.ByteArrayInputStream(bytes), announced);
            }
            default -> {
                // cut below
            }
        }
        List<byte[]> parts = new ArrayList<>();
        int at = 0;
        while (at < bytes.length) {
            int n = Math.min(bytes.length - at, rnd.nextInt(12)); // empty chunks too
            parts.add(java.util.Arrays.copyOfRange(bytes, at, at + n));
            at += n;
        }
        return ByteChunks.of(parts);
    }

    private static ByteChunks split(byte[] bytes, int size) {
        List<byte[]> parts = new ArrayList<>();
        for (int at = 0; at < bytes.length; at += size) {
            parts.add(java.util.Arrays.copyOfRange(bytes, at, Math.min(bytes.length, at + size)));
        }
        return ByteChunks.of(parts);
    }

    private static String value(SplittableRandom rnd, int depth) {
        int kind = depth > 4 ? 2 + rnd.nextInt(4) : rnd.nextInt(6);
        return switch (kind) {
            case 0 -> {
                StringBuilder s = new StringBuilder("{").append(ws(rnd));
                int n = rnd.nextInt(4);
                for (int i = 0; i < n; i++) {
                    s.append(i > 0 ? "," + ws(rnd) : "").append(string(rnd)).append(ws(rnd)).append(':')
                            .append(ws(rnd)).append(value(rnd, depth + 1)).append(ws(rnd));
                }
                yield s.append('}').toString();
            }
            case 1 -> {
                StringBuilder s = new StringBuilder("[").append(ws(rnd));
                int n = rnd.nextInt(4);
                for (int i = 0; i < n; i++) {
                    s.append(i > 0 ? "," + ws(rnd) : "").append(value(rnd, depth + 1)).append(ws(rnd));
                }
                yield s.append(']').toString();
            }
            case 2, 3 -> string(rnd);
            case 4 -> number(rnd);
            default -> List.of("true", "false", "null").get(rnd.nextInt(3));
        };
    }

    private static String string(SplittableRandom rnd) {
        StringBuilder s = new StringBuilder("\"");
        int n = rnd.nextInt(3) == 0 ? 20 + rnd.nextInt(60) : rnd.nextInt(8);
        for (int i = 0; i < n; i++) {
            switch (rnd.nextInt(10)) {
                case 0 -> s.append(List.of("\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t").get(rnd.nextInt(8)));
                case 1 -> { // not a surrogate: Jackson refuses a broken pair in a name (only there)
                    int u = rnd.nextInt(0x10000 - 0x800);
                    s.append(String.format("\\u%04x", u < 0xd800 ? u : u + 0x800));
                }
                case 2 -> s.append(List.of("é", "ü", "€", "中", "😀").get(rnd.nextInt(5)));
                default -> s.append("ABCabcxyz0189+/= _-".charAt(rnd.nextInt(19)));
            }
        }
        return s.append('"').toString();
    }

    private static String number(SplittableRandom rnd) {
        StringBuilder s = new StringBuilder();
        if (rnd.nextBoolean()) {
            s.append('-');
        }
        s.append(rnd.nextInt(5) == 0 ? "0" : Integer.toString(1 + rnd.nextInt(100000)));
        if (rnd.nextInt(3) == 0) {
            s.append('.').append(rnd.nextInt(1000));
        }
        if (rnd.nextInt(4) == 0) {
            s.append(rnd.nextBoolean() ? 'e' : 'E').append(List.of("", "+", "-").get(rnd.nextInt(3)))
                    .append(rnd.nextInt(30));
        }
        return s.toString();
    }

    private static String ws(SplittableRandom rnd) {
        return rnd.nextInt(3) == 0 ? List.of(" ", "\n", "\t ", "\r\n").get(rnd.nextInt(4)) : "";
    }

    private static byte[] remove(byte[] b, int at) {
        byte[] out = new byte[b.length - 1];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(b, at + 1, out, at, b.length - at - 1);
        return out;
    }

    private static byte[] insert(byte[] b, int at, byte c) {
        byte[] out = new byte[b.length + 1];
        System.arraycopy(b, 0, out, 0, at);
        out[at] = c;
        System.arraycopy(b, at, out, at + 1, b.length - at);
        return out;
    }
}
