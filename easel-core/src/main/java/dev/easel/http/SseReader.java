package dev.easel.http;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Reads server-sent events (one {@code event:} name and the joined {@code data:} lines per event) from a
 * stream, blocking until each event is complete.
 */
public final class SseReader implements Closeable {

    /** One event; {@code event} is empty when the frame had no {@code event:} line. */
    public record Event(String event, String data) {
    }

    private final BufferedReader reader;

    /** Reads from {@code in} (UTF-8). */
    public SseReader(InputStream in) {
        this.reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 64 * 1024);
    }

    /** The next event, or empty at the end of the stream. */
    public Optional<Event> next() throws IOException {
        String event = "";
        StringBuilder data = null;
        String line;
        while ((line = reader.readLine()) != null) {
            if (line.isEmpty()) {
                if (data != null) {
                    return Optional.of(new Event(event, data.toString()));
                }
                event = "";
                continue;
            }
            if (line.startsWith(":")) {
                continue; // comment / keep-alive
            }
            int colon = line.indexOf(':');
            String field = colon < 0 ? line : line.substring(0, colon);
            String value = colon < 0 ? "" : line.substring(colon + 1);
            if (value.startsWith(" ")) {
                value = value.substring(1);
            }
            switch (field) {
                case "event" -> event = value;
                case "data" -> {
                    if (data == null) {
                        data = new StringBuilder(value.length());
                    } else {
                        data.append('\n');
                    }
                    data.append(value);
                }
                default -> {
                    // id, retry and unknown fields carry nothing we use
                }
            }
        }
        return data == null ? Optional.empty() : Optional.of(new Event(event, data.toString()));
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
