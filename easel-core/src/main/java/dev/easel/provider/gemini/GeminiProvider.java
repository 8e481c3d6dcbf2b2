package dev.easel.provider.gemini;

import dev.easel.AuthenticationException;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.adapt.FanOut;
import dev.easel.http.HttpTransport;
import dev.easel.provider.EditCall;
import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.ProviderContext;
import dev.easel.provider.ResponseMemory;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.LocalDate;
import java.util.Objects;

/**
 * Google's Gemini API (AI Studio): {@code POST {api_base}/v1beta/models/{model}:generateContent} with the key in
 * {@code x-goog-api-key} (never {@code ?key=}, which would land in access logs). One JSON request per image: the
 * images as {@code inlineData} parts in order, then the prompt, {@code responseModalities} and the
 * {@code imageConfig} (aspect ratio and size tier) the size was adapted to. See docs/providers/gemini.md.
 */
public final class GeminiProvider implements ImageEditProvider {

    /** Google's public API host. */
    public static final URI DEFAULT_BASE = URI.create("https://generativelanguage.googleapis.com");

    /** The most Google takes in one inline request (20 MiB); a larger request is refused before it is sent. */
    public static final long MAX_REQUEST_BYTES = 20L * 1024 * 1024;

    /** Largest answer read: one 4K image in base64 with the interim thought images before it. */
    static final long MAX_RESPONSE_BYTES = 256L * 1024 * 1024;

    /** Largest error answer read. */
    private static final long MAX_ERROR_BYTES = 1024 * 1024;

    static final String NAME = "gemini";

    private final ProviderContext context;

    /** An adapter using {@code context}'s transport, clock and memory budget. */
    public GeminiProvider(ProviderContext context) {
        this.context = Objects.requireNonNull(context, "context");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public ImageResponse edit(EditCall call) {
        String model = call.deployment().model();
        if (call.mask().isPresent()) {
            // validation drops or refuses a mask for the catalogue's Gemini models; one it does not know gets here
            throw GeminiErrors.unsupported(model, "mask");
        }
        int n = call.params().n().orElse(1);
        if (n == 1) {
            return once(call);
        }
        // Gemini draws one image per call; a model the catalogue does not know claims more, so fan out here
        FanOut fan = new FanOut(n);
        EditCall single = call.withParams(call.params().toBuilder().n(1).build());
        fan.run(1, count -> new FanOut.Part(once(single), null, call.deployment().displayName()));
        return fan.combined();
    }

    @Override
    public ImageEditStream editStream(EditCall call) {
        // the catalogue says streaming: false, so validation refuses stream=true first for the models it knows
        throw GeminiErrors.unsupported(call.deployment().model(), "stream");
    }

    private ImageResponse once(EditCall call) {
        String model = call.deployment().model();
        String key = call.deployment().key().orElseThrow(() -> new AuthenticationException(
                "no api key for gemini deployment '" + model + "': set api_key (e.g. os.environ/GEMINI_API_KEY)",
                "missing_api_key", null));
        GeminiRequest.Prepared prepared = GeminiRequest.prepare(call);
        long size = prepared.body().contentLength();
        if (size > MAX_REQUEST_BYTES) {
            throw GeminiErrors.tooLarge(model, call.images().size(), size, MAX_REQUEST_BYTES);
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(GeminiRequest.url(call));
        call.headers().forEach((k, v) -> {
            if (HttpTransport.forwardable(k) && !k.equalsIgnoreCase("x-goog-api-key")) {
                request.setHeader(k, v);
            }
        });
        request.setHeader("x-goog-api-key", key).setHeader("Content-Type", "application/json")
                .setHeader("Accept", "application/json").setHeader("User-Agent", "easel/0.1");
        long sent = System.nanoTime();
        HttpResponse<InputStream> r = context.transport().send(request, prepared.body().publisher(), call.timeout(),
                NAME);
        if (r.statusCode() / 100 != 2) {
            byte[] error = HttpTransport.readBody(r, MAX_ERROR_BYTES, NAME);
            throw GeminiErrors.http(r.statusCode(), error, r.headers(), key, notFoundHint(call));
        }
        long length = r.headers().firstValueAsLong("content-length").orElse(-1);
        ImageResponse response;
        // the memory budget is held while the answer is read and parsed
        try (ResponseMemory.Handle memory = context.memory().reserve(length, NAME)) {
            byte[] body = HttpTransport.readAll(r, call.idleTimeout(), sent + call.timeout().toNanos(),
                    MAX_RESPONSE_BYTES, NAME);
            response = GeminiAnswer.parse(body, model, context.clock());
        }
        return prepared.warnings().isEmpty() ? response : response.toBuilder().addWarnings(prepared.warnings()).build();
    }

    /** For a 404: the catalogue's shutdown notice of the model, since Google answers a shut-down id like a typo. */
    private String notFoundHint(EditCall call) {
        var life = call.spec().lifecycle();
        if (!life.retiredOn(LocalDate.now(context.clock()))) {
            return "";
        }
        return " (Easel's catalogue: '" + call.spec().id() + "' was shut down on " + life.shutdown().orElseThrow()
                + life.replacement().map(r -> "; use '" + r + "' instead").orElse("") + ")";
    }
}
