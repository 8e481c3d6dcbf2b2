package dev.easel.proxy;

import dev.easel.config.RequestLimits;
import java.nio.charset.StandardCharsets;

/**
 * Counts one request's parts, images and text fields against {@code general_settings}' request limits while the
 * body is parsed (multipart and JSON alike), so a request over a limit is refused at the first part that passes
 * it, before its work grows. Text bytes are held in memory (they cannot go to a temp file), so they are counted in
 * the upload memory account too.
 */
final class IntakeCounter {

    private final RequestLimits limits;
    private final UploadLimits.Account account;
    private int parts;
    private int images;
    private int textFields;
    private long textBytes;

    IntakeCounter(RequestLimits limits, UploadLimits.Account account) {
        this.limits = limits;
        this.account = account;
    }

    RequestLimits limits() {
        return limits;
    }

    /** A field name ({@code max_field_name_bytes}); returns it for chaining. */
    String name(String name) {
        // a UTF-16 unit is at most 3 UTF-8 bytes: encode only names that could pass the limit
        if (name.length() * 3L > limits.maxFieldNameBytes()) {
            if (name.getBytes(StandardCharsets.UTF_8).length > limits.maxFieldNameBytes()) {
                throw nameTooLong(limits.maxFieldNameBytes());
            }
        }
        return name;
    }

    /** The error for a name over {@code max_field_name_bytes} (the name itself is not echoed: it is too long). */
    static ProxyException nameTooLong(int max) {
        return ProxyException.tooLarge(null, "a field name is longer than the limit of " + max
                + " bytes (general_settings.max_field_name_bytes)");
    }

    /** One more multipart part ({@code max_parts}). */
    void part(String name) {
        if (++parts > limits.maxParts()) {
            throw ProxyException.tooLarge(name, "the request has more than " + limits.maxParts()
                    + " parts (general_settings.max_parts)");
        }
    }

    /** One more image ({@code max_images}); {@code param} names it in the error. */
    void image(String param) {
        if (++images > limits.maxImages()) {
            throw ProxyException.tooLarge(param, "the request has more than " + limits.maxImages()
                    + " images (general_settings.max_images)");
        }
    }

    /** One more field other than an image or the mask ({@code max_text_fields}). */
    void textField(String name) {
        if (++textFields > limits.maxTextFields()) {
            throw ProxyException.tooLarge(name, "the request has more than " + limits.maxTextFields()
                    + " text fields (general_settings.max_text_fields)");
        }
    }

    /**
     * {@code n} more bytes of field {@code name}'s value, which now has {@code fieldBytes}
     * ({@code max_text_field_bytes}, {@code max_text_bytes}); held in memory until the request ends.
     */
    void text(String name, long fieldBytes, long n) {
        if (fieldBytes > limits.maxTextFieldBytes() || textBytes + n > limits.maxTextBytes()) {
            throw tooMuchText(name, fieldBytes);
        }
        textBytes += n;
        account.holdText(n);
    }

    /** How many more bytes the next field's value may take (the smaller of the field and the total limits). */
    long textAllowance() {
        return Math.min(limits.maxTextFieldBytes(), limits.maxTextBytes() - textBytes);
    }

    /** The error for field {@code name} reaching {@code fieldBytes}: the per-field limit's, else the total's. */
    ProxyException tooMuchText(String name, long fieldBytes) {
        if (fieldBytes > limits.maxTextFieldBytes()) {
            return ProxyException.tooLarge(name, "field '" + name + "' is larger than the limit of "
                    + limits.maxTextFieldBytes() + " bytes (general_settings.max_text_field_bytes)");
        }
        return ProxyException.tooLarge(name, "text fields are larger than the limit of " + limits.maxTextBytes()
                + " bytes in total (general_settings.max_text_bytes)");
    }
}
