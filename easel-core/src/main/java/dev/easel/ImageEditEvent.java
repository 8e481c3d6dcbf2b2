package dev.easel;

import java.util.Optional;

/** One event of a streamed edit ({@code image_edit.partial_image} or {@code image_edit.completed}). */
public sealed interface ImageEditEvent permits ImageEditEvent.PartialImage, ImageEditEvent.Completed {

    /** The event type as on the wire. */
    String type();

    /** The image in this event, base64. */
    String b64Json();

    /** The event's JSON exactly as the provider sent it (for byte-faithful forwarding). */
    String json();

    /**
     * A partial image.
     *
     * @param index 0-based partial image index
     */
    record PartialImage(String b64Json, int index, String size, String quality, String background,
                        String outputFormat, long createdAt, String json) implements ImageEditEvent {
        @Override
        public String type() {
            return "image_edit.partial_image";
        }
    }

    /** The final image, with the usage of the whole call. */
    record Completed(String b64Json, String size, String quality, String background, String outputFormat,
                     long createdAt, Usage usageOrNull, String json) implements ImageEditEvent {
        @Override
        public String type() {
            return "image_edit.completed";
        }

        /** Usage of the whole call, when reported. */
        public Optional<Usage> usage() {
            return Optional.ofNullable(usageOrNull);
        }
    }
}
