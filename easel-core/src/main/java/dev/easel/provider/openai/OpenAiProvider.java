package dev.easel.provider.openai;

import dev.easel.AuthenticationException;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.http.HttpTransport;
import dev.easel.http.Multipart;
import dev.easel.provider.EditCall;
import dev.easel.provider.ImageEditProvider;
import java.net.URI;
import java.net.http.HttpRequest;
import java.util.Set;

/**
 * OpenAI's {@code POST /v1/images/edits}: {@code Authorization: Bearer}, multipart body as described in
 * {@link OpenAiProtocol#body}.
 */
public final class OpenAiProvider implements ImageEditProvider {

    /** OpenAI's public API base. */
    public static final URI DEFAULT_BASE = URI.create("https://api.openai.com/v1");

    /**
     * The deployment settings read: {@code organization}, sent as {@code OpenAI-Organization} (LiteLLM's
     * {@code litellm_params.organization}, the official SDKs' {@code organization}).
     */
    public static final Set<String> SETTINGS = Set.of("organization");

    private final HttpTransport transport;

    /** An adapter with its own HTTP client. */
    public OpenAiProvider() {
        this(new HttpTransport());
    }

    /** An adapter over the given transport. */
    public OpenAiProvider(HttpTransport transport) {
        this.transport = transport;
    }

    @Override
    public String name() {
        return "openai";
    }



    @Override
    public ImageResponse edit(EditCall call) {
        Multipart body = OpenAiProtocol.body(call, true);
        long sent = System.nanoTime();
        var r = transport.send(request(call, body, false), body.publisher(), call.timeout(), name());
        return OpenAiProtocol.finish(r, call, name(), code -> false, sent);
    }

    @Override
    public ImageEditStream editStream(EditCall call) {
        Multipart body = OpenAiProtocol.body(call, true);
        var ex = transport.start(request(call, body, true), body.publisher(), call.timeout(), name());
        return OpenAiProtocol.stream(ex, call, name(), code -> false);
    }

    private HttpRequest.Builder request(EditCall call, Multipart body, boolean stream) {
        String key = call.deployment().key().orElseThrow(() -> new AuthenticationException(
                "no api key for openai: set OPENAI_API_KEY or api_key", "missing_api_key", null));
        URI base = call.deployment().base().orElse(DEFAULT_BASE);
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(strip(base.toString()) + "/images/edits"))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", body.contentType())
                .header("Accept", stream ? "text/event-stream" : "application/json")
                .header("User-Agent", "easel/0.1");
        Object organization = call.deployment().settings().get("organization");
        if (organization != null && !organization.toString().isBlank()) {
            b.header("OpenAI-Organization", organization.toString().strip());
        }
        call.headers().forEach((k, v) -> {
            if (HttpTransport.forwardable(k)) {
                b.setHeader(k, v);
            }
        });
        return b;
    }

    static String strip(String base) {
        return base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    }
}
