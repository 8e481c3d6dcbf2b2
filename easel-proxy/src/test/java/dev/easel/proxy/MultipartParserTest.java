package dev.easel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link MultipartParser} alone, on bodies that arrive in awkward pieces. */
class MultipartParserTest {

    private static final String B = RawMultipart.BOUNDARY;

    record Part(MultipartParser.PartHeaders headers, byte[] bytes) {
        String text() {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    @Test
    void parse_oneByteReads_boundarySplitAcrossEveryRead() throws IOException {
        byte[] binary = random(5_000, 1);
        byte[] body = new RawMultipart().text("prompt", "hello").file("image", "a.png", "image/png", binary)
                .text("model", "gpt-image-1").build();

        List<Part> parts = parse(new OneByteAtATime(body));

        assertThat(parts).extracting(p -> p.headers().name()).containsExactly("prompt", "image", "model");
        assertThat(parts.get(0).text()).isEqualTo("hello");
        assertThat(parts.get(1).bytes()).isEqualTo(binary);
        assertThat(parts.get(1).headers().fileName()).isEqualTo("a.png");
        assertThat(parts.get(1).headers().contentType()).isEqualTo("image/png");
        assertThat(parts.get(2).text()).isEqualTo("gpt-image-1");
    }

    @Test
    void parse_nearMissDelimitersAtEveryPosition_keptAsContent() throws IOException {
        // regression guard for the Boyer-Moore-Horspool search: the delimiter with any one byte changed,
        // and every proper prefix and suffix of it, is content
        byte[] delimiter = ("\r\n--" + B).getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        for (int i = 0; i < delimiter.length; i++) {
            byte[] near = delimiter.clone();
            near[i] = (byte) (near[i] ^ 0x20);
            content.writeBytes(near);
            content.writeBytes(java.util.Arrays.copyOf(delimiter, i));
            content.write(0); // never in a boundary
            content.writeBytes(java.util.Arrays.copyOfRange(delimiter, i + 1, delimiter.length));
        }
        content.writeBytes(random(200_000, 9));
        byte[] binary = content.toByteArray();
        byte[] body = new RawMultipart().file("image", "a.png", "image/png", binary).text("model", "m").build();

        List<Part> parts = parse(new RandomChunks(body, 11));

        assertThat(parts).extracting(p -> p.headers().name()).containsExactly("image", "model");
        assertThat(parts.get(0).bytes()).isEqualTo(binary);
        assertThat(parts.get(1).text()).isEqualTo("m");
    }

    @Test
    void parse_randomReadSizesOverSeveralBuffers_bytesIntact() throws IOException {
        byte[] big = random(300_000, 2); // several times the parser's 64 KiB buffer
        byte[] small = random(70_000, 3);
        byte[] body = new RawMultipart().file("image[]", "a.png", null, big).file("image[]", "b.png", null, small)
                .build();

        List<Part> parts = parse(new RandomChunks(body, 4));

        assertThat(parts).hasSize(2);
        assertThat(parts.get(0).bytes()).isEqualTo(big);
        assertThat(parts.get(1).bytes()).isEqualTo(small);
    }

    @Test
    void parse_crlfAndDelimiterPrefixesInsideBinary_keptAsContent() throws IOException {
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        content.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
        content.writeBytes(("\r\n--" + B.substring(0, B.length() - 1) + "X").getBytes(StandardCharsets.ISO_8859_1));
        content.writeBytes(("--" + B).getBytes(StandardCharsets.ISO_8859_1)); // boundary without leading CRLF
        content.writeBytes("\r\r\n\n\r\n-".getBytes(StandardCharsets.ISO_8859_1));
        content.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1)); // ends in CRLF right before the delimiter
        byte[] binary = content.toByteArray();
        byte[] body = new RawMultipart().file("image", "x.png", "image/png", binary).build();

        assertThat(parse(new ByteArrayInputStream(body)).getFirst().bytes()).isEqualTo(binary);
        assertThat(parse(new OneByteAtATime(body)).getFirst().bytes()).isEqualTo(binary);
    }

