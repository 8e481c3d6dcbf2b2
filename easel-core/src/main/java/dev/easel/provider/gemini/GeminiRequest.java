package dev.easel.provider.gemini;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.adapt.Sizes;
import dev.easel.catalog.ModelSpec.SizeRule;
import dev.easel.http.Base64Body;
import dev.easel.provider.EditCall;
import dev.easel.provider.EditParams;
import dev.easel.provider.ImagePart;
import dev.easel.validate.RequestValidator;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An edit as a Gemini {@code generateContent} request: the URL, and the JSON body
 * {@code {"contents":[{"role":"user","parts":[{"inlineData":{"mimeType","data"}}…, {"text": prompt}]}],
 * "generationConfig":{"responseModalities":["TEXT","IMAGE"],"imageConfig":{"aspectRatio","imageSize"}}, …extras}}
 * with the images base64-encoded while it is sent.
 */
final class GeminiRequest {

    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The size rule for a Gemini model the catalogue does not know (its stand-in takes any {@code WxH}): the ratios
     * and tiers every Gemini 3 image model takes.
     */
    static final SizeRule.AspectRatios DEFAULT_SIZES = defaultSizes();

    /**
     * OpenAI parameters the adapter handles without sending them: {@code n} (one image per call), {@code size}
     * (mapped), {@code response_format} (Easel's own), and the end-user ids, which Gemini has no field for. Every other
     * OpenAI parameter reaches the adapter only for a model the catalogue does not know, and is left out with a warning.
     */
    private static final List<String> HANDLED = List.of("n", "size", "response_format", "user", "safety_identifier");

    /** The body to send, and what the caller should know about what was left out. */
    record Prepared(Base64Body body, List<String> warnings) {
    }

    private GeminiRequest() {
    }

    /**
     * {@code {api_base}/v1beta/models/{model}:generateContent}; an {@code api_base} that already ends in an API
     * version ({@code …/v1beta}, as LiteLLM configs write it, or {@code …/v1}) is used as it is.
     */
    static URI url(EditCall call) {
        String base = call.deployment().base().orElse(GeminiProvider.DEFAULT_BASE).toString();
        while (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        String last = base.substring(base.lastIndexOf('/') + 1);
        String version = last.matches("v1(alpha|beta)?") ? "" : "/v1beta";
        String model = URLEncoder.encode(call.deployment().model(), StandardCharsets.UTF_8).replace("+", "%20");
        return URI.create(base + version + "/models/" + model + ":generateContent");
    }

    /** The request body for {@code call} (one image per call: {@code n} is not sent). */
    static Prepared prepare(EditCall call) {
        List<String> warnings = new ArrayList<>();
        Base64Body.Builder b = Base64Body.builder().text("{\"contents\":[{\"role\":\"user\",\"parts\":[");
        for (ImagePart image : call.images()) {
            b.text("{\"inlineData\":{\"mimeType\":\"" + image.info().format().mimeType() + "\",\"data\":\"")
                    .base64(image.blob()).text("\"}},");
        }
        b.bytes(bytes(JSON.createObjectNode().put("text", call.prompt()))).text("]}]");

        EditParams params = call.params();
        for (String name : RequestValidator.KNOWN_PARAMS) {
            if (!HANDLED.contains(name) && params.has(name)) {
                warnings.add("'" + name + "' not sent: the Gemini API has no such parameter");
            }
        }
        // every other field is one of Gemini's own (safetySettings, generationConfig.temperature …): passed through
        ObjectNode rest = JSON.createObjectNode();
        params.extras().forEach((name, value) -> {
            if (name.equals("contents")) {
                warnings.add("extra field 'contents' not sent: Easel writes it from the images and the prompt");
            } else if (!RequestValidator.KNOWN_PARAMS.contains(name)) {
                rest.set(name, value);
            }
        });
        ObjectNode config = take(rest, "generationConfig", "generation_config")
                .filter(JsonNode::isObject).map(n -> (ObjectNode) n.deepCopy()).orElseGet(JSON::createObjectNode);
        if (!has(config, "responseModalities", "response_modalities")) {
            // text too: when the model declines to draw, its words say why (quoted in the error)
            config.putArray("responseModalities").add("TEXT").add("IMAGE");
        }
        aspect(call).ifPresent(aspect -> {
            ObjectNode imageConfig = take(config, "imageConfig", "image_config").filter(JsonNode::isObject)
                    .map(n -> (ObjectNode) n.deepCopy()).orElseGet(JSON::createObjectNode);
            // the validated size wins over an imageConfig sent as an extra
            take(imageConfig, "aspectRatio", "aspect_ratio");
            take(imageConfig, "imageSize", "image_size");
            imageConfig.put("aspectRatio", aspect.ratio());
            aspect.tier().ifPresent(t -> imageConfig.put("imageSize", t));
            config.set("imageConfig", imageConfig);
        });
        b.text(",\"generationConfig\":").bytes(bytes(config));
        rest.properties().forEach(e -> b.text(",").bytes(bytes(JSON.getNodeFactory().textNode(e.getKey())))
                .text(":").bytes(bytes(e.getValue())));
        b.text("}");

        return new Prepared(b.build(), warnings);
    }

    /**
     * The aspect ratio and tier to ask for: the catalogue's adaptation has already turned pixels into a ratio for a
     * known model; pixels reach here only for a model the catalogue does not know, and are mapped the same way.
     * Empty for {@code auto} or no size: the provider's default (the first image's ratio, 1K).
     */
    private static Optional<EditParams.Size.Aspect> aspect(EditCall call) {
        return call.params().size().flatMap(size -> switch (size) {
            case EditParams.Size.Aspect a -> Optional.of(a);
            case EditParams.Size.Pixels p -> Optional.of(Sizes.aspect(p, DEFAULT_SIZES));
            case EditParams.Size.Auto a -> Optional.empty();
        });
    }

    private static SizeRule.AspectRatios defaultSizes() {
        Map<String, Integer> tiers = new LinkedHashMap<>();
        tiers.put("1K", 1024);
        tiers.put("2K", 2048);
        tiers.put("4K", 4096);
        return new SizeRule.AspectRatios(List.of("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9",
                "21:9"), tiers);
    }

    /** Removes and returns the field spelled {@code camel} or {@code snake} (Google reads both). */
    private static Optional<JsonNode> take(ObjectNode node, String camel, String snake) {
        JsonNode c = node.remove(camel);
        JsonNode s = node.remove(snake);
        return Optional.ofNullable(c != null ? c : s);
    }

    private static boolean has(ObjectNode node, String camel, String snake) {
        return node.has(camel) || node.has(snake);
    }

    private static byte[] bytes(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e); // a tree always serialises
        }
    }
}
