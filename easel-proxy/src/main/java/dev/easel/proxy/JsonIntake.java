package dev.easel.proxy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
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
 * (decoded while parsing, straight into the spool: a 20 MB data URL never exists as a Java string) or,
 * when {@code general_settings.allow_image_urls} is on, http(s) URLs fetched with {@link UrlFetcher}'s
 * guards. {@code file_id} references are refused (the proxy has no Files API).
 */
final class JsonIntake {

    private JsonIntake() {
    }

    static MultipartIntake.Parsed parse(InputStream body, Spool spool, UrlFetcher fetcher, boolean allowUrls)
            throws IOException {
        List<EditInput.RawImage> images = new ArrayList<>();
        EditInput.RawImage mask = null;
        Map<String, Object> params = new LinkedHashMap<>();
        String model = null;
        String prompt = null;
        boolean stream = false;
        try (JsonParser p = ErrorResponses.JSON.getFactory().createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw ProxyException.badRequest("invalid_json", null, "the request body must be a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                switch (field) {
                    case "images", "image" -> {
                        if (t == JsonToken.START_ARRAY) {
                            int i = 0;
                            while (p.nextToken() != JsonToken.END_ARRAY) {
                                images.add(imageRef(p, field + "[" + i++ + "]", spool, fetcher, allowUrls, true));
                            }
                        } else {
                            images.add(imageRef(p, field, spool, fetcher, allowUrls, true));
                        }
                    }
                    case "mask" -> mask = imageRef(p, "mask", spool, fetcher, allowUrls, false);
                    case "model" -> model = scalarText(p, field);
                    case "prompt" -> prompt = scalarText(p, field);
                    case "stream" -> stream = t == JsonToken.VALUE_TRUE
                            || (t == JsonToken.VALUE_STRING && MultipartIntake.parseBool("stream", p.getText()));
                    default -> {
                        JsonNode v = ErrorResponses.JSON.readTree(p);
                        params.put(field, ErrorResponses.JSON.treeToValue(v, Object.class));
                    }
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw ProxyException.badRequest("invalid_json", null, "invalid JSON body: " + e.getOriginalMessage());
        }
        List<EditInput.RawImage> named = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            EditInput.RawImage r = images.get(i);
            named.add(new EditInput.RawImage(r.blob(), null, images.size() == 1 ? "image" : "image[" + i + "]"));
        }
        return new MultipartIntake.Parsed(model, new EditInput(prompt, named, mask, params, stream));
    }

    private static String scalarText(JsonParser p, String field) throws IOException {
        if (!p.currentToken().isScalarValue() || p.currentToken() == JsonToken.VALUE_NULL) {
            if (p.currentToken() == JsonToken.VALUE_NULL) {
                return null;
            }
            throw ProxyException.badRequest("invalid_type", field, "Invalid type for '" + field
                    + "': expected a string.");
        }
        return p.getText();
    }

    /** Reads {@code {"image_url": …}} / {@code {"file_id": …}} (or a bare URL string) into the spool. */
    private static EditInput.RawImage imageRef(JsonParser p, String param, Spool spool, UrlFetcher fetcher,
                                               boolean allowUrls, boolean image) throws IOException {
        Spool.Writer w = spool.writer(image ? "image" : "mask");
        boolean found = false;
        if (p.currentToken() == JsonToken.VALUE_STRING) {
            readUrl(p, param, w, fetcher, allowUrls);
            found = true;
        } else if (p.currentToken() == JsonToken.START_OBJECT) {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                p.nextToken();
                if (key.equals("image_url") && p.currentToken() == JsonToken.VALUE_STRING) {
                    readUrl(p, param, w, fetcher, allowUrls);
                    found = true;
                } else if (key.equals("image_url") && p.currentToken() == JsonToken.START_OBJECT) {
                    // chat-style {"image_url": {"url": "..."}}
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String k = p.currentName();
                        p.nextToken();
                        if (k.equals("url") && p.currentToken() == JsonToken.VALUE_STRING) {
                            readUrl(p, param, w, fetcher, allowUrls);
                            found = true;
                        } else {
                            p.skipChildren();
                        }
                    }
                } else if (key.equals("file_id")) {
                    throw ProxyException.badRequest("unsupported_parameter", param + ".file_id", "'" + param
                            + ".file_id' is not supported by this proxy; send the image as a data: URL or multipart");
                } else {
                    p.skipChildren();
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

    private static void readUrl(JsonParser p, String param, Spool.Writer w, UrlFetcher fetcher, boolean allowUrls)
            throws IOException {
        DataUrlDecoder decoder = new DataUrlDecoder(param, w);
        p.getText(decoder);
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
     * Receives the URL's characters as Jackson parses them: a {@code data:…;base64,} prefix is checked,
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
