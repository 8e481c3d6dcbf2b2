package dev.easel.proxy;

import dev.easel.config.RequestLimits;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.function.LongSupplier;

/**
 * Reads the body of a request that is not an upload (the management endpoints' JSON) within
 * {@code general_settings.max_json_body_bytes}: 413 at once when {@code Content-Length} says it is larger (nothing is
 * read), else 413 as soon as the bytes read pass it; the connection is then closed rather than drained. The body is
 * read under the same rate, deadline and idle limits as an upload ({@link GuardedBody}), and checked against
 * {@code max_json_depth}, {@code max_json_tokens} and {@code max_field_name_bytes} before it is parsed into a tree.
 */
final class JsonBodies {

    /** Fractions as exact decimals: these bodies carry money ({@code max_budget}). */
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

    private final RequestLimits limits;
    private final LongSupplier nanoTime;

    JsonBodies(RequestLimits limits, LongSupplier nanoTime) {
        this.limits = limits;
        this.nanoTime = nanoTime;
    }

    /**
     * The body as a JSON tree; throws {@link ProxyException}: 400 {@code invalid_json}, 413 over a limit, 408/499
     * when it does not arrive.
     */
    JsonNode readTree(Context ctx) {
        byte[] bytes = read(ctx);
        try {
            // the limits first, with the same messages as an edit's JSON; the tree only for a body within them
            JsonPull p = new JsonPull(new ByteArrayInputStream(bytes), limits.maxJsonDepth(), limits.maxJsonTokens(),
                    limits.maxFieldNameBytes());
            p.skip(p.next());
            p.end();
            return MAPPER.readTree(bytes);
        } catch (IOException e) {
            throw ProxyException.badRequest("invalid_json", null, "invalid JSON body: " + e.getMessage());
        }
    }

    /** The whole body; throws {@link ProxyException} (413, 408, 499) when it cannot be read within the limits. */
    byte[] read(Context ctx) {
        long max = limits.maxJsonBodyBytes();
        long declared = ctx.req().getContentLengthLong();
        if (declared > max) {
            throw refuse(ctx, "request body of " + declared + " bytes is larger than the limit of " + max
                    + " bytes (general_settings.max_json_body_bytes)");
        }
        long[] read = {0};
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(Math.max(declared, 256), 64 * 1024));
        try (InputStream in = new GuardedBody(ctx.req().getInputStream(), limits, nanoTime, n -> {
            read[0] += n;
            if (read[0] > max) {
                throw refuse(ctx, "request body is larger than the limit of " + max
                        + " bytes (general_settings.max_json_body_bytes)");
            }
        })) {
            in.transferTo(out);
        } catch (ProxyException e) {
            ctx.header("Connection", "close"); // the body was not read to its end
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static ProxyException refuse(Context ctx, String message) {
        ctx.header("Connection", "close");
        return ProxyException.tooLarge(null, message);
    }
}
