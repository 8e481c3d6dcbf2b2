package dev.easel.provider.mock;

import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.EaselException;
import dev.easel.ImageData;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.InternalServerException;
import dev.easel.RateLimitException;
import dev.easel.ServiceUnavailableException;
import dev.easel.TimeoutException;
import dev.easel.provider.EditCall;
import dev.easel.provider.ImageEditProvider;
import java.awt.image.BufferedImage;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * {@code mock/<name>}: real, offline image edits for quick starts and tests. It decodes the first image,
 * fills the mask's transparent area and tints the picture with colours derived from the prompt, and
 * honours {@code n}, {@code size}, {@code quality}, {@code background}, {@code output_format} (png, jpeg)
 * and {@code output_compression}; usage is billed like gpt-image-1.
 *
 * <p>Deployment settings: {@code latency_ms} (wait before answering), {@code failure_rate} (0..1, share of
 * calls that fail), {@code failure_status} (400, 401, 429, 500, 503 (default) or 504) and {@code seed}
 * (makes the failures repeatable) — for rehearsing retries and fallbacks without a provider.
 */
public final class MockProvider implements ImageEditProvider {

    /** Sleeps; injected so tests need not wait. */
    @FunctionalInterface
    interface Sleeper {
        void sleep(Duration d) throws InterruptedException;
    }

    /** The deployment settings read: {@code latency_ms}, {@code failure_rate}, {@code failure_status}, {@code seed}. */
    public static final Set<String> SETTINGS = Set.of("latency_ms", "failure_rate", "failure_status", "seed");

    private final Clock clock;
    private final Sleeper sleeper;
    private final Map<String, RandomGenerator> seeded = new ConcurrentHashMap<>();

    /** A mock provider on the system clock. */
    public MockProvider() {
        this(Clock.systemUTC(), d -> Thread.sleep(d));
    }

    MockProvider(Clock clock, Sleeper sleeper) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    }

    @Override
    public String name() {
        return "mock";
    }



    @Override
    public ImageResponse edit(EditCall call) {
        MockSettings settings = MockSettings.from(call.deployment().settings());
        MockEdit edit = MockEdit.of(call);
        waitFor(call, Duration.ofMillis(settings.latencyMs()));
        maybeFail(call, settings);

        BufferedImage base = MockPainter.base(edit.first);
        BufferedImage mask = edit.maskOrNull == null ? null
                : MockPainter.mask(edit.maskOrNull, base.getWidth(), base.getHeight());
        ImageResponse.Builder response = ImageResponse.builder()
                .created(clock.instant().getEpochSecond())
                .size(edit.size())
                .quality(edit.quality)
                .outputFormat(edit.format.wireName())
                .provider(name())
                .model(call.deployment().model())
                .usage(edit.usage(0));
        String background = null;
        Base64.Encoder b64 = Base64.getEncoder();
        for (int i = 0; i < edit.n; i++) {
            BufferedImage img = edit.render(base, mask, i);
            if (background == null) {
                background = edit.background(img);
            }
            response.addData(ImageData.ofBase64(b64.encodeToString(edit.encode(img))));
        }
        return response.background(background).build();
    }

    @Override
    public ImageEditStream editStream(EditCall call) {
        MockSettings settings = MockSettings.from(call.deployment().settings());
        MockEdit edit = MockEdit.of(call);
        if (shouldFail(call, settings)) {
            // A failing upstream answers with an error status before any event: fail the call itself.
            waitFor(call, Duration.ofMillis(settings.latencyMs()));
            throw failure(call, settings);
        }
        return new MockStream(edit, call, Duration.ofMillis(settings.latencyMs()), clock);
    }

    private void waitFor(EditCall call, Duration latency) {
        if (latency.isZero()) {
            return;
        }
        Duration timeout = call.timeout();
        try {
            if (latency.compareTo(timeout) > 0) {
                sleeper.sleep(timeout);
                throw timeout(call, latency);
            }
            sleeper.sleep(latency);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw interrupted(e);
        }
    }

    static TimeoutException timeout(EditCall call, Duration latency) {
        return new TimeoutException(call.deployment().displayName() + " did not answer within "
                + call.timeout().toMillis() + " ms (latency_ms " + latency.toMillis() + ")", "mock", true, null);
    }

    static EaselException interrupted(InterruptedException e) {
        return new EaselException("mock edit interrupted", 0, "api_error", "interrupted", null, "mock", null, e);
    }

    private void maybeFail(EditCall call, MockSettings settings) {
        if (shouldFail(call, settings)) {
            throw failure(call, settings);
        }
    }

    private boolean shouldFail(EditCall call, MockSettings settings) {
        if (settings.failureRate() <= 0) {
            return false;
        }
        if (settings.failureRate() >= 1) {
            return true;
        }
        RandomGenerator random = settings.seedOrNull() == null ? ThreadLocalRandom.current()
                : seeded.computeIfAbsent(call.deployment().displayName() + "#" + settings.seedOrNull(),
                        k -> new Random(settings.seedOrNull()));
        synchronized (random) {
            return random.nextDouble() < settings.failureRate();
        }
    }

    private static EaselException failure(EditCall call, MockSettings settings) {
        int status = settings.failureStatus();
        String message = call.deployment().displayName() + ": simulated failure (failure_rate "
                + settings.failureRate() + ", failure_status " + status + ")";
        return switch (status) {
            case 400 -> new BadRequestException(message, 400, "invalid_request_error", "mock_failure", null,
                    "mock", null, null);
            case 401 -> new AuthenticationException(message, 401, "invalid_request_error", "invalid_api_key", null,
                    "mock", null, null);
            case 429 -> new RateLimitException(message, "rate_limit_error", "rate_limit_exceeded", null, "mock",
                    null, Duration.ofSeconds(1), null);
            case 500 -> new InternalServerException(message, 500, "api_error", "server_error", null, "mock", null,
                    null);
            case 504 -> new TimeoutException(message, "mock", true, null);
            default -> new ServiceUnavailableException(message, 503, "api_error", "service_unavailable", null,
                    "mock", null, null);
        };
    }
}
