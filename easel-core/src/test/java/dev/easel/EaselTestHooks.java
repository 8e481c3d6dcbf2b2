package dev.easel;

import java.util.Map;

/** Test access to package-private parts of the public API. */
public final class EaselTestHooks {
    private EaselTestHooks() {
    }

    /** {@link Easel#fromEnv()} with an injected environment. */
    public static Easel fromEnv(Map<String, String> env) {
        return Easel.fromEnv(env);
    }
}
