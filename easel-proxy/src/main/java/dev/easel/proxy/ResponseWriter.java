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
                if (d.b64Json().isPresent()) {
                    g.writeStringField("b64_json", d.b64Json().get());
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
        if (url.startsWith(FileImageStore.SCHEME)) {
            return urlBase + "/v1/images/files/" + url.substring(FileImageStore.SCHEME.length());
        }
        return url;
    }
}
