package dev.easel.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * One Lua script, run atomically by Redis: sent by its SHA-1 ({@code EVALSHA}) and, when the server does not
 * know it yet (a new or restarted Redis, a failover), once in full ({@code EVAL}), which also caches it there.
 * Scripts live as resources next to the class that uses them, so each check-and-take is one reviewed file.
 *
 * <pre>{@code
 * RedisScript reserve = RedisScript.resource(RedisRouterState.class, "reserve.lua");
 * List<Object> r = reserve.run(commands, ScriptOutputType.MULTI, keys, args);
 * }</pre>
 */
public final class RedisScript {

    private final String name;
    private final String source;
    private final String sha;

    private RedisScript(String name, String source) {
        this.name = name;
        this.source = source;
        this.sha = sha1(source);
    }

    /** A script from source text; {@code name} appears in errors. */
    public static RedisScript of(String name, String source) {
        return new RedisScript(Objects.requireNonNull(name, "name"), Objects.requireNonNull(source, "source"));
    }

    /** A script read from the resource {@code file} next to {@code owner}. */
    public static RedisScript resource(Class<?> owner, String file) {
        try (InputStream in = owner.getResourceAsStream(file)) {
            if (in == null) {
                throw new IllegalStateException("missing Redis script resource " + file + " next to "
                        + owner.getName());
            }
            return of(file, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read Redis script " + file, e);
        }
    }

    /** The script's name (its resource file). */
    public String name() {
        return name;
    }

    /** Its SHA-1, as Redis names it. */
    public String sha() {
        return sha;
    }

    /**
     * Runs the script with {@code keys} and {@code args}: by SHA first, in full when the server answers NOSCRIPT.
     * Redis errors (connection, time-out, a script error) are thrown as Lettuce's {@code RedisException}s.
     */
    public <T> T run(RedisCommands<String, String> redis, ScriptOutputType type, String[] keys, String... args) {
        try {
            return redis.evalsha(sha, type, keys, args);
        } catch (RedisNoScriptException e) {
            return redis.eval(source, type, keys, args);
        }
    }

    private static String sha1(String source) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
                    .digest(source.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is part of every JDK", e);
        }
    }

    @Override
    public String toString() {
        return "RedisScript[" + name + ", " + sha + "]";
    }
}
