package dev.easel.provider;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ConnectionException;
import dev.easel.Easel;
import dev.easel.EaselException;
import dev.easel.ImageEditEvent;
import dev.easel.ImageEditRequest;
import dev.easel.ImageEditStream;
import dev.easel.ImageInput;
import dev.easel.ImageResponse;
import dev.easel.InternalServerException;
import dev.easel.NotFoundException;
import dev.easel.PermissionDeniedException;
import dev.easel.RateLimitException;
import dev.easel.ServiceUnavailableException;
import dev.easel.TimeoutException;
import dev.easel.config.ConfigLoader;
import dev.easel.image.TestImages;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The contract every provider adapter keeps, whatever its wire format. A subclass gives a {@link Fixture}: how to
 * start the adapter's strict fake and what its deployment's {@code litellm_params} are. Each test then calls the
 * adapter through a real client with a config naming the deployment, exactly as a user would, and checks what
 * reached the fake (image bytes and order, prompt, the key from the config in the provider's auth header) and what
 * came back: errors mapped by meaning, the call's time-out honoured, cost present when the model is priced, and a
 * caller that goes away (a closed stream, an interrupted thread) ending the upstream call.
 *
 * <p>What a fake cannot produce (an in-process provider has no HTTP status to fake) is skipped, not passed: the
 * fixture says what it supports.
 */
public abstract class ProviderContract {

    /** The key every fixture's deployment is configured with. */
    public static final String KEY = "sk-contract-0123456789abcdef";

    /** The upstream failures the contract maps. */
    public enum Failure {
        /** The provider refuses the request as invalid. */
        BAD_REQUEST(BadRequestException.class),
        /** The key is wrong. */
        AUTHENTICATION(AuthenticationException.class),
        /** The key may not do this. */
        PERMISSION(PermissionDeniedException.class),
        /** No such model or deployment. */
        NOT_FOUND(NotFoundException.class),
        /** Too many requests, with a {@code Retry-After} ({@link Fixture#retryAfter()}). */
        RATE_LIMIT(RateLimitException.class),
        /** A 500. */
        SERVER_ERROR(InternalServerException.class),
        /** A 503. */
        UNAVAILABLE(ServiceUnavailableException.class),
        /** A 200 whose body is not the provider's answer. */
        GARBAGE(InternalServerException.class),
        /** The connection is reset before an answer. */
        RESET(ConnectionException.class);

        final Class<? extends EaselException> expected;

        Failure(Class<? extends EaselException> expected) {
            this.expected = expected;
        }
    }

    /** What reached the fake. */
    public record Received(String prompt, List<byte[]> images, Optional<String> authHeader) {
    }

    /** One adapter's fake and deployment. */
    public interface Fixture extends AutoCloseable {

        /** The deployment's {@code litellm_params}: model, api_base at the fake, api_key {@link #KEY}, … */
        Map<String, Object> litellmParams();

        /** Images the fixture's model takes in one request (the order test sends that many, at most 3). */
        int maxImages();

        /** Whether the fake records what reaches it (an in-process provider has nothing to record). */
        boolean observesUpstream();

        /** What reached the fake, in order. */
        List<Received> received();

        /** Whether the fake can answer with {@code f}. */
        boolean supports(Failure f);

        /** The next answer is {@code f}. */
        void fail(Failure f);

        /** Answers wait until {@link #release()} (or the fixture closes). */
        void hold();

        /** Lets held answers go. */
        void release();

        /** Whether the adapter streams (for the stream-cancellation test). */
        boolean streams();

        /** Streamed answers from now on send their events slowly (one partial, then a long pause). */
        void slowStream();

        /** The {@code Retry-After} the fake's rate limit carries. */
        default Duration retryAfter() {
            return Duration.ofSeconds(7);
        }

        /** Whether the fixture's model is priced (then the response has a cost). */
        boolean priced();

        /**
         * Fields the fixture's model needs in every request besides the prompt and the image (Stability's
         * search-and-replace needs a {@code search_prompt}), sent as the request's extra body. Default: none.
         */
        default Map<String, Object> requiredFields() {
            return Map.of();
        }

        @Override
        void close();
    }

    /** A new fixture with its fake running. */
    /**
     * A fixture on one of the testkit's fake servers, which all record what they receive, can script every failure
     * and hold their answers: those parts are the same for every such fixture. A provider whose models do not stream
     * keeps the defaults for streaming.
     */
    public abstract static class FakeServerFixture implements Fixture {
        private final Runnable hold;
        private final Runnable release;
        private final Runnable close;

        /** The fake's {@code holdAnswers}, {@code releaseAnswers} and {@code close}. */
        protected FakeServerFixture(Runnable hold, Runnable release, Runnable close) {
            this.hold = hold;
            this.release = release;
            this.close = close;
        }

        @Override
        public boolean observesUpstream() {
            return true;
        }

        @Override
        public boolean supports(Failure f) {
            return true;
        }

        @Override
        public void hold() {
            hold.run();
        }

        @Override
        public void release() {
            release.run();
        }

        @Override
        public boolean streams() {
            return false;
        }

        @Override
        public void slowStream() {
            throw new UnsupportedOperationException("the provider's models do not stream (catalogue streaming: false)");
        }

        @Override
        public void close() {
            close.run();
        }
    }

    protected abstract Fixture start();

    protected Fixture fixture;

    @BeforeEach
    void startFixture() {
        fixture = start();
    }

    @AfterEach
    void closeFixture() {
        fixture.close();
    }

    /** A client whose config serves the fixture's deployment as model group {@code edit}, no retries. */
    protected Easel client(Duration timeout) {
        Map<String, Object> params = new LinkedHashMap<>(fixture.litellmParams());
        params.put("timeout", timeout.toMillis() / 1000.0);
        String yaml;
        try {
            yaml = "model_list:\n  - model_name: edit\n    litellm_params: " + new ObjectMapper().writeValueAsString(params)
                    + "\nrouter_settings: {num_retries: 0, allowed_fails: 1000}\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return Easel.builder().config(ConfigLoader.parse(yaml, Map.of(), "contract.yaml")).maxRetries(0)
                .sleeper(d -> { }).build();
    }

    protected Easel client() {
        return client(Duration.ofSeconds(30));
    }

    ImageEditRequest.Builder request() {
        return ImageEditRequest.builder().model("edit").prompt("add a red hat").image(TestImages.png(64, 64, false))
                .extraBody(fixture.requiredFields());
    }

    @Test
    void edit_imageBytesInOrder_andPrompt_reachTheProvider() {
        assumeTrue(fixture.observesUpstream(), "the fixture records no upstream");
        int count = Math.min(3, fixture.maxImages());
        List<byte[]> images = new java.util.ArrayList<>();
        for (int i = 0; i < count; i++) {
            images.add(TestImages.png(64, 64 + i, false));
        }
        ImageResponse r = client().imageEdit(ImageEditRequest.builder().model("edit").prompt("add a red hat")
                .images(images.stream().map(ImageInput::of).toArray(ImageInput[]::new))
                .extraBody(fixture.requiredFields()).build());

        assertThat(r.data()).isNotEmpty();
        assertThat(fixture.received()).singleElement().satisfies(got -> {
            assertThat(got.prompt()).isEqualTo("add a red hat");
            assertThat(got.images()).hasSize(count);
            for (int i = 0; i < count; i++) {
                assertThat(got.images().get(i)).as("image %d", i).isEqualTo(images.get(i));
            }
        });
    }

    @Test
    void edit_sendsTheConfiguredKey_inTheProvidersAuthHeader() {
        assumeTrue(fixture.observesUpstream(), "the fixture records no upstream");
        client().imageEdit(request().build());
        assertThat(fixture.received()).singleElement().satisfies(got ->
                assertThat(got.authHeader()).hasValueSatisfying(h -> assertThat(h).contains(KEY)));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Failure.class)
    void edit_upstreamFailure_isMappedByMeaning(Failure failure) {
        assumeTrue(fixture.supports(failure), "the fake cannot answer " + failure);
        fixture.fail(failure);
        assertThatThrownBy(() -> client().imageEdit(request().build()))
                .isInstanceOf(failure.expected)
                .satisfies(e -> {
                    EaselException ee = (EaselException) e;
                    assertThat(ee.getMessage()).doesNotContain(KEY);
                    switch (failure) {
                        case RATE_LIMIT -> assertThat(((RateLimitException) ee).retryAfter())
                                .contains(fixture.retryAfter());
                        case GARBAGE -> {
                            assertThat(ee.status()).hasValue(502);
                            assertThat(ee.code()).contains("bad_upstream_response");
                        }
                        case SERVER_ERROR -> assertThat(ee.httpStatus()).isGreaterThanOrEqualTo(500);
                        default -> {
                            // the class says it all
                        }
                    }
                });
    }

    @Test
    void edit_slowerThanTheCallsTimeout_isATimeout_notAHang() {
        fixture.hold();
        long t0 = System.nanoTime();
        try {
            assertThatThrownBy(() -> client(Duration.ofMillis(500)).imageEdit(request().build()))
                    .isInstanceOf(TimeoutException.class);
        } finally {
            fixture.release();
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void edit_pricedModel_hasACost() {
        assumeTrue(fixture.priced(), "the fixture's model is not priced");
        ImageResponse r = client().imageEdit(request().build());
        assertThat(r.cost()).hasValueSatisfying(c -> assertThat(c.signum()).isPositive());
    }

    @Test
    void edit_interruptedCaller_endsTheCallPromptly() throws Exception {
        fixture.hold();
        Easel easel = client();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread caller = Thread.ofVirtual().start(() -> {
            try {
                easel.imageEdit(request().build());
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        try {
            dev.easel.testkit.Await.until("the call to wait for its answer", () -> (!fixture.observesUpstream()
                    || fixture.received().size() == 1) && (caller.getState() == Thread.State.WAITING
                    || caller.getState() == Thread.State.TIMED_WAITING));
            caller.interrupt();
            caller.join(Duration.ofSeconds(5));
        } finally {
            fixture.release();
        }
        assertThat(caller.isAlive()).isFalse();
        assertThat(failure.get()).isInstanceOf(EaselException.class);
    }

    @Test
    void stream_closedEarly_endsTheUpstreamCallPromptly() {
        assumeTrue(fixture.streams(), "the adapter does not stream");
        fixture.slowStream();
        ImageEditStream s = client().imageEditStream(request().partialImages(2).build());
        assertThat(s.iterator().next()).isInstanceOf(ImageEditEvent.PartialImage.class);
        long t0 = System.nanoTime();
        s.close(); // the rest of the stream would take seconds
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(1000));
    }
}
