package dev.easel.provider.azure;

import dev.easel.AuthenticationException;
import dev.easel.BadRequestException;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.http.HttpTransport;
import dev.easel.http.Multipart;
import dev.easel.provider.EditCall;
import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.openai.OpenAiProtocol;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Azure OpenAI image edits. Model strings {@code azure/<deployment>}; the request goes to
 * {@code {api_base}/openai/deployments/{deployment}/images/edits?api-version=…} with the {@code api-key}
 * header (or {@code Authorization: Bearer} when the key is an Entra token, given as {@code Bearer …}).
 * With {@code api_version} {@code v1}, {@code latest} or {@code preview} the v1 route
 * {@code {api_base}/openai/v1/images/edits} is used and the deployment goes in the {@code model} field.
 * The body is OpenAI's, minus {@code model} on the deployment route (Azure takes it from the path).
 */
public final class AzureProvider implements ImageEditProvider {

    /** Oldest API version with image edits; older ones answer 404. */
    public static final String DEFAULT_API_VERSION = "2025-04-01-preview";

    private static final Set<String> V1_VERSIONS = Set.of("v1", "latest", "preview");
    private static final Predicate<String> CONTENT_FILTER = code -> {
        String c = code.toLowerCase(Locale.ROOT);
        return c.equals("contentfilter") || c.equals("content_filter") || c.equals("responsibleaipolicyviolation");
    };

    private final HttpTransport transport;

    /** An adapter with its own HTTP client. */
    public AzureProvider() {
        this(new HttpTransport());
    }

    /** An adapter over the given transport. */
    public AzureProvider(HttpTransport transport) {
        this.transport = transport;
    }

    @Override
    public String name() {
        return "azure";
    }


    @Override
    public ImageResponse edit(EditCall call) {
        Multipart body = OpenAiProtocol.body(call, v1(call));
        long sent = System.nanoTime();
        var r = transport.send(request(call, body, false), body.publisher(), call.timeout(), name());
        return OpenAiProtocol.finish(r, call, name(), CONTENT_FILTER, sent);
    }

    @Override
    public ImageEditStream editStream(EditCall call) {
        Multipart body = OpenAiProtocol.body(call, v1(call));
        var ex = transport.start(request(call, body, true), body.publisher(), call.timeout(), name());
        return OpenAiProtocol.stream(ex, call, name(), CONTENT_FILTER);
    }

    private static boolean v1(EditCall call) {
        String v = call.deployment().apiVersion();
        return v != null && V1_VERSIONS.contains(v.toLowerCase(Locale.ROOT));
    }

    /** The request URL for a call (public for the proxy's logs and tests). */
    public static URI url(EditCall call) {
        URI base = call.deployment().base().orElseThrow(() -> new BadRequestException(
                "azure deployment '" + call.deployment().model() + "' needs an api_base "
                        + "(https://<resource>.openai.azure.com)", "missing_api_base", null));
        String b = base.toString();
        if (b.endsWith("/")) {
            b = b.substring(0, b.length() - 1);
        }
        if (b.endsWith("/openai")) {
            b = b.substring(0, b.length() - "/openai".length());
        }
        String version = call.deployment().apiVersion() == null ? DEFAULT_API_VERSION : call.deployment().apiVersion();
        if (v1(call)) {
            return URI.create(b + "/openai/v1/images/edits"
                    + ("preview".equalsIgnoreCase(version) ? "?api-version=preview" : ""));
        }
        return URI.create(b + "/openai/deployments/" + URLEncoder.encode(call.deployment().model(),
                StandardCharsets.UTF_8) + "/images/edits?api-version=" + URLEncoder.encode(version,
                StandardCharsets.UTF_8));
    }

    private HttpRequest.Builder request(EditCall call, Multipart body, boolean stream) {
        String key = call.deployment().key().orElseThrow(() -> new AuthenticationException(
                "no api key for azure deployment '" + call.deployment().model() + "': set api_key",
                "missing_api_key", null));
        HttpRequest.Builder b = HttpRequest.newBuilder(url(call))
                .header("Content-Type", body.contentType())
                .header("Accept", stream ? "text/event-stream" : "application/json")
                .header("User-Agent", "easel/0.1");
        if (key.regionMatches(true, 0, "Bearer ", 0, 7)) {
            b.header("Authorization", key);
        } else {
            b.header("api-key", key);
        }
        call.headers().forEach((k, v) -> {
            if (HttpTransport.forwardable(k)) {
                b.setHeader(k, v);
            }
        });
        return b;
    }
}
