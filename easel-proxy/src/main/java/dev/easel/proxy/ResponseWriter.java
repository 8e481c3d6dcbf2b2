package dev.easel.proxy;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.easel.ImageData;
import dev.easel.ImageResponse;
import dev.easel.Usage;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Writes an {@link ImageResponse} as OpenAI's {@code ImagesResponse} JSON straight to the client, so the
 * base64 images are streamed out, never copied into a second body string.
 */
final class ResponseWriter {

    private ResponseWriter() {
    }

    /** Writes the response; {@code urlBase} turns stored-image references into absolute URLs. */
    static void write(ImageResponse r, String urlBase, OutputStream out) throws IOException {
        try (JsonGenerator g = ErrorResponses.JSON.getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeNumberField("created", r.created());
            g.writeArrayFieldStart("data");
            for (ImageData d : r.data()) {
                g.writeStartObject();
                if (d.url().isPresent()) {
                    g.writeStringField("url", absolute(d.url().get(), urlBase));
                }
                if (d.holdsBase64Ascii()) {
                    // parsed as base64-only ASCII: straight to the socket, no String, no escaping
                    g.writeFieldName("b64_json");
                    g.writeRawValue("\"");
                    g.flush();
                    d.writeBase64(out); // the upstream body's slices, one write each
                    g.writeRaw('"');
                } else if (d.b64Json().isPresent()) {
                    writeBase64(g, "b64_json", d.b64Json().get(), out);
                }
                if (d.revisedPrompt().isPresent()) {
                    g.writeStringField("revised_prompt", d.revisedPrompt().get());
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            if (r.background().isPresent()) {
                g.writeStringField("background", r.background().get());
            }
            if (r.outputFormat().isPresent()) {
                g.writeStringField("output_format", r.outputFormat().get());
            }
            if (r.quality().isPresent()) {
                g.writeStringField("quality", r.quality().get());
            }
            if (r.size().isPresent()) {
                g.writeStringField("size", r.size().get());
            }
            if (r.usage().isPresent()) {
                writeUsage(g, r.usage().get());
            }
            g.writeEndObject();
        }
    }

    /**
     * Writes a base64 string field. Base64 never needs JSON escaping, so a value made only of base64
     * characters goes to the socket as one byte copy instead of through the generator's per-character
     * escaping (the largest CPU cost of a proxied edit in the benchmark, docs/benchmarks.md); anything
     * else is written (and escaped) normally.
     */
    static void writeBase64(JsonGenerator g, String name, String value, OutputStream out) throws IOException {
        if (!isBase64(value)) {
            g.writeStringField(name, value);
            return;
        }
        g.writeFieldName(name);
        g.writeRawValue("\"");
        g.flush();
        out.write(value.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        g.writeRaw('"');
    }

    /** Whether every character is base64 (so the value needs no JSON escaping). */
    static boolean isBase64(String s) {
        return dev.easel.internal.Base64Chars.isBase64(s);
    }

    static void writeUsage(JsonGenerator g, Usage u) throws IOException {
        g.writeObjectFieldStart("usage");
        g.writeNumberField("input_tokens", u.inputTokens());
        g.writeObjectFieldStart("input_tokens_details");
        g.writeNumberField("image_tokens", u.inputImageTokens());
        g.writeNumberField("text_tokens", u.inputTextTokens());
        g.writeEndObject();
        g.writeNumberField("output_tokens", u.outputTokens());
        if (u.outputDetailsReported()) {
            g.writeObjectFieldStart("output_tokens_details");
            g.writeNumberField("image_tokens", u.outputImageTokens());
            g.writeNumberField("text_tokens", u.outputTextTokens());
            g.writeEndObject();
        }
        g.writeNumberField("total_tokens", u.totalTokens());
        g.writeEndObject();
    }

    static String absolute(String url, String urlBase) {
        if (url.startsWith(dev.easel.ServableImageStore.REFERENCE_PREFIX)) {
            return urlBase + "/v1/images/files/"
                    + url.substring(dev.easel.ServableImageStore.REFERENCE_PREFIX.length());
        }
        return url;
    }
}
