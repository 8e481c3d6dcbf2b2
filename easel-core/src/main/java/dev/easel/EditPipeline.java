package dev.easel;

import dev.easel.catalog.ModelCatalog;
import dev.easel.catalog.ModelSpec;
import dev.easel.config.EaselConfig;
import dev.easel.config.ModelEntry;
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
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The request path shared by the SDK and the proxy: model → deployment → validation → provider →
 * response normalisation. Nothing reaches a provider before validation has passed.
 */
final class EditPipeline {

    private final Easel.Settings settings;
    private final Map<String, ImageEditProvider> providers;
    private final Map<String, List<Target>> groups;

    EditPipeline(Easel.Settings settings) {
        this.settings = settings;
        Map<String, ImageEditProvider> p = new LinkedHashMap<>();
        for (ImageEditProvider builtIn : List.of(new OpenAiProvider(), new AzureProvider(), new MockProvider())) {
            p.put(builtIn.name(), builtIn);
        }
        p.putAll(settings.providers());
        this.providers = Map.copyOf(p);
        this.groups = settings.config() == null ? Map.of() : groups(settings.config());
    }

    /** A deployment with its provider, its model's rules, and its place in its group. */
    record Target(String group, String id, ImageEditProvider provider, Deployment deployment, ModelSpec spec,
                  int order, double weight) {
    }

    // ---- SDK entry points -------------------------------------------------------------------------

    ImageResponse edit(ImageEditRequest request) {
        try (Inputs inputs = Inputs.of(request)) {
            return execute(new GatewayRequest(request.model().orElse(null), inputs.toEditInput(request),
                    request.extraHeaders(), request.timeout().orElse(null))).response();
        }
    }

