package dev.easel.provider;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;
import java.util.WeakHashMap;
import java.util.regex.Pattern;

/**
 * The installed {@link ProviderFactory}s by prefix, as {@link ServiceLoader} finds them: Easel's own (openai,
 * azure, mock) and every jar on the classpath that lists one. The config checker asks it which settings a
 * provider reads; a client creates one adapter per factory. Immutable.
 */
public final class ProviderRegistry {

    private static final Pattern PREFIX = Pattern.compile("[a-z0-9][a-z0-9_-]*");
    private static final Map<ClassLoader, ProviderRegistry> INSTALLED = new WeakHashMap<>();

    private final Map<String, ProviderFactory> byPrefix;

    private ProviderRegistry(Map<String, ProviderFactory> byPrefix) {
        this.byPrefix = Collections.unmodifiableMap(byPrefix);
    }

    /**
     * The factories visible to the current thread's context class loader (else Easel's own loader), found once per
     * loader.
     *
     * @throws IllegalStateException when a factory cannot be loaded or two claim the same prefix
     */
    public static ProviderRegistry installed() {
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        ClassLoader loader = context != null ? context : ProviderFactory.class.getClassLoader();
        synchronized (INSTALLED) {
            return INSTALLED.computeIfAbsent(loader, ProviderRegistry::load);
        }
    }

    /** The factories {@code loader} can see (not cached). */
    public static ProviderRegistry load(ClassLoader loader) {
        List<ProviderFactory> found = new ArrayList<>();
        try {
            for (ProviderFactory f : ServiceLoader.load(ProviderFactory.class, loader)) {
                found.add(f);
            }
        } catch (ServiceConfigurationError e) {
            throw new IllegalStateException("cannot load a provider factory: " + e.getMessage(), e);
        }
        return of(found);
    }

    /** A registry of exactly these factories. */
    public static ProviderRegistry of(List<? extends ProviderFactory> factories) {
        Map<String, ProviderFactory> map = new TreeMap<>();
        for (ProviderFactory f : factories) {
            String prefix = Objects.requireNonNull(f.prefix(), () -> f.getClass().getName() + ".prefix()");
            if (!PREFIX.matcher(prefix).matches()) {
                throw new IllegalStateException("provider factory " + f.getClass().getName() + " has prefix '" + prefix
                        + "'; a prefix is lowercase letters, digits, '_' and '-'");
            }
            ProviderFactory previous = map.putIfAbsent(prefix, f);
            if (previous != null && previous.getClass() != f.getClass()) {
                throw new IllegalStateException("two provider factories claim prefix '" + prefix + "': "
                        + previous.getClass().getName() + " and " + f.getClass().getName());
            }
        }
        return new ProviderRegistry(map);
    }

    /** The factory for {@code prefix}, if one is installed. */
    public Optional<ProviderFactory> find(String prefix) {
        return Optional.ofNullable(byPrefix.get(prefix));
    }

    /** The installed prefixes, sorted. */
    public Set<String> prefixes() {
        return byPrefix.keySet();
    }

    /** The factories, sorted by prefix. */
    public List<ProviderFactory> factories() {
        return List.copyOf(byPrefix.values());
    }

    /** The settings provider {@code prefix} reads; empty when it is not installed. */
    public Set<String> settingKeys(String prefix) {
        return find(prefix).map(ProviderFactory::settingKeys).orElse(Set.of());
    }

    /**
     * Why installed provider {@code prefix} does not use {@code key}: its own reason when it gives one, else
     * {@code "a setting of provider 'mock'"} when another installed provider reads it; empty otherwise.
     */
    public Optional<String> ignoredBecause(String prefix, String key) {
        String own = find(prefix).map(f -> f.ignoredSettings().get(key)).orElse(null);
        if (own != null) {
            return Optional.of(own);
        }
        for (ProviderFactory other : byPrefix.values()) {
            if (!other.prefix().equals(prefix) && other.settingKeys().contains(key)) {
                return Optional.of("a setting of provider '" + other.prefix() + "'");
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return "ProviderRegistry" + byPrefix.keySet();
    }
}
