package dev.easel.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The part of the Gemini API's {@code GenerateContentRequest} proto that image edits touch, checked the way
 * Google's proto-JSON parser checks it: each field may be spelled in snake_case or lowerCamelCase, an unknown
 * name is {@code Unknown name "x" at 'path': Cannot find field.}, a value of the wrong JSON type is
 * {@code Invalid value at 'path' (TYPE_X), value}. Paths use the proto (snake_case) names, as Google's do.
 * Fields outside image editing (tools, safety settings, thinking, speech) are accepted without looking inside.
 */
final class GeminiSchema {

    private static final String PROTO = "type.googleapis.com/google.ai.generativelanguage.v1beta.";

    /** The modalities proto enum, in declaration order. */
    static final Set<String> MODALITIES = Set.of("MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO");

    private enum Kind { MESSAGE, STRING, BYTES, BOOL, INT, FLOAT, ENUM, OPAQUE }

    private record Field(Kind kind, boolean repeated, String type) {
    }

    private static final Map<String, Map<String, Field>> MESSAGES = new LinkedHashMap<>();

    static {
        message("GenerateContentRequest",
                "model", scalar(Kind.STRING),
                "contents", repeated("Content"),
                "system_instruction", message("Content"),
                "tools", new Field(Kind.OPAQUE, true, null),
                "tool_config", opaque(),
                "safety_settings", new Field(Kind.OPAQUE, true, null),
                "generation_config", message("GenerationConfig"),
                "cached_content", scalar(Kind.STRING));
        message("Content",
                "role", scalar(Kind.STRING),
                "parts", repeated("Part"));
        message("Part",
                "text", scalar(Kind.STRING),
                "inline_data", message("Blob"),
                "file_data", message("FileData"),
                "function_call", opaque(),
                "function_response", opaque(),
                "executable_code", opaque(),
                "code_execution_result", opaque(),
                "thought", scalar(Kind.BOOL),
                "thought_signature", scalar(Kind.BYTES),
                "video_metadata", opaque(),
                "media_resolution", opaque(),
                "part_metadata", opaque());
        message("Blob",
                "mime_type", scalar(Kind.STRING),
                "data", scalar(Kind.BYTES));
        message("FileData",
                "mime_type", scalar(Kind.STRING),
                "file_uri", scalar(Kind.STRING));
        message("GenerationConfig",
                "stop_sequences", new Field(Kind.STRING, true, null),
                "response_mime_type", scalar(Kind.STRING),
                "response_schema", opaque(),
                "response_json_schema", opaque(),
                "response_modalities", new Field(Kind.ENUM, true, "GenerationConfig.Modality"),
                "candidate_count", scalar(Kind.INT),
                "max_output_tokens", scalar(Kind.INT),
                "temperature", scalar(Kind.FLOAT),
                "top_p", scalar(Kind.FLOAT),
                "top_k", scalar(Kind.INT),
                "seed", scalar(Kind.INT),
                "presence_penalty", scalar(Kind.FLOAT),
                "frequency_penalty", scalar(Kind.FLOAT),
                "response_logprobs", scalar(Kind.BOOL),
                "logprobs", scalar(Kind.INT),
                "enable_enhanced_civic_answers", scalar(Kind.BOOL),
                "speech_config", opaque(),
                "thinking_config", opaque(),
                "image_config", message("ImageConfig"),
                "media_resolution", opaque());
        // outputMimeType, compressionQuality and prominentPeople exist on Vertex AI only: unknown names here
        message("ImageConfig",
                "aspect_ratio", scalar(Kind.STRING),
                "image_size", scalar(Kind.STRING));
    }

    /** One problem, as Google reports it in the message and in a {@code BadRequest} field violation. */
    record Violation(String field, String description) {
    }

    private GeminiSchema() {
    }

    /** Every proto-JSON problem of a request body, in document order. */
    static List<Violation> check(JsonNode root) {
        List<Violation> out = new ArrayList<>();
        if (!root.isObject()) {
            out.add(new Violation("", "Invalid JSON payload received. Unknown name \"\": Root element must be a "
                    + "message."));
            return out;
        }
        checkMessage("GenerateContentRequest", root, "", out);
        return out;
    }

    /** Reads a field by its proto name in either spelling; {@code null} when absent. */
    static JsonNode get(JsonNode message, String snakeName) {
        if (message == null || !message.isObject()) {
            return null;
        }
        JsonNode v = message.get(snakeName);
        return v != null ? v : message.get(camel(snakeName));
    }

    static String camel(String snake) {
        StringBuilder b = new StringBuilder();
        boolean upper = false;
        for (char c : snake.toCharArray()) {
            if (c == '_') {
                upper = true;
            } else {
                b.append(upper ? Character.toUpperCase(c) : c);
                upper = false;
            }
        }
        return b.toString();
    }

