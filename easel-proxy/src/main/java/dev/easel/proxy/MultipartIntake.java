package dev.easel.proxy;

import dev.easel.validate.EditInput;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a multipart edit request into an {@link EditInput}, leniently: image parts named {@code image},
 * {@code image[]}, {@code image[N]} or repeated {@code image} (wire order kept, {@code image[N]} sorted by
 * N), {@code mask} or {@code mask[]}, with or without file name and with any or no content type (the
 * format comes from the bytes later); text fields in any order, with or without their own content type;
 * unknown fields passed through.
 */
final class MultipartIntake {

    /** Largest text field (prompts are at most 32,000 characters). */
    static final int MAX_TEXT_BYTES = 1024 * 1024;

    private static final Pattern INDEXED = Pattern.compile("(image|mask)\\[(\\d{1,3})]");

    /** The parsed request. */
    record Parsed(String modelOrNull, EditInput input) {
    }

    private MultipartIntake() {
    }

    static Parsed parse(InputStream body, String contentType, Spool spool) throws IOException {
        String boundary = MultipartParser.boundary(contentType);
        if (boundary == null) {
            throw ProxyException.badRequest("invalid_multipart", null,
                    "multipart/form-data request without a boundary in its Content-Type");
        }
        record Img(String name, int index, int seq, EditInput.RawImage raw) {
        }
        List<Img> images = new ArrayList<>();
        List<Img> masks = new ArrayList<>();
        Map<String, String> text = new LinkedHashMap<>();
        int[] seq = {0};
        try {
            new MultipartParser(body, boundary).parse(h -> {
                String name = h.name();
                String base = name.replaceFirst("\\[.*$", "");
                boolean isImage = base.equals("image");
                boolean isMask = base.equals("mask");
                if (isImage || isMask) {
                    Matcher m = INDEXED.matcher(name);
                    final int index = m.matches() ? Integer.parseInt(m.group(2)) : -1;
                    if (index < 0 && !name.equals(base) && !name.equals(base + "[]")) {
                        throw ProxyException.badRequest("invalid_parameter", name, "unexpected field '" + name
                                + "' (images go in 'image', 'image[]' or 'image[N]')");
                    }
                    int mySeq = seq[0]++;
                    Spool.Writer w = spool.writer(isMask ? "mask" : "image");
                    return new MultipartParser.PartSink() {
                        @Override
                        public void write(byte[] buf, int off, int len) throws IOException {
                            w.write(buf, off, len);
                        }

                        @Override
                        public void end() throws IOException {
                            var raw = new EditInput.RawImage(w.finish(), h.fileName(), isMask ? "mask" : "image");
                            (isMask ? masks : images).add(new Img(name, index, mySeq, raw));
                        }
                    };
                }
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                return new MultipartParser.PartSink() {
                    @Override
                    public void write(byte[] b, int off, int len) {
                        if (buf.size() + len > MAX_TEXT_BYTES) {
                            throw ProxyException.tooLarge(name, "field '" + name + "' is larger than "
                                    + MAX_TEXT_BYTES + " bytes");
                        }
                        buf.write(b, off, len);
                    }

                    @Override
                    public void end() {
                        String value = buf.toString(StandardCharsets.UTF_8);
                        if (text.containsKey(name) && !name.endsWith("[]")) {
                            throw ProxyException.badRequest("duplicate_parameter", name, "Duplicate parameter: '"
                                    + name + "'. You provided multiple values for this parameter, whereas only one "
                                    + "is allowed.");
                        }
                        text.merge(name, value, (a, b) -> a + "," + b);
                    }
                };
            });
        } catch (MultipartParser.MalformedException e) {
            throw ProxyException.badRequest("invalid_multipart", null, "malformed multipart body: " + e.getMessage());
        }
        if (masks.size() > 1) {
            throw ProxyException.badRequest("duplicate_parameter", "mask", "only one mask may be sent (got "
                    + masks.size() + ")");
        }
        // image[N] parts in index order; all others keep wire order
        boolean allIndexed = !images.isEmpty() && images.stream().allMatch(i -> i.index() >= 0);
        List<Img> ordered = new ArrayList<>(images);
        if (allIndexed) {
            ordered.sort(java.util.Comparator.comparingInt(Img::index));
        }
        List<EditInput.RawImage> raws = new ArrayList<>();
        for (int i = 0; i < ordered.size(); i++) {
            EditInput.RawImage r = ordered.get(i).raw();
            String param = ordered.size() == 1 ? "image" : "image[" + i + "]";
            raws.add(new EditInput.RawImage(r.blob(), r.fileNameOrNull(), param));
        }
        String model = text.remove("model");
        String prompt = text.remove("prompt");
        String stream = text.remove("stream");
        Map<String, Object> params = new LinkedHashMap<>(text);
        boolean streaming = stream != null && parseBool("stream", stream);
        EditInput input = new EditInput(prompt, raws, masks.isEmpty() ? null : masks.get(0).raw(), params, streaming);
        return new Parsed(model, input);
    }

    static boolean parseBool(String name, String value) {
        return switch (value.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1" -> true;
            case "false", "0", "" -> false;
            default -> throw ProxyException.badRequest("invalid_type", name, "Invalid value for '" + name
                    + "': expected a boolean (was '" + value + "').");
        };
    }
}
