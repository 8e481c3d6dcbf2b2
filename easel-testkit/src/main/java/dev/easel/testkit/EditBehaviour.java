package dev.easel.testkit;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The fake's default answer to a multipart edit request that passed routing and auth: OpenAI's body rules
 * (reference §0, §5) and, when they pass, a GPT-image-shaped (or dall-e-2-shaped) success.
 */
final class EditBehaviour {

    /** What the server should write back. */
    sealed interface Reply {
        /** A complete JSON body. */
        record Body(int status, byte[] json) implements Reply {
        }

        /** A {@code text/event-stream} of already formatted SSE events. */
        record Stream(List<String> events) implements Reply {
        }
    }

    /** The default model when the form has no {@code model} (the Aug-2026 spec default). */
    static final String DEFAULT_MODEL = "gpt-image-1.5";

    private static final Pattern IMAGE_FIELD = Pattern.compile("image(\\[\\d*])?");
    private static final Pattern GPT_IMAGE_VERSION = Pattern.compile("gpt-image-(\\d+)(?:\\.\\d+)?(?:-.*)?");
    private static final Set<String> GPT_MIME_TYPES = Set.of("image/jpeg", "image/png", "image/webp");

    private EditBehaviour() {
    }

    /**
     * @param deployment the Azure deployment, or {@code null} on the OpenAI route
     * @param urlFor     stores image bytes and returns the URL that serves them
     */
    static Reply answer(RecordedRequest request, String deployment, boolean respondWithUrls,
                        Function<byte[], String> urlFor, Function<String, byte[]> imageForPrompt) {
        Optional<Reply> rejection = validate(request, deployment);
        if (rejection.isPresent()) {
            return rejection.get();
        }
        String model = model(request, deployment);
        boolean dallE = isDallE(model);
        int n = intField(request, "n", 1);
        String size = request.textField("size").filter(s -> !s.equals("auto")).orElse("1024x1024");
        String quality = request.textField("quality").filter(s -> !s.equals("auto")).orElse("medium");
        String background = request.textField("background").filter(s -> !s.equals("auto")).orElse("opaque");
        String outputFormat = request.textField("output_format").orElse("png");
        byte[] image = imageForPrompt == null ? Images.forFormat(outputFormat)
                : imageForPrompt.apply(request.textField("prompt").orElse(""));
        String b64 = Base64.getEncoder().encodeToString(image);
        long now = Instant.now().getEpochSecond();

        if (isTrue(request.textField("stream"))) {
            int partials = intField(request, "partial_images", 0);
            List<String> events = new ArrayList<>();
            for (int i = 0; i < partials; i++) {
                ObjectNode partial = streamEvent("image_edit.partial_image", b64, now, size, quality, background,
                        outputFormat);
                partial.put("partial_image_index", i);
                events.add(FakeResponse.sseEvent("image_edit.partial_image", Json.text(partial)));
            }
            ObjectNode completed = streamEvent("image_edit.completed", b64, now, size, quality, background,
                    outputFormat);
            completed.set("usage", usage());
            events.add(FakeResponse.sseEvent("image_edit.completed", Json.text(completed)));
            return new Reply.Stream(List.copyOf(events));
        }

        boolean urls = dallE ? !request.textField("response_format").orElse("url").equals("b64_json")
                : respondWithUrls;
        ObjectNode body = Json.object();
        if (!dallE) {
            body.put("background", background);
        }
        body.put("created", now);
        ArrayNode data = body.putArray("data");
        for (int i = 0; i < n; i++) {
            if (urls) {
                data.addObject().put("url", urlFor.apply(image));
            } else {
                data.addObject().put("b64_json", b64);
            }
        }
        if (!dallE) {
            body.put("output_format", outputFormat);
            body.put("quality", quality);
            body.put("size", size);
            body.set("usage", usage());
        }
        return new Reply.Body(200, Json.bytes(body));
    }

