package dev.easel;

/** The request path inside the SDK: inputs → model → validation → provider → response. */
final class EditPipeline {

    private final Easel.Settings settings;

    EditPipeline(Easel.Settings settings) {
        this.settings = settings;
    }

    ImageResponse edit(ImageEditRequest request) {
        throw new UnsupportedOperationException("not wired yet");
    }

    ImageEditStream stream(ImageEditRequest request) {
        throw new UnsupportedOperationException("not wired yet");
    }
}
