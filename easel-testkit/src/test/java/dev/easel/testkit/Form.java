package dev.easel.testkit;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Builds multipart/form-data bodies byte by byte, the way the tests want them on the wire. */
final class Form {

    private final String boundary;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Form() {
        this("test-boundary-7f3a");
    }

    Form(String boundary) {
        this.boundary = boundary;
    }

    static Form edit(String model) {
        Form form = new Form().text("prompt", "add a hat");
        if (model != null) {
            form.text("model", model);
        }
        return form;
    }

    Form text(String name, String value) {
        ascii("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n");
        out.writeBytes(value.getBytes(StandardCharsets.UTF_8));
        ascii("\r\n");
        return this;
    }

    /** A file part; {@code filename} or {@code contentType} {@code null} leaves that out. */
    Form file(String name, String filename, String contentType, byte[] bytes) {
        ascii("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"");
        if (filename != null) {
            ascii("; filename=\"" + filename + "\"");
        }
        ascii("\r\n");
        if (contentType != null) {
            ascii("Content-Type: " + contentType + "\r\n");
        }
        ascii("\r\n");
        out.writeBytes(bytes);
        ascii("\r\n");
        return this;
    }

    Form png(String name) {
        return file(name, "image.png", "image/png", Images.PNG);
    }

    String contentType() {
        return "multipart/form-data; boundary=" + boundary;
    }

    byte[] build() {
        ByteArrayOutputStream copy = new ByteArrayOutputStream();
        copy.writeBytes(out.toByteArray());
        copy.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return copy.toByteArray();
    }

    private void ascii(String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }
}
