package dev.easel.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A streaming multipart/form-data parser: reads the request body once, hands each part's bytes to a
 * sink as they arrive (so parts can go straight to disk), and never holds more than one buffer in memory.
 * Unlike servlet helpers it treats a part without a file name as binary, like any other part.
 */
final class MultipartParser {

    /** Receives the parts in wire order. */
    interface Handler {
        /** A new part starts; returns where its bytes go. */
        PartSink begin(PartHeaders headers) throws IOException;
    }

    /** Where one part's bytes go. */
    interface PartSink {
        void write(byte[] buf, int off, int len) throws IOException;

        /** The part is complete. */
        void end() throws IOException;
    }

    /** A part's headers. */
    record PartHeaders(String name, String fileName, String contentType, Map<String, String> all) {
    }

    /** The body is not valid multipart. */
    static final class MalformedException extends IOException {
        private static final long serialVersionUID = 1L;

        MalformedException(String message) {
            super(message);
        }
    }

    private static final int BUF = 64 * 1024;

    private final InputStream in;
    private final int maxHeaderBytes;
    private final byte[] delimiter; // CRLF--boundary
    private final int[] skip; // Boyer-Moore-Horspool shift table for the delimiter
    private final byte[] buf;
    private int start;
    private int end;
    /** The length in bytes of the line {@link #readLine()} returned last. */
    private int lineBytes;
    private boolean eof;

    /** A parser whose parts' headers may take at most {@code maxHeaderBytes} each ({@code max_part_header_bytes}). */
    MultipartParser(InputStream in, String boundary, int maxHeaderBytes) {
        this.in = in;
        this.maxHeaderBytes = maxHeaderBytes;
        this.delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        this.buf = new byte[Math.max(BUF, delimiter.length * 4)];
        this.skip = shifts(delimiter);
    }

    static int[] shifts(byte[] pattern) {
        int[] t = new int[256];
        java.util.Arrays.fill(t, pattern.length);
        for (int i = 0; i < pattern.length - 1; i++) {
            t[pattern[i] & 0xff] = pattern.length - 1 - i;
        }
        return t;
    }

    /** Extracts the boundary from a Content-Type header, or null. */
    static String boundary(String contentType) {
        if (contentType == null) {
            return null;
        }
        for (String p : contentType.split(";")) {
            String t = p.trim();
            if (t.regionMatches(true, 0, "boundary=", 0, 9)) {
                String b = t.substring(9).trim();
                if (b.length() >= 2 && b.startsWith("\"") && b.endsWith("\"")) {
                    b = b.substring(1, b.length() - 1);
                }
                return b.isEmpty() || b.length() > 200 ? null : b;
            }
        }
        return null;
    }

    /** Parses the whole body. */
    void parse(Handler handler) throws IOException {
        // The body starts with --boundary (no leading CRLF); allow a preamble before it.
        skipPreamble();
        while (true) {
            // after a delimiter: either "--" (end) or CRLF then headers
            fill(2);
            if (end - start < 2) {
                throw new MalformedException("multipart body ended without a closing boundary");
            }
            if (buf[start] == '-' && buf[start + 1] == '-') {
                start += 2;
                drain();
                return;
            }
            skipTransportPadding();
            PartHeaders headers = readHeaders();
            PartSink sink = handler.begin(headers);
            copyUntilDelimiter(sink);
            sink.end();
        }
    }

    private void skipPreamble() throws IOException {
        // The first boundary is "--boundary" at the very start of the body or at the start of a preamble line.
        byte[] first = Arrays.copyOfRange(delimiter, 2, delimiter.length);
        boolean atBodyStart = true; // nothing skipped yet: a match at `start` is at the start of the body
        while (true) {
            fill(first.length);
            if (end - start < first.length) {
                throw new MalformedException("multipart body has no boundary");
            }
            int at = indexOf(first, start, end);
            if (at >= 0 && ((at == start && atBodyStart)
                    || (at >= start + 2 && buf[at - 2] == '\r' && buf[at - 1] == '\n'))) {
                start = at + first.length;
                return;
            }
            atBodyStart = false;
            if (at >= 0) {
                start = at + 1;
                continue;
            }
            // keep what may be the start of a match, and the CRLF before it, for the next read: whether a match
            // counts must not depend on where a read ended
            start = Math.max(start, end - first.length - 1);
            if (eof) {
                throw new MalformedException("multipart body has no boundary");
            }
            compactAndRead(); // fill() alone would not read: what is kept may already be first.length bytes
        }
    }

    private void skipTransportPadding() throws IOException {
        // Linear whitespace may follow the boundary before CRLF.
        while (true) {
            fill(2);
            if (end - start < 2) {
                throw new MalformedException("multipart body ended inside a boundary line");
            }
            if (buf[start] == '\r' && buf[start + 1] == '\n') {
                start += 2;
                return;
            }
            if (buf[start] == ' ' || buf[start] == '\t') {
                start++;
                continue;
            }
            throw new MalformedException("unexpected bytes after a multipart boundary");
        }
    }