    ImageEditStream stream(ImageEditRequest request) {
        Inputs inputs = Inputs.of(request);
        try {
            EditInput input = inputs.toEditInput(request);
            input = new EditInput(input.prompt(), input.images(), input.maskOrNull(), input.params(), true);
            ImageEditStream upstream = executeStream(new GatewayRequest(request.model().orElse(null), input,
                    request.extraHeaders(), request.timeout().orElse(null))).stream();
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

    // ---- shared entry points ----------------------------------------------------------------------

    EditOutcome execute(GatewayRequest request) {
        Target target = resolve(request.model());
        ValidatedEdit v = validate(request.input(), target);
        EditCall call = call(request, target, v);
        long t0 = System.nanoTime();
        ImageResponse r;
        if (call.stream()) {
            // stream=true but one answer wanted: the completed event becomes the response
            try (ImageEditStream s = target.provider().editStream(call)) {
                r = collect(s, target);
            }
        } else {
            r = target.provider().edit(call);
        }
        Duration upstream = Duration.ofNanos(System.nanoTime() - t0);
        return new EditOutcome(normalise(r, v), target.group(), target.id(), target.deployment().provider(),
                upstream);
    }

    StreamOutcome executeStream(GatewayRequest request) {
        Target target = resolve(request.model());
        ValidatedEdit v = validate(request.input(), target);
        EditCall call = call(request, target, v);
        return new StreamOutcome(target.provider().editStream(call), target.group(), target.id(),
                target.deployment().provider());
    }

    /** Model names served ({@code model_name}s of the config; empty without a config). */
    List<String> modelNames() {
        return List.copyOf(groups.keySet());
    }

    // ---- model resolution -------------------------------------------------------------------------

    private Map<String, List<Target>> groups(EaselConfig config) {
        Map<String, List<Target>> out = new LinkedHashMap<>();
        for (ModelEntry e : config.modelList()) {
            Deployment d = e.params().toDeployment();
            if (d.timeout() == null) {
                Duration t = config.litellmSettings().requestTimeout().orElse(settings.timeout());
                d = new Deployment(d.provider(), d.model(), d.apiKey(), d.apiBase(), d.apiVersion(), t, d.settings());
            }
            String pricedAs = e.modelInfo().baseModel().orElse(d.model());
            ModelSpec spec = spec(pricedAs, d.provider());
            String id = e.modelInfo().id().orElse(d.displayName());
            double weight = e.params().weight().orElse(e.params().rpm().isPresent() ? e.params().rpm().getAsInt()
                    : e.params().tpm().isPresent() ? e.params().tpm().getAsLong() : 1);
            out.computeIfAbsent(e.modelName(), k -> new ArrayList<>()).add(new Target(e.modelName(), id,
                    provider(d.provider(), e.params().model()), d, spec, e.params().order().orElse(Integer.MAX_VALUE),
                    weight));
        }
        out.replaceAll((k, v) -> List.copyOf(v));
        // keep config order (Map.copyOf would not): /v1/models and the start-up line list groups as written
        return java.util.Collections.unmodifiableMap(out);
    }

    /** Resolves a config {@code model_name}, {@code provider/model}, or a bare catalogue name. */
    Target resolve(String model) {
        if (model == null || model.isBlank()) {
            throw new BadRequestException("you must provide a model (e.g. 'gpt-image-2', 'azure/<deployment>' "
                    + "or 'mock/edit')", "missing_required_parameter", "model");
        }
        if (settings.config() != null) {
            List<Target> group = groups.get(model);
            if (group == null) {
                throw new NotFoundException("model '" + model + "' is not served here (available: "
                        + String.join(", ", new TreeSet<>(groups.keySet())) + ")", "model_not_found", "model");
            }
            return pick(group);
        }
        String providerName;
        String providerModel;
        int slash = model.indexOf('/');
        if (slash > 0) {
            providerName = model.substring(0, slash);
            providerModel = model.substring(slash + 1);
            if (providerModel.isBlank()) {
                throw new BadRequestException("model '" + model + "' names no model after the provider",
                        "invalid_model", "model");
            }
        } else {
            providerModel = model;
            providerName = settings.catalog().find(model).map(ModelSpec::provider).orElse("openai");
        }
        ImageEditProvider provider = provider(providerName, model);
        Deployment d = new Deployment(providerName, providerModel, settings.apiKey(), settings.apiBase(),
                settings.apiVersion(), settings.timeout(), settings.providerSettings());
        return new Target(model, d.displayName(), provider, d, spec(providerModel, providerName), 0, 1);
    }

    /** Lowest {@code order} first; within it a weighted random pick (the router refines this). */
    private static Target pick(List<Target> group) {
        int best = group.stream().mapToInt(Target::order).min().orElseThrow();
        List<Target> tier = group.stream().filter(t -> t.order() == best).toList();
        if (tier.size() == 1) {
            return tier.get(0);
        }
        double total = tier.stream().mapToDouble(Target::weight).sum();
        double r = ThreadLocalRandom.current().nextDouble() * total;
        for (Target t : tier) {
            r -= t.weight();
            if (r < 0) {
                return t;
            }
        }
        return tier.get(tier.size() - 1);
    }

    private ImageEditProvider provider(String name, String model) {
        ImageEditProvider p = providers.get(name);
        if (p == null) {
            throw new BadRequestException("unknown provider '" + name + "' in model '" + model
                    + "' (known: " + String.join(", ", new TreeSet<>(providers.keySet())) + ")",
                    "invalid_model", "model");
        }
        return p;
    }

    private ModelSpec spec(String model, String provider) {
        ModelCatalog catalog = settings.catalog();
        return catalog.find(model).orElseGet(() -> catalog.permissive(model, provider));
    }

    // ---- steps ------------------------------------------------------------------------------------

    private ValidatedEdit validate(EditInput input, Target target) {
        LocalDate today = LocalDate.now(settings.clock());
        return new RequestValidator().validate(input, target.spec(), settings.dropParams(), today);
    }

    private EditCall call(GatewayRequest r, Target t, ValidatedEdit v) {
        Duration timeout = r.timeout().orElse(t.deployment().timeout() != null ? t.deployment().timeout()
                : settings.timeout());
        return new EditCall(t.deployment(), t.spec(), r.input().prompt(), v.images(), v.maskOrNull(),
                v.params(), r.input().stream(), r.headers(), timeout);
    }

    /** Gives the caller what it asked for: {@code url} or {@code b64_json}, whatever the provider returned. */
    private ImageResponse normalise(ImageResponse r, ValidatedEdit v) {
        ImageResponse.Builder b = r.toBuilder().addWarnings(v.warnings());
        String format = v.params().get("response_format");
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
                out.add(ImageData.ofBase64(Base64.getEncoder().encodeToString(settings.imageFetcher().fetch(d))));
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

        EditInput toEditInput(ImageEditRequest r) {
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
            return new EditInput(r.prompt().orElse(null), images, mask, params, r.stream());
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
}
