package dev.easel.engine;

import dev.easel.EaselException;
import dev.easel.ImageData;
import dev.easel.ImageResponse;
import dev.easel.Usage;
import dev.easel.callback.AttemptEvent;
import dev.easel.callback.EditLogRecord;
import dev.easel.callback.ListenerBus;
import dev.easel.callback.RequestEvent;
import dev.easel.image.ImageInfo;
import dev.easel.provider.ImagePart;
import dev.easel.routing.Router;
import dev.easel.validate.EditInput;
import dev.easel.validate.ValidatedEdit;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Collects what happens to one edit (attempts, timings, outcome) and reports it: events to the listener
 * bus (droppable), and the final {@link EditLogRecord} to the record sinks (never dropped: spend logs).
 */
final class EditRecorder {

    private final Clock clock;
    private final RequestMeta meta;
    private final String model;
    private final EditInput input;
    private final ListenerBus bus;
    private final List<Consumer<EditLogRecord>> sinks;
    private final boolean redactPrompts;
    private final List<AttemptEvent> attempts = new ArrayList<>();
    private long upstreamNanos;
    private ValidatedEdit lastValidated;
    private Router.Candidate lastCandidate;
    private EditPipeline.Target lastTarget;
    private final EditTracer.RequestSpans spans;
    private Instant attemptStarted;
    private EditTracer.AttemptSpan attempt; // made when the attempt is sent or recorded (a refused one is none)

    EditRecorder(Clock clock, RequestMeta meta, String model, EditInput input, ListenerBus bus,
                 List<Consumer<EditLogRecord>> sinks, boolean redactPrompts, EditTracer tracer) {
        this.clock = clock;
        this.meta = meta;
        this.model = model;
        this.input = input;
        this.bus = bus;
        this.sinks = sinks;
        this.redactPrompts = redactPrompts;
        this.spans = tracer.start(meta.traceparent(), model, meta.receivedAt());
    }

    /** Writes the trace context of the attempt in progress ({@code traceparent}) into the upstream headers. */
    synchronized void traceUpstream(Map<String, String> headers) {
        attemptSpan().inject(headers);
    }

    private EditTracer.AttemptSpan attemptSpan() {
        if (attempt == null) {
            String providerModel = lastTarget.deployment().model();
            attempt = spans.attempt(providerModel, lastTarget.group(), attemptStarted);
        }
        return attempt;
    }

    RequestMeta meta() {
        return meta;
    }

    void requested() {
        if (bus.active()) {
            bus.request(new RequestEvent(meta.requestId(), meta.receivedAt(), model, meta.endUser(), meta.source(),
                    meta.traceparent(), params(), spans.traceId(), spans.spanId(), spans.parentSpanId()));
        }
    }

    /** One attempt is starting; returns its start time. */
    synchronized Instant attemptStart(EditPipeline.Target target, Router.Candidate candidate) {
        lastTarget = target;
        lastCandidate = candidate;
        attempt = null;
        attemptStarted = clock.instant();
        return attemptStarted;
    }

    /** The current attempt passed validation: it is really sent now (a refused one is no attempt). */
    synchronized void validated(ValidatedEdit v) {
        lastValidated = v;
        if (bus.active() && lastTarget != null) {
            bus.attemptStart(new dev.easel.callback.AttemptStartEvent(meta.requestId(), attempts.size() + 1,
                    lastTarget.group(), lastTarget.id(), lastTarget.deployment().provider(),
                    !lastTarget.group().equals(model), clock.instant()));
        }
    }

    /**
     * Where the current attempt's adapter reports job polls: each becomes a {@link dev.easel.callback.JobPollEvent}
     * whose span is a child of the attempt's span.
     */
    synchronized dev.easel.provider.CallEvents callEvents(EditPipeline.Target target) {
        int number = attempts.size() + 1;
        EditTracer.AttemptSpan parent = attemptSpan();
        String traceId = spans.traceId();
        String provider = target.deployment().provider();
        return (jobId, poll, start, end, outcome) -> {
            dev.easel.callback.JobPollEvent e;
            synchronized (this) {
                EditTracer.PollSpan span = spans.poll(parent, provider, start);
                e = new dev.easel.callback.JobPollEvent(meta.requestId(), number, target.id(), provider, jobId, poll,
                        start, end, outcome, traceId, span.spanId(), parent.spanId());
                span.ended(e);
            }
            if (bus.active()) {
                bus.jobPoll(e);
            }
        };
    }

    /** Time spent waiting for a provider in the current attempt. */
    synchronized void upstream(Duration d) {
        upstreamNanos += d.toNanos();
    }

