package dev.easel.proxy;

import io.javalin.http.Context;
import java.math.BigDecimal;

/**
 * Where an edit went, on its response: Easel's {@code x-easel-*} headers and, beside them, the ones LiteLLM's proxy
 * sends ({@code x-litellm-model-id}, {@code x-litellm-model-group}, {@code x-litellm-attempted-fallbacks},
 * {@code x-litellm-response-cost}), so dashboards and scripts written against LiteLLM read them unchanged.
 */
final class RoutingHeaders {

    private RoutingHeaders() {
    }

    /** The request's id under LiteLLM's name too ({@code x-litellm-call-id}), on every response. */
    static void requestId(Context ctx, String requestId) {
        ctx.header("x-request-id", requestId);
        ctx.header("x-litellm-call-id", requestId);
    }

    /**
     * The answering deployment and group, the retries and fallbacks it took, and the cost when it is known before the
     * body (non-streamed answers; a stream carries it in its completed event).
     */
    static void set(Context ctx, String deploymentId, String modelGroup, int retries, int fallbacks, BigDecimal cost) {
        ctx.header("x-easel-deployment", deploymentId);
        ctx.header("x-litellm-model-id", deploymentId);
        ctx.header("x-easel-model-group", modelGroup);
        ctx.header("x-litellm-model-group", modelGroup);
        ctx.header("x-easel-attempted-retries", Integer.toString(retries));
        ctx.header("x-easel-attempted-fallbacks", Integer.toString(fallbacks));
        ctx.header("x-litellm-attempted-fallbacks", Integer.toString(fallbacks));
        if (cost != null) {
            ctx.header("x-easel-response-cost", cost.toPlainString());
            ctx.header("x-litellm-response-cost", cost.toPlainString());
        }
    }
}
