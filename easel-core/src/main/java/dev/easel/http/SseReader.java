package dev.easel.http;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * Reads server-sent events (one {@code event:} name and the joined {@code data:} lines per event) from a
 * stream, blocking until each event is complete. Lines end with LF, CRLF or CR, as the SSE specification allows;
 * an event is complete at the blank line after it, and one cut off by the end of the stream is discarded.
 *
 * <p>Lines are split as bytes and each event's data is decoded once, at the end: a partial-image event is
 * ~350 KB of base64 on one line, which a character reader would decode, copy into a line, cut into a field and
 * copy again into the event (docs/benchmarks.md, S5).
 */
public final class SseReader implements Closeable {

    /** One event; {@code event} is empty when the frame had no {@code event:} line. */
    public record Event(String event, String data) {
    }

    private static final byte[] DATA = {'d', 'a', 't', 'a'};
    private static final byte[] EVENT = {'e', 'v', 'e', 'n', 't'};
    private static final byte[] DATA_COLON = {'d', 'a', 't', 'a', ':'};
    private static final byte[] NEWLINE = {'\n'};

    private final InputStream in;
    private final byte[] buf = new byte[64 * 1024];
    private int pos;
    private int lim;
    private boolean eof;
    private boolean skipLf; // the last line ended with CR: an LF right after it belongs to it
    private byte[] line = new byte[1024];
    private int lineLen;
    private byte[] data = new byte[1024];
    private int dataLen;

    private java.util.function.Predicate<String> tapEvents;
    private Tap tap;
    private String event = ""; // the current frame's event name
    private boolean tapping; // the current frame's data is being relayed
    private boolean hasData; // the current frame has had a data line
    private int lineRelayed = -1; // bytes of the current data line already relayed (-1: not a relayed line)

    /** Receives the data of selected events as it arrives (see {@link #tap}). */
    public interface Tap {
        void begin(String event) throws IOException;

        void data(byte[] b, int off, int len) throws IOException;

        void end(Event complete) throws IOException;
    }

    /**
     * Relays the data of events whose {@code event:} name matches {@code events} to {@code tap} while it arrives:
     * {@code begin} at the first data line, the value bytes as they are read ({@code '\n'} between data lines),
     * {@code end} with the finished event (also returned by {@link #next()}). Events without an {@code event:}
     * line before their data are not relayed. An event cut off by the end of the stream gets no {@code end}.
     */
    public void tap(java.util.function.Predicate<String> events, Tap tap) {
        this.tapEvents = events;
        this.tap = tap;
    }

    /** Reads from {@code in} (UTF-8). */
    public SseReader(InputStream in) {
        this.in = in;
    }

    /** The next event, or empty at the end of the stream. */
    public Optional<Event> next() throws IOException {
        event = "";
        tapping = false;
        hasData = false;
        dataLen = 0;
        while (readLine()) {
            if (lineLen == 0) {
                if (hasData) {
                    Event e = new Event(event, new String(data, 0, dataLen, StandardCharsets.UTF_8));
                    if (tapping) {
                        tapping = false;
                        tap.end(e);
                    }
                    return Optional.of(e);
                }
                event = "";
                continue;
            }
            if (line[0] == ':') {
                continue; // comment / keep-alive
            }
            int colon = indexOf(line, lineLen, (byte) ':');
            int fieldEnd = colon < 0 ? lineLen : colon;
            int valueStart = colon < 0 ? lineLen : colon + 1;
            if (valueStart < lineLen && line[valueStart] == ' ') {
                valueStart++;
            }
            if (Arrays.equals(line, 0, fieldEnd, EVENT, 0, EVENT.length)) {
                event = new String(line, valueStart, lineLen - valueStart, StandardCharsets.UTF_8);
            } else if (Arrays.equals(line, 0, fieldEnd, DATA, 0, DATA.length)) {
                if (hasData) {
                    appendData(new byte[] {'\n'}, 0, 1);
                }
                appendData(line, valueStart, lineLen - valueStart);
                hasData = true;
            }
            // id, retry and unknown fields carry nothing we use
        }
        // the stream ended inside an event (no blank line after it): the SSE specification discards it — a
        // provider cut off mid-event must not yield a half event. A tap that began relaying it never sees its end.
        tapping = false;
        return Optional.empty();
    }

    /**
     * Relays what the current line has gained, when it is a data line of a tapped event: called as bytes are added,
     * so a long line goes out while it arrives.
     */
    private void relay(boolean lineComplete) throws IOException {
        if (tap == null) {
            return;
        }
        if (lineRelayed < 0) {
            // decide once the line shows its field name ("data:" needs 5 bytes; a shorter complete line is not data)
            if (lineLen < 5 && !lineComplete) {
                return;
            }
            boolean dataLine = lineLen >= 5 ? Arrays.equals(line, 0, 5, DATA_COLON, 0, 5)
                    : lineLen == 4 && Arrays.equals(line, 0, 4, DATA, 0, 4); // a bare "data": empty value
            if (!dataLine || !tapEvents.test(event)
                    || hasData && !tapping) { // a frame is relayed from its first data line or not at all
                lineRelayed = Integer.MAX_VALUE; // not relayed
                return;
            }
            if (!tapping) {
                tapping = true;
                tap.begin(event);
            } else {
                tap.data(NEWLINE, 0, 1);
            }
            lineRelayed = Math.min(5, lineLen);
        }
        if (lineRelayed == 5 && lineLen > 5 && line[5] == ' ') {
            lineRelayed = 6; // the one space after the colon is not part of the value
        } else if (lineRelayed == 5 && lineLen == 5 && !lineComplete) {
            return; // the space (or not) is still to come
        }
        if (lineRelayed != Integer.MAX_VALUE && lineLen > lineRelayed) {
            tap.data(line, lineRelayed, lineLen - lineRelayed);
            lineRelayed = lineLen;
        }
    }

    /** Reads one line (without its terminator) into {@code line}; false at the end of the stream. */
    private boolean readLine() throws IOException {
        lineLen = 0;
        lineRelayed = -1;
        boolean any = false;
        while (true) {
            if (pos == lim) {
                if (eof) {
                    if (any) {
                        relay(true);
                    }
                    return any;
                }
                int n = in.read(buf, 0, buf.length);
                if (n < 0) {
                    eof = true;
                    if (any) {
                        relay(true);
                    }
                    return any;
                }
                pos = 0;
                lim = n;
                continue;
            }
            if (skipLf) {
                skipLf = false;
                if (buf[pos] == '\n') {
                    pos++;
                    continue;
                }
            }
            int i = pos;
            while (i < lim && buf[i] != '\n' && buf[i] != '\r') {
                i++;
            }
            appendLine(pos, i - pos);
            any = true;
            if (i < lim) {
                skipLf = buf[i] == '\r';
                pos = i + 1;
                relay(true);
                return true;
            }
            pos = lim;
            relay(false);
        }
    }

    private void appendLine(int from, int n) {
        if (lineLen + n > line.length) {
            line = Arrays.copyOf(line, Math.max(lineLen + n, line.length * 2));
        }
        System.arraycopy(buf, from, line, lineLen, n);
        lineLen += n;
    }

    private void appendData(byte[] b, int from, int n) {
        if (dataLen + n > data.length) {
            data = Arrays.copyOf(data, Math.max(dataLen + n, data.length * 2));
        }
        System.arraycopy(b, from, data, dataLen, n);
        dataLen += n;
    }

    private static int indexOf(byte[] b, int len, byte c) {
        for (int i = 0; i < len; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