    @Test
    void parse_preambleAndEpilogue_ignored() throws IOException {
        byte[] body = concat("This is the preamble.\r\nIt is to be ignored.\r\n".getBytes(StandardCharsets.US_ASCII),
                new RawMultipart().text("prompt", "p").build(),
                "This is the epilogue; also ignored.\r\n--not-a-boundary--\r\n".getBytes(StandardCharsets.US_ASCII));

        List<Part> parts = parse(new OneByteAtATime(body));

        assertThat(parts).hasSize(1);
        assertThat(parts.getFirst().headers().name()).isEqualTo("prompt");
        assertThat(parts.getFirst().text()).isEqualTo("p");
    }

    @Test
    void parse_boundaryTextInsidePreambleLine_notTakenForTheBoundary() throws IOException {
        // "--boundary" in the middle of a preamble line is not a delimiter: a delimiter starts a line
        byte[] body = concat(("junk --" + B + " more junk\r\n").getBytes(StandardCharsets.US_ASCII),
                new RawMultipart().text("n", "2").build());

        List<Part> parts = parse(new ByteArrayInputStream(body));

        assertThat(parts).extracting(p -> p.headers().name()).containsExactly("n");
        assertThat(parts.getFirst().text()).isEqualTo("2");
    }

    @Test
    void parse_boundaryTextInsidePreambleLine_readByteByByte_notTakenForTheBoundary() throws IOException {
        // regression (found by MultipartParserPropertyTest): a read that ended inside "--boundary" in a preamble
        // line left the match at the start of the buffer, where it was taken for the body's first boundary
        byte[] body = concat(("junk --" + B + " more junk\r\n").getBytes(StandardCharsets.US_ASCII),
                new RawMultipart().text("n", "2").build());

        List<Part> parts = parse(new OneByteAtATime(body));

        assertThat(parts).extracting(p -> p.headers().name()).containsExactly("n");
        assertThat(parts.getFirst().text()).isEqualTo("2");
    }

    @Test
    void parse_utf8FileNameSplitAcrossReads_decodedWhole() throws IOException {
        // regression (found by MultipartParserPropertyTest): each read's piece of a header line was decoded on its
        // own, so a multi-byte character cut by a read became two replacement characters
        byte[] body = concat(utf8Part("filename=\"日本 é😀.png\"; name=\"image\"", new byte[] {1, 2}),
                ("--" + B + "--\r\n").getBytes(StandardCharsets.US_ASCII));

        List<Part> parts = parse(new OneByteAtATime(body));

        assertThat(parts.getFirst().headers().fileName()).isEqualTo("日本 é😀.png");
        assertThat(parts.getFirst().bytes()).containsExactly(1, 2);
    }

    @Test
    void parse_partHeaderLimit_countsBytesNotCharacters() {
        // 80 two-byte characters: about 140 characters of headers but 220 bytes, over a 200-byte limit
        byte[] body = concat(utf8Part("name=\"image\"; filename=\"" + "é".repeat(80) + "\"", new byte[] {1}),
                ("--" + B + "--\r\n").getBytes(StandardCharsets.US_ASCII));

        assertThatThrownBy(() -> new MultipartParser(new ByteArrayInputStream(body), B, 200).parse(h -> {
            throw new AssertionError("headers over the limit were accepted: " + h);
        }))
                .isInstanceOf(ProxyException.class)
                .hasMessage("a part's headers are larger than the limit of 200 bytes "
                        + "(general_settings.max_part_header_bytes)");
    }

    @Test
    void parse_emptyPartAndQuotedFileNameWithSemicolon() throws IOException {
        byte[] body = new RawMultipart()
                .raw("--" + B + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a; b \\\"c\\\".png\"\r\n"
                        + "\r\n\r\n")
                .text("prompt", "")
                .build();

        List<Part> parts = parse(new OneByteAtATime(body));

        assertThat(parts.get(0).headers().fileName()).isEqualTo("a; b \"c\".png");
        assertThat(parts.get(0).bytes()).isEmpty();
        assertThat(parts.get(1).text()).isEmpty();
    }

    @Test
    void parse_paddingAfterBoundary_allowed() throws IOException {
        byte[] body = ("--" + B + "  \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--" + B + "--")
                .getBytes(StandardCharsets.US_ASCII);

        assertThat(parse(new ByteArrayInputStream(body))).extracting(Part::text).containsExactly("1");
    }

