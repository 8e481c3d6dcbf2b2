package dev.easel;

import dev.easel.catalog.ModelCatalog;
import dev.easel.catalog.ModelSpec;
import dev.easel.image.ImageFormat;
import dev.easel.internal.Blob;
import dev.easel.provider.Deployment;
import dev.easel.provider.EditCall;
import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.azure.AzureProvider;
import dev.easel.provider.mock.MockProvider;
import dev.easel.provider.openai.OpenAiProvider;
import dev.easel.validate.EditInput;
import dev.easel.validate.RequestValidator;
import dev.easel.validate.ValidatedEdit;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The request path inside the SDK: inputs → model → validation → provider → response normalisation.
 * Nothing reaches a provider before validation has passed.
 */
final class EditPipeline {

    private final Easel.Settings settings;
    private final Map<String, ImageEditProvider> providers;

    EditPipeline(Easel.Settings settings) {
        this.settings = settings;
        Map<String, ImageEditProvider> p = new LinkedHashMap<>();
        OpenAiProvider openai = new OpenAiProvider();
        p.put(openai.name(), openai);
        AzureProvider azure = new AzureProvider();
        p.put(azure.name(), azure);
        MockProvider mock = new MockProvider();
        p.put(mock.name(), mock);
        p.putAll(settings.providers());
        this.providers = Map.copyOf(p);
    }

    /** A model string resolved to a provider, a deployment and the model's rules. */
    record Target(ImageEditProvider provider, Deployment deployment, ModelSpec spec) {
    }

    ImageResponse edit(ImageEditRequest request) {
        Target target = resolve(request.model().orElse(null));
        try (Inputs inputs = Inputs.of(request)) {
            boolean stream = request.stream();
            ValidatedEdit v = validate(request, target, inputs, stream);
            EditCall call = call(request, target, v, stream);
            ImageResponse r;
            if (stream) {
                // A caller that set stream=true but wants one answer gets the completed event as a response.
                try (ImageEditStream s = target.provider().editStream(call)) {
                    r = collect(s, target);
                }
            } else {
                r = target.provider().edit(call);
            }
            return normalise(r, request, v);
        }
    }

    ImageEditStream stream(ImageEditRequest request) {
        Target target = resolve(request.model().orElse(null));
        Inputs inputs = Inputs.of(request);
        try {
            ValidatedEdit v = validate(request, target, inputs, true);
            EditCall call = call(request, target, v, true);
            ImageEditStream upstream = target.provider().editStream(call);
            return new ImageEditStream() {
                @Override
                public Iterator<ImageEditEvent> iterator() {
                    return upstream.iterator();
                }

                @Override
                public void close() {
                    try {
                        upstream.close();
                    } finally {
                        inputs.close();
                    }
                }
            };
        } catch (RuntimeException e) {
            inputs.close();
            throw e;
        }
    }

    /** Resolves {@code provider/model} or a bare catalogue name. */
    Target resolve(String model) {
        if (model == null || model.isBlank()) {
            throw new BadRequestException("you must provide a model (e.g. 'gpt-image-2', 'azure/<deployment>' "
                    + "or 'mock/edit')", "missing_required_parameter", "model");
        }
        ModelCatalog catalog = settings.catalog();
        String providerName;
        String providerModel;
        int slash = model.indexOf('/');
        if (slash > 0) {
            providerName = model.substring(0, slash);
            providerModel = model.substring(slash + 1);
            if (!providers.containsKey(providerName)) {
                throw new BadRequestException("unknown provider '" + providerName + "' in model '" + model
                        + "' (known: " + String.join(", ", new TreeSet<>(providers.keySet())) + ")",
                        "invalid_model", "model");
            }
            if (providerModel.isBlank()) {
                throw new BadRequestException("model '" + model + "' names no model after the provider",
                        "invalid_model", "model");
            }
        } else {
            providerModel = model;
            providerName = catalog.find(model).map(ModelSpec::provider).orElse("openai");
        }
        ModelSpec spec = catalog.find(providerModel)
                .orElseGet(() -> catalog.permissive(providerModel, providerName));
        ImageEditProvider provider = providers.get(providerName);
        Map<String, Object> providerSettings = settings.providerSettings();
        Deployment d = new Deployment(providerName, providerModel, settings.apiKey(), settings.apiBase(),
                settings.apiVersion(), settings.timeout(), providerSettings);
        return new Target(provider, d, spec);
    }

