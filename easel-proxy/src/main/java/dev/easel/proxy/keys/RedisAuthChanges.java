package dev.easel.proxy.keys;

import dev.easel.config.RouterSettings;
import dev.easel.redis.RedisChannel;
import dev.easel.redis.RedisLink;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * {@link AuthChanges} through Redis pub/sub, on the channel {@code <redis_key_prefix>auth:changes} of the Redis the
 * fleet shares ({@link RedisChannel}: {@code *} after a gap in the subscription, a publish that never throws).
 */
public final class RedisAuthChanges implements AuthChanges {

    /** The channel's name after the key prefix. */
    public static final String CHANNEL = "auth:changes";

    private final RedisChannel channel;

    private RedisAuthChanges(RedisChannel channel) {
        this.channel = channel;
    }

    /** Changes published on {@code link}'s Redis under {@code keyPrefix} ({@code router_settings.redis_key_prefix}). */
    public static AuthChanges over(RedisLink link, String keyPrefix) {
        Objects.requireNonNull(keyPrefix, "keyPrefix");
        return new RedisAuthChanges(RedisChannel.open(link, keyPrefix + CHANNEL));
    }

    /**
     * What the proxy uses: through the Redis of {@code settings} (its shared {@code link}) when one is named, else
     * {@link AuthChanges#local()}.
     */
    public static AuthChanges forSettings(RouterSettings settings, Optional<RedisLink> link) {
        return link.isPresent() ? over(link.get(), settings.redisKeyPrefix()) : AuthChanges.local();
    }

    @Override
    public void publish(String message) {
        channel.publish(message);
    }

    @Override
    public void subscribe(Consumer<String> listener) {
        channel.subscribe(listener);
    }

    /** Closes the subscription; the link stays open (the proxy's). */
    @Override
    public void close() {
        channel.close();
    }

    @Override
    public String toString() {
        return "RedisAuthChanges[" + channel + "]";
    }
}
