package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.easel.testkit.Seeds;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Properties of {@link MultipartParser} over generated bodies (seeded, see {@link Seeds}): any boundary RFC 2046
 * allows, any field order, part sizes from empty to several parser buffers, binary content full of near-miss
 * delimiters, and any way the body is cut into reads give exactly the parts that were written; broken bodies
 * always give {@link MultipartParser.MalformedException} (or the 413 for oversized headers), the same under every
 * chunking, and never hang.
 */
class MultipartParserPropertyTest {

    /** RFC 2046 {@code bchars}; a space may not end a boundary. */
    private static final String BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";
    private static final int MAX_HEADER_BYTES = 16 * 1024;

    static Stream<Long> validSeeds() {
        return Seeds.of("multipart.valid", 300);
    }

    static Stream<Long> truncatedSeeds() {
        return Seeds.of("multipart.truncated", 300);
    }

    static Stream<Long> brokenSeeds() {
        return Seeds.of("multipart.broken", 300);
    }

    static Stream<Long> mutatedSeeds() {
        return Seeds.of("multipart.mutated", 300);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("validSeeds")
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void anyBoundaryChunkingAndFieldOrder_giveExactlyThePartsWritten(long seed) {
        Seeds.check(seed, random -> {
            Body body = Body.generate(random);

            List<Parsed> whole = parse(body.boundary, new Chunked(body.bytes, new int[0]));

            assertThat(whole).extracting(Parsed::expected).containsExactlyElementsOf(body.parts);
            for (Chunking chunking : chunkings(random, body.boundary, body.bytes)) {
                assertThat(parse(body.boundary, new Chunked(body.bytes, chunking.cuts))).as(chunking.name)
                        .isEqualTo(whole);
            }
            // the header the client sends names the same boundary
            assertThat(MultipartParser.boundary("multipart/form-data; boundary=\"" + body.boundary + "\""))
                    .isEqualTo(body.boundary);
        });
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("truncatedSeeds")
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void bodyCutBeforeTheClosingBoundaryEnds_isMalformed_underEveryChunking(long seed) {
        Seeds.check(seed, random -> {
            Body body = Body.generate(random);
            byte[] cut = Arrays.copyOf(body.bytes, random.nextInt(body.closeEnd));

            assertSameFailureUnderEveryChunking(random, body.boundary, cut, MultipartParser.MalformedException.class);
        });
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("brokenSeeds")
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void brokenHeadersOrSeparators_areMalformed_underEveryChunking(long seed) {
        Seeds.check(seed, random -> {
            String boundary = Body.boundary(random);
            Breakage breakage = Breakage.values()[random.nextInt(Breakage.values().length)];
            byte[] bytes = breakage.body(random, boundary);

            assertSameFailureUnderEveryChunking(random, boundary, bytes, breakage.error);
        });
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("mutatedSeeds")
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void randomlyMutatedBody_parsesOrIsMalformed_theSameUnderEveryChunking(long seed) {
        Seeds.check(seed, random -> {
            Body body = Body.generate(random);
            byte[] bytes = body.bytes.clone();
            for (int i = 0, n = 1 + random.nextInt(8); i < n && bytes.length > 0; i++) {
                int at = random.nextInt(bytes.length);
                bytes[at] = switch (random.nextInt(4)) {
                    case 0 -> (byte) '\r';
                    case 1 -> (byte) '\n';
                    case 2 -> (byte) '-';
                    default -> (byte) random.nextInt(256);
                };
            }
            // outcome() already fails on any exception but the parser's own
            Outcome whole = outcome(body.boundary, new Chunked(bytes, new int[0]));
            for (Chunking chunking : chunkings(random, body.boundary, bytes)) {
                assertThat(outcome(body.boundary, new Chunked(bytes, chunking.cuts)).summary()).as(chunking.name)
                        .isEqualTo(whole.summary());
            }
        });
    }

    // ---------------------------------------------------------------- checks

    private static void assertSameFailureUnderEveryChunking(Random random, String boundary, byte[] bytes,
                                                            Class<? extends Exception> expected) {
        Outcome whole = outcome(boundary, new Chunked(bytes, new int[0]));
        assertThat(whole.error()).as("parsing %s", printable(bytes)).isPresent();
        assertThat(whole.error().get()).isInstanceOf(expected);
        for (Chunking chunking : chunkings(random, boundary, bytes)) {
            assertThat(outcome(boundary, new Chunked(bytes, chunking.cuts)).summary())
                    .as("%s of %s", chunking.name, printable(bytes)).isEqualTo(whole.summary());
        }
    }

    /** The parts or the exception a parse ends with; anything but the parser's own errors fails the test. */
    private record Outcome(List<Parsed> parts, Optional<Exception> error) {
        String summary() {
            return error.map(e -> e.getClass().getSimpleName() + ": " + e.getMessage()).orElse(parts.toString());
        }
    }

    private static Outcome outcome(String boundary, Chunked in) {
        try {
            return new Outcome(parse(boundary, in), Optional.empty());
        } catch (MultipartParser.MalformedException e) {
            return new Outcome(List.of(), Optional.of(e));
        } catch (ProxyException e) {
            assertThat(e.getMessage()).contains("max_part_header_bytes");
            return new Outcome(List.of(), Optional.of(e));
        } catch (IOException | RuntimeException e) {
            throw new AssertionError("the parser threw " + e + " instead of a MalformedException", e);
        }
    }

    /** A part as the parser delivered it. */
    record Parsed(MultipartParser.PartHeaders headers, byte[] bytes) {
        Part expected() {
            return new Part(headers.name(), Optional.ofNullable(headers.fileName()),
                    Optional.ofNullable(headers.contentType()), bytes);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Parsed p && p.headers.equals(headers) && Arrays.equals(p.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return headers.hashCode() * 31 + Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return headers + " " + bytes.length + " bytes";
        }
    }

    private static List<Parsed> parse(String boundary, InputStream in) throws IOException {
        List<Parsed> parts = new ArrayList<>();
        new MultipartParser(in, boundary, MAX_HEADER_BYTES).parse(h -> {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            return new MultipartParser.PartSink() {
                @Override
                public void write(byte[] b, int off, int len) {
                    assertThat(len).isPositive();
                    buf.write(b, off, len);
                }

                @Override
                public void end() {
                    parts.add(new Parsed(h, buf.toByteArray()));
                }
            };
        });
        return parts;
    }

    // ---------------------------------------------------------------- chunkings

    /**
     * Ways to cut {@code body} into reads: reads of random small and large sizes; cuts inside every delimiter
     * (at a random offset), between every CR and LF, and inside every multi-byte UTF-8 character; and, for
     * bodies that are small enough, one byte per read.
     */
    private static List<Chunking> chunkings(Random random, String boundary, byte[] b) {
        List<Chunking> out = new ArrayList<>();
        int small = 1 + random.nextInt(16);
        out.add(new Chunking("reads of 1.." + small + " bytes", randomSizes(random, b.length, small)));
        int large = 1 + random.nextInt(100_000);
        out.add(new Chunking("reads of 1.." + large + " bytes", randomSizes(random, b.length, large)));
        TreeSet<Integer> tricky = new TreeSet<>();
        byte[] dash = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < b.length; i++) {
            if (startsWith(b, i, dash)) {
                tricky.add(i + random.nextInt(dash.length + 1));
            }
            if (b[i] == '\r' && i + 1 < b.length && b[i + 1] == '\n') {
                tricky.add(i + 1);
            }
            if ((b[i] & 0xC0) == 0x80) { // a UTF-8 continuation byte (or binary): cut before it
                if (random.nextInt(4) == 0) {
                    tricky.add(i);
                }
            }
        }
        int[] cuts = tricky.stream().filter(i -> i > 0 && i < b.length).mapToInt(Integer::intValue).toArray();
        out.add(new Chunking("cuts inside boundaries, CRLFs and UTF-8 at " + Arrays.toString(cuts).substring(0,
                Math.min(200, Arrays.toString(cuts).length())), cuts));
        if (b.length <= 4_000) {
            int[] all = new int[Math.max(0, b.length - 1)];
            Arrays.setAll(all, i -> i + 1);
            out.add(new Chunking("one byte per read", all));
        }
        return out;
    }

    /** Where a body is cut into reads, and a description for failures. */
    private record Chunking(String name, int[] cuts) {
    }

    private static int[] randomSizes(Random random, int length, int maxRead) {
        List<Integer> cuts = new ArrayList<>();
        for (int at = 1 + random.nextInt(maxRead); at < length; at += 1 + random.nextInt(maxRead)) {
            cuts.add(at);
        }
        return cuts.stream().mapToInt(Integer::intValue).toArray();
    }

    private static boolean startsWith(byte[] b, int at, byte[] prefix) {
        if (at + prefix.length > b.length) {
            return false;
        }
        for (int j = 0; j < prefix.length; j++) {
            if (b[at + j] != prefix[j]) {
                return false;
            }
        }
        return true;
    }

    /** A body handed out in reads that end at the given cuts (sorted positions); a read never returns 0. */
    private static final class Chunked extends InputStream {
        private final byte[] data;
        private final int[] cuts;
        private int pos;
        private int nextCut;
        private int readsAfterEnd;

        Chunked(byte[] data, int[] cuts) {
            this.data = data;
            this.cuts = cuts;
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            if (pos >= data.length) {
                // a parser that keeps reading a finished stream is looping
                if (++readsAfterEnd > 1_000) {
                    fail("the parser read the finished body more than 1000 times");
                }
                return -1;
            }
            while (nextCut < cuts.length && cuts[nextCut] <= pos) {
                nextCut++;
            }
            int until = nextCut < cuts.length ? cuts[nextCut] : data.length;
            int n = Math.min(len, until - pos);
            System.arraycopy(data, pos, b, off, n);
            pos += n;
            return n;
        }
    }

    // ---------------------------------------------------------------- generated bodies

    /** A part as written: what the parser must deliver. */
    record Part(String name, Optional<String> fileName, Optional<String> contentType, byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Part p && p.name.equals(name) && p.fileName.equals(fileName)
                    && p.contentType.equals(contentType) && Arrays.equals(p.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return name.hashCode() * 31 + Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Part[" + name + ", " + fileName + ", " + contentType + ", " + bytes.length + " bytes]";
        }
    }

    /**
     * A generated body; {@code closeEnd} is where the closing delimiter's {@code --} ends (cut anywhere before it,
     * the body is incomplete).
     */
    record Body(String boundary, byte[] bytes, List<Part> parts, int closeEnd) {

        static String boundary(Random random) {
            int length = 1 + (random.nextInt(3) == 0 ? random.nextInt(70) : random.nextInt(12));
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < length; i++) {
                b.append(BCHARS.charAt(random.nextInt(BCHARS.length() - (i == length - 1 ? 1 : 0))));
            }
            return b.toString();
        }

        static Body generate(Random random) {
            String boundary = boundary(random);
            byte[] delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (random.nextInt(4) == 0) {
                out.writeBytes(preamble(random, boundary));
            }
            List<Part> parts = new ArrayList<>();
            int count = random.nextInt(6);
            for (int i = 0; i < count; i++) {
                Part part = part(random, boundary, delimiter);
                parts.add(part);
                out.writeBytes(("--" + boundary).getBytes(StandardCharsets.ISO_8859_1));
                out.writeBytes(padding(random));
                out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
                out.writeBytes(headers(random, part));
                out.writeBytes(part.bytes());
                out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
            }
            out.writeBytes(("--" + boundary + "--").getBytes(StandardCharsets.ISO_8859_1));
            int closeEnd = out.size();
            switch (random.nextInt(3)) {
                case 0 -> {
                    // no epilogue at all
                }
                case 1 -> out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
                default -> out.writeBytes(("\r\nepilogue --" + boundary + "\r\n--" + boundary + "--\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
            }
            return new Body(boundary, out.toByteArray(), parts, closeEnd);
        }

        /** Text before the first boundary; it holds the boundary only where it does not start a line. */
        private static byte[] preamble(Random random, String boundary) {
            StringBuilder p = new StringBuilder();
            for (int i = 0, n = 1 + random.nextInt(4); i < n; i++) {
                p.append(switch (random.nextInt(3)) {
                    case 0 -> "This is the preamble.";
                    case 1 -> "junk --" + boundary + " more junk";
                    default -> "x--" + boundary;
                }).append("\r\n");
            }
            return p.toString().getBytes(StandardCharsets.ISO_8859_1);
        }

        private static byte[] padding(Random random) {
            return random.nextInt(5) == 0 ? (random.nextBoolean() ? " \t " : "\t").getBytes(StandardCharsets.ISO_8859_1)
                    : new byte[0];
        }

        private static Part part(Random random, String boundary, byte[] delimiter) {
            String name = switch (random.nextInt(6)) {
                case 0 -> "image";
                case 1 -> "image[]";
                case 2 -> "mask";
                case 3 -> "prompt";
                case 4 -> "model";
                default -> text(random, 1 + random.nextInt(20));
            };
            Optional<String> fileName = random.nextBoolean() ? Optional.of(text(random, random.nextInt(30)))
                    : Optional.empty();
            Optional<String> contentType = switch (random.nextInt(4)) {
                case 0 -> Optional.of("image/png");
                case 1 -> Optional.of("application/octet-stream");
                case 2 -> Optional.of("text/plain; charset=utf-8");
                default -> Optional.empty();
            };
            return new Part(name, fileName, contentType, content(random, boundary, delimiter));
        }

        /** Text for names and file names: ASCII, quotes, backslashes, semicolons and multi-byte UTF-8. */
        private static String text(Random random, int length) {
            String[] pieces = {"a", "Z", "0", " ", ";", "=", "\"", "\\", "é", "日本", "😀", ".png", "-", "_", "["};
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < length; i++) {
                s.append(pieces[random.nextInt(pieces.length)]);
            }
            String t = s.toString().strip();
            return t.isEmpty() ? "f" : t;
        }

        /**
         * Content from empty to several parser buffers: random bytes mixed with CRs, LFs, dashes and pieces of the
         * delimiter, but never the delimiter itself (RFC 2046: it must not occur in a part).
         */
        private static byte[] content(Random random, String boundary, byte[] delimiter) {
            int size = switch (random.nextInt(10)) {
                case 0 -> 0;
                case 1 -> 70_000 + random.nextInt(150_000); // more than the parser's 64 KiB buffer
                case 2, 3 -> random.nextInt(4_000);
                default -> random.nextInt(200);
            };
            ByteArrayOutputStream c = new ByteArrayOutputStream();
            byte[] dashBoundary = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
            while (c.size() < size) {
                switch (random.nextInt(8)) {
                    case 0 -> c.writeBytes(Arrays.copyOf(delimiter, random.nextInt(delimiter.length)));
                    case 1 -> {
                        byte[] near = delimiter.clone();
                        near[random.nextInt(near.length)] ^= (byte) (1 + random.nextInt(255));
                        c.writeBytes(near);
                    }
                    case 2 -> c.writeBytes(dashBoundary);
                    case 3 -> c.writeBytes(new byte[] {'\r', '\n'});
                    case 4 -> c.write(random.nextBoolean() ? '\r' : '-');
                    default -> {
                        byte[] noise = new byte[1 + random.nextInt(size < 1000 ? 16 : 4096)];
                        random.nextBytes(noise);
                        c.writeBytes(noise);
                    }
                }
            }
            byte[] bytes = Arrays.copyOf(c.toByteArray(), size);
            return withoutDelimiter(bytes, delimiter);
        }

        /** Breaks every delimiter in {@code bytes} by changing its LF (which no boundary character is). */
        private static byte[] withoutDelimiter(byte[] bytes, byte[] delimiter) {
            for (int i = 0; i + delimiter.length <= bytes.length; i++) {
                if (startsWith(bytes, i, delimiter)) {
                    bytes[i + 1] = 0;
                }
            }
            return bytes;
        }

        private static byte[] headers(Random random, Part part) {
            String disposition = switch (random.nextInt(3)) {
                case 0 -> "Content-Disposition";
                case 1 -> "content-disposition";
                default -> "CONTENT-DISPOSITION";
            };
            List<String> params = new ArrayList<>();
            params.add("name=" + quoted(part.name()));
            part.fileName().ifPresent(f -> params.add("filename=" + quoted(f)));
            if (random.nextBoolean()) {
                java.util.Collections.reverse(params);
            }
            StringBuilder h = new StringBuilder(disposition).append(": form-data");
            for (String p : params) {
                h.append(random.nextBoolean() ? "; " : ";").append(p);
            }
            h.append("\r\n");
            if (random.nextInt(4) == 0) {
                h.append("Content-Transfer-Encoding: binary\r\n");
            }
            part.contentType().ifPresent(ct -> h.append(random.nextBoolean() ? "Content-Type: " : "content-type:")
                    .append(ct).append("\r\n"));
            h.append("\r\n");
            return h.toString().getBytes(StandardCharsets.UTF_8);
        }

        private static String quoted(String value) {
            return '"' + value.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
        }
    }

    /** Bodies that break the format in one known way, and the error each gives. */
    private enum Breakage {
        NO_BOUNDARY(MultipartParser.MalformedException.class) {
            @Override
            String text(Random random, String b) {
                return "Content-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n";
            }
        },
        NO_CLOSING_BOUNDARY(MultipartParser.MalformedException.class) {
            @Override
            String text(Random random, String b) {
                return part(b, "name=\"a\"", "1") + (random.nextBoolean() ? "--" + b + "\r\n" : "");
            }
        },
        HEADER_WITHOUT_COLON(MultipartParser.MalformedException.class) {
            @Override
            String text(Random random, String b) {
                return "--" + b + "\r\nContent-Disposition form-data; name=\"a\"\r\n\r\n1\r\n--" + b + "--";
            }
        },
        HEADER_STARTING_WITH_COLON(MultipartParser.MalformedException.class) {
            @Override
            String text(Random random, String b) {
                return "--" + b + "\r\n: x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--" + b + "--";
            }
        },
        NO_DISPOSITION(MultipartParser.MalformedException.class) {
            @Override
            String text(Random random, String b) {
                return "--" + b + "\r\nContent-Type: image/png\r\n\r\n1\r\n--" + b + "--";
            }
        },
        NO_NAME(MultipartParser.MalformedException.class) {
            @Override
            String text(Random random, String b) {
                return part(b, "filename=\"a.png\"", "1") + "--" + b + "--";
            }
        },
        BYTES_AFTER_BOUNDARY(MultipartParser.MalformedException.class) {
            @Override
            String text(Random random, String b) {
                return "--" + b + (random.nextBoolean() ? " x" : "Q") + "\r\nContent-Disposition: form-data; "
                        + "name=\"a\"\r\n\r\n1\r\n--" + b + "--";
            }
        },
        BARE_LF_HEADERS(MultipartParser.MalformedException.class) {
            @Override
            String text(Random random, String b) {
                return "--" + b + "\r\nContent-Disposition: form-data; name=\"a\"\n\n1\n--" + b + "--\n";
            }
        },
        HEADERS_TOO_LARGE(ProxyException.class) {
            @Override
            String text(Random random, String b) {
                return "--" + b + "\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: "
                        + "p".repeat(MAX_HEADER_BYTES + random.nextInt(100_000)) + "\r\n\r\n1\r\n--" + b + "--";
            }
        };

        final Class<? extends Exception> error;

        Breakage(Class<? extends Exception> error) {
            this.error = error;
        }

        abstract String text(Random random, String boundary);

        /** A few good parts, then the broken one. */
        byte[] body(Random random, String boundary) {
            StringBuilder good = new StringBuilder();
            if (this != NO_BOUNDARY) {
                for (int i = 0, n = random.nextInt(3); i < n; i++) {
                    good.append(part(boundary, "name=\"ok" + i + "\"", "v" + i));
                }
            }
            return (good + text(random, boundary)).getBytes(StandardCharsets.UTF_8);
        }

        static String part(String b, String params, String value) {
            return "--" + b + "\r\nContent-Disposition: form-data; " + params + "\r\n\r\n" + value + "\r\n";
        }
    }

    private static String printable(byte[] bytes) {
        String s = new String(bytes, 0, Math.min(bytes.length, 300), StandardCharsets.ISO_8859_1);
        return s.replace("\r", "\\r").replace("\n", "\\n") + (bytes.length > 300 ? "…" : "");
    }
}
