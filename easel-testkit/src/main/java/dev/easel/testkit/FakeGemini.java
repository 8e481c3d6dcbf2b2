package dev.easel.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A fake Google Gemini API (AI Studio) {@code generateContent} server for the image models, on a real loopback
 * socket. Strict like Google: the API key, proto-JSON field names and types (snake_case or camelCase), the
 * model's aspect ratios, image sizes and input-image limit, the 20 MB inline limit and retired model ids are
 * all checked, with Google's error shape {@code {"error":{"code","message","status","details"?}}}.
 *
 * <pre>{@code
 * try (FakeGemini fake = FakeGemini.builder().apiKey("gm-test").start()) {
 *     fake.enqueue(FakeGemini.finishReason("IMAGE_SAFETY"));     // the next call: a safety stop, no image
 *     // ... point the adapter at fake.baseUrl() (it adds /v1beta/models/{model}:generateContent) ...
 *     String body = fake.takeRequest().bodyText();
 * }
 * }</pre>
 *
 * <p>Routes: {@code POST /v1beta/models/{model}:generateContent} and {@code :streamGenerateContent} ({@code ?alt=sse}
 * for server-sent events, else a JSON array). Both consume the {@link #enqueue} script and count for
 * {@link #holdAnswers()} and {@link #defaultLatency}. Anything else is Google's HTML 404 page.
 */
public final class FakeGemini extends FakeServer<FakeGemini> {

    /** The live image models this fake serves (the 2026-12 GA ids). */
    public static final Set<String> MODELS = Set.of("gemini-3-pro-image", "gemini-3.1-flash-image");

    /** Shut-down ids: Google answers them with the same 404 as an id that never existed. */
    public static final Set<String> RETIRED_MODELS = Set.of("gemini-3-pro-image-preview",
            "gemini-3.1-flash-image-preview", "gemini-2.5-flash-image");

    /** Google's limit on a whole inline request (20 MiB); larger requests must use the Files API. */
    public static final int MAX_REQUEST_BYTES = 20 * 1024 * 1024;

    /** Tokens Gemini 3 image models count for one input image. */
    static final int INPUT_IMAGE_TOKENS = 560;

    /** The text part of the default answer. */
    static final String REPLY_TEXT = "Here is the edited image.";

    private static final List<String> STANDARD_RATIOS = List.of("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4",
            "9:16", "16:9", "21:9");
    private static final Map<String, int[]> SIZES_1K = Map.of("1:1", new int[] {1024, 1024},
            "2:3", new int[] {848, 1264}, "3:2", new int[] {1264, 848}, "3:4", new int[] {896, 1200},
            "4:3", new int[] {1200, 896}, "4:5", new int[] {928, 1152}, "5:4", new int[] {1152, 928},
            "9:16", new int[] {768, 1376}, "16:9", new int[] {1376, 768}, "21:9", new int[] {1584, 672});
    private static final Map<String, Model> CATALOGUE = Map.of(
            "gemini-3-pro-image", new Model("gemini-3-pro-image", STANDARD_RATIOS, tiers("1K", 1120, "2K", 1120,
                    "4K", 2000), 14),
            "gemini-3.1-flash-image", new Model("gemini-3.1-flash-image", concat(STANDARD_RATIOS,
                    List.of("1:4", "4:1", "1:8", "8:1")), tiers("512", 747, "1K", 1120, "2K", 1680, "4K", 2520), 14));
    private static final Set<String> IMAGE_MIME_TYPES = Set.of("image/png", "image/jpeg", "image/webp",
            "image/heic", "image/heif");
    private static final Set<String> FINISH_REASONS = Set.of("IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT",
            "IMAGE_RECITATION", "IMAGE_OTHER", "NO_IMAGE", "SAFETY", "PROHIBITED_CONTENT", "RECITATION", "BLOCKLIST",
            "SPII", "MAX_TOKENS", "OTHER", "LANGUAGE", "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL");
    private static final Set<String> BLOCK_REASONS = Set.of("SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT",
            "IMAGE_SAFETY");
    private static final Pattern ROUTE = Pattern.compile("/v1beta/models/([^/:]+):(generateContent|"
            + "streamGenerateContent)");
    private static final String JSON = "application/json; charset=UTF-8";
    private static final String TROUBLESHOOTING = "https://developers.generativeai.google/guide/troubleshooting";

    /** One image model: what it accepts and what an output image costs in tokens by size tier. */
    private record Model(String id, List<String> aspectRatios, Map<String, Integer> outputTokens,
                         int maxInputImages) {
    }

    /** A scripted shape of the answer; validation and auth still run first. */
    private sealed interface Outcome {
        record ThoughtImages(int count) implements Outcome {
        }

        record Finish(String reason) implements Outcome {
        }

        record Blocked(String reason) implements Outcome {
        }

        record TextOnly() implements Outcome {
        }
    }

    private final String apiKey;

    private FakeGemini(Builder builder) {
        super("FakeGemini", builder.defaultLatency);
        this.apiKey = builder.apiKey;
    }

    /** A builder for a configured server. */
    public static Builder builder() {
        return new Builder();
    }

    /** The full {@code generateContent} URL of a model. */
    public String generateContentUrl(String model) {
        return origin() + "/v1beta/models/" + model + ":generateContent";
    }

    /**
     * The model "thinks" first: {@code count} interim images marked {@code "thought": true} come before the final
     * text and image parts (an adapter must skip them); {@code thoughtsTokenCount} counts them.
     */
    public static FakeResponse thoughtImages(int count) {
        if (count < 1 || count > 4) {
            throw new IllegalArgumentException("count must be between 1 and 4 (was " + count + ")");
        }
        return FakeResponse.outcome(FakeGemini.class, "thoughtImages(" + count + ")",
                new Outcome.ThoughtImages(count));
    }

    /**
     * A 200 whose only candidate stopped for {@code reason} ({@code IMAGE_SAFETY}, {@code PROHIBITED_CONTENT},
     * {@code NO_IMAGE}, …) and carries no content: no image at all.
     */
    public static FakeResponse finishReason(String reason) {
        if (!FINISH_REASONS.contains(reason)) {
            throw new IllegalArgumentException("reason must be one of " + new java.util.TreeSet<>(FINISH_REASONS)
                    + " (was '" + reason + "'); STOP is the default answer");
        }
        return FakeResponse.outcome(FakeGemini.class, "finishReason(" + reason + ")", new Outcome.Finish(reason));
    }

    /** A 200 with {@code promptFeedback.blockReason} and no candidates: the prompt itself was refused. */
    public static FakeResponse promptBlocked(String blockReason) {
        if (!BLOCK_REASONS.contains(blockReason)) {
            throw new IllegalArgumentException("blockReason must be one of " + new java.util.TreeSet<>(BLOCK_REASONS)
                    + " (was '" + blockReason + "')");
        }
        return FakeResponse.outcome(FakeGemini.class, "promptBlocked(" + blockReason + ")",
                new Outcome.Blocked(blockReason));
    }

    /** A 200 {@code STOP} whose only part is text: the model declined to draw. */
    public static FakeResponse textOnly() {
        return FakeResponse.outcome(FakeGemini.class, "textOnly()", new Outcome.TextOnly());
    }

    /** 429 {@code RESOURCE_EXHAUSTED} with Google's quota details and {@code RetryInfo.retryDelay}. */
    public static FakeResponse rateLimited(int retryDelaySeconds) {
        if (retryDelaySeconds < 0) {
            throw new IllegalArgumentException("retryDelaySeconds must be >= 0 (was " + retryDelaySeconds + ")");
        }
        ArrayNode details = Json.MAPPER.createArrayNode();
        ObjectNode quota = details.addObject();
        quota.put("@type", "type.googleapis.com/google.rpc.QuotaFailure");
        ObjectNode violation = quota.putArray("violations").addObject();
        violation.put("quotaMetric", "generativelanguage.googleapis.com/generate_requests_per_model");
        violation.put("quotaId", "GenerateRequestsPerMinutePerProjectPerModel");
        violation.putObject("quotaDimensions").put("location", "global");
        violation.put("quotaValue", "10");
        ObjectNode help = details.addObject();
        help.put("@type", "type.googleapis.com/google.rpc.Help");
        ObjectNode link = help.putArray("links").addObject();
        link.put("description", "Learn more about Gemini API quotas");
        link.put("url", "https://ai.google.dev/gemini-api/docs/rate-limits");
        ObjectNode retry = details.addObject();
        retry.put("@type", "type.googleapis.com/google.rpc.RetryInfo");
        retry.put("retryDelay", retryDelaySeconds + "s");
        return googleResponse(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan "
                + "and billing details. For more information on this error, head to: "
                + "https://ai.google.dev/gemini-api/docs/rate-limits.", details);
    }

    /**
     * 400 {@code INVALID_ARGUMENT} with {@code ErrorInfo.reason: API_KEY_INVALID}: exactly what the fake answers a
     * wrong key with, for a test that keeps the right key configured.
     */
    public static FakeResponse invalidApiKey() {
        return FakeResponse.body(400, JSON, Json.bytes(invalidKey()));
    }

    /** 403 {@code PERMISSION_DENIED}, as for a key without access to the model. */
    public static FakeResponse permissionDenied() {
        return googleResponse(403, "PERMISSION_DENIED", "The caller does not have permission", null);
    }

    /** 500 {@code INTERNAL}, Google's message for a failure on its side. */
    public static FakeResponse internalError() {
        return googleResponse(500, "INTERNAL", "An internal error has occurred. Please retry or report in "
                + TROUBLESHOOTING, null);
    }

    /** 503 {@code UNAVAILABLE}: the model is overloaded. */
    public static FakeResponse unavailable() {
        return googleResponse(503, "UNAVAILABLE", "The model is overloaded. Please try again later.", null);
    }

    /** Any Google-shaped error {@code {"error":{"code","message","status"}}}. */
    public static FakeResponse error(int code, String status, String message) {
        return googleResponse(code, Objects.requireNonNull(status, "status"),
                Objects.requireNonNull(message, "message"), null);
    }

    @Override
    void route(HttpExchange exchange, RecordedRequest request) throws IOException {
        Matcher m = ROUTE.matcher(request.path());
        if (!request.method().equals("POST") || !m.matches()) {
            send(exchange, 404, "text/html; charset=UTF-8", notFoundPage(request.path()), List.of());
            return;
        }
        String model = java.net.URLDecoder.decode(m.group(1), StandardCharsets.UTF_8);
        boolean streaming = m.group(2).equals("streamGenerateContent");
        answer(exchange, script(), "", List.of(),
                scripted -> answerDefault(exchange, request, model, streaming, scripted));
    }

    @Override
    byte[] bugBody(String message) {
        return Json.bytes(googleError(500, "INTERNAL", message, null));
    }

    private void answerDefault(HttpExchange exchange, RecordedRequest request, String model, boolean streaming,
                               FakeResponse scripted) throws IOException {
        List<Map.Entry<String, String>> headers = scripted.headers();
        if (request.bodySize() > MAX_REQUEST_BYTES) {
            reply(exchange, 400, googleError(400, "INVALID_ARGUMENT", "Request payload size exceeds the limit: "
                    + MAX_REQUEST_BYTES + " bytes.", null), headers);
            return;
        }
        Optional<String> key = request.header("x-goog-api-key").or(() -> request.queryParameter("key"))
                .map(String::trim).filter(k -> !k.isEmpty());
        if (key.isEmpty()) {
            reply(exchange, 403, googleError(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers "
                    + "(callers without established identity). Please use API Key or other form of API consumer "
                    + "identity to call this API.", null), headers);
            return;
        }
        if (apiKey != null && !apiKey.equals(key.get())) {
            reply(exchange, 400, invalidKey(), headers);
            return;
        }
        Model spec = CATALOGUE.get(model);
        if (spec == null) {
            reply(exchange, 404, googleError(404, "NOT_FOUND", "models/" + model + " is not found for API version "
                    + "v1beta, or is not supported for " + (streaming ? "streamGenerateContent" : "generateContent")
                    + ". Call ModelService.ListModels to see the list of available models and their supported "
                    + "methods.", null), headers);
            return;
        }
        JsonNode body;
        try {
            body = Json.MAPPER.readTree(request.body());
        } catch (IOException e) {
            body = null;
        }
        if (body == null || body.isMissingNode()) {
            String message = "Invalid JSON payload received. Unexpected token.";
            reply(exchange, 400, badRequest(List.of(new GeminiSchema.Violation("", message))), headers);
            return;
        }
        List<GeminiSchema.Violation> violations = GeminiSchema.check(body);
        if (!violations.isEmpty()) {
            reply(exchange, 400, badRequest(violations), headers);
            return;
        }
        Edit edit = new Edit(spec, body);
        Optional<Rejection> rejection = edit.validate();
        if (rejection.isPresent()) {
            reply(exchange, rejection.get().status(), googleError(rejection.get().status(),
                    rejection.get().googleStatus(), rejection.get().message(), null), headers);
            return;
        }
        Outcome outcome = scripted.outcome(Outcome.class).orElse(null);
        List<ObjectNode> chunks = edit.respond(outcome, streaming);
        if (!streaming) {
            reply(exchange, 200, chunks.getFirst(), headers);
        } else if (request.queryParameter("alt").filter("sse"::equals).isPresent()) {
            List<String> events = chunks.stream().map(c -> "data: " + Json.text(c) + "\r\n\r\n").toList();
            stream(exchange, "text/event-stream", events, Duration.ZERO, headers);
        } else {
            ArrayNode array = Json.MAPPER.createArrayNode();
            chunks.forEach(array::add);
            send(exchange, 200, JSON, array.toString().getBytes(StandardCharsets.UTF_8), headers);
        }
    }

    private void reply(HttpExchange exchange, int status, ObjectNode json, List<Map.Entry<String, String>> headers)
            throws IOException {
        send(exchange, status, JSON, Json.bytes(json), headers);
    }

    /** A rejection after the JSON parsed: Google's "* GenerateContentRequest.path: problem" lines and others. */
    private record Rejection(int status, String googleStatus, String message) {
        static Optional<Rejection> of(String message) {
            return Optional.of(new Rejection(400, "INVALID_ARGUMENT", message));
        }
    }

    /** One request that passed proto-JSON checks: its meaning, its semantic checks and its answer. */
    private static final class Edit {
        private final Model model;
        private final JsonNode body;
        private final List<ImageInfo> images = new ArrayList<>();
        private int textChars;

        Edit(Model model, JsonNode body) {
            this.model = model;
            this.body = body;
        }

        Optional<Rejection> validate() {
            JsonNode contents = GeminiSchema.get(body, "contents");
            if (contents == null || contents.isNull() || contents.isEmpty()) {
                return Rejection.of("* GenerateContentRequest.contents: contents is not specified\n");
            }
            StringBuilder lines = new StringBuilder();
            for (int i = 0; i < contents.size(); i++) {
                JsonNode content = contents.get(i);
                String at = "GenerateContentRequest.contents[" + i + "]";
                JsonNode role = GeminiSchema.get(content, "role");
                if (role != null && !role.isNull() && !role.asText().equals("user")
                        && !role.asText().equals("model")) {
                    return Rejection.of("Please use a valid role: user, model.");
                }
                JsonNode parts = GeminiSchema.get(content, "parts");
                if (parts == null || parts.isNull() || parts.isEmpty()) {
                    lines.append("* ").append(at).append(".parts: contents.parts must not be empty.\n");
                    continue;
                }
                for (int j = 0; j < parts.size(); j++) {
                    Optional<Rejection> bad = part(parts.get(j), at + ".parts[" + j + "]", lines);
                    if (bad.isPresent()) {
                        return bad;
                    }
                }
            }
            JsonNode config = GeminiSchema.get(body, "generation_config");
            JsonNode modalities = GeminiSchema.get(config, "response_modalities");
            if (modalities != null && !modalities.isNull()) {
                for (JsonNode modality : modalities) {
                    if (modality.asText().equals("AUDIO") || modality.isIntegralNumber() && modality.asInt() == 3) {
                        return Rejection.of("Model does not support the requested response modalities: audio");
                    }
                }
            }
            JsonNode imageConfig = GeminiSchema.get(config, "image_config");
            JsonNode ratio = GeminiSchema.get(imageConfig, "aspect_ratio");
            if (ratio != null && !ratio.isNull() && !model.aspectRatios().contains(ratio.asText())) {
                lines.append("* GenerateContentRequest.generation_config.image_config.aspect_ratio: unsupported "
                        + "aspect ratio '").append(ratio.asText()).append("' for ").append(model.id())
                        .append(" (supported: ").append(String.join(", ", model.aspectRatios())).append(")\n");
            }
            JsonNode size = GeminiSchema.get(imageConfig, "image_size");
            if (size != null && !size.isNull() && !model.outputTokens().containsKey(size.asText())) {
                lines.append("* GenerateContentRequest.generation_config.image_config.image_size: unsupported "
                        + "image size '").append(size.asText()).append("' for ").append(model.id())
                        .append(" (supported: ").append(String.join(", ", model.outputTokens().keySet()))
                        .append(")\n");
            }
            if (images.size() > model.maxInputImages()) {
                lines.append("* GenerateContentRequest.contents: ").append(model.id()).append(" accepts at most ")
                        .append(model.maxInputImages()).append(" input images (got ").append(images.size())
                        .append(")\n");
            }
            return lines.isEmpty() ? Optional.empty() : Rejection.of(lines.toString());
        }

        private Optional<Rejection> part(JsonNode part, String at, StringBuilder lines) {
            List<String> data = new ArrayList<>();
            for (String oneof : List.of("text", "inline_data", "file_data", "function_call", "function_response",
                    "executable_code", "code_execution_result")) {
                JsonNode v = GeminiSchema.get(part, oneof);
                if (v != null && !v.isNull()) {
                    data.add(oneof);
                }
            }
            if (data.isEmpty()) {
                lines.append("* ").append(at).append(".data: required oneof field 'data' must have one initialized "
                        + "field\n");
                return Optional.empty();
            }
            if (data.size() > 1) {
                return Rejection.of("Invalid JSON payload received. Oneof field 'data' is already set. Cannot set '"
                        + GeminiSchema.camel(data.get(1)) + "'");
            }
            switch (data.getFirst()) {
                case "text" -> textChars += GeminiSchema.get(part, "text").asText().length();
                case "inline_data" -> {
                    JsonNode blob = GeminiSchema.get(part, "inline_data");
                    JsonNode mime = GeminiSchema.get(blob, "mime_type");
                    if (mime == null || mime.isNull() || mime.asText().isBlank()) {
                        lines.append("* ").append(at).append(".inline_data.mime_type: a mime type is required\n");
                        return Optional.empty();
                    }
                    String mediaType = Multipart.mediaType(mime.asText());
                    if (!IMAGE_MIME_TYPES.contains(mediaType)) {
                        return Rejection.of("Unsupported MIME type: " + mime.asText());
                    }
                    JsonNode text = GeminiSchema.get(blob, "data");
                    byte[] bytes = text == null || text.isNull() ? new byte[0] : GeminiSchema.decode(text.asText());
                    Optional<ImageInfo> info = ImageInfo.of(bytes);
                    boolean heif = mediaType.startsWith("image/hei") && bytes.length > 12
                            && new String(bytes, 4, 4, StandardCharsets.ISO_8859_1).equals("ftyp");
                    if (info.isEmpty() && !heif) {
                        return Rejection.of("Unable to process input image. Please retry or report in "
                                + TROUBLESHOOTING);
                    }
                    images.add(info.orElse(new ImageInfo(mediaType, 1024, 1024, false, false)));
                }
                case "file_data" -> {
                    String uri = textOf(GeminiSchema.get(GeminiSchema.get(part, "file_data"), "file_uri")).orElse("");
                    // this fake has no Files API, so every file is one Google would not find
                    return Optional.of(new Rejection(403, "PERMISSION_DENIED", "You do not have permission to "
                            + "access the File " + uri.replaceAll(".*/", "") + " or it may not exist."));
                }
                default -> {
                    // tool parts carry no image; the image models ignore them
                }
            }
            return Optional.empty();
        }

        /** The answer: one response, or the chunks of a stream (the last carries the finish reason and usage). */
        List<ObjectNode> respond(Outcome outcome, boolean streaming) {
            JsonNode config = GeminiSchema.get(body, "generation_config");
            JsonNode imageConfig = GeminiSchema.get(config, "image_config");
            JsonNode modalities = GeminiSchema.get(config, "response_modalities");
            boolean text = modalities == null || modalities.isEmpty() || contains(modalities, "TEXT");
            boolean image = modalities == null || modalities.isEmpty() || contains(modalities, "IMAGE");
            String tier = textOf(GeminiSchema.get(imageConfig, "image_size")).orElse("1K");
            String ratio = textOf(GeminiSchema.get(imageConfig, "aspect_ratio")).orElseGet(this::inputRatio);
            int[] size = dimensions(ratio, tier);
            int imageTokens = model.outputTokens().get(tier);
            String responseId = Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes(16));

            List<ObjectNode> parts = new ArrayList<>();
            int thoughts = 0;
            String finish = "STOP";
            switch (outcome) {
                case null -> {
                }
                case Outcome.ThoughtImages t -> {
                    for (int i = 0; i < t.count(); i++) {
                        ObjectNode interim = imagePart(size);
                        interim.put("thought", true);
                        parts.add(interim);
                    }
                    thoughts = t.count() * imageTokens;
                }
                case Outcome.Finish f -> finish = f.reason();
                case Outcome.Blocked b -> {
                    return List.of(blocked(b.reason(), responseId));
                }
                case Outcome.TextOnly t -> {
                    text = true;
                    image = false;
                }
            }
            int textTokens = 0;
            int outputImageTokens = 0;
            if (finish.equals("STOP")) {
                if (text) {
                    String reply = image ? REPLY_TEXT : "I can't edit this image as asked, but I can describe "
                            + "what I would change.";
                    parts.add(Json.object().put("text", reply));
                    textTokens = tokens(reply.length());
                }
                if (image) {
                    ObjectNode last = imagePart(size);
                    last.put("thoughtSignature", Base64.getEncoder().encodeToString(randomBytes(24)));
                    parts.add(last);
                    outputImageTokens = imageTokens;
                }
            }
            ObjectNode usage = usage(textTokens, outputImageTokens, thoughts);
            if (!streaming || parts.size() < 2) {
                return List.of(response(parts, finish, usage, responseId));
            }
            List<ObjectNode> chunks = new ArrayList<>();
            for (int i = 0; i < parts.size(); i++) {
                boolean lastChunk = i == parts.size() - 1;
                chunks.add(response(List.of(parts.get(i)), lastChunk ? finish : null,
                        lastChunk ? usage : promptUsage(), responseId));
            }
            return chunks;
        }

        private ObjectNode response(List<ObjectNode> parts, String finish, ObjectNode usage, String responseId) {
            ObjectNode root = Json.object();
            ObjectNode candidate = root.putArray("candidates").addObject();
            if (!parts.isEmpty()) {
                ObjectNode content = candidate.putObject("content");
                ArrayNode array = content.putArray("parts");
                parts.forEach(array::add);
                content.put("role", "model");
            }
            if (finish != null) {
                candidate.put("finishReason", finish);
            }
            candidate.put("index", 0);
            root.set("usageMetadata", usage);
            root.put("modelVersion", model.id());
            root.put("responseId", responseId);
            return root;
        }

        private ObjectNode blocked(String reason, String responseId) {
            ObjectNode root = Json.object();
            root.putObject("promptFeedback").put("blockReason", reason);
            root.set("usageMetadata", promptUsage());
            root.put("modelVersion", model.id());
            root.put("responseId", responseId);
            return root;
        }

        private ObjectNode imagePart(int[] size) {
            ObjectNode part = Json.object();
            ObjectNode data = part.putObject("inlineData");
            data.put("mimeType", "image/png");
            data.put("data", Base64.getEncoder().encodeToString(Images.flat("png", size[0], size[1])));
            return part;
        }

        private int promptTextTokens() {
            return Math.max(1, tokens(textChars));
        }

        private ObjectNode promptUsage() {
            ObjectNode usage = Json.object();
            int prompt = promptTextTokens() + images.size() * INPUT_IMAGE_TOKENS;
            usage.put("promptTokenCount", prompt);
            usage.put("totalTokenCount", prompt);
            usage.set("promptTokensDetails", promptDetails());
            return usage;
        }

        private ObjectNode usage(int textTokens, int imageTokens, int thoughts) {
            int prompt = promptTextTokens() + images.size() * INPUT_IMAGE_TOKENS;
            int candidates = textTokens + imageTokens;
            ObjectNode usage = Json.object();
            usage.put("promptTokenCount", prompt);
            if (candidates > 0) {
                usage.put("candidatesTokenCount", candidates);
            }
            usage.put("totalTokenCount", prompt + candidates + thoughts);
            usage.set("promptTokensDetails", promptDetails());
            if (candidates > 0) {
                ArrayNode details = usage.putArray("candidatesTokensDetails");
                if (textTokens > 0) {
                    details.addObject().put("modality", "TEXT").put("tokenCount", textTokens);
                }
                if (imageTokens > 0) {
                    details.addObject().put("modality", "IMAGE").put("tokenCount", imageTokens);
                }
            }
            if (thoughts > 0) {
                usage.put("thoughtsTokenCount", thoughts);
            }
            return usage;
        }

        private ArrayNode promptDetails() {
            ArrayNode details = Json.MAPPER.createArrayNode();
            details.addObject().put("modality", "TEXT").put("tokenCount", promptTextTokens());
            if (!images.isEmpty()) {
                details.addObject().put("modality", "IMAGE").put("tokenCount", images.size() * INPUT_IMAGE_TOKENS);
            }
            return details;
        }

        /** Without an aspect ratio the output follows the first input image: the model's nearest ratio. */
        private String inputRatio() {
            if (images.isEmpty()) {
                return "1:1";
            }
            double want = (double) images.getFirst().width() / images.getFirst().height();
            String best = "1:1";
            for (String candidate : model.aspectRatios()) {
                if (Math.abs(Math.log(ratio(candidate) / want)) < Math.abs(Math.log(ratio(best) / want))) {
                    best = candidate;
                }
            }
            return best;
        }
    }

    /** Output pixels: Google's table for the standard ratios (1K; 2K and 4K double it), else about tier² pixels. */
    static int[] dimensions(String ratio, String tier) {
        double scale = switch (tier) {
            case "512" -> 0.5;
            case "2K" -> 2;
            case "4K" -> 4;
            default -> 1;
        };
        int[] base = SIZES_1K.get(ratio);
        if (base != null) {
            return new int[] {round16(base[0] * scale), round16(base[1] * scale)};
        }
        double r = Math.sqrt(ratio(ratio));
        return new int[] {round16(1024 * scale * r), round16(1024 * scale / r)};
    }

    private static double ratio(String ratio) {
        int colon = ratio.indexOf(':');
        return Double.parseDouble(ratio.substring(0, colon)) / Double.parseDouble(ratio.substring(colon + 1));
    }

    private static int round16(double v) {
        return (int) Math.max(16, Math.round(v / 16) * 16);
    }

    private static int tokens(int chars) {
        return (chars + 3) / 4;
    }

    private static boolean contains(JsonNode modalities, String value) {
        for (JsonNode m : modalities) {
            if (m.asText().equals(value)) {
                return true;
            }
        }
        return false;
    }

    private static Optional<String> textOf(JsonNode node) {
        return node == null || node.isNull() ? Optional.empty() : Optional.of(node.asText());
    }

    static ObjectNode googleError(int code, String status, String message, ArrayNode details) {
        ObjectNode root = Json.object();
        ObjectNode error = root.putObject("error");
        error.put("code", code);
        error.put("message", message);
        error.put("status", status);
        if (details != null) {
            error.set("details", details);
        }
        return root;
    }

    private static FakeResponse googleResponse(int code, String status, String message, ArrayNode details) {
        return FakeResponse.body(code, JSON, Json.bytes(googleError(code, status, message, details)));
    }

    private static ObjectNode invalidKey() {
        String message = "API key not valid. Please pass a valid API key.";
        ArrayNode details = Json.MAPPER.createArrayNode();
        ObjectNode info = details.addObject();
        info.put("@type", "type.googleapis.com/google.rpc.ErrorInfo");
        info.put("reason", "API_KEY_INVALID");
        info.put("domain", "googleapis.com");
        info.putObject("metadata").put("service", "generativelanguage.googleapis.com");
        ObjectNode localized = details.addObject();
        localized.put("@type", "type.googleapis.com/google.rpc.LocalizedMessage");
        localized.put("locale", "en-US");
        localized.put("message", message);
        return googleError(400, "INVALID_ARGUMENT", message, details);
    }

    private static ObjectNode badRequest(List<GeminiSchema.Violation> violations) {
        ArrayNode details = Json.MAPPER.createArrayNode();
        ObjectNode badRequest = details.addObject();
        badRequest.put("@type", "type.googleapis.com/google.rpc.BadRequest");
        ArrayNode list = badRequest.putArray("fieldViolations");
        StringBuilder message = new StringBuilder();
        for (GeminiSchema.Violation v : violations) {
            ObjectNode entry = list.addObject();
            if (!v.field().isEmpty()) {
                entry.put("field", v.field());
            }
            entry.put("description", v.description());
            message.append(message.isEmpty() ? "" : "\n").append(v.description());
        }
        return googleError(400, "INVALID_ARGUMENT", message.toString(), details);
    }

    private static byte[] notFoundPage(String path) {
        return ("<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 404 (Not Found)!!1</title>\n"
                + "  <p><b>404.</b> <ins>That’s an error.</ins>\n  <p>The requested URL <code>" + path
                + "</code> was not found on this server.  <ins>That’s all we know.</ins>\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static Map<String, Integer> tiers(Object... tierThenTokens) {
        Map<String, Integer> tiers = new LinkedHashMap<>();
        for (int i = 0; i < tierThenTokens.length; i += 2) {
            tiers.put((String) tierThenTokens[i], (Integer) tierThenTokens[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(tiers);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return List.copyOf(all);
    }

    /** Configures a {@link FakeGemini} before it starts. */
    public static final class Builder extends Settings<Builder> {

        private Builder() {
        }

        /** Binds 127.0.0.1 on a free port and starts serving. */
        public FakeGemini start() {
            return new FakeGemini(this).serve();
        }
    }
}