    synchronized void attemptEnd(EditPipeline.Target target, boolean fallback, Instant start, EaselException failure) {
        Instant end = clock.instant();
        AttemptEvent e = new AttemptEvent(meta.requestId(), attempts.size() + 1, target.group(), target.id(),
                target.deployment().provider(), fallback, start, end,
                failure == null ? "ok" : failure.httpStatus() + " " + failure.code().orElse(failure.type()),
                failure == null ? 200 : failure.httpStatus(), failure == null ? null : failure.type(),
                failure == null ? null : failure.code().orElse(null), spans.traceId(), attemptSpan().spanId(),
                spans.spanId());
        attemptSpan().ended(e);
        attempts.add(e);
        if (bus.active()) {
            bus.attempt(e);
        }
    }

    /** Reports success and returns the record. */
    synchronized EditLogRecord success(ImageResponse r, int retries, int fallbacks, boolean stream) {
        long bytesOut = 0;
        for (ImageData d : r.data()) {
            // the ASCII form's length when there is one: b64Json() would copy it into a new String
            long chars = d.base64Length();
            bytesOut += chars / 4 * 3;
        }
        EditLogRecord rec = record("success", 200, null, r.cost().orElse(null), r.usage().orElse(null),
                r.data().size(), bytesOut, r.outputFormat().orElse(null), r.size().orElse(null), stream, retries,
                fallbacks, r.warnings());
        report(rec);
        return rec;
    }

    /** Reports a failure and returns the record. */
    synchronized EditLogRecord failure(EaselException e, boolean stream) {
        return failure(e, stream, null);
    }

    /** Reports a failure that still cost money (the provider answered; converting its answer failed). */
    synchronized EditLogRecord failure(EaselException e, boolean stream, BigDecimal cost) {
        long groups = attempts.stream().map(AttemptEvent::modelGroup).distinct().count();
        int retries = (int) Math.max(0, attempts.size() - groups); // within groups, as on success
        EditLogRecord rec = record("failure", e.httpStatus(), e, cost, null, 0, 0, null, null, stream, retries,
                (int) Math.max(0, groups - 1), lastValidated == null ? List.of() : lastValidated.warnings());
        report(rec);
        return rec;
    }

    private void report(EditLogRecord rec) {
        for (Consumer<EditLogRecord> sink : sinks) {
            sink.accept(rec);
        }
        spans.end(rec);
        if (bus.active()) {
            bus.done(rec);
        }
    }

    private EditLogRecord record(String status, int httpStatus, EaselException e, BigDecimal cost, Usage usage,
                                 int imagesOut, long bytesOut, String outputFormat, String outputSize, boolean stream,
                                 int retries, int fallbacks, List<String> warnings) {
        Instant end = clock.instant();
        long latency = Math.max(0, Duration.between(meta.receivedAt(), end).toMillis());
        long upstream = upstreamNanos / 1_000_000;
        List<EditLogRecord.ImageMeta> images = new ArrayList<>();
        EditLogRecord.ImageMeta mask = null;
        if (lastValidated != null) {
            for (ImagePart p : lastValidated.images()) {
                images.add(meta(p.info()));
            }
            if (lastValidated.maskOrNull() != null) {
                mask = meta(lastValidated.maskOrNull().info());
            }
        } else {
            for (EditInput.RawImage raw : input.images()) {
                images.add(new EditLogRecord.ImageMeta(null, 0, 0, raw.blob().size()));
            }
            if (input.maskOrNull() != null) {
                mask = new EditLogRecord.ImageMeta(null, 0, 0, input.maskOrNull().blob().size());
            }
        }
        // upstream messages may quote keys or image data: the record promises neither
        String message = e == null ? null : dev.easel.callback.RecordJson.redactSecrets(e.getMessage());
        return new EditLogRecord(meta.requestId(), meta.receivedAt(), end, meta.source(), model,
                lastTarget == null ? null : lastTarget.group(), lastTarget == null ? null : lastTarget.id(),
                lastTarget == null ? null : lastTarget.deployment().provider(),
                lastTarget == null ? null : lastTarget.deployment().model(), meta.endUser(), meta.keyHash(), status,
                httpStatus, e == null ? null : e.type(), e == null ? null : e.code().orElse(null), message, cost,
                usage, images, mask, imagesOut, bytesOut, outputFormat, outputSize, params(), stream, attempts,
                retries, fallbacks, latency, upstream, Math.max(0, latency - upstream),
                redactPrompts ? null : input.prompt(), spans.traceId(), spans.spanId(), spans.parentSpanId(), warnings,
                meta.clientRequestId(), meta.keyAlias(), meta.teamId(), meta.userId());
    }

    private static EditLogRecord.ImageMeta meta(ImageInfo i) {
        return new EditLogRecord.ImageMeta(i.format().wireName(), i.width(), i.height(), i.bytes());
    }

    private Map<String, String> params() {
        Map<String, String> out = new LinkedHashMap<>();
        input.params().forEach((k, v) -> {
            if (v != null && !(v instanceof Map) && !(v instanceof List)) {
                out.put(k, String.valueOf(v));
            }
        });
        return out;
    }
}
