package dev.easel.provider.gemini;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.ImageData;
import dev.easel.ImageResponse;
import dev.easel.Usage;
import dev.easel.internal.JsonBytes;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A {@code generateContent} answer (HTTP 200) read into an {@link ImageResponse}: every {@code inlineData} image part
 * that is not a thought ({@code "thought": true} parts are the model's interim drafts), in order; text parts are the
 * model's commentary, kept as a warning; {@code usageMetadata} by modality becomes the {@link Usage}. An answer
 * without an image is a failure — a refusal ({@link GeminiErrors#blocked}), or the model not drawing
 * ({@link GeminiErrors#noImage}) — and one that is not Gemini's shape is garbage ({@link GeminiErrors#garbage}).
 */
final class GeminiAnswer {

    /** Longest commentary kept in a warning, in characters. */
    static final int MAX_COMMENTARY = 300;

    /**
     * Skipped bytes (thought images, text) above which the kept images are copied out of the answer, so the answer
     * itself can be freed; below it they stay slices of it, decoded and copied never.
     */
    private static final int COPY_ABOVE_SKIPPED_BYTES = 1024 * 1024;

    /** Jackson's default limit on one string is below a 4K image's base64; sizes are bounded by the read cap. */
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
            .build());

    /** One image part: its base64, a slice of the answer as sent (or its decoded text, when it had escapes). */
    private record Image(String mimeType, JsonBytes.Ascii base64) {
    }

    /** What the answer holds, as read. */
    private static final class Read {
        final List<Image> images = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        final List<String> finishReasons = new ArrayList<>();
        String finishMessage;
        int candidates;
        int thoughtImages;
        String blockReason;
        String blockMessage;
        JsonNode usage;
        String responseId;
    }

    private GeminiAnswer() {
    }

    /** The response for {@code body}, or the failure it stands for. */
    static ImageResponse parse(byte[] body, String model, Clock clock) {
        Read read;
        try {
            read = read(body);
        } catch (JsonProcessingException e) {
            throw GeminiErrors.garbage("invalid JSON", null);
        } catch (IOException e) {
            throw GeminiErrors.garbage("unreadable: " + e.getMessage(), null); // a byte array does not fail to read
        }
        String commentary = bounded(read.text.toString().strip());
        if (read.images.isEmpty()) {
            throw failure(read, commentary);
        }
        ImageResponse.Builder b = ImageResponse.builder().provider(GeminiProvider.NAME).model(model)
                .requestId(read.responseId).created(clock.instant().getEpochSecond());
        boolean copy = copyOut(body.length, read.images.stream().mapToLong(i -> i.base64().length()).sum());
        for (Image image : read.images) {
            JsonBytes.Ascii a = image.base64();
            b.addData(copy && a.bytes() == body
                    ? ImageData.ofBase64Ascii(Arrays.copyOfRange(body, a.offset(), a.offset() + a.length()), null, null)
                    : ImageData.ofBase64Ascii(a.bytes(), a.offset(), a.length(), null, null));
        }
        format(read.images.get(0).mimeType()).ifPresent(b::outputFormat);
        if (read.usage != null) {
            b.usage(usage(read.usage));
        }
        if (!commentary.isEmpty()) {
            b.addWarning("gemini's commentary: " + commentary);
        }
        read.finishReasons.stream().filter(r -> !r.equals("STOP")).findFirst()
                .ifPresent(r -> b.addWarning("gemini finished with " + r + " (images returned)"));
        return b.build();
    }

    /** Whether the kept images are copied out of an answer of {@code answerBytes}, so the rest can be freed. */
    static boolean copyOut(long answerBytes, long keptBytes) {
        return answerBytes - keptBytes > COPY_ABOVE_SKIPPED_BYTES;
    }

    /** Why an answer without an image failed: a refused prompt or output, else the model did not draw. */
    private static RuntimeException failure(Read read, String commentary) {
        if (read.blockReason != null) {
            return GeminiErrors.blocked("the prompt was blocked (promptFeedback.blockReason " + read.blockReason
                    + (read.blockMessage == null ? "" : ": " + bounded(read.blockMessage)) + ")", read.responseId);
        }
        for (String reason : read.finishReasons) {
            if (GeminiErrors.SAFETY_REASONS.contains(reason)) {
                return GeminiErrors.blocked("the edit was stopped by Google's safety filters (finishReason " + reason
                        + (read.finishMessage == null ? "" : ": " + bounded(read.finishMessage)) + ")",
                        read.responseId);
            }
        }
        if (read.candidates == 0) {
            return GeminiErrors.garbage("no candidates and no promptFeedback", read.responseId);
        }
        String reason = read.finishReasons.isEmpty() ? "none" : String.join(", ", read.finishReasons);
        return GeminiErrors.noImage(reason, commentary, read.thoughtImages, read.responseId);
    }

    private static Read read(byte[] body) throws IOException {
        Read out = new Read();
        try (JsonParser p = JSON.getFactory().createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw GeminiErrors.garbage("not a JSON object", null);
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                switch (field) {
                    case "candidates" -> eachObject(p, "candidates", () -> {
                        out.candidates++;
                        candidate(p, body, out);
                    });
                    case "promptFeedback" -> {
                        JsonNode feedback = JSON.readTree(p);
                        out.blockReason = text(feedback, "blockReason");
                        out.blockMessage = text(feedback, "blockReasonMessage");
                    }
                    case "usageMetadata" -> out.usage = JSON.readTree(p);
                    case "responseId" -> {
                        out.responseId = t == JsonToken.VALUE_STRING ? p.getText() : null;
                        p.skipChildren();
                    }
                    default -> p.skipChildren();
                }
            }
        }
        return out;
    }

    /** Something read from the parser. */
    @FunctionalInterface
    private interface Step {
        void run() throws IOException;
    }

    /** Reads the array the parser is at, one {@code each} per object; anything else in it is garbage. */
    private static void eachObject(JsonParser p, String what, Step each) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw GeminiErrors.garbage("'" + what + "' is not an array", null);
        }
        while (p.nextToken() == JsonToken.START_OBJECT) {
            each.run();
        }
        if (p.currentToken() != JsonToken.END_ARRAY) {
            throw GeminiErrors.garbage("'" + what + "' holds something other than objects", null);
        }
    }

    private static void candidate(JsonParser p, byte[] body, Read out) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            switch (field) {
                case "content" -> {
                    if (t != JsonToken.START_OBJECT) {
                        throw GeminiErrors.garbage("a candidate's 'content' is not an object", null);
                    }
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String f = p.currentName();
                        p.nextToken();
                        if (f.equals("parts")) {
                            eachObject(p, "parts", () -> part(p, body, out));
                        } else {
                            p.skipChildren();
                        }
                    }
                }
                case "finishReason" -> {
                    if (t == JsonToken.VALUE_STRING) {
                        out.finishReasons.add(p.getText());
                    }
                    p.skipChildren();
                }
                case "finishMessage" -> {
                    out.finishMessage = t == JsonToken.VALUE_STRING ? p.getText() : null;
                    p.skipChildren();
                }
                default -> p.skipChildren();
            }
        }
    }

    private static void part(JsonParser p, byte[] body, Read out) throws IOException {
        boolean thought = false;
        String text = null;
        String mimeType = null;
        JsonBytes.Ascii data = null;
        boolean inline = false;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            switch (field) {
                case "thought" -> {
                    thought = t == JsonToken.VALUE_TRUE;
                    p.skipChildren();
                }
                case "text" -> {
                    text = t == JsonToken.VALUE_STRING ? p.getText() : null;
                    p.skipChildren(); // a text that is not a string (nothing for a scalar)
                }
                case "inlineData", "inline_data" -> {
                    if (t != JsonToken.START_OBJECT) {
                        throw GeminiErrors.garbage("'inlineData' is not an object", null);
                    }
                    inline = true;
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String f = p.currentName();
                        JsonToken v = p.nextToken();
                        if ((f.equals("mimeType") || f.equals("mime_type")) && v == JsonToken.VALUE_STRING) {
                            mimeType = p.getText();
                        } else if (f.equals("data") && v == JsonToken.VALUE_STRING) {
                            data = JsonBytes.base64Value(p, body).orElse(null); // empty: not base64
                        } else {
                            p.skipChildren();
                        }
                    }
                }
                default -> p.skipChildren();
            }
        }
        if (thought) {
            out.thoughtImages += inline ? 1 : 0;
            return; // an interim draft, or the model's reasoning: neither is the answer
        }
        if (text != null) {
            out.text.append(out.text.isEmpty() ? "" : " ").append(text);
        }
        if (!inline) {
            return;
        }
        if (mimeType == null || !mimeType.toLowerCase(Locale.ROOT).startsWith("image/")) {
            throw GeminiErrors.garbage("an inlineData part of type '" + mimeType + "', not an image", null);
        }
        if (data == null || data.length() == 0) {
            throw GeminiErrors.garbage("an image part without base64 'data'", null);
        }
        out.images.add(new Image(mimeType, data));
    }

    /** Gemini's {@code usageMetadata} as Easel's {@link Usage}: thinking tokens are text output, as Google bills. */
    static Usage usage(JsonNode u) {
        long prompt = u.path("promptTokenCount").asLong(0) + u.path("toolUsePromptTokenCount").asLong(0);
        long candidates = u.path("candidatesTokenCount").asLong(0);
        long thoughts = u.path("thoughtsTokenCount").asLong(0);
        long total = u.path("totalTokenCount").asLong(prompt + candidates + thoughts);
        long inImage = tokens(u.path("promptTokensDetails"), "IMAGE", true);
        // without details every prompt token is text; with them, every modality but IMAGE bills as text input
        long inText = prompt - inImage;
        long outImage;
        long outText;
        JsonNode out = u.path("candidatesTokensDetails");
        if (out.isArray() && !out.isEmpty()) {
            outImage = tokens(out, "IMAGE", true);
            outText = tokens(out, "IMAGE", false);
        } else {
            outImage = candidates; // no split reported: the candidates are the image (as OpenAI's usage reads)
            outText = 0;
        }
        return new Usage(prompt, candidates + thoughts, total, inText, inImage, outImage, outText + thoughts, true);
    }

    /** The tokens of {@code modality} in a details list ({@code same}), or of every other modality. */
    private static long tokens(JsonNode details, String modality, boolean same) {
        long n = 0;
        for (JsonNode d : details) {
            if (modality.equals(d.path("modality").asText()) == same) {
                n += d.path("tokenCount").asLong(0);
            }
        }
        return n;
    }

    private static Optional<String> format(String mimeType) {
        return switch (mimeType.toLowerCase(Locale.ROOT)) {
            case "image/png" -> Optional.of("png");
            case "image/jpeg", "image/jpg" -> Optional.of("jpeg");
            case "image/webp" -> Optional.of("webp");
            default -> Optional.empty();
        };
    }

    /** At most {@link #MAX_COMMENTARY} characters, one line. */
    static String bounded(String text) {
        String line = text.replaceAll("\\s+", " ");
        return line.length() <= MAX_COMMENTARY ? line : line.substring(0, MAX_COMMENTARY) + "…";
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
