package dev.easel;

import java.util.Iterator;

/**
 * A streamed edit: iterate the events in the order the provider sent them. Closing the stream (also
 * before its end) cancels the upstream call. Not thread-safe; iterate once.
 */
public interface ImageEditStream extends Iterable<ImageEditEvent>, AutoCloseable {

    /** The events; {@code next()} blocks until the provider sends one and throws {@link EaselException} on failure. */
    @Override
    Iterator<ImageEditEvent> iterator();

    /** Stops the upstream call if it is still running and frees its resources. */
    @Override
    void close();

    /**
     * Asks the stream to hand each partial-image event's bytes to {@code sink} as they arrive from the provider,
     * before the event is complete: cut-through relaying, so a proxy forwards a ~350 KB partial image while it is
     * still arriving instead of after. Call it before iterating. Each relayed event is still returned by the
     * iterator (for recording), and {@link RawPartials#end} names it so the caller does not send it twice. Streams
     * that cannot relay (no SSE upstream, a provider without {@code event:} lines) ignore the call; their events
     * come whole as always.
     */
    default void relayPartials(RawPartials sink) {
    }

    /**
     * Receives partial-image events as raw SSE data bytes (see {@link #relayPartials}). Called on the iterating
     * thread; an {@code IOException} it throws ends the iteration as an {@link java.io.UncheckedIOException} carrying
     * it (never taken for a provider failure).
     */
    interface RawPartials {
        /** A partial-image event's data begins ({@code event} is its SSE event name). */
        void begin(String event) throws java.io.IOException;

        /** The next bytes of its data, as sent (several {@code data:} lines arrive joined by {@code '\n'}). */
        void data(byte[] b, int off, int len) throws java.io.IOException;

        /**
         * The event is complete; {@code json} is the very String the iterator's {@link ImageEditEvent#json()} will
         * return for it (compare by identity to skip it).
         */
        void end(String json) throws java.io.IOException;
    }
}
