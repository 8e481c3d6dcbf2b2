package dev.easel.catalog;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.catalog.ModelSpec.Lifecycle;
import dev.easel.catalog.ModelSpec.MaskRule;
import dev.easel.catalog.ModelSpec.SizeRule;
import dev.easel.image.ImageFormat;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The model catalogue: what Easel knows about each image-edit model (limits, parameters, sizes, prices,
 * lifecycle). {@link #bundled()} reads the {@code models.json} shipped in the jar; configuration can
 * replace entries with {@link #withOverride(ModelSpec)}. Immutable and thread-safe.
 */
public final class ModelCatalog {

    /** Classpath location of the bundled catalogue. */
    public static final String RESOURCE = "/dev/easel/catalog/models.json";

    /** OpenAI's "&lt; 50 MB" limit for GPT image model inputs, in bytes. */
    public static final long FIFTY_MB = 50L * 1024 * 1024;

    private final List<ModelSpec> models;
    private final Map<String, ModelSpec> byId;

    private ModelCatalog(List<ModelSpec> models) {
        this.models = List.copyOf(models);
        Map<String, ModelSpec> index = new LinkedHashMap<>();
        for (ModelSpec m : this.models) {
            index.put(m.id(), m);
        }
        for (ModelSpec m : this.models) {
            for (String alias : m.aliases()) {
                index.putIfAbsent(alias, m);
            }
        }
        this.byId = Collections.unmodifiableMap(index);
    }

    /**
     * The catalogue bundled with Easel plus the models of every installed provider
     * ({@link dev.easel.provider.ProviderFactory#catalogResource()}); read once per set of installed providers.
     */
    public static ModelCatalog bundled() {
        return forProviders(dev.easel.provider.ProviderRegistry.installed());
    }

    private static final Map<dev.easel.provider.ProviderRegistry, ModelCatalog> BY_REGISTRY =
            new java.util.WeakHashMap<>();

    /**
     * The bundled {@code models.json} followed by the catalogue of each provider of {@code registry}, in prefix
     * order (a provider's models may extend the bundled ones).
     *
     * @throws IllegalArgumentException naming the file and JSON path of the first invalid entry
     */
    public static ModelCatalog forProviders(dev.easel.provider.ProviderRegistry registry) {
        synchronized (BY_REGISTRY) {
            ModelCatalog c = BY_REGISTRY.get(registry);
            if (c == null) {
                c = load(registry);
                BY_REGISTRY.put(registry, c);
            }
            return c;
        }
    }

    private static ModelCatalog load(dev.easel.provider.ProviderRegistry registry) {
        List<CatalogReader.Source> sources = new ArrayList<>();
        sources.add(new CatalogReader.Source("", Bundled.ROOT, null));
        for (dev.easel.provider.ProviderFactory f : registry.factories()) {
            Optional<String> resource = f.catalogResource();
            if (resource.isEmpty()) {
                continue;
            }
            String label = f.getClass().getName() + " " + resource.get();
            try (InputStream in = f.getClass().getResourceAsStream(resource.get())) {
                if (in == null) {
                    throw new IllegalArgumentException("model catalogue: " + label + ": not found on the classpath");
                }
                sources.add(new CatalogReader.Source(label, parse(in), f.prefix()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return new ModelCatalog(CatalogReader.read(sources));
    }

    private static JsonNode parse(InputStream json) {
        try {
            return MAPPER.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("model catalogue: invalid json: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Reads a catalogue in the {@code models.json} format (see the bundled file's {@code _comment}).
     *
     * @throws IllegalArgumentException naming the JSON path of the first invalid entry
     */
    public static ModelCatalog fromJson(InputStream json) {
        Objects.requireNonNull(json, "json");
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("model catalogue: invalid json: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new ModelCatalog(CatalogReader.read(root));
    }

    /** The model with this id or alias (case-sensitive, like OpenAI). */
    public Optional<ModelSpec> find(String id) {
        Objects.requireNonNull(id, "id");
        return Optional.ofNullable(byId.get(id));
    }

    /**
     * A stand-in for a model id the catalogue does not know: accepts PNG/JPEG/WebP images below 50 MB (up
     * to 16), a PNG mask with alpha of the first image's size, prompts up to 32000 characters, {@code n}
     * 1..10, any {@code WxH} size, any parameter (passed through), streaming; no prices, no lifecycle.
     */
    public static ModelSpec permissive(String id, String provider) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(provider, "provider");
        return new ModelSpec(id, List.of(), provider, false, EnumSet.allOf(ImageFormat.class), FIFTY_MB, 16, false,
                new MaskRule(true, FIFTY_MB, true, true, true), 32000, 1, 10, new SizeRule.Any(), Map.of(), true,
                Optional.empty(), new Lifecycle(Optional.empty(), Optional.empty(), Optional.empty()));
    }

    /** All models, in catalogue order. */
    public List<ModelSpec> models() {
        return models;
    }

    /**
     * A catalogue where {@code spec} replaces the model with the same id (or is added at the end). Its
     * aliases take precedence over other models' aliases.
     */
    public ModelCatalog withOverride(ModelSpec spec) {
        Objects.requireNonNull(spec, "spec");
        List<ModelSpec> out = new ArrayList<>();
        boolean replaced = false;
        for (ModelSpec m : models) {
            if (m.id().equals(spec.id())) {
                out.add(spec);
                replaced = true;
            } else {
                List<String> aliases = m.aliases().stream()
                        .filter(a -> !a.equals(spec.id()) && !spec.aliases().contains(a)).toList();
                out.add(aliases.size() == m.aliases().size() ? m : withAliases(m, aliases));
            }
        }
        if (!replaced) {
            out.add(spec);
        }
        return new ModelCatalog(out);
    }

    private static ModelSpec withAliases(ModelSpec m, List<String> aliases) {
        return m.withAliases(aliases);
    }

    @Override
    public String toString() {
        return "ModelCatalog" + models.stream().map(ModelSpec::id).toList();
    }

    static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

    private static final class Bundled {
        static final JsonNode ROOT = load();

        private static JsonNode load() {
            try (InputStream in = ModelCatalog.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException("bundled model catalogue " + RESOURCE + " is missing from the classpath");
                }
                return parse(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
