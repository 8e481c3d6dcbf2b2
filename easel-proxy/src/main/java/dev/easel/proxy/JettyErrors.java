package dev.easel.proxy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Errors Jetty answers itself, before any handler runs — a request line or header that does not parse, headers
 * over the size limit (431), a URI that is too long (414) — as OpenAI error JSON instead of Jetty's HTML page.
 * Jetty's own reason is kept (it names the rule, never the request's content) and bounded.
 */
final class JettyErrors extends ErrorHandler {

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
                                    Callback callback) throws IOException {
        byte[] body = json(code, message).getBytes(StandardCharsets.UTF_8);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, Integer.toString(body.length));
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(new HttpField(HttpHeader.CONTENT_TYPE, "application/json"));
        return ByteBuffer.wrap(json(status, reason).getBytes(StandardCharsets.UTF_8));
    }

    /** The OpenAI error body for a status Jetty chose. */
    static String json(int status, String reason) {
        String type = status >= 500 ? "api_error" : "invalid_request_error";
        String code = switch (status) {
            case 400 -> "invalid_http_request";
            case 408 -> "request_timeout";
            case 413 -> "request_too_large";
            case 414 -> "uri_too_long";
            case 431 -> "request_headers_too_large";
            default -> status >= 500 ? "internal_error" : "http_" + status;
        };
        String standard = HttpStatus.getMessage(status);
        String detail = reason == null || reason.isBlank() || reason.equals(standard) ? "" : ": " + bounded(reason);
        return ErrorResponses.body("the HTTP request was refused by the server (" + status + " " + standard + ")"
                + detail, type, null, code);
    }

    private static String bounded(String s) {
        String printable = s.replaceAll("[^\\x20-\\x7e]", "?");
        return printable.length() > 200 ? printable.substring(0, 200) + "…" : printable;
    }
}
