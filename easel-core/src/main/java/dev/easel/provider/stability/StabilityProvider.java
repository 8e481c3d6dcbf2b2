package dev.easel.provider.stability;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.http.HttpTransport;
import dev.easel.http.Multipart;
import dev.easel.provider.EditCall;
import dev.easel.provider.EditParams;
import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.ImagePart;
import dev.easel.provider.ProviderContext;
import dev.easel.provider.ResponseMemory;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

/**
 * Stability AI's {@code POST {api_base}/v2beta/stable-image/edit/<operation>}: {@code Authorization: Bearer}, a
 * multipart body (the image as {@code image}, the mask as {@code mask} where the operation takes one, every
 * other field a text part), {@code accept: application/json}; the answer is {@code {"image","finish_reason",
 * "seed"}} ({@link StabilityAnswers}). One image per call: the platform fans {@code n} out.
 *
 * <p>The call arrives validated against the operation's catalogue entry, which lists every field it takes
 * ({@code strict_params}): what is in its extras is what Stability reads, so all of it is sent.
 */
final class StabilityProvider implements ImageEditProvider {

    /** The provider prefix. */
    static final String NAME = "stability";

    /** Stability's public API base. */
    static final URI DEFAULT_BASE = URI.create("https://api.stability.ai");

    /** Stability refuses a request body above 10 MiB (413 {@code payload_too_large}). */
    static final long MAX_REQUEST_BYTES = 10L * 1024 * 1024;

    /** Largest answer read: a 9.4-megapixel PNG in base64 stays far below. */
    static final long MAX_ANSWER_BYTES = 128L * 1024 * 1024;

    private final ProviderContext context;

    StabilityProvider(ProviderContext context) {
        this.context = context;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public ImageResponse edit(EditCall call) {
        String model = call.deployment().model();
        // the config load and the engine resolve other names first (servedAs); a call that still names none is refused
        Operation op = Operation.of(model).orElseThrow(() -> new BadRequestException("model 'stability/" + model
                + "': " + Operation.problem(model).orElse("'" + model + "' is not a Stability edit operation"),
                "invalid_model", "model"));
        Multipart body = body(call, op);
        long size = body.contentLength();
        if (size > MAX_REQUEST_BYTES) {
            throw new BadRequestException(String.format("The request to Stability would be %,d bytes; Stability "
                    + "accepts at most 10 MiB (%,d bytes) per request: send a smaller image.", size,
                    MAX_REQUEST_BYTES), "request_too_large", "image");
        }
        long sent = System.nanoTime();
        HttpResponse<InputStream> r = context.transport().send(request(call, op, body), body.publisher(),
                call.timeout(), NAME);
        if (r.statusCode() / 100 != 2) {
            byte[] error = HttpTransport.readBody(r, 1024 * 1024, NAME);
            throw StabilityAnswers.error(r.statusCode(), error, r.headers(), call.deployment().apiKey(), size);
        }
        long length = r.headers().firstValueAsLong("content-length").orElse(-1);
        try (ResponseMemory.Handle memory = context.memory().reserve(length, NAME)) {
            byte[] answer = HttpTransport.readAll(r, call.idleTimeout(), sent + call.timeout().toNanos(),
                    MAX_ANSWER_BYTES, NAME);
            String format = call.params().outputFormat().map(EditParams.OutputFormat::wire).orElse("png");
            return StabilityAnswers.image(answer, op.wire(), format, context.clock().instant().getEpochSecond(),
                    r.headers().firstValue("x-request-id").orElse(null));
        }
    }

    /** Stability's edit operations answer once, with the whole image; the catalogue says so and refuses streams. */
    @Override
    public ImageEditStream editStream(EditCall call) {
        throw new BadRequestException("Stability's edit operations do not stream (model 'stability/"
                + call.deployment().model() + "').", "unsupported_parameter", "stream");
    }

    /**
     * The form: {@code prompt} where the operation reads one, {@code output_format}, each extra the catalogue let
     * through as a text part, then the image and the mask (already white-on-black).
     */
    static Multipart body(EditCall call, Operation op) {
        Multipart m = Multipart.create();
        if (op.takesPrompt()) {
            m.text("prompt", call.prompt());
        }
        call.params().outputFormat().ifPresent(f -> m.text("output_format", f.wire()));
        for (Map.Entry<String, JsonNode> e : call.params().extras().entrySet()) {
            JsonNode v = e.getValue();
            if (v.isNull()) {
                continue;
            }
            if (!v.isValueNode()) {
                throw new BadRequestException("Invalid type for '" + e.getKey() + "': Stability takes a single value "
                        + "(was " + (v.isArray() ? "an array" : "an object") + ").", "invalid_type", e.getKey());
            }
            m.text(e.getKey(), EditParams.text(v));
        }
        ImagePart image = call.images().get(0);
        m.file("image", image.fileName(), image.info().format().mimeType(), image.blob());
        call.mask().ifPresent(p -> m.file("mask", p.fileName(), p.info().format().mimeType(), p.blob()));
        return m;
    }

    private static HttpRequest.Builder request(EditCall call, Operation op, Multipart body) {
        String key = call.deployment().key().orElseThrow(() -> new AuthenticationException(
                "no api key for stability: set litellm_params.api_key (e.g. os.environ/STABILITY_API_KEY)",
                "missing_api_key", null));
        String base = call.deployment().base().orElse(DEFAULT_BASE).toString();
        base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/v2beta/stable-image/edit/" + op.wire()))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", body.contentType())
                .header("Accept", "application/json")
                .header("User-Agent", "easel/0.1");
        call.headers().forEach((k, v) -> {
            if (HttpTransport.forwardable(k) && !k.equalsIgnoreCase("accept")) {
                b.setHeader(k, v);
            }
        });
        return b;
    }
}
