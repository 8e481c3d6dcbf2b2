package dev.easel.routing;

import dev.easel.BadRequestException;

/**
 * A model group cannot take this request at all (say, three images for a one-image model). On a
 * fallback group the router skips it and records why; on the group asked for it is a 400.
 */
public final class UnsuitableException extends BadRequestException {
    private static final long serialVersionUID = 1L;

    /** Wraps the validation failure that makes the group unsuitable. */
    public UnsuitableException(BadRequestException cause) {
        super(cause.getMessage(), 400, cause.type(), cause.code().orElse(null), cause.param().orElse(null), null,
                null, cause);
    }
}
