package dev.easel.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SseReaderTest {

    /** Hands out the bytes in small random reads, so lines and characters straddle every boundary. */
    static InputStream trickle(String text, long seed) {
        Random r = new Random(seed);
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 1 + r.nextInt(7)));
            }
        };
    }

    static List<SseReader.Event> all(InputStream in) throws IOException {
        List<SseReader.Event> out = new ArrayList<>();
        try (SseReader r = new SseReader(in)) {
            for (Optional<SseReader.Event> e = r.next(); e.isPresent(); e = r.next()) {
                out.add(e.get());
            }
        }
        return out;
    }

    @Test
    void events_withEveryLineEnding_commentsAndMultiLineData() throws IOException {
        for (String nl : new String[] {"\n", "\r\n", "\r"}) {
            String text = (": keep-alive\n\nevent: image_edit.partial_image\ndata: {\"a\":1}\n\n"
                    + "data: line one\ndata:line two\nid: 7\nretry: 100\n\n"
                    + "event: x\n\n" // an event name without data is no event
                    + "data: caf\u00e9 \u2603 \uD83D\uDE00\n\n"
                    + "event: last\ndata: cut off: no blank line after it").replace("\n", nl);
            for (long seed = 0; seed < 20; seed++) {
                assertThat(all(trickle(text, seed))).as("line end %s, seed %d", nl.replace("\r", "CR").replace("\n", "LF"),
                        seed).containsExactly(
                        new SseReader.Event("image_edit.partial_image", "{\"a\":1}"),
                        new SseReader.Event("", "line one\nline two"),
                        new SseReader.Event("", "caf\u00e9 \u2603 \uD83D\uDE00"));
            }
        }
    }

    @Test
    void bigDataLine_acrossManyBuffers_isReadWhole() throws IOException {
        String b64 = "QUJD".repeat(300_000); // 1.2 MB on one line, as a completed image event is
        String text = "event: image_edit.completed\ndata: {\"b64_json\":\"" + b64 + "\"}\n\ndata: [DONE]\n\n";

        List<SseReader.Event> events = all(new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII)));

        assertThat(events).hasSize(2);
        assertThat(events.get(0).data()).isEqualTo("{\"b64_json\":\"" + b64 + "\"}");
        assertThat(events.get(1).data()).isEqualTo("[DONE]");
    }

    @Test
    void eventCutOffByTheEndOfTheStream_isDiscarded() throws IOException {
        // SSE: "if the file ends in the middle of an event, before the final empty line, the incomplete event is not
        // dispatched" — a provider that breaks off mid-event must not hand out half a completed image
        String whole = "event: image_edit.partial_image\ndata: {\"b64_json\":\"QUJD\"}\n\n";
        for (String cut : new String[] {"event: image_edit.completed\ndata: {\"b64_json\":\"QU",
                "event: image_edit.completed\ndata: {\"b64_json\":\"QUJD\"}", "event: image_edit.completed\ndata: {}\n"}) {
            assertThat(all(new ByteArrayInputStream((whole + cut).getBytes(StandardCharsets.US_ASCII)))).as(cut)
                    .containsExactly(new SseReader.Event("image_edit.partial_image", "{\"b64_json\":\"QUJD\"}"));
        }
    }

    @Test
    void emptyStream_hasNoEvents() throws IOException {
        assertThat(all(new ByteArrayInputStream(new byte[0]))).isEmpty();
        assertThat(all(new ByteArrayInputStream("\n\n: hi\n".getBytes(StandardCharsets.US_ASCII)))).isEmpty();
    }

    /** Records what a tap receives. */
    static final class Recording implements SseReader.Tap {
        final StringBuilder log = new StringBuilder();
        final java.io.ByteArrayOutputStream current = new java.io.ByteArrayOutputStream();
        final List<String> relayed = new ArrayList<>();
        final List<SseReader.Event> ended = new ArrayList<>();

        @Override
        public void begin(String event) {
            log.append("begin ").append(event).append(';');
            current.reset();
        }

        @Override
        public void data(byte[] b, int off, int len) {
            current.write(b, off, len);
        }

        @Override
        public void end(SseReader.Event complete) {
            log.append("end;");
            relayed.add(current.toString(StandardCharsets.UTF_8));
            ended.add(complete);
        }
    }

    @Test
    void tap_relaysTheDataOfMatchingEvents_exactly_whateverTheReadSizes() throws IOException {
        for (String nl : new String[] {"\n", "\r\n", "\r"}) {
            String text = ("event: image_edit.partial_image\ndata: {\"b64_json\":\"QUJD\u00e9\"}\n\n"
                    + "event: other\ndata: not relayed\n\n"
                    + "data: no event name: not relayed\n\n"
                    + "event: image_edit.partial_image\ndata:first\ndata:  second\ndata\n\n"
                    + "event: image_edit.partial_image\ndata: at the end").replace("\n", nl);
            for (long seed = 0; seed < 30; seed++) {
                Recording tap = new Recording();
                List<SseReader.Event> events = new ArrayList<>();
                try (SseReader r = new SseReader(trickle(text, seed))) {
                    r.tap("image_edit.partial_image"::equals, tap);
                    for (Optional<SseReader.Event> e = r.next(); e.isPresent(); e = r.next()) {
                        events.add(e.get());
                    }
                }

                String as = "line end " + nl.replace("\r", "CR").replace("\n", "LF") + ", seed " + seed;
                assertThat(events).as(as).hasSize(4); // the last one is cut off by the end of the stream
                assertThat(tap.log.toString()).as(as).isEqualTo(
                        "begin image_edit.partial_image;end;".repeat(2) + "begin image_edit.partial_image;");
                assertThat(tap.relayed).as(as).containsExactly("{\"b64_json\":\"QUJD\u00e9\"}",
                        "first\n second\n");
                assertThat(tap.current.toString(StandardCharsets.UTF_8)).as(as).isEqualTo("at the end");
                assertThat(tap.ended).as(as).containsExactly(events.get(0), events.get(3));
                for (int i = 0; i < 2; i++) {
                    assertThat(tap.relayed.get(i)).as(as).isEqualTo(tap.ended.get(i).data());
                }
            }
        }
    }

    @Test
    void tap_endGetsTheVeryEventThatNextReturns() throws IOException {
        Recording tap = new Recording();
        try (SseReader r = new SseReader(trickle("event: p\ndata: x\n\n", 1))) {
            r.tap("p"::equals, tap);
            SseReader.Event e = r.next().orElseThrow();

            assertThat(tap.ended).hasSize(1);
            assertThat(tap.ended.get(0)).isSameAs(e);
            assertThat(tap.ended.get(0).data()).isSameAs(e.data());
        }
    }
}
