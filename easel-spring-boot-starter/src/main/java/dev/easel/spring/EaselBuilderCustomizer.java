package dev.easel.spring;

import dev.easel.Easel;

/**
 * Changes the auto-configured {@link Easel} before it is built: a bean of this type is applied to the builder
 * after the starter has set the config, router state and metrics, in {@link org.springframework.core.Ordered}
 * order. For listeners, providers made in code, an image store or a catalogue:
 *
 * <pre>{@code
 * @Bean
 * EaselBuilderCustomizer auditLog(AuditListener listener) {
 *     return builder -> builder.listener(listener);
 * }
 * }</pre>
 */
@FunctionalInterface
public interface EaselBuilderCustomizer {

    /** Changes {@code builder}. */
    void customize(Easel.Builder builder);
}
