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
}
