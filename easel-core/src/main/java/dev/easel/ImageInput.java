package dev.easel;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * One image (or mask) for an edit: a file, a byte array or a stream, with an optional file name.
 *
 * <p>The format is always detected from the bytes (PNG, JPEG, WebP), never from the name. A stream is
 * read once, when the edit runs, into a temporary file that is deleted when the call ends.
 */
public final class ImageInput {

    enum Kind { PATH, BYTES, STREAM }

    private final Kind kind;
    private final Path path;
    private final byte[] bytes;
    private final InputStream stream;
    private final String fileName;

    private ImageInput(Kind kind, Path path, byte[] bytes, InputStream stream, String fileName) {
        this.kind = kind;
        this.path = path;
        this.bytes = bytes;
        this.stream = stream;
        this.fileName = fileName;
    }

    /** An image file. It is read when the edit runs (and again for each retry). */
    public static ImageInput of(Path path) {
        Objects.requireNonNull(path, "path");
        Path name = path.getFileName();
        return new ImageInput(Kind.PATH, path, null, null, name == null ? null : name.toString());
    }

    /** Image bytes without a file name. The array is not copied: do not change it afterwards. */
    public static ImageInput of(byte[] bytes) {
        return new ImageInput(Kind.BYTES, null, Objects.requireNonNull(bytes, "bytes"), null, null);
    }

    /** Image bytes with a file name (only used as a label; the format comes from the bytes). */
    public static ImageInput of(byte[] bytes, String fileName) {
        return new ImageInput(Kind.BYTES, null, Objects.requireNonNull(bytes, "bytes"), null,
                Objects.requireNonNull(fileName, "fileName"));
    }

    /** A stream of image bytes; read once when the edit runs. The caller closes it. */
    public static ImageInput of(InputStream stream) {
        return new ImageInput(Kind.STREAM, null, null, Objects.requireNonNull(stream, "stream"), null);
    }

    /** A stream of image bytes with a file name; read once when the edit runs. The caller closes it. */
    public static ImageInput of(InputStream stream, String fileName) {
        return new ImageInput(Kind.STREAM, null, null, Objects.requireNonNull(stream, "stream"),
                Objects.requireNonNull(fileName, "fileName"));
    }

    /** The file name given or taken from the path, if any. */
    public Optional<String> fileName() {
        return Optional.ofNullable(fileName);
    }

    /**
     * The image as it was given, to whichever function fits: a path, the bytes (not copied: do not change them) or
     * the stream (read it once). For the engine, which turns every input into one kind of blob.
     */
    public <T> T read(java.util.function.Function<Path, T> fromPath, java.util.function.Function<byte[], T> fromBytes,
                      java.util.function.Function<InputStream, T> fromStream) {
        return switch (kind) {
            case PATH -> fromPath.apply(path);
            case BYTES -> fromBytes.apply(bytes);
            case STREAM -> fromStream.apply(stream);
        };
    }


    @Override
    public String toString() {
        return switch (kind) {
            case PATH -> "ImageInput[" + path + "]";
            case BYTES -> "ImageInput[" + bytes.length + " bytes" + (fileName == null ? "" : ", " + fileName) + "]";
            case STREAM -> "ImageInput[stream" + (fileName == null ? "" : ", " + fileName) + "]";
        };
    }
}
