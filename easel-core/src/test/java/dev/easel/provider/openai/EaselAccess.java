package dev.easel.provider.openai;

import dev.easel.Easel;
import java.util.Map;

/** Reaches package-private factory methods of {@link Easel} from tests in other packages. */
final class EaselAccess {
    private EaselAccess() {
    }

    static Easel fromEnv(Map<String, String> env) {
        return dev.easel.EaselTestHooks.fromEnv(env);
    }
}