    private PartHeaders readHeaders() throws IOException {
        Map<String, String> all = new LinkedHashMap<>();
        int total = 0;
        while (true) {
            String line = readLine();
            total += lineBytes + 2; // bytes as sent, like the partial check in readLine
            if (total > maxHeaderBytes) {
                throw headersTooLarge();
            }
            if (line.isEmpty()) {
                break;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new MalformedException("malformed multipart header line");
            }
            all.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        String disposition = all.get("content-disposition");
        if (disposition == null) {
            throw new MalformedException("multipart part without Content-Disposition");
        }
        String name = dispositionParam(disposition, "name");
        if (name == null) {
            throw new MalformedException("multipart part without a name");
        }
        String fileName = dispositionParam(disposition, "filename");
        return new PartHeaders(name, fileName, all.get("content-type"), all);
    }

    private ProxyException headersTooLarge() {
        return ProxyException.tooLarge(null, "a part's headers are larger than the limit of " + maxHeaderBytes
                + " bytes (general_settings.max_part_header_bytes)");
    }

    /** Reads {@code key="value"} or {@code key=value} from a Content-Disposition header. */
    static String dispositionParam(String header, String key) {
        int i = 0;
        int n = header.length();
        while (i < n) {
            int semi = header.indexOf(';', i);
            if (semi < 0) {
                return null;
            }
            i = semi + 1;
            while (i < n && header.charAt(i) == ' ') {
                i++;
            }
            int eq = header.indexOf('=', i);
            if (eq < 0) {
                return null;
            }
            String k = header.substring(i, eq).trim();
            int v = eq + 1;
            String value;
            if (v < n && header.charAt(v) == '"') {
                StringBuilder sb = new StringBuilder();
                int j = v + 1;
                while (j < n && header.charAt(j) != '"') {
                    char c = header.charAt(j);
                    if (c == '\\' && j + 1 < n) {
                        c = header.charAt(++j);
                    }
                    sb.append(c);
                    j++;
                }
                value = sb.toString();
                i = j + 1;
            } else {
                int j = header.indexOf(';', v);
                value = (j < 0 ? header.substring(v) : header.substring(v, j)).trim();
                i = j < 0 ? n : j;
            }
            if (k.equalsIgnoreCase(key)) {
                return value;
            }
        }
        return null;
    }

    private String readLine() throws IOException {
        // bytes, decoded once the line is complete: a read may end inside a multi-byte UTF-8 character
        java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
        while (true) {
            fill(1);
            if (start >= end) {
                throw new MalformedException("multipart body ended inside part headers");
            }
            int idx = -1;
            for (int i = start; i + 1 < end; i++) {
                if (buf[i] == '\r' && buf[i + 1] == '\n') {
                    idx = i;
                    break;
                }
            }
            if (idx >= 0) {
                line.write(buf, start, idx - start);
                start = idx + 2;
                lineBytes = line.size();
                return line.toString(StandardCharsets.UTF_8);
            }
            // keep a trailing CR for the next round
            int keep = buf[end - 1] == '\r' ? 1 : 0;
            line.write(buf, start, end - start - keep);
            start = end - keep;
            if (line.size() > maxHeaderBytes) {
                throw headersTooLarge();
            }
            if (eof) {
                throw new MalformedException("multipart body ended inside part headers");
            }
            compactAndRead();
        }
    }

    private void copyUntilDelimiter(PartSink sink) throws IOException {
        while (true) {
            fill(delimiter.length);
            int at = indexOf(delimiter, start, end);
            if (at >= 0) {
                if (at > start) {
                    sink.write(buf, start, at - start);
                }
                start = at + delimiter.length;
                return;
            }
            if (eof) {
                throw new MalformedException("multipart body ended inside a part");
            }
            // everything but a possible delimiter prefix at the end is content
            int safe = end - delimiter.length + 1;
            if (safe > start) {
                sink.write(buf, start, safe - start);
                start = safe;
            }
            compactAndRead();
        }
    }

    private void drain() throws IOException {
        // epilogue: read and ignore what is left, so the connection can be reused
        start = end;
        byte[] skip = new byte[8192];
        while (in.read(skip) >= 0) {
            // discard
        }
        eof = true;
    }

    private int indexOf(byte[] pattern, int from, int to) {
        if (pattern != delimiter) {
            return naiveIndexOf(pattern, from, to);
        }
        // Boyer-Moore-Horspool: image bytes rarely match the delimiter's last byte, so the search moves
        // by up to the delimiter's length per step instead of one byte (profiled in docs/benchmarks.md)
        int m = pattern.length;
        int last = m - 1;
        int i = from;
        while (i <= to - m) {
            byte b = buf[i + last];
            if (b == pattern[last]) {
                int j = last - 1;
                while (j >= 0 && buf[i + j] == pattern[j]) {
                    j--;
                }
                if (j < 0) {
                    return i;
                }
            }
            i += skip[b & 0xff];
        }
        return -1;
    }

    private int naiveIndexOf(byte[] pattern, int from, int to) {
        outer:
        for (int i = from; i <= to - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (buf[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** Ensures at least {@code n} bytes are buffered unless the stream ends. */
    private void fill(int n) throws IOException {
        while (end - start < n && !eof) {
            compactAndRead();
        }
    }

    private void compactAndRead() throws IOException {
        if (start > 0) {
            System.arraycopy(buf, start, buf, 0, end - start);
            end -= start;
            start = 0;
        }
        if (end == buf.length) {
            return;
        }
        int r = in.read(buf, end, buf.length - end);
        if (r < 0) {
            eof = true;
        } else {
            end += r;
        }
    }
}
