package dev.easel.validate;

import dev.easel.internal.Blob;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An edit as it arrived (from the SDK builder or the proxy's intake), before validation.
 *
 * @param prompt     the prompt, or null when missing
 * @param images     images in wire order
 * @param maskOrNull mask, or null
 * @param params     other parameters by wire name ({@code n}, {@code size}, {@code output_compression}, unknown
 *                   extras…); values are {@code String}, {@code Number}, {@code Boolean} or nested
 *                   {@code Map}/{@code List} (from JSON or {@code extraBody}). The proxy passes form fields as strings.
 * @param stream     {@code stream=true}
 */
public record EditInput(String prompt, List<RawImage> images, RawImage maskOrNull, Map<String, Object> params,
                        boolean stream) {

    public EditInput {
        images = List.copyOf(images);
        params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
    }

    /**
     * One uploaded image before inspection.
     *
     * @param blob           its bytes
     * @param fileNameOrNull the client's file name, if any (a label only)
     * @param param          the name errors use for it: {@code image}, {@code image[1]}, {@code mask}
     */
    public record RawImage(Blob blob, String fileNameOrNull, String param) {
        public RawImage {
            Objects.requireNonNull(blob, "blob");
            Objects.requireNonNull(param, "param");
        }
    }
}
