package dev.easel.engine;

import dev.easel.callback.AttemptEvent;
import dev.easel.callback.EditLogRecord;
import dev.easel.callback.JobPollEvent;
import dev.easel.config.EaselConfig;
import dev.easel.config.LitellmSettings;
import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes each edit's spans through the OpenTelemetry API: a SERVER span per request, a CLIENT span per provider
 * attempt under it (its context is the {@code traceparent} sent upstream), a CLIENT span per job poll under its
 * attempt. The {@link OpenTelemetry} is the one given to {@code Easel.builder()}, else
 * {@link GlobalOpenTelemetry} (an application's SDK or the Java agent), looked up per request so an SDK
 * registered after the client was built is still used.
 *
 * <p>Without an SDK the API makes no spans; Easel still propagates W3C trace context with ids of its own, so
 * records, logs and upstream calls keep one trace id per request.
 *
 * <p>Spans of a request end together when the request does (attempts and polls with their own end times): a
 * config that traces only successes or only failures ({@code otel} in {@code success_callback} or
 * {@code failure_callback} only) leaves the spans of the other outcome unended, and an unended span is never
 * exported.
 */
final class EditTracer {

    private static final Logger LOG = LoggerFactory.getLogger(EditTracer.class);

    /** Instrumentation scope name. */
    static final String SCOPE = "dev.easel";
    /** Easel's version from the jar's manifest; null when run from classes (tests). */
    private static final String VERSION = EditTracer.class.getPackage().getImplementationVersion();

    /** The callback name in {@code litellm_settings.callbacks} that turns tracing on in the proxy. */
    static final String CALLBACK = "otel";

    private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();
    private static final TextMapGetter<String> TRACEPARENT = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(String carrier) {
            return List.of("traceparent");
        }

        @Override
        public String get(String carrier, String key) {
            return "traceparent".equals(key) ? carrier : null;
        }
    };

    private final OpenTelemetry given; // null: the global one
    private final boolean prompts;
    private final boolean successes;
    private final boolean failures;
    private volatile OpenTelemetry seen;
    private volatile Tracer tracer;

    /**
     * @param openTelemetry where spans go, or null for {@link GlobalOpenTelemetry}
     * @param prompts       record the prompt as {@code gen_ai.input.messages} (a redacted prompt never is)
     * @param config        the config whose callbacks may limit tracing to one outcome, or null
     */
    EditTracer(OpenTelemetry openTelemetry, boolean prompts, EaselConfig config) {
        this.given = openTelemetry;
        this.prompts = prompts;
        boolean successes = true;
        boolean failures = true;
        if (config != null) {
            LitellmSettings ls = config.litellmSettings();
            boolean all = named(ls.callbacks());
            boolean onSuccess = named(ls.successCallback());
            boolean onFailure = named(ls.failureCallback());
            if (!all && onSuccess != onFailure) {
                successes = onSuccess;
                failures = onFailure;
            }
        }
        this.successes = successes;
        this.failures = failures;
    }

    private static boolean named(List<String> callbacks) {
        return callbacks.stream().anyMatch(c -> CALLBACK.equalsIgnoreCase(c.trim()));
    }

    private Tracer tracer() {
        OpenTelemetry otel = given != null ? given : GlobalOpenTelemetry.getOrNoop();
        Tracer t = tracer;
        if (otel != seen || t == null) {
            var builder = otel.tracerBuilder(SCOPE);
            if (VERSION != null) { // a null version makes the API hand out a no-op tracer
                builder.setInstrumentationVersion(VERSION);
            }
            t = builder.build();
            tracer = t;
            seen = otel;
        }
        return t;
    }

    /**
     * Starts the request's span at {@code start}: a child of the caller's span (the current context's, else the
     * one its {@code traceparent} names), else the root of a new trace.
     */
    RequestSpans start(String traceparent, String model, Instant start) {
        Context parent = Context.current();
        if (!Span.fromContext(parent).getSpanContext().isValid()) {
            parent = traceparent == null ? Context.root() : W3C.extract(Context.root(), traceparent.trim(), TRACEPARENT);
        }
        SpanContext parentContext = Span.fromContext(parent).getSpanContext();
        Span span = null;
        try {
            span = tracer().spanBuilder(model == null || model.isBlank() ? SpanAttributes.OPERATION
                            : SpanAttributes.OPERATION + " " + model)
                    .setParent(parent).setSpanKind(SpanKind.SERVER).setStartTimestamp(start).startSpan();
        } catch (RuntimeException e) {
            LOG.warn("otel: starting a request span failed: {}", e.toString());
        }
        SpanContext own = span == null ? SpanContext.getInvalid() : span.getSpanContext();
        if (!own.isValid() || own.getSpanId().equals(parentContext.getSpanId())) {
            // no SDK (the API's no-op tracer hands back the parent's context): ids of Easel's own
            span = null;
            own = SpanContext.create(parentContext.isValid() ? parentContext.getTraceId() : Trace.newTraceId(),
                    Trace.newSpanId(), parentContext.isValid() ? parentContext.getTraceFlags()
                            : TraceFlags.getSampled(), parentContext.getTraceState());
        }
        return new RequestSpans(span, own, parentContext.isValid() ? parentContext.getSpanId() : null);
    }

    /** The spans of one request; not thread-safe (its recorder serialises calls). */
    final class RequestSpans {
        private final Span span; // null: not recorded (no SDK)
        private final SpanContext context;
        private final String parentSpanId;
        private final List<AttemptSpan> attempts = new ArrayList<>();
        private int polls;

        private RequestSpans(Span span, SpanContext context, String parentSpanId) {
            this.span = span;
            this.context = context;
            this.parentSpanId = parentSpanId;
        }

        String traceId() {
            return context.getTraceId();
        }

        String spanId() {
            return context.getSpanId();
        }

        /** The caller's span id, or null. */
        String parentSpanId() {
            return parentSpanId;
        }

        /**
         * Starts an attempt's span at {@code start}; {@code model} is the provider model it calls (null when
         * unknown: the span is named after {@code group}).
         */
        AttemptSpan attempt(String model, String group, Instant start) {
            Span s = null;
            SpanContext c;
            if (span != null) {
                try {
                    s = tracer().spanBuilder(SpanAttributes.attemptName(model, group))
                            .setParent(Context.root().with(span)).setSpanKind(SpanKind.CLIENT)
                            .setStartTimestamp(start).startSpan();
                } catch (RuntimeException e) {
                    LOG.warn("otel: starting an attempt span failed: {}", e.toString());
                }
            }
            c = s != null && s.getSpanContext().isValid() ? s.getSpanContext()
                    : SpanContext.create(context.getTraceId(), Trace.newSpanId(), context.getTraceFlags(),
                    context.getTraceState());
            AttemptSpan a = new AttemptSpan(s, c, model);
            attempts.add(a);
            return a;
        }

        /** Starts the span of a job poll of {@code attempt} that ran from {@code start}; it ends with the request. */
        PollSpan poll(AttemptSpan attempt, String provider, Instant start) {
            Span s = null;
            if (attempt.span != null && polls < MAX_POLLS) {
                try {
                    s = tracer().spanBuilder(SpanAttributes.pollName(provider))
                            .setParent(Context.root().with(attempt.span)).setSpanKind(SpanKind.CLIENT)
                            .setStartTimestamp(start).startSpan();
                } catch (RuntimeException e) {
                    LOG.warn("otel: starting a job poll span failed: {}", e.toString());
                }
            }
            if (s == null || !s.getSpanContext().isValid()) {
                return new PollSpan(null, Trace.newSpanId());
            }
            polls++;
            PollSpan p = new PollSpan(s, s.getSpanContext().getSpanId());
            attempt.polls.add(p);
            return p;
        }

        /** Ends every span with the record's outcome; spans of an outcome not traced are left unended. */
        void end(EditLogRecord r) {
            if (span == null || (r.success() ? !successes : !failures)) {
                return;
            }
            try {
                for (AttemptSpan a : attempts) {
                    a.end(r);
                }
                span.setAllAttributes(SpanAttributes.request(r, prompts));
                if (r.success()) {
                    span.setStatus(StatusCode.OK);
                } else {
                    span.setStatus(StatusCode.ERROR, SpanAttributes.foreign(r.errorMessage() != null
                            ? r.errorMessage() : r.errorType()));
                }
                span.end(SpanAttributes.later(r.startTime(), r.endTime()));
            } catch (RuntimeException e) {
                LOG.warn("otel: ending the spans of {} failed: {}", r.requestId(), e.toString());
            }
        }
    }

    /** Job poll spans per request (a job polled more often has spans for its first ones). */
    static final int MAX_POLLS = 1_000;

    /** One attempt's span: started when the attempt is sent, ended with the request. */
    static final class AttemptSpan {
        private final Span span; // null: not recorded
        private final SpanContext context;
        private final String model;
        private final List<PollSpan> polls = new ArrayList<>();
        private AttemptEvent event;

        private AttemptSpan(Span span, SpanContext context, String model) {
            this.span = span;
            this.context = context;
            this.model = model;
        }

        String spanId() {
            return context.getSpanId();
        }

        /** Writes this attempt's W3C context ({@code traceparent}, {@code tracestate}) into {@code headers}. */
        void inject(Map<String, String> headers) {
            W3C.inject(Context.root().with(Span.wrap(context)), headers, Map::put);
        }

        /** The attempt ended: its outcome, kept until the request ends. */
        void ended(AttemptEvent e) {
            this.event = e;
        }

        private void end(EditLogRecord r) {
            if (span == null) {
                return;
            }
            for (PollSpan p : polls) {
                p.end(r);
            }
            if (event == null) { // started but never finished: the request failed around it
                span.setStatus(StatusCode.ERROR, SpanAttributes.foreign(r.errorMessage() != null ? r.errorMessage()
                        : "the attempt did not complete"));
                span.end(SpanAttributes.later(r.startTime(), r.endTime()));
                return;
            }
            span.setAllAttributes(SpanAttributes.attempt(event, model));
            if (event.ok()) {
                span.setStatus(StatusCode.OK);
            } else {
                span.setStatus(StatusCode.ERROR, SpanAttributes.foreign(event.outcome()));
            }
            span.end(SpanAttributes.later(event.start(), event.end()));
        }
    }

    /** One job poll's span: started when the poll is reported, ended with the request. */
    static final class PollSpan {
        private final Span span; // null: not recorded
        private final String spanId;
        private JobPollEvent event;

        private PollSpan(Span span, String spanId) {
            this.span = span;
            this.spanId = spanId;
        }

        String spanId() {
            return spanId;
        }

        /** The poll's outcome, kept until the request ends. */
        void ended(JobPollEvent e) {
            this.event = e;
        }

        private void end(EditLogRecord r) {
            if (event == null) { // started but its event never made: ended plainly
                span.end(SpanAttributes.later(r.startTime(), r.endTime()));
                return;
            }
            span.setAllAttributes(SpanAttributes.poll(event));
            if (event.error()) {
                span.setStatus(StatusCode.ERROR, SpanAttributes.foreign(event.outcome()));
            }
            span.end(SpanAttributes.later(event.start(), event.end()));
        }
    }
}