    private ValidatedEdit validate(ImageEditRequest r, Target target, Inputs inputs, boolean stream) {
        Map<String, Object> params = new LinkedHashMap<>();
        r.n().ifPresent(n -> params.put("n", n));
        r.size().ifPresent(v -> params.put("size", v));
        r.quality().ifPresent(v -> params.put("quality", v));
        r.background().ifPresent(v -> params.put("background", v));
        r.outputFormat().ifPresent(v -> params.put("output_format", v));
        r.outputCompression().ifPresent(v -> params.put("output_compression", v));
        r.inputFidelity().ifPresent(v -> params.put("input_fidelity", v));
        r.responseFormat().ifPresent(v -> params.put("response_format", v));
        r.partialImages().ifPresent(v -> params.put("partial_images", v));
        r.user().ifPresent(v -> params.put("user", v));
        r.safetyIdentifier().ifPresent(v -> params.put("safety_identifier", v));
        r.extraBody().forEach(params::putIfAbsent);
        EditInput input = new EditInput(r.prompt().orElse(null), inputs.images, inputs.mask, params,
                stream || r.stream());
        LocalDate today = LocalDate.now(settings.clock());
        return new RequestValidator().validate(input, target.spec(), settings.dropParams(), today);
    }

    private EditCall call(ImageEditRequest r, Target t, ValidatedEdit v, boolean stream) {
        return new EditCall(t.deployment(), t.spec(), r.prompt().orElseThrow(), v.images(), v.maskOrNull(),
                v.params(), stream, r.extraHeaders(), r.timeout().orElse(settings.timeout()));
    }

    /** Gives the caller what it asked for: {@code url} or {@code b64_json}, whatever the provider returned. */
    private ImageResponse normalise(ImageResponse r, ImageEditRequest request, ValidatedEdit v) {
        ImageResponse.Builder b = r.toBuilder().addWarnings(v.warnings());
        String format = request.responseFormat().orElse(null);
        if (format == null) {
            return b.build();
        }
        List<ImageData> out = new ArrayList<>(r.data().size());
        for (ImageData d : r.data()) {
            if ("url".equals(format) && d.url().isEmpty()) {
                byte[] bytes = d.bytes();
                ImageFormat f = ImageFormat.sniff(bytes).orElseGet(() ->
                        ImageFormat.fromName(r.outputFormat().orElse("png")).orElse(ImageFormat.PNG));
                out.add(ImageData.ofUrl(settings.imageStore().store(bytes, f)));
            } else if ("b64_json".equals(format) && d.b64Json().isEmpty()) {
                out.add(ImageData.ofBase64(Base64.getEncoder().encodeToString(d.bytes())));
            } else {
                out.add(d);
            }
        }
        return b.data(out).build();
    }

    private static ImageResponse collect(ImageEditStream s, Target target) {
        for (ImageEditEvent e : s) {
            if (e instanceof ImageEditEvent.Completed c) {
                return ImageResponse.builder()
                        .created(c.createdAt())
                        .addData(ImageData.ofBase64(c.b64Json()))
                        .size(c.size()).quality(c.quality()).background(c.background())
                        .outputFormat(c.outputFormat()).usage(c.usageOrNull())
                        .provider(target.deployment().provider()).model(target.deployment().model())
                        .build();
            }
        }
        throw new ConnectionException("the stream ended without a completed image",
                target.deployment().provider(), null);
    }

    /**
     * The request's images as blobs; streams are spooled to temporary files, deleted on close.
     */
    static final class Inputs implements AutoCloseable {
        final List<EditInput.RawImage> images = new ArrayList<>();
        EditInput.RawImage mask;
        private final List<Path> temp = new ArrayList<>();

        static Inputs of(ImageEditRequest r) {
            Inputs in = new Inputs();
            try {
                List<ImageInput> list = r.images();
                for (int i = 0; i < list.size(); i++) {
                    String param = list.size() == 1 ? "image" : "image[" + i + "]";
                    in.images.add(in.raw(list.get(i), param));
                }
                r.mask().ifPresent(m -> in.mask = in.raw(m, "mask"));
                return in;
            } catch (RuntimeException e) {
                in.close();
                throw e;
            }
        }

        private EditInput.RawImage raw(ImageInput input, String param) {
            Blob blob = switch (input.kind()) {
                case PATH -> {
                    if (!Files.isRegularFile(input.path())) {
                        throw new BadRequestException("cannot read " + param + " file '" + input.path() + "'",
                                "invalid_image_file", param);
                    }
                    yield Blob.ofFile(input.path());
                }
                case BYTES -> Blob.ofBytes(input.bytes());
                case STREAM -> spool(input.stream(), param);
            };
            return new EditInput.RawImage(blob, input.fileName().orElse(null), param);
        }

        private Blob spool(InputStream stream, String param) {
            try {
                Path f = Files.createTempFile("easel-upload-", ".bin");
                temp.add(f);
                try (var out = Files.newOutputStream(f)) {
                    stream.transferTo(out);
                }
                return Blob.ofFile(f);
            } catch (IOException e) {
                throw new UncheckedIOException("could not read " + param + " stream", e);
            }
        }

        @Override
        public void close() {
            for (Path p : temp) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    p.toFile().deleteOnExit();
                }
            }
            temp.clear();
        }
    }

    Optional<ImageEditProvider> provider(String name) {
        return Optional.ofNullable(providers.get(name));
    }
}
