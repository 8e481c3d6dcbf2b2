package dev.easel.provider.mock;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.ImageEditEvent;
import dev.easel.ImageEditStream;
import dev.easel.Usage;
import dev.easel.provider.EditCall;
import java.awt.image.BufferedImage;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A streamed mock edit: {@code partial_images} progressively sharper partial images, then the completed
 * image. The deployment's latency is spread evenly over the events; {@link #close()} wakes a waiting
 * reader and ends the stream.
 */
final class MockStream implements ImageEditStream {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final MockEdit edit;
    private final EditCall call;
    private final Duration latency;
    private final Clock clock;
    private final long deadlineNanos;
    private final CountDownLatch closed = new CountDownLatch(1);
    private boolean iterated;
    private int next;
    private BufferedImage finalImage;
    private String background;

    MockStream(MockEdit edit, EditCall call, Duration latency, Clock clock) {
        this.edit = edit;
        this.call = call;
        this.latency = latency;
        this.clock = clock;
        this.deadlineNanos = System.nanoTime() + call.timeout().toNanos();
    }

    @Override
    public Iterator<ImageEditEvent> iterator() {
        if (iterated) {
            throw new IllegalStateException("a stream can be iterated only once");
        }
        iterated = true;
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return closed.getCount() > 0 && next <= edit.partialImages;
            }

            @Override
            public ImageEditEvent next() {
                if (!hasNext()) {
                    throw new NoSuchElementException("the stream is closed or has ended");
                }
                pause();
                if (closed.getCount() == 0) {
                    throw new NoSuchElementException("the stream was closed");
                }
                return event(next++);
            }
        };
    }

    @Override
    public void close() {
        closed.countDown();
    }

    private void pause() {
        long slice = latency.toNanos() / (edit.partialImages + 1);
        if (slice == 0) {
            return;
        }
        long now = System.nanoTime();
        boolean late = now + slice - deadlineNanos > 0;
        long wait = late ? Math.max(0, deadlineNanos - now) : slice;
        try {
            if (closed.await(wait, TimeUnit.NANOSECONDS)) {
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw MockProvider.interrupted(e);
        }
        if (late) {
            throw MockProvider.timeout(call, latency);
        }
    }

    private ImageEditEvent event(int index) {
        if (finalImage == null) {
            BufferedImage base = MockPainter.base(edit.first);
            BufferedImage mask = edit.maskOrNull == null ? null
                    : MockPainter.mask(edit.maskOrNull, base.getWidth(), base.getHeight());
            finalImage = edit.render(base, mask, 0);
            background = edit.background(finalImage);
        }
        long createdAt = clock.instant().getEpochSecond();
        int partials = edit.partialImages;
        if (index < partials) {
            // Earlier partials are blurrier and carry more of the tint.
            int factor = 1 << (partials - index + 1);
            float extraTint = 0.35f * (partials - index) / partials;
            BufferedImage blurred = MockPainter.blur(finalImage, factor);
            BufferedImage partial = MockPainter.paint(blurred, null, edit.fill(0), edit.tint(0), extraTint,
                    edit.width, edit.height);
            String b64 = Base64.getEncoder().encodeToString(edit.encode(partial));
            ObjectNode json = common("image_edit.partial_image", b64, createdAt);
            json.put("partial_image_index", index);
            return new ImageEditEvent.PartialImage(b64, index, edit.size(), edit.quality, background,
                    edit.format.wireName(), createdAt, json.toString());
        }
        String b64 = Base64.getEncoder().encodeToString(edit.encode(finalImage));
        Usage usage = edit.usage(partials);
        ObjectNode json = common("image_edit.completed", b64, createdAt);
        ObjectNode u = json.putObject("usage");
        u.put("total_tokens", usage.totalTokens());
        u.put("input_tokens", usage.inputTokens());
        u.put("output_tokens", usage.outputTokens());
        ObjectNode details = u.putObject("input_tokens_details");
        details.put("text_tokens", usage.inputTextTokens());
        details.put("image_tokens", usage.inputImageTokens());
        return new ImageEditEvent.Completed(b64, edit.size(), edit.quality, background, edit.format.wireName(),
                createdAt, usage, json.toString());
    }

    private ObjectNode common(String type, String b64, long createdAt) {
        ObjectNode json = JSON.createObjectNode();
        json.put("type", type);
        json.put("b64_json", b64);
        json.put("created_at", createdAt);
        json.put("size", edit.size());
        json.put("quality", edit.quality);
        json.put("background", background);
        json.put("output_format", edit.format.wireName());
        return json;
    }
}
