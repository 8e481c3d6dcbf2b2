package dev.easel.proxy.keys;

import java.util.function.Consumer;

/**
 * Tells every replica that a key, team or user changed, so each drops what it cached of it within a second.
 * Messages: {@code key:<token>}, {@code team:<id>}, {@code user:<id>}, or {@code *} (drop everything: also what a
 * subscriber receives after it was disconnected and may have missed messages). Through Redis pub/sub when Redis is
 * configured; {@link #local()} otherwise (the store's {@link KeyStore#version()} poll covers other replicas).
 */
public interface AuthChanges extends AutoCloseable {

    /** Sends {@code message} to every replica, this one included. Never throws: a lost message is caught by the poll. */
    void publish(String message);

    /** Calls {@code listener} with every message (from any thread); one listener per instance. */
    void subscribe(Consumer<String> listener);

    @Override
    default void close() {
    }

    /** Changes seen only by this process. */
    static AuthChanges local() {
        return new AuthChanges() {
            private volatile Consumer<String> listener = m -> { };

            @Override
            public void publish(String message) {
                listener.accept(message);
            }

            @Override
            public void subscribe(Consumer<String> l) {
                this.listener = l;
            }
        };
    }
}