    static Optional<Reply> validate(RecordedRequest request, String deployment) {
        if (!request.isMultipart()) {
            return reject("Invalid Content-Type header (" + request.header("Content-Type").orElse("none")
                    + "), expected multipart/form-data.", null, null);
        }
        if (request.multipartError().isPresent()) {
            return reject("Could not parse multipart form data: " + request.multipartError().get() + ".", null,
                    null);
        }
        Set<String> seen = new HashSet<>();
        for (String name : request.fieldNames()) {
            if (!name.endsWith("[]") && !seen.add(name)) {
                return reject("Duplicate parameter: '" + name + "'. You provided multiple values for this "
                        + "parameter, whereas only one is allowed. If you are trying to provide a list of values, "
                        + "use the array syntax instead e.g. '" + name + "[]=<value>'.", name, "duplicate_parameter");
            }
        }
        if (request.textField("prompt").isEmpty()) {
            return reject("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter");
        }
        List<RecordedPart> images = request.parts().stream()
                .filter(p -> IMAGE_FIELD.matcher(p.name()).matches()).toList();
        if (images.isEmpty()) {
            return reject("Missing required parameter: 'image'.", "image", "missing_required_parameter");
        }
        String model = model(request, deployment);
        for (int i = 0; i < images.size(); i++) {
            RecordedPart image = images.get(i);
            if (!image.hasFilename()) {
                return reject("Invalid type for 'image': expected one of an array of files or file, but got a "
                        + "string instead.", "image", "invalid_type");
            }
            String param = image.name().equals("image") ? "image" : "image[" + i + "]";
            if (image.contentType().isEmpty() || image.contentType().get().isBlank()) {
                return reject("Invalid file '" + param + "': failed to determine mimetype. Ensure you are providing "
                        + "the file's mimetype as part of the 'Content-Type' header.", param, "missing_file_mimetype");
            }
            String mime = Multipart.mediaType(image.contentType().get());
            boolean supported = isDallE(model) ? mime.equals("image/png") : GPT_MIME_TYPES.contains(mime);
            if (!supported) {
                return reject("Invalid file '" + param + "': unsupported mimetype ('" + mime + "'). Supported file "
                        + "formats are " + (isDallE(model) ? "'image/png'"
                        : "'image/jpeg', 'image/png', and 'image/webp'") + ".", param, "unsupported_file_mimetype");
            }
        }
        if (isDallE(model) && request.parts("mask").isEmpty()) {
            // without a mask dall-e-2 edits the image's transparent area, and checks the image can have one
            String mode = pngMode(images.get(0).bytes());
            if (!mode.equals("RGBA") && !mode.equals("LA") && !mode.equals("L")) {
                return reject("Invalid input image - format must be in ['RGBA', 'LA', 'L'], got " + mode + ".", null,
                        null);
            }
        }
        Optional<Reply> bad = integer(request, "n", 1, 10);
        if (bad.isEmpty()) {
            bad = integer(request, "partial_images", 0, 3);
        }
        if (bad.isPresent()) {
            return bad;
        }
        if (isGptImage(model) && request.textField("response_format").isPresent()) {
            return reject("Unknown parameter: 'response_format'.", "response_format", "unknown_parameter");
        }
        Matcher version = GPT_IMAGE_VERSION.matcher(model);
        if (request.textField("input_fidelity").isPresent() && version.matches()
                && Integer.parseInt(version.group(1)) >= 2) {
            return reject("The model '" + model + "' does not support the 'input_fidelity' parameter.",
                    "input_fidelity", null);
        }
        if (isTrue(request.textField("stream")) && intField(request, "n", 1) > 1) {
            return reject("Streaming is only supported with n=1.", "n", null);
        }
        return Optional.empty();
    }

    /** A PNG's mode as Pillow names it, from the IHDR colour type and bit depth; {@code ?} when not a PNG. */
    static String pngMode(byte[] png) {
        if (png.length < 26 || (png[0] & 0xFF) != 0x89 || png[1] != 'P' || png[2] != 'N' || png[3] != 'G') {
            return "?";
        }
        int bitDepth = png[24] & 0xFF;
        return switch (png[25] & 0xFF) {
            case 6 -> "RGBA";
            case 4 -> "LA";
            case 2 -> "RGB";
            case 3 -> "P";
            default -> bitDepth == 1 ? "1" : bitDepth == 16 ? "I;16" : "L";
        };
    }

    static String model(RecordedRequest request, String deployment) {
        return request.textField("model").orElse(deployment == null ? DEFAULT_MODEL : deployment);
    }

    static boolean isGptImage(String model) {
        return model.startsWith("gpt-image-") || model.equals("chatgpt-image-latest");
    }

    static boolean isDallE(String model) {
        return model.startsWith("dall-e");
    }

    private static int intField(RecordedRequest request, String name, int absent) {
        return request.textField(name).map(v -> Integer.parseInt(v.trim())).orElse(absent);
    }

    private static boolean isTrue(Optional<String> value) {
        return value.map(v -> v.trim().toLowerCase(Locale.ROOT).equals("true")).orElse(false);
    }

    private static Optional<Reply> integer(RecordedRequest request, String name, int min, int max) {
        Optional<String> raw = request.textField(name);
        if (raw.isEmpty()) {
            return Optional.empty();
        }
        int value;
        try {
            value = Integer.parseInt(raw.get().trim());
        } catch (NumberFormatException e) {
            return reject("Invalid type for '" + name + "': expected an integer, but got a string instead.", name,
                    "invalid_type");
        }
        if (value < min) {
            return reject("Invalid '" + name + "': integer below minimum value. Expected a value >= " + min
                    + ", but got " + value + " instead.", name, "integer_below_min_value");
        }
        if (value > max) {
            return reject("Invalid '" + name + "': integer above maximum value. Expected a value <= " + max
                    + ", but got " + value + " instead.", name, "integer_above_max_value");
        }
        return Optional.empty();
    }

    private static Optional<Reply> reject(String message, String param, String code) {
        return Optional.of(new Reply.Body(400, Json.bytes(Json.error(message, "invalid_request_error", param, code))));
    }

    private static ObjectNode streamEvent(String type, String b64, long createdAt, String size, String quality,
                                          String background, String outputFormat) {
        ObjectNode event = Json.object();
        event.put("type", type);
        event.put("b64_json", b64);
        event.put("created_at", createdAt);
        event.put("size", size);
        event.put("quality", quality);
        event.put("background", background);
        event.put("output_format", outputFormat);
        return event;
    }

    /** The observed gpt-image-1 edit usage (medium, 1024x1024, one 1024x1024 input image). */
    static ObjectNode usage() {
        ObjectNode usage = Json.object();
        usage.put("input_tokens", 244);
        ObjectNode details = usage.putObject("input_tokens_details");
        details.put("image_tokens", 194);
        details.put("text_tokens", 50);
        usage.put("output_tokens", 1056);
        usage.put("total_tokens", 1300);
        return usage;
    }
}
