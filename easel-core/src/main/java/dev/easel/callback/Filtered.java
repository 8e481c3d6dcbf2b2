package dev.easel.callback;

/**
 * Listeners that hear only successes or only failures (LiteLLM's {@code success_callback} /
 * {@code failure_callback}).
 */
public final class Filtered {

    private Filtered() {
    }

    /** {@code l} told about successes only. */
    public static EaselListener successesOnly(EaselListener l) {
        return new EaselListener() {
            @Override
            public String name() {
                return l.name();
            }

            @Override
            public void onSuccess(EditLogRecord record) {
                l.onSuccess(record);
            }

            @Override
            public Health health() {
                return l.health();
            }
        };
    }

    /** {@code l} told about failures only. */
    public static EaselListener failuresOnly(EaselListener l) {
        return new EaselListener() {
            @Override
            public String name() {
                return l.name();
            }

            @Override
            public void onFailure(EditLogRecord record) {
                l.onFailure(record);
            }

            @Override
            public Health health() {
                return l.health();
            }
        };
    }
}