    @Test
    void parse_truncatedInsidePart_isMalformed() {
        byte[] cut = new RawMultipart().file("image", "a.png", null, random(1000, 5)).unterminated();
        byte[] truncated = java.util.Arrays.copyOf(cut, cut.length - 10);

        assertThatThrownBy(() -> parse(new OneByteAtATime(truncated)))
                .isInstanceOf(MultipartParser.MalformedException.class)
                .hasMessage("multipart body ended inside a part");
    }

    @Test
    void parse_truncatedInsideHeaders_isMalformed() {
        byte[] body = ("--" + B + "\r\nContent-Disposition: form-data; na").getBytes(StandardCharsets.US_ASCII);

        assertThatThrownBy(() -> parse(new ByteArrayInputStream(body)))
                .isInstanceOf(MultipartParser.MalformedException.class)
                .hasMessage("multipart body ended inside part headers");
    }

    @Test
    void parse_garbageAfterBoundary_isMalformed() {
        byte[] body = ("--" + B + "xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--" + B + "--")
                .getBytes(StandardCharsets.US_ASCII);

        assertThatThrownBy(() -> parse(new ByteArrayInputStream(body)))
                .isInstanceOf(MultipartParser.MalformedException.class)
                .hasMessage("unexpected bytes after a multipart boundary");
    }

    @Test
    void parse_partWithoutName_isMalformed() {
        byte[] body = ("--" + B + "\r\nContent-Disposition: form-data; filename=\"a.png\"\r\n\r\n1\r\n--" + B + "--")
                .getBytes(StandardCharsets.US_ASCII);

        assertThatThrownBy(() -> parse(new ByteArrayInputStream(body)))
                .isInstanceOf(MultipartParser.MalformedException.class)
                .hasMessage("multipart part without a name");
    }

    @Test
    void boundary_fromContentType_quotedOrBare() {
        assertThat(MultipartParser.boundary("multipart/form-data; boundary=abc")).isEqualTo("abc");
        assertThat(MultipartParser.boundary("multipart/form-data; charset=utf-8; BOUNDARY=\"a b:c\"")).isEqualTo("a b:c");
        assertThat(MultipartParser.boundary("multipart/form-data")).isNull();
        assertThat(MultipartParser.boundary("multipart/form-data; boundary=")).isNull();
        assertThat(MultipartParser.boundary(null)).isNull();
    }

    private static List<Part> parse(InputStream in) throws IOException {
        List<Part> parts = new ArrayList<>();
        new MultipartParser(in, B, 16 * 1024).parse(h -> {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            return new MultipartParser.PartSink() {
                @Override
                public void write(byte[] b, int off, int len) {
                    buf.write(b, off, len);
                }

                @Override
                public void end() {
                    parts.add(new Part(h, buf.toByteArray()));
                }
            };
        });
        return parts;
    }

    /** A part whose headers are UTF-8, as browsers send them (RawMultipart writes ISO-8859-1). */
    private static byte[] utf8Part(String dispositionParams, byte[] content) {
        return concat(("--" + B + "\r\nContent-Disposition: form-data; " + dispositionParams + "\r\n\r\n")
                .getBytes(StandardCharsets.UTF_8), content, "\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] concat(byte[]... arrays) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] a : arrays) {
            out.writeBytes(a);
        }
        return out.toByteArray();
    }

    /** Hands out one byte per read, so every boundary and header is split across reads. */
    private static final class OneByteAtATime extends InputStream {
        private final byte[] data;
        private int pos;

        OneByteAtATime(byte[] data) {
            this.data = data;
        }

        @Override
        public int read() {
            return pos < data.length ? data[pos++] & 0xFF : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            if (pos >= data.length) {
                return -1;
            }
            b[off] = data[pos++];
            return 1;
        }
    }

    /** Reads of random sizes between 1 byte and 9 KiB. */
    private static final class RandomChunks extends InputStream {
        private final byte[] data;
        private final Random random;
        private int pos;

        RandomChunks(byte[] data, long seed) {
            this.data = data;
            this.random = new Random(seed);
        }

        @Override
        public int read() {
            return pos < data.length ? data[pos++] & 0xFF : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            if (pos >= data.length) {
                return -1;
            }
            int n = Math.min(Math.min(len, data.length - pos), 1 + random.nextInt(9 * 1024));
            System.arraycopy(data, pos, b, off, n);
            pos += n;
            return n;
        }
    }
}
