package dev.easel.provider.mock;

import dev.easel.EaselException;
import java.util.Locale;
import java.util.Map;

/**
 * The mock's deployment settings ({@code litellm_params} of a {@code mock/...} model, or
 * {@code Easel.builder().providerSetting(...)}). Values may be numbers or strings (YAML and CLI give strings).
 *
 * @param latencyMs     how long each call waits before answering
 * @param failureRate   probability (0..1) that a call fails
 * @param failureStatus HTTP status of an injected failure: 400, 401, 429, 500, 503 or 504
 * @param seedOrNull    seed that makes injected failures repeatable, or null for true randomness
 */
record MockSettings(long latencyMs, double failureRate, int failureStatus, Long seedOrNull) {

    static final int[] FAILURE_STATUSES = {400, 401, 429, 500, 503, 504};

    static MockSettings from(Map<String, Object> settings) {
        long latency = integer(settings, "latency_ms", 0);
        if (latency < 0) {
            throw invalid("mock setting latency_ms must be 0 or more (was " + latency + ")");
        }
        double rate = decimal(settings, "failure_rate", 0.0);
        if (!(rate >= 0.0 && rate <= 1.0)) {
            throw invalid("mock setting failure_rate must be between 0 and 1 (was " + settings.get("failure_rate") + ")");
        }
        long status = integer(settings, "failure_status", 503);
        boolean known = false;
        for (int s : FAILURE_STATUSES) {
            known |= s == status;
        }
        if (!known) {
            throw invalid("mock setting failure_status must be one of 400, 401, 429, 500, 503, 504 (was "
                    + status + ")");
        }
        Long seed = settings.containsKey("seed") ? integer(settings, "seed", 0) : null;
        return new MockSettings(latency, rate, (int) status, seed);
    }

    private static long integer(Map<String, Object> settings, String key, long dflt) {
        Object v = settings.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Number n && (n instanceof Integer || n instanceof Long || n instanceof Short
                || n instanceof Byte || n.doubleValue() == Math.rint(n.doubleValue()))) {
            return n.longValue();
        }
        try {
            return Long.parseLong(v.toString().trim());
        } catch (NumberFormatException e) {
            throw invalid("mock setting " + key + " must be an integer (was '" + v + "')");
        }
    }

    private static double decimal(Map<String, Object> settings, String key, double dflt) {
        Object v = settings.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        try {
            return Double.parseDouble(v.toString().trim().toLowerCase(Locale.ROOT));
        } catch (NumberFormatException e) {
            throw invalid("mock setting " + key + " must be a number (was '" + v + "')");
        }
    }

    private static EaselException invalid(String message) {
        return new EaselException(message, 0, "invalid_request_error", "invalid_provider_setting", null, "mock",
                null, null);
    }
}
