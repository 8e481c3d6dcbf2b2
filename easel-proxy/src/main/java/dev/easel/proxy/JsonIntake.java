package dev.easel.proxy;

import dev.easel.proxy.JsonPull.Token;
import dev.easel.validate.EditInput;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Writer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON form of an edit ({@code Content-Type: application/json}): {@code images: [{image_url}]},
 * {@code mask: {image_url}}, and the other fields as JSON values. Image URLs are {@code data:} URLs
 * (decoded while they are read, straight into the spool: a 20 MB data URL is never held as text, see
 * {@link JsonPull}) or, when {@code general_settings.allow_image_urls} is on, http(s) URLs fetched with
 * {@link UrlFetcher}'s guards. {@code file_id} references are refused (the proxy has no Files API). Images, fields,
 * nesting, tokens and names are counted against the request limits as they arrive.
 */
final class JsonIntake {

    private JsonIntake() {
    }

    static MultipartIntake.Parsed parse(InputStream body, Spool spool, UrlFetcher fetcher, boolean allowUrls,
                                        IntakeCounter counter) throws IOException {
        List<EditInput.RawImage> images = new ArrayList<>();
        EditInput.RawImage mask = null;
        Map<String, Object> params = new LinkedHashMap<>();
        String model = null;
        String prompt = null;
        boolean stream = false;
        var limits = counter.limits();
        JsonPull p = new JsonPull(body, limits.maxJsonDepth(), limits.maxJsonTokens(), limits.maxFieldNameBytes());
        if (p.next() != Token.START_OBJECT) {
            throw ProxyException.badRequest("invalid_json", null, "the request body must be a JSON object");
        }
        for (Token t = p.next(); t == Token.NAME; t = p.next()) {
            String field = p.name();
            Token v = p.next();
            long valueStart = p.tokenStart(); // a value's bytes as written (quotes and escapes included)
            switch (field) {
                case "images", "image" -> {
                    if (v == Token.START_ARRAY) {
                        int i = 0;
                        for (Token item = p.next(); item != Token.END_ARRAY; item = p.next()) {
                            counter.image(field);
                            images.add(imageRef(p, item, field + "[" + i++ + "]", spool, fetcher, allowUrls, true));
                        }
                    } else {
                        counter.image(field);
                        images.add(imageRef(p, v, field, spool, fetcher, allowUrls, true));
                    }
                }
                case "mask" -> {
                    if (mask != null) {
                        throw ProxyException.badRequest("duplicate_parameter", "mask", "only one mask may be sent "
                                + "(got 2)");
                    }
                    mask = imageRef(p, v, "mask", spool, fetcher, allowUrls, false);
                }
                case "model" -> model = text(p, v, field, counter, valueStart);
                case "prompt" -> prompt = text(p, v, field, counter, valueStart);
                case "stream" -> {
                    counter.textField(field);
                    if (v == Token.STRING) {
                        stream = MultipartIntake.parseBool("stream", p.string(16, () -> ProxyException.badRequest(
                                "invalid_type", "stream", "Invalid value for 'stream': expected a boolean.")));
                    } else {
                        stream = v == Token.TRUE;
                        p.skip(v);
                    }
                }
                default -> {
                    counter.textField(field);
                    params.put(field, bounded(p, field, counter, valueStart, () -> p.value(v)));
                }
            }
        }
        p.end();
        List<EditInput.RawImage> named = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            EditInput.RawImage r = images.get(i);
            named.add(new EditInput.RawImage(r.blob(), null, images.size() == 1 ? "image" : "image[" + i + "]"));
        }
        return new MultipartIntake.Parsed(model, new EditInput(prompt, named, mask, params, stream));
    }

    private interface Read<T> {
        T read() throws IOException;
    }

    /** Reads one text field's value within what the text limits still allow, and counts it. */
    private static <T> T bounded(JsonPull p, String field, IntakeCounter counter, long start, Read<T> read)
            throws IOException {
        p.limit(start + counter.textAllowance(), () -> counter.tooMuchText(field, p.position() - start));
        T value = read.read();
        p.checkLimit();
        long size = p.position() - start;
        counter.text(field, size, size);
        return value;
    }

    /** {@code model} or {@code prompt}: a string (or a scalar taken as its text), or null. */
    private static String text(JsonPull p, Token t, String field, IntakeCounter counter, long start)
            throws IOException {
        counter.textField(field);
        return bounded(p, field, counter, start, () -> switch (t) {
            case NULL -> null;
            case STRING -> p.string(Long.MAX_VALUE, null);
            case NUMBER -> p.numberText();
            case TRUE -> "true";
            case FALSE -> "false";
            default -> throw ProxyException.badRequest("invalid_type", field, "Invalid type for '" + field
                    + "': expected a string.");
        });
    }

    /** Reads {@code {"image_url": …}} / {@code {"file_id": …}} (or a bare URL string) into the spool. */
    private static EditInput.RawImage imageRef(JsonPull p, Token t, String param, Spool spool, UrlFetcher fetcher,
                                               boolean allowUrls, boolean image) throws IOException {
        Spool.Writer w = spool.writer(image ? "image" : "mask");
        boolean found = false;
        if (t == Token.STRING) {
            readUrl(p, param, w, fetcher, allowUrls);
            found = true;
        } else if (t == Token.START_OBJECT) {
            for (Token k = p.next(); k == Token.NAME; k = p.next()) {
                String key = p.name();
                Token v = p.next();
                if (key.equals("image_url") && v == Token.STRING) {
                    readUrl(p, param, w, fetcher, allowUrls);
                    found = true;
                } else if (key.equals("image_url") && v == Token.START_OBJECT) {
                    // chat-style {"image_url": {"url": "..."}}
                    for (Token k2 = p.next(); k2 == Token.NAME; k2 = p.next()) {
                        String inner = p.name();
                        Token v2 = p.next();
                        if (inner.equals("url") && v2 == Token.STRING) {
                            readUrl(p, param, w, fetcher, allowUrls);
                            found = true;
                        } else {
                            p.skip(v2);
                        }
                    }
                } else if (key.equals("file_id")) {
                    throw ProxyException.badRequest("unsupported_parameter", param + ".file_id", "'" + param
                            + ".file_id' is not supported by this proxy; send the image as a data: URL or multipart");
                } else {
                    p.skip(v);
                }
            }
        } else {
            throw ProxyException.badRequest("invalid_type", param, "Invalid type for '" + param
                    + "': expected an object with 'image_url'.");
        }
        if (!found) {
            throw ProxyException.badRequest("missing_required_parameter", param, "'" + param
                    + "' needs an 'image_url'");
        }
        return new EditInput.RawImage(w.finish(), null, param);
    }

    private static void readUrl(JsonPull p, String param, Spool.Writer w, UrlFetcher fetcher, boolean allowUrls)
            throws IOException {
        DataUrlDecoder decoder = new DataUrlDecoder(param, w);
        p.stream(decoder);
        decoder.flushEnd();
        if (decoder.isDataUrl()) {
            return;
        }
        String url = decoder.prefix();
        if (!allowUrls) {
            throw ProxyException.badRequest("image_url_not_allowed", param, "'" + param
                    + "' must be a data: URL; fetching http(s) image URLs is off (general_settings.allow_image_urls)");
        }
        fetcher.fetch(url, param, w);
    }

    /**
     * Receives the URL's characters as they are read: a {@code data:…;base64,} prefix is checked,
     * then the base64 payload is decoded chunk by chunk into the spool. Anything else is kept (bounded) as
     * a URL to fetch.
     */
    static final class DataUrlDecoder extends Writer {
        private static final int MAX_PREFIX = 8 * 1024;
        private static final int BATCH = 64 * 1024; // a multiple of 4

        private final String param;
        private final OutputStream sink;
        private final StringBuilder prefix = new StringBuilder();
        private boolean data;
        private final byte[] pending = new byte[BATCH];
        private int pendingLen;

        DataUrlDecoder(String param, OutputStream sink) {
            this.param = param;
            this.sink = sink;
        }

        boolean isDataUrl() {
            return data;
        }

        String prefix() {
            return prefix.toString();
        }

        @Override
        public void write(char[] cbuf, int off, int len) throws IOException {
            int i = off;
            int end = off + len;
            while (!data && i < end) {
                char c = cbuf[i++];
                prefix.append(c);
                if (c == ',' && prefix.length() >= 5 && prefix.substring(0, 5).equalsIgnoreCase("data:")) {
                    if (!prefix.toString().toLowerCase(java.util.Locale.ROOT).endsWith(";base64,")) {
                        throw ProxyException.badRequest("invalid_image_url", param, "'" + param
                                + "' must be a base64 data: URL (data:image/png;base64,…)");
                    }
                    data = true;
                }
                if (prefix.length() > MAX_PREFIX) {
                    throw ProxyException.badRequest("invalid_image_url", param, "'" + param
                            + "' is not a valid image URL");
                }
            }
            while (data && i < end) {
                char c = cbuf[i++];
                if (c == '\n' || c == '\r' || c == ' ') {
                    continue;
                }
                pending[pendingLen++] = (byte) c;
                if (pendingLen == BATCH) {
                    decode(pendingLen);
                }
            }
        }

        private void decode(int n) throws IOException {
            try {
                java.nio.ByteBuffer bb = Base64.getDecoder().decode(java.nio.ByteBuffer.wrap(pending, 0, n));
                sink.write(bb.array(), bb.arrayOffset() + bb.position(), bb.remaining());
            } catch (IllegalArgumentException e) {
                throw ProxyException.badRequest("invalid_image_url", param, "'" + param + "' has invalid base64 data");
            }
            pendingLen = 0;
        }

        void flushEnd() throws IOException {
            if (data && pendingLen > 0) {
                decode(pendingLen);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }
}
