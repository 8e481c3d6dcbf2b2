package dev.easel.testkit;

import java.io.ByteArrayOutputStream;
import java.net.URLDecoder;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A strict multipart/form-data parser (RFC 7578 / RFC 2046 framing).
 *
 * <p>Stricter than the RFCs on purpose, because it is what proves that adapters send exact bytes: no preamble,
 * no transport padding after a boundary, CRLF line endings only (a bare LF is an error), no header folding,
 * and nothing but an optional CRLF after the closing boundary.
 */
final class Multipart {

    private static final byte[] CRLF = {'\r', '\n'};
    private static final String BCHARS =
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";

    private Multipart() {
    }

    /** Thrown when a body or Content-Type is not well-formed multipart/form-data. */
    static final class MalformedException extends Exception {
        MalformedException(String message) {
            super(message);
        }
    }

    /** Whether a Content-Type header names multipart/form-data. */
    static boolean isFormData(String contentType) {
        return contentType != null && mediaType(contentType).equals("multipart/form-data");
    }

    static String mediaType(String contentType) {
        int semi = contentType.indexOf(';');
        return (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
    }

    /** The boundary parameter of a multipart/form-data Content-Type. */
    static String boundary(String contentType) throws MalformedException {
        if (!isFormData(contentType)) {
            throw new MalformedException("content type is not multipart/form-data: '" + contentType + "'");
        }
        int semi = contentType.indexOf(';');
        Map<String, String> params = semi < 0 ? Map.of() : parameters(contentType.substring(semi + 1), "content type");
        String boundary = params.get("boundary");
        if (boundary == null) {
            throw new MalformedException("content type has no boundary parameter: '" + contentType + "'");
        }
        if (boundary.isEmpty() || boundary.length() > 70) {
            throw new MalformedException("boundary must be 1 to 70 characters (was " + boundary.length() + ")");
        }
        for (int i = 0; i < boundary.length(); i++) {
            if (BCHARS.indexOf(boundary.charAt(i)) < 0) {
                throw new MalformedException("boundary contains an illegal character '" + boundary.charAt(i)
                        + "': '" + boundary + "'");
            }
        }
        if (boundary.endsWith(" ")) {
            throw new MalformedException("boundary must not end with a space: '" + boundary + "'");
        }
        return boundary;
    }

    /** Splits a body into parts, in wire order. */
    static List<RecordedPart> parse(byte[] body, String boundary) throws MalformedException {
        byte[] dashBoundary = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        byte[] delimiter = concat(CRLF, dashBoundary);
        if (!startsWith(body, 0, dashBoundary)) {
            throw new MalformedException("body must start with '--" + boundary + "' (found '" + snippet(body, 0)
                    + "')");
        }
        List<RecordedPart> parts = new ArrayList<>();
        int pos = dashBoundary.length;
        while (true) {
            if (startsWith(body, pos, new byte[] {'-', '-'})) {
                int rest = body.length - (pos + 2);
                if (rest != 0 && !(rest == 2 && startsWith(body, pos + 2, CRLF))) {
                    throw new MalformedException("unexpected bytes after the closing boundary: '"
                            + snippet(body, pos + 2) + "'");
                }
                return parts;
            }
            if (!startsWith(body, pos, CRLF)) {
                throw new MalformedException("boundary line at offset " + (pos - dashBoundary.length)
                        + " must end with CRLF (found '" + snippet(body, pos) + "')");
            }
            pos += 2;
            int index = parts.size();
            Map<String, List<String>> headers = new LinkedHashMap<>();
            while (true) {
                int end = indexOf(body, CRLF, pos);
                if (end < 0) {
                    throw new MalformedException("headers of part " + index + " are not terminated by CRLF CRLF");
                }
                String line = new String(body, pos, end - pos, StandardCharsets.UTF_8);
                pos = end + 2;
                if (line.isEmpty()) {
                    break;
                }
                addHeader(headers, line, index);
            }
            int end = indexOf(body, delimiter, pos);
            if (end < 0) {
                throw new MalformedException("part " + index + " is not terminated by '\\r\\n--" + boundary + "'");
            }
            byte[] data = java.util.Arrays.copyOfRange(body, pos, end);
            pos = end + delimiter.length;
            parts.add(part(headers, data, index));
        }
    }

    private static void addHeader(Map<String, List<String>> headers, String line, int index)
            throws MalformedException {
        if (line.indexOf('\n') >= 0 || line.indexOf('\r') >= 0) {
            throw new MalformedException("header of part " + index + " contains a bare CR or LF: '"
                    + line.replace("\r", "\\r").replace("\n", "\\n") + "'");
        }
        if (line.charAt(0) == ' ' || line.charAt(0) == '\t') {
            throw new MalformedException("header of part " + index + " uses obsolete line folding: '" + line + "'");
        }
        int colon = line.indexOf(':');
        if (colon <= 0) {
            throw new MalformedException("header of part " + index + " has no name: '" + line + "'");
        }
        String name = line.substring(0, colon);
        if (!name.strip().equals(name)) {
            throw new MalformedException("header name of part " + index + " has whitespace: '" + name + "'");
        }
        headers.computeIfAbsent(name, k -> new ArrayList<>()).add(line.substring(colon + 1).strip());
    }

    private static RecordedPart part(Map<String, List<String>> rawHeaders, byte[] data, int index)
            throws MalformedException {
        Map<String, List<String>> headers = Headers.copyOf(rawHeaders);
        List<String> dispositions = headers.get("Content-Disposition");
        if (dispositions == null) {
            throw new MalformedException("part " + index + " has no Content-Disposition header");
        }
        if (dispositions.size() > 1) {
            throw new MalformedException("part " + index + " has " + dispositions.size()
                    + " Content-Disposition headers");
        }
        String disposition = dispositions.getFirst();
        int semi = disposition.indexOf(';');
        String type = (semi < 0 ? disposition : disposition.substring(0, semi)).trim();
        if (!type.equalsIgnoreCase("form-data")) {
            throw new MalformedException("part " + index + " has Content-Disposition type '" + type
                    + "', expected 'form-data'");
        }
        Map<String, String> params = semi < 0 ? Map.of()
                : parameters(disposition.substring(semi + 1), "Content-Disposition of part " + index);
        String name = params.get("name");
        if (name == null) {
            throw new MalformedException("part " + index + " has no name in its Content-Disposition: '"
                    + disposition + "'");
        }
        String filename = params.get("filename*") != null ? extValue(params.get("filename*"), index)
                : params.get("filename");
        List<String> types = headers.get("Content-Type");
        if (types != null && types.size() > 1) {
            throw new MalformedException("part " + index + " ('" + name + "') has " + types.size()
                    + " Content-Type headers");
        }
        return new RecordedPart(name, Optional.ofNullable(filename),
                Optional.ofNullable(types == null ? null : types.getFirst()), headers, data);
    }

    /** Parses {@code ; key=value; key="quoted"} parameter lists; keys are lower-cased. */
    private static Map<String, String> parameters(String s, String where) throws MalformedException {
        Map<String, String> params = new LinkedHashMap<>();
        int i = 0;
        int n = s.length();
        while (i < n) {
            while (i < n && (s.charAt(i) == ' ' || s.charAt(i) == '\t' || s.charAt(i) == ';')) {
                i++;
            }
            if (i >= n) {
                break;
            }
            int eq = s.indexOf('=', i);
            if (eq < 0) {
                throw new MalformedException(where + " has a parameter without '=': '" + s.substring(i).trim() + "'");
            }
            String key = s.substring(i, eq).trim().toLowerCase(Locale.ROOT);
            i = eq + 1;
            StringBuilder value = new StringBuilder();
            boolean quoted = i < n && s.charAt(i) == '"';
            if (quoted) {
                i++;
                boolean closed = false;
                while (i < n) {
                    char c = s.charAt(i++);
                    if (c == '\\' && i < n) {
                        value.append(s.charAt(i++));
                    } else if (c == '"') {
                        closed = true;
                        break;
                    } else {
                        value.append(c);
                    }
                }
                if (!closed) {
                    throw new MalformedException(where + " has an unterminated quoted value for '" + key + "'");
                }
                while (i < n && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
                    i++;
                }
                if (i < n && s.charAt(i) != ';') {
                    throw new MalformedException(where + " has unexpected text after the value of '" + key
                            + "': '" + s.substring(i) + "'");
                }
            } else {
                int semi = s.indexOf(';', i);
                int end = semi < 0 ? n : semi;
                value.append(s, i, end);
                i = end;
            }
            if (params.putIfAbsent(key, quoted ? value.toString() : value.toString().strip()) != null) {
                throw new MalformedException(where + " repeats the parameter '" + key + "'");
            }
        }
        return params;
    }

    /** Decodes an RFC 8187 {@code charset'lang'pct-encoded} value. */
    private static String extValue(String value, int index) throws MalformedException {
        int first = value.indexOf('\'');
        int second = first < 0 ? -1 : value.indexOf('\'', first + 1);
        if (second < 0) {
            throw new MalformedException("part " + index + " has a malformed filename*: '" + value + "'");
        }
        try {
            Charset charset = Charset.forName(value.substring(0, first));
            return URLDecoder.decode(value.substring(second + 1).replace("+", "%2B"), charset);
        } catch (IllegalArgumentException e) {
            throw new MalformedException("part " + index + " has a malformed filename*: '" + value + "'");
        }
    }

    private static boolean startsWith(byte[] a, int from, byte[] prefix) {
        if (from < 0 || from + prefix.length > a.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (a[from + i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private static int indexOf(byte[] a, byte[] needle, int from) {
        outer:
        for (int i = from; i <= a.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (a[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(a.length + b.length);
        out.writeBytes(a);
        out.writeBytes(b);
        return out.toByteArray();
    }

    private static String snippet(byte[] body, int from) {
        int end = Math.min(body.length, from + 20);
        if (from >= end) {
            return "";
        }
        return new String(body, from, end - from, StandardCharsets.ISO_8859_1)
                .replace("\r", "\\r").replace("\n", "\\n");
    }
}
