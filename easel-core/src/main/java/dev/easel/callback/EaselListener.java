package dev.easel.callback;

/**
 * Hears about every edit: the request, each provider attempt (retries and fallbacks included), and the
 * outcome. Listeners run off the request path on their own bounded queue (see {@link ListenerBus}): a slow or
 * throwing listener never delays or fails a request; what cannot be queued is dropped and counted.
 *
 * <p>Every method has an empty default, so a listener implements only what it needs.
 */
public interface EaselListener {

    /** A short name for metrics and health ({@code json_logs}, {@code otel}, …). */
    default String name() {
        return getClass().getSimpleName();
    }

    /** An edit arrived (validated or not). */
    default void onRequest(RequestEvent event) {
    }

    /** One provider attempt is starting (after validation, before the call). */
    default void onAttemptStart(AttemptStartEvent event) {
    }

    /** One provider attempt ended (success or failure). */
    default void onAttempt(AttemptEvent event) {
    }

    /** One poll of a provider job ended (submit-then-poll providers only). */
    default void onJobPoll(JobPollEvent event) {
    }

    /** The edit succeeded. */
    default void onSuccess(EditLogRecord record) {
    }

    /** The edit failed. */
    default void onFailure(EditLogRecord record) {
    }

    /** A budget crossed its {@code soft_budget} (the proxy's virtual keys, teams and users). */
    default void onBudgetAlert(BudgetAlertEvent event) {
    }

    /** Whether the listener can deliver right now (e.g. its collector answers); shown in readiness details. */
    default Health health() {
        return Health.UP;
    }

    /** A listener's delivery health. */
    record Health(boolean up, String detail) {
        /** Delivering. */
        public static final Health UP = new Health(true, "ok");

        /** Not delivering, with why. */
        public static Health down(String detail) {
            return new Health(false, detail);
        }
    }
}
