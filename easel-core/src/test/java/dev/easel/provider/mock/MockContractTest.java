package dev.easel.provider.mock;

import dev.easel.provider.ProviderContract;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The mock keeps the provider contract where an in-process provider can: its injected failures map like a real
 * provider's (400, 401, 429, 500, 503), its latency is bounded by the call's time-out, it is priced, and an
 * interrupted caller or a closed stream ends it. It has no upstream to record and no 403, 404, garbage or reset.
 */
class MockContractTest extends ProviderContract {

    @Override
    protected Fixture start() {
        return new Fixture() {
            private final Map<String, Object> settings = new LinkedHashMap<>();

            @Override
            public Map<String, Object> litellmParams() {
                Map<String, Object> p = new LinkedHashMap<>(settings);
                p.put("model", "mock/gpt-image-1");
                p.put("api_key", KEY);
                return p;
            }

            @Override
            public int maxImages() {
                return 16;
            }

            @Override
            public boolean observesUpstream() {
                return false;
            }

            @Override
            public List<Received> received() {
                return List.of();
            }

            @Override
            public boolean supports(Failure f) {
                return switch (f) {
                    case BAD_REQUEST, AUTHENTICATION, RATE_LIMIT, SERVER_ERROR, UNAVAILABLE -> true;
                    default -> false;
                };
            }

            @Override
            public void fail(Failure f) {
                settings.put("failure_rate", 1);
                settings.put("failure_status", switch (f) {
                    case BAD_REQUEST -> 400;
                    case AUTHENTICATION -> 401;
                    case RATE_LIMIT -> 429;
                    case SERVER_ERROR -> 500;
                    case UNAVAILABLE -> 503;
                    default -> throw new IllegalArgumentException(f.name());
                });
            }

            @Override
            public void hold() {
                settings.put("latency_ms", 60_000); // the call's time-out or the interrupt ends it first
            }

            @Override
            public void release() {
                settings.remove("latency_ms");
            }

            @Override
            public boolean streams() {
                return true;
            }

            @Override
            public void slowStream() {
                settings.put("latency_ms", 6_000); // a partial every 2 s
            }

            @Override
            public java.time.Duration retryAfter() {
                return java.time.Duration.ofSeconds(1);
            }

            @Override
            public boolean priced() {
                return true;
            }

            @Override
            public void close() {
                settings.clear();
            }
        };
    }
}
