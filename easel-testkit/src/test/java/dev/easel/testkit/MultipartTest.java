package dev.easel.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MultipartTest {

    private static final String B = "cedb6a18a0f7463afa383230759056d9";

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void parse_pythonSdkBody_partsInWireOrderWithExactBytes() throws Exception {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, (byte) 0xff};
        String head = "--" + B + "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\np2\r\n"
                + "--" + B + "\r\nContent-Disposition: form-data; name=\"image[]\"; filename=\"a.png\"\r\n"
                + "Content-Type: image/png\r\n\r\n";
        String tail = "\r\n--" + B + "\r\nContent-Disposition: form-data; name=\"mask\"; filename=\"\"\r\n\r\n"
                + "m\r\n--" + B + "--\r\n";
        byte[] body = concat(bytes(head), png, bytes(tail));

        List<RecordedPart> parts = Multipart.parse(body, B);

        assertThat(parts).extracting(RecordedPart::name).containsExactly("prompt", "image[]", "mask");
        assertThat(parts.get(0).text()).isEqualTo("p2");
        assertThat(parts.get(0).filename()).isEmpty();
        assertThat(parts.get(0).contentType()).isEmpty();
        assertThat(parts.get(1).filename()).contains("a.png");
        assertThat(parts.get(1).contentType()).contains("image/png");
        assertThat(parts.get(1).bytes()).isEqualTo(png);
        assertThat(parts.get(2).filename()).isEqualTo(Optional.of(""));
        assertThat(parts.get(2).hasFilename()).isTrue();
        assertThat(parts.get(2).contentType()).isEmpty();
    }

    @Test
    void parse_dataContainingBoundaryWithoutLeadingCrlf_isKeptInPart() throws Exception {
        String body = "--" + B + "\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n"
                + "a--" + B + "\nb\r\n--" + B + "--";

        List<RecordedPart> parts = Multipart.parse(bytes(body), B);

        assertThat(parts).singleElement().extracting(RecordedPart::text).isEqualTo("a--" + B + "\nb");
    }

    @Test
    void parse_quotedEscapesAndFilenameStar_decoded() throws Exception {
        String body = "--" + B + "\r\ncontent-disposition: form-data; name=\"a\\\"b\"; filename=\"x.png\"; "
                + "filename*=UTF-8''%C3%A9t%C3%A9.png\r\ncontent-type: image/png\r\nX-Extra: 1\r\n\r\n"
                + "z\r\n--" + B + "--\r\n";

        RecordedPart part = Multipart.parse(bytes(body), B).getFirst();

        assertThat(part.name()).isEqualTo("a\"b");
        assertThat(part.filename()).contains("été.png");
        assertThat(part.header("x-extra")).contains("1");
        assertThat(part.headers()).containsKey("CONTENT-TYPE");
    }

    @Test
    void parse_emptyFormWithOnlyClosingBoundary_hasNoParts() throws Exception {
        assertThat(Multipart.parse(bytes("--" + B + "--"), B)).isEmpty();
    }

    @Test
    void parse_preamble_rejected() {
        assertThatThrownBy(() -> Multipart.parse(bytes("hello\r\n--" + B + "--\r\n"), B))
                .isInstanceOf(Multipart.MalformedException.class)
                .hasMessage("body must start with '--" + B + "' (found 'hello\\r\\n--cedb6a18a0f')");
    }

    @Test
    void parse_bareLfHeaders_rejected() {
        String body = "--" + B + "\nContent-Disposition: form-data; name=\"x\"\n\nv\r\n--" + B + "--\r\n";
        assertThatThrownBy(() -> Multipart.parse(bytes(body), B))
                .hasMessage("boundary line at offset 0 must end with CRLF (found '\\nContent-Disposition')");
    }

    @Test
    void parse_bareLfInsideHeaderBlock_rejected() {
        String body = "--" + B + "\r\nContent-Disposition: form-data; name=\"x\"\nContent-Type: a/b\r\n\r\nv\r\n--"
                + B + "--\r\n";
        assertThatThrownBy(() -> Multipart.parse(bytes(body), B))
                .hasMessageStartingWith("header of part 0 contains a bare CR or LF");
    }

    @Test
    void parse_missingClosingBoundary_rejected() {
        String body = "--" + B + "\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv";
        assertThatThrownBy(() -> Multipart.parse(bytes(body), B))
                .hasMessage("part 0 is not terminated by '\\r\\n--" + B + "'");
    }

    @Test
    void parse_garbageAfterClosingBoundary_rejected() {
        assertThatThrownBy(() -> Multipart.parse(bytes("--" + B + "--\r\nextra"), B))
                .hasMessage("unexpected bytes after the closing boundary: '\\r\\nextra'");
    }

    @Test
    void parse_paddingAfterBoundary_rejected() {
        String body = "--" + B + "  \r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--" + B + "--";
        assertThatThrownBy(() -> Multipart.parse(bytes(body), B))
                .hasMessageStartingWith("boundary line at offset 0 must end with CRLF");
    }

    @Test
    void parse_partWithoutDispositionOrName_rejected() {
        String noDisposition = "--" + B + "\r\nContent-Type: text/plain\r\n\r\nv\r\n--" + B + "--";
        String noName = "--" + B + "\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nv\r\n--" + B + "--";
        String attachment = "--" + B + "\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--" + B + "--";
        assertThatThrownBy(() -> Multipart.parse(bytes(noDisposition), B))
                .hasMessage("part 0 has no Content-Disposition header");
        assertThatThrownBy(() -> Multipart.parse(bytes(noName), B))
                .hasMessage("part 0 has no name in its Content-Disposition: 'form-data; filename=\"a\"'");
        assertThatThrownBy(() -> Multipart.parse(bytes(attachment), B))
                .hasMessage("part 0 has Content-Disposition type 'attachment', expected 'form-data'");
    }

    @Test
    void boundary_quotedAndPlain_extracted() throws Exception {
        assertThat(Multipart.boundary("multipart/form-data; boundary=----formdata-undici-0123")).isEqualTo(
                "----formdata-undici-0123");
        assertThat(Multipart.boundary("Multipart/Form-Data;charset=utf-8; boundary=\"a b'c\"")).isEqualTo("a b'c");
    }

    @Test
    void boundary_missingTooLongOrIllegal_rejected() {
        assertThatThrownBy(() -> Multipart.boundary("multipart/form-data"))
                .hasMessage("content type has no boundary parameter: 'multipart/form-data'");
        assertThatThrownBy(() -> Multipart.boundary("multipart/form-data; boundary=" + "x".repeat(71)))
                .hasMessage("boundary must be 1 to 70 characters (was 71)");
        assertThatThrownBy(() -> Multipart.boundary("multipart/form-data; boundary=a{b"))
                .hasMessage("boundary contains an illegal character '{': 'a{b'");
        assertThatThrownBy(() -> Multipart.boundary("application/json"))
                .hasMessage("content type is not multipart/form-data: 'application/json'");
    }

    private static byte[] concat(byte[]... arrays) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] a : arrays) {
            out.writeBytes(a);
        }
        return out.toByteArray();
    }
}