    private static void checkMessage(String type, JsonNode node, String path, List<Violation> out) {
        Map<String, Field> fields = MESSAGES.get(type);
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            String key = e.getKey();
            String snake = snake(key);
            Field field = fields.get(snake);
            if (field == null || !(key.equals(snake) || key.equals(camel(snake)))) {
                out.add(new Violation(path, "Invalid JSON payload received. Unknown name \"" + key + "\""
                        + (path.isEmpty() ? "" : " at '" + path + "'") + ": Cannot find field."));
                continue;
            }
            String child = path.isEmpty() ? snake : path + "." + snake;
            JsonNode value = e.getValue();
            if (value.isNull()) {
                continue; // proto JSON treats null as "not set"
            }
            if (field.repeated()) {
                if (!value.isArray()) {
                    out.add(invalid(child, field, value));
                    continue;
                }
                for (int i = 0; i < value.size(); i++) {
                    checkValue(field, value.get(i), child + "[" + i + "]", out);
                }
            } else {
                checkValue(field, value, child, out);
            }
        }
    }

    private static void checkValue(Field field, JsonNode value, String path, List<Violation> out) {
        boolean ok = switch (field.kind()) {
            case MESSAGE -> value.isObject();
            case STRING, BYTES -> value.isTextual();
            case BOOL -> value.isBoolean();
            case INT -> value.isIntegralNumber() || value.isTextual() && value.asText().matches("-?\\d+");
            case FLOAT -> value.isNumber();
            case ENUM -> value.isTextual() && MODALITIES.contains(value.asText())
                    || value.isIntegralNumber() && value.asInt() >= 0 && value.asInt() < MODALITIES.size();
            case OPAQUE -> true;
        };
        if (!ok) {
            out.add(invalid(path, field, value));
        } else if (field.kind() == Kind.MESSAGE) {
            checkMessage(field.type(), value, path, out);
        } else if (field.kind() == Kind.BYTES && decode(value.asText()) == null) {
            out.add(new Violation(path, "Invalid value at '" + path + "' (TYPE_BYTES), Base64 decoding failed for "
                    + quoted(value.asText())));
        }
    }

    /** Standard or URL-safe base64, padded or not, as proto JSON accepts; {@code null} when it is neither. */
    static byte[] decode(String text) {
        try {
            return java.util.Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException notStandard) {
            try {
                return java.util.Base64.getUrlDecoder().decode(text);
            } catch (IllegalArgumentException notUrlSafe) {
                return null;
            }
        }
    }

    private static Violation invalid(String path, Field field, JsonNode value) {
        String type = switch (field.kind()) {
            case MESSAGE -> PROTO + field.type();
            case ENUM -> PROTO + field.type();
            case STRING -> "TYPE_STRING";
            case BYTES -> "TYPE_BYTES";
            case BOOL -> "TYPE_BOOL";
            case INT -> "TYPE_INT32";
            case FLOAT -> "TYPE_FLOAT";
            case OPAQUE -> "TYPE_MESSAGE";
        };
        return new Violation(path, "Invalid value at '" + path + "' (" + type + "), " + shown(value));
    }

    private static String shown(JsonNode value) {
        if (value.isTextual()) {
            return quoted(value.asText());
        }
        String json = value.toString();
        return json.length() > 80 ? json.substring(0, 80) + "…" : json;
    }

    private static String quoted(String text) {
        return "\"" + (text.length() > 80 ? text.substring(0, 80) + "…" : text) + "\"";
    }

    private static String snake(String key) {
        StringBuilder b = new StringBuilder();
        for (char c : key.toCharArray()) {
            if (Character.isUpperCase(c)) {
                b.append('_').append(Character.toLowerCase(c));
            } else {
                b.append(c);
            }
        }
        return b.toString().toLowerCase(Locale.ROOT);
    }

    private static void message(String name, Object... nameThenField) {
        Map<String, Field> fields = new LinkedHashMap<>();
        for (int i = 0; i < nameThenField.length; i += 2) {
            fields.put((String) nameThenField[i], (Field) nameThenField[i + 1]);
        }
        MESSAGES.put(name, fields);
    }

    private static Field scalar(Kind kind) {
        return new Field(kind, false, null);
    }

    private static Field message(String type) {
        return new Field(Kind.MESSAGE, false, type);
    }

    private static Field repeated(String type) {
        return new Field(Kind.MESSAGE, true, type);
    }

    private static Field opaque() {
        return new Field(Kind.OPAQUE, false, null);
    }
}
