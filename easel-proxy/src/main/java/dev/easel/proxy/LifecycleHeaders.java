package dev.easel.proxy;

import dev.easel.catalog.ModelSpec;
import io.javalin.http.Context;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;

/**
 * What the catalogue knows about the lifecycle of the model that answered, as response headers, so proxy clients
 * see what SDK users see in {@code ImageResponse.warnings()}:
 * <ul>
 *   <li>{@code Deprecation: @<unix seconds>} (RFC 9745) when the model has a deprecation or a shutdown date: the
 *       deprecation date, else the shutdown date (the catalogue gives no announcement dates; a model is
 *       deprecated by its shutdown at the latest);</li>
 *   <li>{@code Sunset: <HTTP-date>} (RFC 8594) when it has a shutdown date;</li>
 *   <li>{@code x-easel-warning: <text>}, one per warning of the request (the catalogue's notice, dropped or
 *       adapted parameters), printable ASCII only.</li>
 * </ul>
 * Dates are midnight UTC, the moment the catalogue's checks switch.
 */
final class LifecycleHeaders {

    /** Warnings are the gateway's own text; the bounds only keep a response header sane. */
    static final int MAX_WARNINGS = 10;
    static final int MAX_WARNING_CHARS = 1000;

    private LifecycleHeaders() {
    }

    static void set(Context ctx, ModelSpec.Lifecycle lifecycle, List<String> warnings) {
        Optional<LocalDate> deprecated = lifecycle.deprecated().or(lifecycle::shutdown);
        deprecated.ifPresent(d -> ctx.header("Deprecation", "@" + d.atStartOfDay(ZoneOffset.UTC).toEpochSecond()));
        lifecycle.shutdown().ifPresent(d -> ctx.header("Sunset",
                DateTimeFormatter.RFC_1123_DATE_TIME.format(d.atStartOfDay(ZoneOffset.UTC))));
        int n = 0;
        for (String w : warnings) {
            if (n++ == MAX_WARNINGS) {
                break;
            }
            ctx.res().addHeader("x-easel-warning", printable(w));
        }
    }

    /** Printable ASCII, at most {@link #MAX_WARNING_CHARS} characters: a header never carries a line break. */
    static String printable(String text) {
        StringBuilder out = new StringBuilder(Math.min(text.length(), MAX_WARNING_CHARS));
        for (int i = 0; i < text.length() && out.length() < MAX_WARNING_CHARS; i++) {
            char c = text.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return out.toString();
    }
}
