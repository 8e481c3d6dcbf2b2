package dev.easel.provider.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ContentPolicyViolationException;
import dev.easel.EaselException;
import dev.easel.ImageData;
import dev.easel.ImageEditEvent;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.InternalServerException;
import dev.easel.NotFoundException;
import dev.easel.PermissionDeniedException;
import dev.easel.RateLimitException;
import dev.easel.ServiceUnavailableException;
import dev.easel.UnprocessableEntityException;
import dev.easel.Usage;
import dev.easel.http.HttpTransport;
import dev.easel.http.Multipart;
import dev.easel.http.SseReader;
import dev.easel.internal.ByteChunks;
import dev.easel.internal.ChunkedJson;
import dev.easel.provider.EditCall;
import dev.easel.provider.ImagePart;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpHeaders;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * OpenAI's image-edit wire format, shared by every adapter that speaks it (OpenAI, Azure OpenAI, other
 * OpenAI-compatible endpoints): the multipart body, the response and stream parsing, and the mapping of
 * HTTP status + error body to exceptions. Internal to Easel's providers.
 */
public final class OpenAiProtocol {

    /**
     * Jackson's default 20,000,000-character limit on one string is below a large image's base64 (a 50 MB
     * image is 67 M characters); sizes are bounded by Easel's own limits instead.
     */
    static final ObjectMapper JSON = new ObjectMapper(com.fasterxml.jackson.core.JsonFactory.builder()
            .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                    .maxStringLength(Integer.MAX_VALUE).build())
            .build());

    /** Largest non-streamed JSON response accepted (10 images of 4K PNG in base64 stay well below). */
    public static final long MAX_RESPONSE_BYTES = 512L * 1024 * 1024;

    private static final Set<String> CONTENT_POLICY_CODES = Set.of("moderation_blocked",
            "content_policy_violation", "contentfilter", "content_filter", "responsibleaipolicyviolation");

    /** A {@code created} that is a whole number a long holds. */
    private static final java.util.regex.Pattern WHOLE_SECONDS = java.util.regex.Pattern.compile("-?[0-9]{1,18}");

    /** A reported cost: a plain decimal, no sign, no exponent. */
    private static final java.util.regex.Pattern PLAIN_COST =
            java.util.regex.Pattern.compile("[0-9]{1,15}(\\.[0-9]{1,20})?");

    private OpenAiProtocol() {
    }

    /**
     * The edit as OpenAI's multipart body: text fields first ({@code model} when asked, {@code prompt},
     * the parameters, {@code stream}), then one image as {@code image} or several as {@code image[]} in
     * order, then {@code mask}. Every file part carries a file name with the right extension and its real
     * image content type, because OpenAI checks the header, not the bytes.
     */
    public static Multipart body(EditCall call, boolean includeModel) {
        Multipart m = Multipart.create();
        if (includeModel) {
            m.text("model", call.deployment().model());
        }
        m.text("prompt", call.prompt());
        call.params().formFields().forEach(m::text);
        if (call.stream()) {
            m.text("stream", "true");
        }
        String imageField = call.images().size() == 1 ? "image" : "image[]";
        for (ImagePart p : call.images()) {
            m.file(imageField, p.fileName(), p.info().format().mimeType(), p.blob());
        }
        call.mask().ifPresent(p -> m.file("mask", p.fileName(), p.info().format().mimeType(), p.blob()));
        return m;
    }

    /**
     * Parses an {@code ImagesResponse}; garbage becomes a 502-style {@link InternalServerException}. Each
     * {@code b64_json} written as plain ASCII without escapes (as providers send base64) stays where it is:
     * the image holds slices of {@code body}, so a response costs its own size in memory once, and no
     * character of the image is decoded, copied or converted. A value with escapes or non-ASCII characters
     * is read as text (and held as ASCII bytes again when it turns out to be base64).
     */
    public static ImageResponse parseResponse(byte[] body, String provider, String model, String requestId) {
        return parseResponse(ByteChunks.of(body), provider, model, requestId);
    }

    /**
     * Parses an {@code ImagesResponse} held in chunks (or being read into them), in one pass over its bytes
     * ({@link ChunkedJson}): the images' base64 is found sixteen bytes at a time and kept as slices of the chunks;
     * only the small fields are decoded. Read failures of a body being read are mapped as the transport maps them.
     */
    public static ImageResponse parseResponse(ByteChunks body, String provider, String model, String requestId) {
        ImageResponse.Builder b = ImageResponse.builder().provider(provider).model(model).requestId(requestId);
        boolean sawData = false;
        long created = System.currentTimeMillis() / 1000;
        ChunkedJson p = new ChunkedJson(body, 64);
        try {
            if (p.next() != ChunkedJson.Token.START_OBJECT) {
                throw garbage(provider, requestId, "not a JSON object");
            }
            while (p.next() == ChunkedJson.Token.NAME) {
                String field = p.text();
                ChunkedJson.Token t = p.next();
                switch (field) {
                    case "created" -> {
                        if (t == ChunkedJson.Token.NUMBER) {
                            String n = p.numberText(); // a fraction or exponent: read as a double, not exactly
                            created = WHOLE_SECONDS.matcher(n).matches() ? Long.parseLong(n)
                                    : (long) Double.parseDouble(n);
                        }
                    }
                    case "data" -> {
                        if (t != ChunkedJson.Token.START_ARRAY) {
                            throw garbage(provider, requestId, "'data' is not an array");
                        }
                        sawData = true;
                        ChunkedJson.Token item;
                        while ((item = p.next()) != ChunkedJson.Token.END_ARRAY) {
                            if (item != ChunkedJson.Token.START_OBJECT) {
                                throw garbage(provider, requestId, "an item of 'data' is not an object");
                            }
                            b.addData(readImage(p, provider, requestId));
                        }
                    }
                    case "background" -> b.background(scalar(p));
                    case "output_format" -> b.outputFormat(scalar(p));
                    case "size" -> b.size(scalar(p));
                    case "quality" -> b.quality(scalar(p));
                    case "usage" -> {
                        if (t == ChunkedJson.Token.START_OBJECT) { // a few hundred bytes: Jackson reads the copy
                            long from = p.tokenStart();
                            p.skipChildren();
                            parseUsage(JSON.readTree(body.copy(from, p.position()))).ifPresent(b::usage);
                        }
                    }
                    default -> p.skipChildren();
                }
            }
            p.end();
        } catch (ChunkedJson.MalformedJsonException e) {
            throw garbage(provider, requestId, "invalid JSON: " + e.getMessage());
        } catch (IOException e) {
            throw HttpTransport.mapFailure(e, provider, true);
        }
        if (!sawData) {
            throw garbage(provider, requestId, "no 'data' array");
        }
        return b.created(created).build();
    }

    /** Reads a whole response body (in chunks sized to its announced length) and parses it while it arrives. */
    public static ImageResponse parseResponse(InputStream body, long contentLength, String provider, String model,
                                              String requestId) {
        return parseResponse(ByteChunks.reading(body, contentLength), provider, model, requestId);
    }

    private static ImageData readImage(ChunkedJson p, String provider, String requestId) throws IOException {
        String url = null;
        String revised = null;
        String b64Text = null;
        java.util.List<java.nio.ByteBuffer> b64 = null;
        while (p.next() == ChunkedJson.Token.NAME) {
            String f = p.text();
            ChunkedJson.Token t = p.next();
            switch (f) {
                case "url" -> url = text(p, provider, requestId, "url");
                case "revised_prompt" -> revised = text(p, provider, requestId, "revised_prompt");
                case "b64_json" -> {
                    if (t == ChunkedJson.Token.STRING) {
                        if (p.plainAscii()) { // as providers write base64: left where it is
                            b64 = p.source().slices(p.stringFrom(), p.stringTo());
                        } else { // escapes or other characters: decoded, and held as ASCII again when base64
                            String text = p.text();
                            if (dev.easel.internal.Base64Chars.isBase64(text)) {
                                b64 = java.util.List.of(java.nio.ByteBuffer.wrap(
                                        text.getBytes(StandardCharsets.ISO_8859_1)));
                            } else {
                                b64Text = text; // not base64: kept as the provider sent it
                            }
                        }
                    } else {
                        p.skipChildren();
                    }
                }
                default -> p.skipChildren();
            }
        }
        if (b64 != null) {
            return ImageData.ofBase64Ascii(b64, url, revised);
        }
        if (url == null && b64Text == null) {
            throw garbage(provider, requestId, "an image without 'url' or 'b64_json'");
        }
        return ImageData.of(url, b64Text, revised);
    }

    /** A string field of an image: its text, or null for JSON null; any other value is garbage. */
    private static String text(ChunkedJson p, String provider, String requestId, String field) throws IOException {
        return switch (p.token()) {
            case STRING -> p.text();
            case NULL -> null;
            default -> throw garbage(provider, requestId, "an image's '" + field + "' is not a string");
        };
    }

    private static String scalar(ChunkedJson p) throws IOException {
        return switch (p.token()) {
            case START_OBJECT, START_ARRAY -> {
                p.skipChildren();
                yield null;
            }
            case NULL -> null;
            case STRING -> p.text();
            case NUMBER -> p.numberText();
            case TRUE -> "true";
            case FALSE -> "false";
            default -> null;
        };
    }

    /** Parses OpenAI's {@code usage} object (with or without the output split). */
    public static Optional<Usage> parseUsage(JsonNode u) {
        if (u == null || !u.isObject()) {
            return Optional.empty();
        }
        long in = u.path("input_tokens").asLong(0);
        long out = u.path("output_tokens").asLong(0);
        long total = u.path("total_tokens").asLong(in + out);
        JsonNode inD = u.path("input_tokens_details");
        long inText = inD.path("text_tokens").asLong(inD.isObject() ? 0 : in);
        long inImage = inD.path("image_tokens").asLong(0);
        JsonNode outD = u.path("output_tokens_details");
        if (outD.isObject()) {
            return Optional.of(new Usage(in, out, total, inText, inImage, outD.path("image_tokens").asLong(0),
                    outD.path("text_tokens").asLong(0), true));
        }
        return Optional.of(new Usage(in, out, total, inText, inImage, out, 0, false));
    }

    /**
     * Maps an error answer to an exception: the status picks the class; {@code contentPolicy} recognises
     * the provider's moderation codes. Messages are the provider's own, minus {@code secret}.
     */
    public static EaselException error(int status, byte[] body, HttpHeaders headers, String provider,
                                       String secret, Predicate<String> contentPolicy) {
        String requestId = headers.firstValue("x-request-id").or(() -> headers.firstValue("apim-request-id"))
                .orElse(null);
        String message = null;
        String type = null;
        String code = null;
        String param = null;
        try {
            JsonNode root = JSON.readTree(body);
            JsonNode e = root == null ? null : root.get("error");
            if (e != null && e.isObject()) {
                message = text(e, "message");
                type = text(e, "type");
                code = e.hasNonNull("code") ? e.get("code").asText() : null;
                param = text(e, "param");
            } else if (e != null && e.isTextual()) {
                message = e.asText();
            }
        } catch (IOException | RuntimeException ignored) {
            // not JSON: fall through to the generic message below
        }
        if (message == null) {
            String snippet = new String(body, 0, Math.min(body.length, 200), StandardCharsets.UTF_8).strip();
            message = provider + " returned HTTP " + status + (snippet.isEmpty() ? "" : ": " + snippet);
        }
        message = redact(message, secret);
        boolean policy = code != null && (contentPolicy.test(code)
                || CONTENT_POLICY_CODES.contains(code.toLowerCase(java.util.Locale.ROOT)));
        if (policy) {
            return new ContentPolicyViolationException(message, status, type == null ? "image_generation_user_error"
                    : type, code, param, provider, requestId, null);
        }
        return switch (status) {
            case 400 -> new BadRequestException(message, 400, orDefault(type, "invalid_request_error"), code, param,
                    provider, requestId, null);
            case 401 -> new AuthenticationException(message, 401, orDefault(type, "authentication_error"), code, param,
                    provider, requestId, null);
            case 403 -> new PermissionDeniedException(message, 403, orDefault(type, "permission_error"), code, param,
                    provider, requestId, null);
            case 404 -> new NotFoundException(message, 404, orDefault(type, "invalid_request_error"), code, param,
                    provider, requestId, null);
            case 422 -> new UnprocessableEntityException(message, 422, orDefault(type, "invalid_request_error"), code,
                    param, provider, requestId, null);
            case 429 -> new RateLimitException(message, type, code, param, provider, requestId,
                    dev.easel.http.RetryAfter.of(headers).orElse(null), null);
            case 503 -> new ServiceUnavailableException(message, 503, orDefault(type, "api_error"), code, param,
                    provider, requestId, null);
            default -> status >= 500 || status == 408
                    ? new InternalServerException(message, status, orDefault(type, "api_error"), code, param, provider,
                    requestId, null)
                    : new BadRequestException(message, status, orDefault(type, "invalid_request_error"), code, param,
                    provider, requestId, null);
        };
    }

    /**
     * The cost a gateway reports for the call: Easel's {@code x-easel-response-cost}, else LiteLLM's
     * {@code x-litellm-response-cost}, in USD; empty when absent or not a plain non-negative decimal (no
     * exponent: {@code 1E+999999999} would be a valid BigDecimal too large to print). OpenAI sends neither; the
     * pipeline uses it only for deployments behind a gateway.
     */
    public static Optional<java.math.BigDecimal> reportedCost(HttpHeaders headers) {
        for (String name : List.of("x-easel-response-cost", "x-litellm-response-cost")) {
            Optional<String> v = headers.firstValue(name);
            if (v.isPresent()) {
                String s = v.get().trim();
                return PLAIN_COST.matcher(s).matches() ? Optional.of(new java.math.BigDecimal(s)) : Optional.empty();
            }
        }
        return Optional.empty();
    }

    /**
     * Completes a non-streamed call: maps errors, parses the body.
     */
    public static ImageResponse finish(HttpResponse<InputStream> r, EditCall call, String provider,
                                       Predicate<String> contentPolicy) {
        return finish(r, call, provider, contentPolicy, System.nanoTime());
    }

    /**
     * Completes a non-streamed call sent at {@code sentNanos} ({@link System#nanoTime()}): the whole answer must have
     * arrived within the call's {@code timeout} of it, and no silence in it may last longer than {@code idleTimeout}.
     */
    public static ImageResponse finish(HttpResponse<InputStream> r, EditCall call, String provider,
                                       Predicate<String> contentPolicy, long sentNanos) {
        String requestId = r.headers().firstValue("x-request-id").orElse(null);
        if (r.statusCode() / 100 != 2) {
            byte[] body = HttpTransport.readBody(r, 1024 * 1024, provider);
            throw error(r.statusCode(), body, r.headers(), provider, call.deployment().apiKey(), contentPolicy);
        }
        long length = r.headers().firstValueAsLong("content-length").orElse(-1);
        try (AutoCloseable memory = HttpTransport.reserveResponseMemory(length, provider)) {
            // parsed while it arrives: each chunk is scanned as soon as it is read, while it is in the CPU's cache
            InputStream in = HttpTransport.guardedBody(r, call.idleTimeout(), sentNanos + call.timeout().toNanos(),
                    MAX_RESPONSE_BYTES, provider);
            ImageResponse parsed;
            try {
                parsed = parseResponse(in, length, provider, call.deployment().model(), requestId);
            } finally {
                try {
                    in.close();
                } catch (IOException e) {
                    // the answer was read (or its failure is thrown already): nothing more to learn from the close
                }
            }
            return reportedCost(r.headers()).map(c -> parsed.toBuilder().cost(c).build()).orElse(parsed);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e); // only the memory handle's close, which never throws
        }
    }

    /**
     * Turns a started streaming exchange into an {@link ImageEditStream}. Errors before the stream begins
     * are thrown from here; errors inside the stream ({@code data: {"error":…}}) from the iterator.
     */
    public static ImageEditStream stream(HttpTransport.Exchange exchange, EditCall call, String provider,
                                         Predicate<String> contentPolicy) {
        HttpResponse<InputStream> r = exchange.await();
        if (r.statusCode() / 100 != 2) {
            byte[] body = HttpTransport.readBody(r, 1024 * 1024, provider);
            throw error(r.statusCode(), body, r.headers(), provider, call.deployment().apiKey(), contentPolicy);
        }
        String contentType = r.headers().firstValue("content-type").orElse("");
        if (!contentType.startsWith("text/event-stream")) {
            // Some OpenAI-compatible servers ignore stream=true: turn the plain answer into one completed event.
            ImageResponse full = finish(r, call, provider, contentPolicy);
            return new SingleEventStream(full);
        }
        return new SseStream(exchange, r, call, provider, contentPolicy);
    }

    private static final class SseStream implements ImageEditStream {
        private final HttpTransport.Exchange exchange;
        private final HttpResponse<InputStream> response;
        private final SseReader reader;
        private final EditCall call;
        private final String provider;
        private final Predicate<String> contentPolicy;
        private volatile boolean closed;

        SseStream(HttpTransport.Exchange exchange, HttpResponse<InputStream> response, EditCall call, String provider,
                  Predicate<String> contentPolicy) {
            this.exchange = exchange;
            this.response = response;
            // between events the provider may stay silent at most the call's own timeout (the request's deadline
            // bounds only the start of the stream: once events flow, the edit is under way and paid for)
            this.reader = new SseReader(HttpTransport.idleGuard(response.body(), call.idleTimeout(), provider));
            this.call = call;
            this.provider = provider;
            this.contentPolicy = contentPolicy;
        }

        @Override
        public void relayPartials(RawPartials sink) {
            reader.tap("image_edit.partial_image"::equals, new SseReader.Tap() {
                // an IOException of the sink is the caller's (say its client went away), not the provider's
                @Override
                public void begin(String event) {
                    try {
                        sink.begin(event);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }

                @Override
                public void data(byte[] b, int off, int len) {
                    try {
                        sink.data(b, off, len);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }

                @Override
                public void end(SseReader.Event complete) {
                    try {
                        sink.end(complete.data());
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            });
        }

        @Override
        public Iterator<ImageEditEvent> iterator() {
            return new Iterator<>() {
                private ImageEditEvent next;
                private boolean done;

                @Override
                public boolean hasNext() {
                    if (next != null) {
                        return true;
                    }
                    if (done || closed) {
                        return false;
                    }
                    next = read();
                    if (next == null) {
                        done = true;
                    }
                    return next != null;
                }

                @Override
                public ImageEditEvent next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    ImageEditEvent e = next;
                    next = null;
                    if (e instanceof ImageEditEvent.Completed) {
                        done = true;
                    }
                    return e;
                }
            };
        }

        private ImageEditEvent read() {
            try {
                while (true) {
                    Optional<SseReader.Event> ev = reader.next();
                    if (ev.isEmpty()) {
                        if (closed) {
                            return null;
                        }
                        throw new dev.easel.ConnectionException(provider + " ended the stream before the completed "
                                + "event", provider, null);
                    }
                    String data = ev.get().data();
                    if (data.isBlank() || "[DONE]".equals(data.strip())) {
                        continue;
                    }
                    JsonNode node;
                    try {
                        node = JSON.readTree(data);
                    } catch (IOException e) {
                        throw garbage(provider, null, "invalid JSON in stream event");
                    }
                    if (node.has("error")) {
                        int status = node.path("error").path("status").asInt(500);
                        throw error(status >= 400 ? status : 500, data.getBytes(StandardCharsets.UTF_8),
                                HttpHeaders.of(Map.of(), (a, b) -> true), provider, call.deployment().apiKey(),
                                contentPolicy);
                    }
                    String type = node.path("type").asText(ev.get().event());
                    if (type.endsWith(".partial_image")) {
                        return new ImageEditEvent.PartialImage(text(node, "b64_json"),
                                node.path("partial_image_index").asInt(0), text(node, "size"), text(node, "quality"),
                                text(node, "background"), text(node, "output_format"),
                                node.path("created_at").asLong(0), data);
                    }
                    if (type.endsWith(".completed")) {
                        return new ImageEditEvent.Completed(text(node, "b64_json"), text(node, "size"),
                                text(node, "quality"), text(node, "background"), text(node, "output_format"),
                                node.path("created_at").asLong(0), parseUsage(node.path("usage")).orElse(null), data);
                    }
                    // unknown event types are skipped, as the official SDKs do
                }
            } catch (IOException e) {
                if (closed) {
                    return null;
                }
                throw HttpTransport.mapFailure(e, provider, true);
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            exchange.cancel();
            try {
                response.body().close();
            } catch (IOException ignored) {
                // closing a cancelled stream may fail; nothing is left to free
            }
        }
    }

    /** A stream of one completed event made from a full response. */
    static final class SingleEventStream implements ImageEditStream {
        private final ImageResponse response;

        SingleEventStream(ImageResponse response) {
            this.response = response;
        }

        @Override
        public Iterator<ImageEditEvent> iterator() {
            return response.data().stream().<ImageEditEvent>map(d -> {
                String b64 = d.b64Json().orElseGet(() -> java.util.Base64.getEncoder().encodeToString(d.bytes()));
                var node = JSON.createObjectNode().put("type", "image_edit.completed").put("b64_json", b64)
                        .put("created_at", response.created());
                response.size().ifPresent(s -> node.put("size", s));
                response.quality().ifPresent(s -> node.put("quality", s));
                response.background().ifPresent(s -> node.put("background", s));
                response.outputFormat().ifPresent(s -> node.put("output_format", s));
                response.usage().ifPresent(u -> node.set("usage", usageJson(u)));
                return new ImageEditEvent.Completed(b64, response.size().orElse(null), response.quality().orElse(null),
                        response.background().orElse(null), response.outputFormat().orElse(null), response.created(),
                        response.usage().orElse(null), node.toString());
            }).limit(1).iterator();
        }

        @Override
        public void close() {
            // nothing in flight
        }
    }

    /** OpenAI's JSON for a {@link Usage}. */
    public static com.fasterxml.jackson.databind.node.ObjectNode usageJson(Usage u) {
        var n = JSON.createObjectNode();
        n.put("input_tokens", u.inputTokens());
        n.putObject("input_tokens_details").put("image_tokens", u.inputImageTokens())
                .put("text_tokens", u.inputTextTokens());
        n.put("output_tokens", u.outputTokens());
        if (u.outputDetailsReported()) {
            n.putObject("output_tokens_details").put("image_tokens", u.outputImageTokens())
                    .put("text_tokens", u.outputTextTokens());
        }
        n.put("total_tokens", u.totalTokens());
        return n;
    }

    private static InternalServerException garbage(String provider, String requestId, String what) {
        return new InternalServerException(provider + " returned an unreadable response (" + what + ")", 502,
                "api_error", "bad_upstream_response", null, provider, requestId, null);
    }

    private static String redact(String message, String secret) {
        if (secret == null || secret.length() < 4) {
            return message;
        }
        return message.replace(secret, "****");
    }

    private static String orDefault(String v, String d) {
        return v == null ? d : v;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
