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
 * unknown fields passed through. A repeated {@code x[]} field becomes a list under {@code x} (forwarded like a
 * JSON array). Parts, images and text fields are counted against the request limits as they arrive
 * ({@link IntakeCounter}).
 */
final class MultipartIntake {

    private static final Pattern INDEXED = Pattern.compile("(image|mask)\\[(\\d{1,3})]");

    /** The parsed request. */
    record Parsed(String modelOrNull, EditInput input) {
    }

    private MultipartIntake() {
    }

    static Parsed parse(InputStream body, String contentType, Spool spool, IntakeCounter counter) throws IOException {
        String boundary = MultipartParser.boundary(contentType);
        if (boundary == null) {
            throw ProxyException.badRequest("invalid_multipart", null,
                    "multipart/form-data request without a boundary in its Content-Type");
        }
        record Img(String name, int index, int seq, EditInput.RawImage raw) {
        }
        List<Img> images = new ArrayList<>();
        List<Img> masks = new ArrayList<>();
        Map<String, Object> text = new LinkedHashMap<>();
        int[] seq = {0};
        try {
            new MultipartParser(body, boundary, counter.limits().maxPartHeaderBytes()).parse(h -> {
                String name = counter.name(h.name());
                counter.part(name);
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
                    if (isImage) {
                        counter.image("image");
                    } else if (!masks.isEmpty()) {
                        // refused before a second mask is read, not after a thousand are spooled
                        throw ProxyException.badRequest("duplicate_parameter", "mask", "only one mask may be sent "
                                + "(got 2)");
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
                counter.textField(name);
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                return new MultipartParser.PartSink() {
                    @Override
                    public void write(byte[] b, int off, int len) {
                        counter.text(name, (long) buf.size() + len, len);
                        buf.write(b, off, len);
                    }

                    @Override
                    public void end() {
                        put(text, name, buf.toString(StandardCharsets.UTF_8));
                    }
                };
            });
        } catch (MultipartParser.MalformedException e) {
            throw ProxyException.badRequest("invalid_multipart", null, "malformed multipart body: " + e.getMessage());
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
        String model = scalar(text.remove("model"), "model");
        String prompt = scalar(text.remove("prompt"), "prompt");
        String stream = scalar(text.remove("stream"), "stream");
        Map<String, Object> params = new LinkedHashMap<>(text);
        boolean streaming = stream != null && parseBool("stream", stream);
        EditInput input = new EditInput(prompt, raws, masks.isEmpty() ? null : masks.get(0).raw(), params, streaming);
        return new Parsed(model, input);
    }

    /**
     * Adds a text field: {@code x[]} values are collected in order into a list under {@code x} (linear, however
     * many), any other name may be sent once.
     */
    private static void put(Map<String, Object> text, String name, String value) {
        if (name.length() > 2 && name.endsWith("[]")) {
            String base = name.substring(0, name.length() - 2);
            Object previous = text.get(base);
            if (previous == null) {
                List<String> values = new ArrayList<>();
                values.add(value);
                text.put(base, values);
                return;
            }
            if (previous instanceof ArrayList<?>) {
                @SuppressWarnings("unchecked")
                List<String> values = (List<String>) previous;
                values.add(value);
                return;
            }
            throw duplicate(base);
        }
        if (text.containsKey(name)) {
            throw duplicate(name);
        }
        text.put(name, value);
    }

    private static ProxyException duplicate(String name) {
        return ProxyException.badRequest("duplicate_parameter", name, "Duplicate parameter: '" + name + "'. You "
                + "provided multiple values for this parameter, whereas only one is allowed.");
    }

    /** A field that must be one string ({@code model}, {@code prompt}, {@code stream}); null when absent. */
    private static String scalar(Object value, String name) {
        if (value == null || value instanceof String) {
            return (String) value;
        }
        throw ProxyException.badRequest("invalid_type", name, "Invalid type for '" + name + "': expected a string, "
                + "but got an array.");
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
